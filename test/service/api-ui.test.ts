// What guard-ui needs of guard-service, against a real one: reads that name their version (ETag),
// writes conditional on it (If-Match or resourceVersion; a changed Guardian refused with
// GUARD_API_STALE and nothing written), the services at a glance, and the UI's files.
import { writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { call, eventually, start, sync, syncBody } from './api-support.js';

const json = { 'content-type': 'application/json' };
const alert = (reason: string) => ({ decision: { children: { Req: { children: { Method: { children: {}, reasons: [reason], result: 1 } }, reasons: null, result: 1 } }, reasons: null, result: 1 }, time: 1700000000, level: 'Session', count: 3 });

async function learnedShop() {
  const started = await start(null);
  const token = started.service.peopleToken!;
  expect((await sync(started.url, undefined, syncBody(3), '?ns=shop&sid=cart&pod=cart-1')).status).toBe(200);
  const g = `${started.url}/api/v1/guardians/shop/cart`;
  await eventually(async () => (await call(g, { token })).json?.spec?.samples === 3);
  return { ...started, token, g };
}

describe('conditional writes of the people API', () => {
  it('answers the version with every read and write, and refuses a write on a version that changed', async () => {
    const { g, token, disk } = await learnedShop();
    const read = await call(g, { token });
    expect(read.headers.etag).toBe(`"${read.json.resourceVersion}"`);
    const rv = read.json.resourceVersion as string;

    const configured = { req: { method: { set: ['GET'] } } };
    const ok = await call(g, { method: 'PUT', token, headers: { ...json, 'if-match': `"${rv}"` }, body: JSON.stringify({ configured }) });
    expect(ok.status).toBe(200);
    expect(ok.json.resourceVersion).not.toBe(rv);
    expect(ok.headers.etag).toBe(`"${ok.json.resourceVersion}"`);

    // A second person still holding the first version: refused, with a message to act on.
    const stale = await call(g, { method: 'PUT', token, headers: { ...json, 'if-match': `"${rv}"` }, body: JSON.stringify({ configured: { req: { method: { set: ['DELETE'] } } } }) });
    expect(stale.status).toBe(412);
    expect(stale.json.error.code).toBe('GUARD_API_STALE');
    expect(stale.json.error.message).toBe(
      `Guardian shop/cart was changed since you read it (you read version ${rv}, it is now at ${ok.json.resourceVersion}): nothing was saved. Read it again and redo your change on the new version`,
    );
    expect((await disk.get('shop', 'cart'))!.spec.configured).toMatchObject(configured);

    // The same precondition given as resourceVersion in the body (as kubectl users write it).
    const body = await call(g, { method: 'PUT', token, headers: json, body: JSON.stringify({ resourceVersion: rv, control: null }) });
    expect(body.status).toBe(412);
    expect((await call(`${g}/copy-learned`, { method: 'POST', token, headers: { 'if-match': rv } })).status).toBe(412);
    const copied = await call(`${g}/copy-learned`, { method: 'POST', token, headers: { 'if-match': `"${ok.json.resourceVersion}"` } });
    expect(copied.status).toBe(200);

    expect((await call(g, { method: 'PUT', token, headers: { ...json, 'if-match': '"a", "b"' }, body: JSON.stringify({ configured }) })).json.error.code).toBe('GUARD_API_INVALID');
    expect((await call(g, { method: 'PUT', token, headers: { ...json, 'if-match': '"1"' }, body: JSON.stringify({ configured, resourceVersion: '2' }) })).status).toBe(400);
    const absent = await call(`${g}x`, { method: 'PUT', token, headers: { ...json, 'if-match': '*' }, body: JSON.stringify({ configured }) });
    expect(absent.status).toBe(412);
    expect(absent.json.error.message).toMatch(/deleted since you read it/);
    // Unconditional writes stay as they were.
    expect((await call(g, { method: 'PUT', token, headers: json, body: JSON.stringify({ configured }) })).status).toBe(200);
  });

  it('refuses a conditional write after the learner wrote (the UI decides whether to redo it)', async () => {
    const { g, token, disk } = await learnedShop();
    const read = (await call(g, { token })).json;
    // What a learner writes (learned and samples only), here through a second store on the same files.
    await disk.updateLearned('shop', 'cart', read.spec.learned, read.spec.samples + 1);
    await eventually(async () => (await call(g, { token })).json.resourceVersion !== read.resourceVersion);
    const put = await call(g, { method: 'PUT', token, headers: { ...json, 'if-match': `"${read.resourceVersion}"` }, body: JSON.stringify({ control: { alert: true, block: true, learn: true, force: false, auto: true } }) });
    expect(put.status).toBe(412);
    expect((await disk.get('shop', 'cart'))!.spec.control!.block).toBe(false);
  });
});

describe('services at a glance', () => {
  it('gives mode, samples, last learned and alerts in the last hour and day, to people only', async () => {
    const { url, token } = await learnedShop();
    const body = syncBody(1, { alerts: [alert('Unexpected key DELETE in Set'), alert('Unexpected key PUT in Set')] });
    expect((await sync(url, undefined, body, '?ns=shop&sid=cart&pod=cart-2')).status).toBe(200);
    expect((await call(`${url}/api/v1/services`)).status).toBe(401);
    const o = await call(`${url}/api/v1/services`, { token });
    expect(o.status).toBe(200);
    expect(Date.parse(o.json.serviceStartedAt)).toBeLessThanOrEqual(Date.parse(o.json.now));
    const [s] = o.json.items;
    expect(s).toMatchObject({ namespace: 'shop', service: 'cart', hasLearned: true, hasConfigured: false, control: { alert: true, block: false, auto: true } });
    expect(s.samples).toBeGreaterThanOrEqual(3);
    expect(Date.parse(s.lastLearnedAt)).toBeGreaterThan(Date.parse(o.json.serviceStartedAt) - 1000);
    expect(s.alerts.lastHour).toEqual({ entries: 2, occurrences: 6 });
    expect(s.alerts.lastDay).toEqual({ entries: 2, occurrences: 6 });
    expect((await call(`${url}/api/v1/services?namespace=other`, { token })).json.items).toEqual([]);
    expect((await call(`${url}/api/v1/services?namespace=Bad_Name`, { token })).status).toBe(400);
  });
});

describe('when a service was last learned', () => {
  it('is written with the learned rules, so that it survives a restart and a person editing the Guardian', async () => {
    const first = await learnedShop();
    const stored = (await first.disk.get('shop', 'cart'))!.spec;
    expect(Date.parse(stored.learnedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const before = (await call(`${first.url}/api/v1/services`, { token: first.token })).json.items[0];
    expect(before.lastLearnedAt).toBe(stored.learnedAt);
    // A person's edit keeps it (it belongs to the learner).
    const put = await call(first.g, { method: 'PUT', token: first.token, headers: json, body: JSON.stringify({ control: { alert: true, block: true, learn: false, force: false, auto: true } }) });
    expect(put.status, put.text).toBe(200);
    expect((await first.disk.get('shop', 'cart'))!.spec.learnedAt).toBe(stored.learnedAt);
    await first.service.close();

    // A new guard-service on the same store, before the service syncs again: the stored time, not "unknown".
    const again = await start(null, { storeDir: first.dir }, { peopleToken: first.token });
    const after = (await call(`${again.url}/api/v1/services`, { token: first.token })).json.items[0];
    expect(after).toMatchObject({ service: 'cart', lastLearnedAt: stored.learnedAt });
    // A Guardian whose time is not one (hand-edited): read without it, never refused for it.
    const guardian = `${again.url}/api/v1/guardians/shop/cart`;
    expect((await call(guardian, { token: first.token })).json.spec.learnedAt).toBe(stored.learnedAt);
    await writeFile(first.disk.fileOf('shop', 'cart'), JSON.stringify({ ...stored, learnedAt: 'yesterday' }));
    await eventually(async () => {
      const read = await call(guardian, { token: first.token });
      return read.status === 200 && read.json.spec.samples === stored.samples && read.json.spec.learnedAt === undefined;
    });
    await expect(first.disk.updateLearned('shop', 'cart', stored.learned, stored.samples, { learnedAt: 'yesterday' })).rejects.toMatchObject({ code: 'GUARD_STORE_INVALID' });
  });
});

describe("guard-ui's files", () => {
  it('serves the built page and its assets on the people API origin, locked to itself', async () => {
    const { url } = await start(null);
    const root = await request(`${url}/`);
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    await root.body.dump();
    const page = await call(`${url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    // Nothing is loaded from elsewhere: every reference of the page is one of its own files.
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((r) => !r.startsWith('data:'));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/^\/ui\/assets\//);
    const script = refs.find((r) => r.endsWith('.js'))!;
    const js = await request(`${url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(js.headers['cache-control']).toContain('immutable');
    const code = gunzipSync(Buffer.from(await js.body.arrayBuffer())).toString();
    expect(code).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/); // no URL of another host is fetched
    const wasm = code.match(/guard-core-[\w-]+\.wasm/)![0];
    const w = await request(`${url}/ui/assets/${wasm}`);
    expect(w.headers['content-type']).toBe('application/wasm');
    expect(Buffer.from(await w.body.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    for (const path of ['/ui/nothing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/assets/../../service/index.ts']) {
      const r = await call(`${url}${path}`);
      expect(r.status, path).toBe(404);
    }
  });
});
