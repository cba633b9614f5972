// The people API against a real guard-service: bearer tokens (the generated one in local mode,
// TokenReview + SubjectAccessReview through the stand-in otherwise), reads and writes of
// Guardians across namespaces, people's edits concurrent with learning, copy-learned, alerts.
import { describe, expect, it } from 'vitest';
import { grantAccess } from '../kube/access-review.js';
import { syncMessage } from '../vectors/fixtures.js';
import { call, eventually, gate, methods, standin, start, sync, syncBody } from './api-support.js';

const CONFIGURED = { req: { method: { set: ['GET'] } } };

describe('people API in local mode (the token printed at start)', () => {
  it('refuses without the token, and serves with it', async () => {
    const { url, service } = await start(null);
    expect(service.peopleToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const none = await call(`${url}/api/v1/guardians`);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('GUARD_API_UNAUTHENTICATED');
    expect((await call(`${url}/api/v1/guardians`, { token: `${service.peopleToken}x` })).status).toBe(401);
    const ok = await call(`${url}/api/v1/guardians`, { token: service.peopleToken! });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ items: [] });
  });

  it('replaces configured and control, copies learned into configured, and validates with the core', async () => {
    const { url, service } = await start(null);
    const token = service.peopleToken!;
    expect((await sync(url, undefined, syncBody(3, { method: 'POST' }), '?ns=shop&sid=cart&pod=cart-1')).status).toBe(200);
    const g = `${url}/api/v1/guardians/shop/cart`;
    await eventually(async () => (await call(g, { token })).json?.spec?.samples === 3);

    const invalid = await call(g, { method: 'PUT', token, body: JSON.stringify({ configured: { req: { method: 7 } } }), headers: { 'content-type': 'application/json' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.code).toBe('GUARD_API_INVALID');
    expect(invalid.json.error.message).toMatch(/invalid Guardian/);
    expect((await call(g, { method: 'PUT', token, body: '{"samples":5}', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call(g, { method: 'PUT', token, body: '{nope', headers: { 'content-type': 'application/json' } })).status).toBe(400);

    const control = { alert: true, block: true, learn: false, force: false, auto: false };
    const put = await call(g, { method: 'PUT', token, body: JSON.stringify({ configured: CONFIGURED, control }), headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    expect(put.json.spec.control).toEqual(control);
    expect(put.json.spec.samples).toBe(3);
    expect(methods(put.json.spec)).toEqual(['POST']);
    // The gate's next answer carries people's control at once.
    expect((await sync(url, undefined, '{}', '?ns=shop&sid=cart&pod=cart-1')).json.guardian.control).toEqual(control);

    const copied = await call(`${g}/copy-learned`, { method: 'POST', token });
    expect(copied.status).toBe(200);
    expect(copied.json.spec.configured).toEqual(copied.json.spec.learned);
    expect((await call(`${url}/api/v1/guardians/shop/nothing/copy-learned`, { method: 'POST', token })).status).toBe(404);
    expect((await call(`${url}/api/v1/guardians/shop/nothing`, { token })).status).toBe(404);
    expect((await call(`${url}/api/v1/guardians/Shop/cart`, { token })).status).toBe(400);
  });

  it('keeps every sample when a person replaces configured while gates sync', async () => {
    const { url, service, disk } = await start(null);
    const token = service.peopleToken!;
    const g = `${url}/api/v1/guardians/shop/cart`;
    expect((await sync(url, undefined, syncBody(1), '?ns=shop&sid=cart&pod=p0')).status).toBe(200);
    await eventually(() => disk.get('shop', 'cart'));

    const verbs = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
    const syncs: Array<Promise<unknown>> = [];
    const puts: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < 20; i++) {
      syncs.push(sync(url, undefined, syncBody(2, { method: verbs[i % verbs.length] }), `?ns=shop&sid=cart&pod=p${i % 4}`));
      if (i % 5 === 0) {
        const configured = { req: { method: { set: [`M${i}`] } } };
        puts.push(call(g, { method: 'PUT', token, body: JSON.stringify({ configured }), headers: { 'content-type': 'application/json' } }));
      }
    }
    for (const r of (await Promise.all(syncs)) as Array<{ status: number }>) expect(r.status).toBe(200);
    for (const r of await Promise.all(puts)) expect(r.status).toBe(200);
    const last = { req: { method: { set: ['LAST'] } } };
    expect((await call(g, { method: 'PUT', token, body: JSON.stringify({ configured: last }), headers: { 'content-type': 'application/json' } })).status).toBe(200);

    expect((await service.close()).flushed).toBe(true);
    const stored = (await disk.get('shop', 'cart'))!;
    expect(stored.spec.samples).toBe(41);
    expect(methods(stored.spec)).toEqual([...verbs].sort());
    expect((stored.spec.configured as any).req.method.set).toEqual(['LAST']);
  });
});

describe('people API with Kubernetes (TokenReview + SubjectAccessReview)', () => {
  it('lets a person act only in the namespaces they may', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    kube.state.addToken('alice-token-0001', { username: 'alice' });
    kube.state.addToken('bob-token-000001', { username: 'bob', groups: ['viewers'] });
    grantAccess(kube.state, { subject: 'alice', verbs: ['get', 'list', 'update'], resources: ['guardians.guard.security.knative.dev'], namespaces: ['shop'] });
    grantAccess(kube.state, { subject: 'viewers', verbs: ['get', 'list'], resources: ['guardians'] });
    for (const [ns, pod, app] of [['shop', 'cart-1', 'cart'], ['bank', 'vault-1', 'vault']] as const) {
      const token = gate(kube, ns, pod, { app });
      expect((await sync(url, token, syncBody(2, { alerts: syncMessage().alerts }))).status).toBe(200);
    }
    const json = { 'content-type': 'application/json' };
    const alice = 'alice-token-0001';
    const bob = 'bob-token-000001';

    expect((await call(`${url}/api/v1/guardians`)).status).toBe(401);
    expect((await call(`${url}/api/v1/guardians`, { token: 'unknown-token-123' })).status).toBe(401);
    expect((await eventually(async () => {
      const r = await call(`${url}/api/v1/guardians?namespace=shop`, { token: alice });
      return r.json?.items?.length === 1 ? r : undefined;
    })).status).toBe(200);
    const cross = await call(`${url}/api/v1/guardians?namespace=bank`, { token: alice });
    expect(cross.status).toBe(403);
    expect(cross.json.error).toEqual({ code: 'GUARD_API_FORBIDDEN', message: 'alice may not list Guardians in namespace bank' });
    expect((await call(`${url}/api/v1/guardians`, { token: alice })).status).toBe(403);
    expect((await call(`${url}/api/v1/guardians/bank/vault`, { token: alice })).status).toBe(403);
    expect((await call(`${url}/api/v1/guardians/bank/vault`, { method: 'PUT', token: alice, body: JSON.stringify({ configured: CONFIGURED }), headers: json })).status).toBe(403);
    expect((await call(`${url}/api/v1/guardians/bank/vault/copy-learned`, { method: 'POST', token: alice })).status).toBe(403);
    expect((await call(`${url}/api/v1/alerts?namespace=bank`, { token: alice })).status).toBe(403);
    const own = await call(`${url}/api/v1/guardians/shop/cart`, { method: 'PUT', token: alice, body: JSON.stringify({ configured: CONFIGURED }), headers: json });
    expect(own.status).toBe(200);
    // Replacing a Guardian that does not exist creates it, which takes the create right.
    const create = await call(`${url}/api/v1/guardians/shop/new-one`, { method: 'PUT', token: alice, body: JSON.stringify({ configured: CONFIGURED }), headers: json });
    expect(create.status).toBe(403);
    expect(create.json.error.message).toBe('alice may not create Guardians in namespace shop');
    const alerts = await call(`${url}/api/v1/alerts?namespace=shop&service=cart&level=Session&limit=10`, { token: alice });
    expect(alerts.json.items.map((a: any) => a.service)).toEqual(['cart']);

    // A group grant: read everywhere, write nowhere.
    expect((await call(`${url}/api/v1/guardians`, { token: bob })).json.items).toHaveLength(2);
    expect((await call(`${url}/api/v1/alerts`, { token: bob })).json.items).toHaveLength(2);
    expect((await call(`${url}/api/v1/guardians/shop/cart`, { method: 'PUT', token: bob, body: JSON.stringify({ control: null }), headers: json })).status).toBe(403);

    // One replica's parts (what the others ask for with the person's token): the same rights, checked input.
    expect((await call(`${url}/api/v1/replica/alerts?namespace=bank`, { token: alice })).status).toBe(403);
    const part = await call(`${url}/api/v1/replica/alerts?namespace=shop`, { token: alice });
    expect(part.json.items.map((a: any) => a.service)).toEqual(['cart']);
    const ask = (token: string, body: unknown) => call(`${url}/api/v1/replica/services`, { method: 'POST', token, body: JSON.stringify(body), headers: json });
    const states = await ask(alice, { namespace: 'shop', services: [{ namespace: 'shop', service: 'cart' }] });
    expect(states.status).toBe(200);
    expect(states.json.items).toEqual([expect.objectContaining({ namespace: 'shop', service: 'cart', pileSamples: 0, alerts: expect.objectContaining({ lastHour: expect.objectContaining({ entries: 1 }) }) })]);
    expect(states.json.items[0].learning).toMatchObject({ learns: 1, samples: 2 });
    expect((await ask(alice, { services: [{ namespace: 'shop', service: 'cart' }] })).status).toBe(403);
    expect((await ask(alice, { namespace: 'shop', services: [{ namespace: 'bank', service: 'vault' }] })).json.error).toEqual({ code: 'GUARD_API_INVALID', message: 'service bank/vault is not in namespace shop' });
    for (const bad of [null, {}, { services: 'cart' }, { services: [{ namespace: 'shop' }] }, { services: [{ namespace: 'Shop!', service: 'cart' }] }]) {
      const r = await ask(bob, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json.error.code).toBe('GUARD_API_INVALID');
    }
    expect((await ask(bob, { services: Array.from({ length: 20_001 }, () => ({ namespace: 'shop', service: 'cart' })) })).json.error.message).toBe('at most 20000 services at once, got 20001');

    expect((await call(`${url}/api/v1/alerts?since=yesterday`, { token: bob })).status).toBe(400);
    expect((await call(`${url}/api/v1/alerts?limit=0`, { token: bob })).status).toBe(400);
    const m = await call(`${url}/metrics`);
    expect(m.text).toMatch(/guard_service_auth_failures_total\{api="people",reason="forbidden"\} [1-9]/);
  });

  it('answers 503 when Kubernetes cannot review a person', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    kube.state.addToken('alice-token-0001', { username: 'alice' });
    kube.state.failNext('POST /apis/authorization.k8s.io/v1/subjectaccessreviews', 500);
    const r = await call(`${url}/api/v1/guardians?namespace=shop`, { token: 'alice-token-0001' });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
  });
});
