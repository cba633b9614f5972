// guard-ui in Debian's Chromium against a real guard-service (file store, token sign-in), as a
// person uses it: sign in, find a service, read rules in words, edit an allowed key and a control
// flag and see both stored, promote one learned field, watch a new alert arrive with its sentence,
// decide a pasted request in the browser exactly as `guard check` does, see a concurrent edit
// refused, filter alerts, promote a whole Guardian, edit the rules as YAML and see a draft the core
// refuses kept from saving. Screenshots of the main views go to build/screenshots (docs/ui with
// `npm run screenshots`).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Section } from '../../core/index.js';
import { limitCode } from '../../ui/src/units.js';
import { serviceConfig, startService, type RunningService } from '../../service/index.js';
import { FileGuardianStore } from '../../store/file.js';
import { call, core, eventually, silent, sync, tempDir } from '../service/api-support.js';
import { launchChromium, type Browser } from '../support/browser.js';

const bin = fileURLToPath(new URL('../../bin/guard.js', import.meta.url));
const shots = process.env.GUARD_UI_SCREENSHOTS ?? fileURLToPath(new URL('../../build/screenshots', import.meta.url));
const json = { 'content-type': 'application/json' };

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
function shopRequest(i: number, page: boolean) {
  const query = `id=${100 + (i % 50)}&lang=${i % 2 ? 'en' : 'de'}${page ? `&page=${i % 9}` : ''}`;
  return { method: 'GET', path: `/shop/items/${100 + (i % 50)}`, query, headers: [['Accept', 'application/json'], ['User-Agent', UA]] as Array<[string, string]>, remote: '203.0.113.7' };
}

/** A spec learned as guard-service learns (a pile through its wire form) from shop traffic. */
function learnedSpec(page: boolean): any {
  const pile = core.newPile();
  for (let i = 0; i < 300; i++) {
    const s = core.newSession();
    s.profileRequest(shopRequest(i, page && i % 3 === 0));
    s.profileResponse({ status: 200, headers: [['Content-Type', 'application/json']], body: '{"name":"tea pot"}' });
    pile.add(s);
    s.dispose();
  }
  const loaded = core.parsePile(pile.toWire());
  pile.dispose();
  const g = core.defaultGuardian();
  g.learn(loaded);
  loaded.dispose();
  try {
    return JSON.parse(g.toWire());
  } finally {
    g.dispose();
  }
}

/** The wire form of a pile of `n` sessions of shop traffic, as a gate sends it. */
function shopPile(n: number): string {
  const pile = core.newPile();
  for (let i = 0; i < n; i++) {
    const s = core.newSession();
    s.profileRequest(shopRequest(i, false));
    pile.add(s);
    s.dispose();
  }
  try {
    return pile.toWire();
  } finally {
    pile.dispose();
  }
}

/** What a gate reports of a request its Guardian alerts on: the decision against the rules in force. */
function alertOf(spec: any, request: ReturnType<typeof shopRequest>, count: number): object {
  const guardian = core.parseGuardian(spec);
  const s = core.newSession();
  try {
    s.profileRequest(request);
    expect(s.decide(guardian, Section.All)).toBeGreaterThan(0);
    return { decision: s.decisionTree(), time: Math.floor(Date.now() / 1000), level: 'Session', count };
  } finally {
    s.dispose();
    guardian.dispose();
  }
}

/** A gate's sync of demo/shop-like traffic: a pile and alerts. */
function syncOf(namespace: string, service: string, pile: string | null, alerts: object[]) {
  return sync(svc.url, undefined, `{"pile":${pile ?? 'null'},"alerts":${JSON.stringify(alerts)},"compromised":false}`, `?ns=${namespace}&sid=${service}&pod=${service}-5d8f`);
}

/**
 * A route-aware spec learned as guard-service learns (default caps, the pile through its wire
 * form): books by id with `lang`, a search with `q` and `page`, a cart taking a JSON body; addressed
 * by name and by a pod's IPv4 address.
 */
function routeSpec(): any {
  const pile = core.newPile();
  for (let i = 0; i < 300; i++) {
    const s = core.newSession();
    const host: [string, string] = ['Host', i % 10 === 0 ? '10.0.0.3:8080' : 'books.example.com'];
    const headers: Array<[string, string]> = [host, ['Accept', 'application/json'], ['User-Agent', UA]];
    if (i % 3 === 0) s.profileRequest({ method: 'GET', path: `/books/${1000 + i}`, query: `lang=${i % 2 ? 'en' : 'de'}`, headers, remote: '203.0.113.7' });
    else if (i % 3 === 1) s.profileRequest({ method: 'GET', path: '/search', query: `q=tea&page=${i % 9}`, headers, remote: '203.0.113.7' });
    else s.profileRequest({ method: 'POST', path: '/cart', query: '', headers: [...headers, ['Content-Type', 'application/json']], body: `{"item":${i},"qty":2}`, remote: '203.0.113.7' });
    s.profileResponse({ status: 200, headers: [['Content-Type', 'application/json']], body: '{"ok":true}' });
    pile.add(s);
    s.dispose();
  }
  const loaded = core.parsePile(pile.toWire());
  pile.dispose();
  const g = core.defaultGuardian();
  g.learn(loaded, {});
  loaded.dispose();
  try {
    return JSON.parse(g.toWire());
  } finally {
    g.dispose();
  }
}

/** guard-service for the whole file (the API suites' start() lasts one test). */
let svc: { url: string; service: RunningService; disk: FileGuardianStore; dir: string };
let token: string;
let browser: Browser;
const api = (path: string) => call(`${svc.url}/api/v1/guardians/${path}`, { token });

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'guard-ui-'));
  const service = await startService(serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }), { logger: silent });
  svc = { url: service.url, service, dir, disk: new FileGuardianStore(dir, { report: () => {} }) };
  token = service.peopleToken!;
  // demo/shop: configured from an earlier learn (without `page`); learned since then also saw `page`.
  const older = learnedSpec(false);
  const newer = learnedSpec(true);
  // Learned by an earlier guard-service run, as the time written with the learned rules says.
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
  await svc.disk.update('demo', 'shop', () => ({ configured: older.learned, learned: newer.learned, samples: newer.samples, learnedAt: hoursAgo(3), control: { alert: true, block: false, learn: true, force: false, auto: false } }));
  await svc.disk.update('demo', 'cart', () => learnedSpec(false));
  // other/billing: alerting with configured rules promoted from learned ones.
  const billing = learnedSpec(false);
  await svc.disk.update('other', 'billing', () => ({ ...billing, configured: billing.learned, control: { alert: true, block: false, learn: true, force: false, auto: false } }));
  // demo/books: route-aware; configured from the learned rules, but without the route POST /cart.
  const books = routeSpec();
  const configured = structuredClone(books.learned);
  delete configured.routes['POST /cart'];
  await svc.disk.update('demo', 'books', () => ({ ...books, configured, learnedAt: hoursAgo(0.7), control: { alert: true, block: false, learn: true, force: false, auto: false } }));
  // The gates of demo/cart and other/billing sync: guard-service learns their piles now, and billing
  // reports alerts of a query parameter `id` with letters.
  const billingAlert = alertOf({ ...billing, configured: billing.learned, control: { alert: true, block: false, learn: true, force: false, auto: false } }, { ...shopRequest(3, false), query: 'id=abc&lang=en' }, 3);
  expect((await syncOf('demo', 'cart', shopPile(40), [])).status).toBe(200);
  expect((await syncOf('other', 'billing', shopPile(60), [billingAlert])).status).toBe(200);
  await eventually(async () => {
    const items: any[] = (await call(`${svc.url}/api/v1/services`, { token: service.peopleToken! })).json.items;
    return items.filter((i) => i.lastLearnedAt !== null).length === 4;
  });
  browser = await launchChromium();
  await mkdir(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await svc?.service.close();
  await svc?.disk.close();
  if (svc) await rm(svc.dir, { recursive: true, force: true });
});

const page = () => browser.page;

/** Press Tab (or Shift+Tab) until `target` has the focus, as a person without a mouse moves. */
async function tabTo(p: Page, target: ReturnType<Page['locator']>, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  for (let presses = 0; presses < 60; presses++) {
    await p.keyboard.press(key);
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`not reached with ${key} in 60 presses`);
}
const shot = (name: string, fullPage = false) => page().screenshot({ path: join(shots, `${name}.png`), fullPage });

describe('guard-ui in Chromium', () => {
  it('signs in with the people token (keyboard only), refusing a wrong one', async () => {
    const p = page();
    await p.goto(`${svc.url}/ui/`);
    await p.keyboard.type('not-the-token'); // the token field has the focus
    await p.keyboard.press('Enter');
    await p.getByRole('alert').filter({ hasText: 'guard-service did not accept this token.' }).waitFor();
    await p.fill('#token', token);
    await p.keyboard.press('Enter');
    await p.locator('table.service-table').waitFor();
    expect(await p.locator('table.service-table tbody tr').count()).toBe(4);
    // The refused sign-in's 401 is the one error the page may have logged.
    expect(browser.problems).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    browser.problems.length = 0;
  });

  it('finds a service and shows its mode, samples and readiness in words', async () => {
    const p = page();
    await p.fill('#find-service', 'shop');
    await expect.poll(() => p.locator('table.service-table tbody tr').count()).toBe(1);
    const row = p.locator('table.service-table tbody tr', { hasText: 'demo/shop' });
    expect(await row.innerText()).toMatch(/alerting only\s+with the configured rules/);
    expect(await row.innerText()).toMatch(/Keep learning: 300 samples, block after at least 1,000|Ready to block|Alerting only|too short to judge/);
    await p.fill('#find-service', '');
    // When each last learned: written with the learned rules by an earlier run, or learned by this one.
    const cells = (name: string) => p.locator('table.service-table tbody tr', { hasText: name }).locator('td');
    expect(await cells('demo/shop').nth(2).innerText()).toBe('3 h ago');
    expect(await cells('demo/books').nth(2).innerText()).toBe('42 min ago');
    expect(await cells('other/billing').nth(2).innerText()).toMatch(/^\d+ s ago$/);
    expect(await cells('other/billing').nth(3).innerText()).toBe('3');
    expect(await cells('other/billing').nth(5).innerText()).toMatch(/^Alerting only: 3 alerts in the \d+ s guard-service has been running would have been blocks\./);
    await shot('services');
    await p.fill('#find-service', 'shop');
    await row.getByRole('link', { name: 'demo/shop' }).focus();
    await p.keyboard.press('Enter');
    await p.locator('fieldset.control').waitFor();
    expect(await p.locator('.service-head').innerText()).toMatch(/alerting only with the configured rules · 300 samples learned/);
  });

  it('reads rules in words, learned beside configured', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Rules', exact: true }).click();
    const id = p.locator('tr[data-rule="req.qs.kv.vals.id"]');
    await id.waitFor();
    expect(await id.locator('td.learned').innerText()).toBe('up to 3 digits · up to 1 run');
    const lang = p.locator('tr[data-rule="req.qs.kv.vals.lang"]');
    expect(await lang.locator('td.learned').innerText()).toBe('up to 2 letters · up to 1 run');
    expect(await p.locator('tr[data-rule="req.method"] td.learned').innerText()).toBe('GET');
    expect(await p.locator('tr[data-rule="req.url.segments"] td.learned').innerText()).toBe('3 segments');
    const accept = await p.locator('tr[data-rule="req.headers.kv.vals.Accept"] td.learned').innerText();
    expect(accept).toMatch(/^up to 15 letters · up to 1 special character · up to 3 runs · special: \/$/);
    // The client's address the gate appends is learned as an address list (docs/tokens.md), said so.
    const xff = await p.locator('tr[data-rule="req.headers.kv.vals.X-Forwarded-For"] td.learned').innerText();
    expect(xff).toMatch(/^up to 8 digits · .* · or a list of 1 to 32 IP addresses \(IPv4 or IPv6\)$/);
    // Never a raw code in the readable columns.
    expect(await p.locator('table.rule-table td.learned').allInnerTexts()).not.toContainEqual(expect.stringMatching(/"letters":|0x[0-9a-f]+/));
    await shot('rules');
  });

  it('changes an allowed key and a control flag; both are stored (a learner write meanwhile is no obstacle)', async () => {
    const p = page();
    await p.fill('#' + (await p.getByLabel('Allow a query parameter').getAttribute('id')), 'sort');
    await p.getByRole('button', { name: 'Allow query parameter' }).click();
    const sort = p.locator('tr[data-rule="req.qs.kv.vals.sort"]');
    await sort.locator('summary').click();
    const letters = sort.getByLabel('Letters: up to');
    await letters.fill('20');
    await letters.press('Enter');
    expect(await sort.locator('summary').innerText()).toBe('up to 21 letters'); // 20 and 21 are one step of Guard's counts
    await p.getByRole('link', { name: 'Overview' }).click();
    await p.getByLabel('Block').check();
    expect(await p.locator('.flag', { hasText: 'Block' }).innerText()).toMatch(/refused \(403\) before it reaches the service/);
    await p.evaluate(() => scrollTo(0, 0)); // the save bar and the flags, from the top
    await shot('overview');
    // The learner writes (learned and samples) while the person edits.
    const before = (await api('demo/shop')).json;
    await svc.disk.updateLearned('demo', 'shop', before.spec.learned, before.spec.samples + 5);
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const stored = (await api('demo/shop')).json.spec;
    expect(stored.control.block).toBe(true);
    expect(stored.configured.req.qs.kv.vals.sort).toMatchObject({ letters: limitCode(20), digits: 0 });
    expect(stored.samples).toBe(before.spec.samples + 5);
  });

  it('promotes one learned field, keyboard only', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Rules', exact: true }).click();
    const row = p.locator('tr[data-rule="req.qs.kv.vals.page"]');
    expect(await row.locator('td.configured').innerText()).toBe('—');
    // From the Rules tab on, with Tab, typing and Enter only.
    await tabTo(p, p.getByLabel('Find a rule'));
    await p.keyboard.type('page');
    await tabTo(p, row.getByRole('button', { name: 'Use learned: query parameter `page`' }));
    await p.keyboard.press('Enter');
    expect(await row.locator('td.configured summary').innerText()).toBe('up to 1 digit · up to 1 run');
    await tabTo(p, p.getByRole('button', { name: 'Save' }), 'Shift+Tab');
    await p.keyboard.press('Enter');
    await p.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const spec = (await api('demo/shop')).json.spec;
    expect(spec.configured.req.qs.kv.vals.page).toEqual(spec.learned.req.qs.kv.vals.page);
    expect(spec.configured.req.qs.kv.vals.id).toEqual(spec.learned.req.qs.kv.vals.id);
  });

  it('shows a new alert as it arrives, explained in a sentence', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Alerts' }).nth(1).click();
    await p.getByText('No alerts received since guard-service started.').waitFor();
    // What a gate reports: the decision of a request with letters in `id`, against the rules in force.
    const guardian = core.parseGuardian((await api('demo/shop')).json.spec);
    const s = core.newSession();
    s.profileRequest({ ...shopRequest(1, false), query: 'id=abc&lang=en' });
    expect(s.decide(guardian, Section.All)).toBeGreaterThan(0);
    const alert = { decision: s.decisionTree(), time: Math.floor(Date.now() / 1000), level: 'Session', count: 2 };
    s.dispose();
    guardian.dispose();
    expect((await sync(svc.url, undefined, JSON.stringify({ pile: null, alerts: [alert], compromised: false }), '?ns=demo&sid=shop&pod=shop-7')).status).toBe(200);
    const card = p.locator('li.alert-card.new');
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator('.sentence').first().innerText()).toBe('Query parameter id had 3 letters; it never had any letters.');
    expect(await card.locator('code').first().innerText()).toBe('id');
    expect(await card.locator('.alert-head').innerText()).toMatch(/2 times.*pods shop-7/s);
    await shot('alerts');
  });

  it('filters alerts by service and by field', async () => {
    const p = page();
    // demo/cart reports a query parameter `lang` with a quote; shop and billing alerted on `id`.
    const cart = (await api('demo/cart')).json.spec;
    expect((await syncOf('demo', 'cart', null, [alertOf(cart, { ...shopRequest(2, false), query: "id=102&lang=e'n" }, 1)])).status).toBe(200);
    await p.getByRole('link', { name: 'Alerts' }).first().click();
    const cards = p.locator('li.alert-card');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(3);
    const services = () => cards.locator('.alert-head a').allInnerTexts();
    expect((await services()).sort()).toEqual(['demo/cart', 'demo/shop', 'other/billing']);
    expect(await p.locator('.filters .hint').innerText()).toBe('3 of 3 kinds of alert, 3 reports; newest first');

    await p.getByLabel('Service', { exact: true }).selectOption('demo/cart');
    await expect.poll(services).toEqual(['demo/cart']);
    expect(await cards.locator('.sentence').allInnerTexts()).toContain('Query parameter lang had 3 runs; the rule allows up to 1 run.');

    await p.getByLabel('Service', { exact: true }).selectOption('');
    await p.getByLabel('Field', { exact: true }).selectOption('query parameter `id`');
    await expect.poll(async () => (await services()).sort()).toEqual(['demo/shop', 'other/billing']);
    expect(await p.locator('.filters .hint').innerText()).toBe('2 of 3 kinds of alert, 3 reports; newest first');
    // Both filters at once: billing's alert is the one about `id` there.
    await p.getByLabel('Service', { exact: true }).selectOption('other/billing');
    await expect.poll(services).toEqual(['other/billing']);
    expect(await cards.locator('.sentence').first().innerText()).toBe('Query parameter id had 3 letters; it never had any letters.');
    await p.getByLabel('Field', { exact: true }).selectOption('query parameter `lang`');
    await expect.poll(() => cards.count()).toBe(0);
    // Back to demo/shop, where the next views are.
    await p.getByRole('link', { name: 'Services' }).first().click();
    await p.locator('table.service-table tbody tr', { hasText: 'demo/shop' }).getByRole('link', { name: 'demo/shop' }).click();
    await p.locator('fieldset.control').waitFor();
  });

  it('says which guard-service replica did not answer, on the alerts and the services views', async () => {
    const p = page();
    // guard-service's own answers, with the part of one replica missing, as a replica answers when another is down.
    const missing = [{ replica: 'guard-service-7f9c-2', error: 'replica guard-service-7f9c-2 (https://10.0.0.12:8888) did not answer: connect ECONNREFUSED' }];
    for (const path of ['**/api/v1/alerts?*', '**/api/v1/services']) {
      await p.route(path, async (route) => {
        const real = await route.fetch();
        await route.fulfill({ response: real, json: { ...(await real.json()), incomplete: missing } });
      });
    }
    try {
      await p.getByRole('link', { name: 'Alerts' }).nth(1).click();
      const notice = p.locator('.alerts p.warning');
      await notice.waitFor();
      expect(await notice.innerText()).toMatch(/Not shown: the alerts of their services on one guard-service replica that did not answer \(guard-service-7f9c-2\).*ECONNREFUSED/s);
      await p.getByRole('link', { name: 'Services' }).first().click();
      const overview = p.locator('.services p.warning');
      await overview.waitFor();
      expect(await overview.innerText()).toMatch(/alerts and learning times of their services on one guard-service replica.*guard-service-7f9c-2/s);
    } finally {
      await p.unrouteAll({ behavior: 'wait' });
    }
    // Back to the service's page, where the next views are.
    await p.locator('table.service-table tbody tr', { hasText: 'demo/shop' }).getByRole('link', { name: 'demo/shop' }).click();
    await p.locator('fieldset.control').waitFor();
  });

  it('decides a pasted request in the browser with the result guard check gives', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Try a request' }).click();
    const raw = `GET /shop/items/101?id=abc&lang=en%27OR%271 HTTP/1.1\nAccept: */*\nUser-Agent: ${UA}\n`;
    await p.getByLabel('Request').fill(raw);
    await p.getByRole('button', { name: 'Decide' }).click();
    const line = (await p.locator('code.check-line').textContent())!; // exact text (two spaces stay two)
    expect(await p.locator('.try-result h4').innerText()).toBe('raw HTTP request: refused (blocked)');
    expect(await p.locator('.try-result .sentence').allInnerTexts()).toContain('Query parameter id had 3 letters; it never had any letters.');
    await shot('try');

    // The same request as a traffic record, through the real `guard check`.
    const dir = await tempDir();
    await writeFile(join(dir, 'guardian.json'), JSON.stringify((await api('demo/shop')).json));
    const record = { method: 'GET', path: '/shop/items/101', query: 'id=abc&lang=en%27OR%271', headers: [['Accept', '*/*'], ['User-Agent', UA]] };
    await writeFile(join(dir, 'traffic.jsonl'), `${JSON.stringify(record)}\n`);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, 'check', '--guardian', join(dir, 'guardian.json'), '--in', join(dir, 'traffic.jsonl')], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(line).toBe(out.trim());
    expect(JSON.parse(line).allowed).toBe(false);

    // A HAR entry of a normal request passes, here as there.
    const har = { request: { method: 'GET', url: 'https://shop.example/shop/items/120?id=120&lang=de', headers: [{ name: 'Accept', value: 'application/json' }, { name: 'User-Agent', value: UA }] } };
    await p.getByLabel('Request').fill(JSON.stringify(har));
    await p.getByRole('button', { name: 'Decide' }).click();
    await p.locator('.try-result.allowed').waitFor();
    expect(await p.locator('code.check-line').innerText()).toBe('{"allowed":true,"result":0,"decision":""}');
  });

  it('refuses to save over a concurrent change of the rules, saying so', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Rules', exact: true }).click();
    const lang = p.locator('tr[data-rule="req.qs.kv.vals.lang"]');
    await lang.getByRole('button', { name: 'Remove query parameter lang' }).click();
    // Another person changes the rules meanwhile.
    const theirs = (await api('demo/shop')).json.spec.configured;
    theirs.req.method = { set: ['GET', 'HEAD'] };
    expect((await call(`${svc.url}/api/v1/guardians/demo/shop`, { method: 'PUT', token, headers: json, body: JSON.stringify({ configured: theirs }) })).status).toBe(200);
    await p.getByRole('button', { name: 'Save' }).click();
    const message = await p.locator('.save-bar p[role="alert"]').innerText();
    expect(message).toMatch(/^Not saved: someone else changed the rules or the control of demo\/shop while you were editing \(you started from version \d+, it is now at \d+\)\. Your changes are still here; reload to see theirs, then redo yours\.$/);
    await shot('conflict');
    const stored = (await api('demo/shop')).json.spec.configured;
    expect(stored.req.method.set).toEqual(['GET', 'HEAD']);
    expect(stored.req.qs.kv.vals.lang).toBeDefined();
    // The browser logs the two refused saves (the learner's write, then this one); nothing else failed.
    const refused = 'console: Failed to load resource: the server responded with a status of 412 (Precondition Failed)';
    expect(browser.problems).toEqual([refused, refused]);
  });

  it('reads the route table in words, learned beside configured, with the caps and the Host', async () => {
    browser.problems.length = 0;
    const p = page();
    await p.goto(`${svc.url}/ui/#/service/demo/books/routes`);
    const route = p.locator('tr[data-route="GET /books/{id}"]');
    await route.waitFor();
    expect(await route.locator('th').innerText()).toBe('GET /books/{id} — id: a number, or an id that is mostly digits (ORD-2024-000123)');
    expect(await route.locator('td.learned').innerText()).toBe('query: lang · body: none');
    expect(await route.locator('td.configured').innerText()).toBe('query: lang · body: none');
    const cart = p.locator('tr[data-route="POST /cart"]');
    expect(await cart.locator('td.learned').innerText()).toBe('query: none · body: item, qty');
    expect(await cart.locator('td.configured').innerText()).toBe('not configured');
    expect(await p.locator('p.in-force').innerText()).toMatch(/^The configured rules are in force and have a route table/);
    expect(await p.locator('.caps').first().innerText()).toMatch(/Up to 64 parameter names per table \(query, form and JSON body fields\); beyond, the catch-all applies\./);
    expect(await p.locator('dd[data-host="learned"]').innerText()).toBe('only an IPv4 address on port 8080, books.example.com');
    expect(await p.locator('fieldset[data-policy="unknownRoute"]').innerText()).toMatch(/Alert\s+A request on a route that was never learned alerts/);
    await shot('routes', true);
    // On the Rules tab: the route table and the caps in one row each, the Host in words.
    await p.getByRole('link', { name: 'Rules', exact: true }).click();
    await p.locator('tr[data-rule="routes"]').waitFor();
    expect(await p.locator('tr[data-rule="routes"] td.learned').innerText()).toBe('3 routes (see the Routes tab)');
    expect(await p.locator('tr[data-rule="routes"] td.configured').innerText()).toBe('2 routes (see the Routes tab)');
    expect(await p.locator('tr[data-rule="caps"] td.learned').innerText()).toBe('64 parameter names, 64 header names per table · 256 routes · unknown headers: alert');
    const host = p.locator('tr[data-rule="req.host"]');
    expect(await host.locator('td.learned').innerText()).toBe('only an IPv4 address on port 8080, books.example.com');
    // A Host typed as an address would never match: the core writes every IPv4 address as one kind.
    await host.getByLabel('add host').fill('10.0.0.3:9090');
    await host.getByRole('button', { name: 'Add host' }).click();
    expect(await host.getByRole('alert').innerText()).toBe('an IPv4 address is written ipv4 (every IPv4 address is one kind), with its port: ipv4:9090');
    expect(await p.locator('.save-bar').count()).toBe(0);
  });

  it('decides an unknown route in the browser as guard check decides it', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Try a request' }).click();
    expect(await p.locator('.try > p').first().innerText()).toMatch(/with the configured rules \(the ones control selects\)\. Their route table is checked: unknown routes alert, unknown parameter names alert\.$/);
    await p.getByLabel('Request').fill(`POST /cart HTTP/1.1\nHost: books.example.com\nAccept: application/json\nUser-Agent: ${UA}\nContent-Type: application/json\n\n{"item":5,"qty":2}`);
    await p.getByRole('button', { name: 'Decide' }).click();
    const line = (await p.locator('code.check-line').textContent())!;
    expect(await p.locator('.try-result h4').innerText()).toBe('raw HTTP request: alert (would be blocked with Block on)');
    expect(await p.locator('.try-result .sentence').allInnerTexts()).toContain('The route POST /cart was never learned: no request with this method on this path template was seen.');

    const dir = await tempDir();
    await writeFile(join(dir, 'guardian.json'), JSON.stringify((await api('demo/books')).json));
    const record = { method: 'POST', path: '/cart', headers: [['Host', 'books.example.com'], ['Accept', 'application/json'], ['User-Agent', UA], ['Content-Type', 'application/json']], body: '{"item":5,"qty":2}' };
    await writeFile(join(dir, 'traffic.jsonl'), `${JSON.stringify(record)}\n`);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, 'check', '--guardian', join(dir, 'guardian.json'), '--in', join(dir, 'traffic.jsonl')], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(line).toBe(out.trim());
    expect(JSON.parse(line).decision).toMatch(/Route POST \/cart:\[Route is not known,\]/);
  });

  it('promotes one route and changes the policies and the slack; all are stored with the resource version', async () => {
    const p = page();
    await p.getByRole('link', { name: 'Routes', exact: true }).click();
    const cart = p.locator('tr[data-route="POST /cart"]');
    await cart.getByRole('button', { name: 'Use learned route POST /cart' }).click();
    expect(await cart.locator('td.configured').innerText()).toBe('query: none · body: item, qty');
    // A name allowed on one route, without JSON.
    const search = p.locator('tr[data-route="GET /search"]');
    await search.locator('td.configured summary').click();
    await search.getByLabel('add query parameter to GET /search').fill('sort');
    await search.getByRole('button', { name: 'Add query parameter to GET /search' }).click();
    expect(await search.locator('td.configured summary').innerText()).toBe('query: page, q, sort · body: none');
    const unknownRoute = p.locator('fieldset[data-policy="unknownRoute"]');
    await unknownRoute.getByLabel('Fall back to the service').check();
    await p.locator('fieldset[data-policy="unknownParam"]').getByLabel('Ignore').check();
    const slack = p.getByLabel('Steps of slack on learned limits');
    await slack.fill('17');
    await p.getByRole('alert').filter({ hasText: 'Slack must be at most 16' }).waitFor();
    expect(await p.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await slack.fill('2');
    expect(await p.locator('.policies').innerText()).toMatch(/widened by 2 steps when deciding/);
    const before = (await api('demo/books')).json;
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const after = (await api('demo/books')).json;
    expect(Number(after.resourceVersion)).toBeGreaterThan(Number(before.resourceVersion));
    expect(after.spec.control).toEqual({ alert: true, block: false, learn: true, force: false, auto: false, unknownRoute: 'service-wide', unknownParam: 'ignore', slack: 2 });
    expect(after.spec.configured.routes['POST /cart']).toEqual(after.spec.learned.routes['POST /cart']);
    expect(after.spec.configured.routes['GET /search']).toEqual({ query: ['page', 'q', 'sort'], body: [] });
    // The gate's core reads the stored control as saved.
    const g = core.parseGuardian(after.spec);
    expect(g.policy).toEqual({ unknownRoute: 'service-wide', unknownParam: 'ignore', slack: 2 });
    g.dispose();
    expect(browser.problems).toEqual([]);
  });

  it('uses all learned rules as the configured ones; after a save they are stored as learned', async () => {
    const p = page();
    const before = (await api('demo/books')).json.spec;
    expect(before.configured).not.toEqual(before.learned); // `sort` allowed on GET /search by hand
    await p.getByRole('link', { name: 'Rules', exact: true }).click();
    await p.getByRole('button', { name: 'Use all learned rules' }).click();
    expect(await p.locator('tr[data-rule="routes"] td.configured').innerText()).toBe('3 routes (see the Routes tab)');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const after = (await api('demo/books')).json.spec;
    expect(after.configured).toEqual(after.learned);
    expect(after.control).toEqual(before.control);
    expect(browser.problems).toEqual([]);
  });

  it('edits a rule in the YAML tab, applied to the draft and saved', async () => {
    const p = page();
    await p.goto(`${svc.url}/ui/#/service/demo/shop/source`);
    const source = p.getByLabel('Configured rules and control as YAML');
    await expect.poll(() => source.inputValue()).toMatch(/^control:\n {2}alert: true\n/);
    const before = (await api('demo/shop')).json;
    expect(before.spec.configured.req.qs.kv.vals.id.digits).toBe(3);
    await shot('source');
    // Up to 5 digits in the query parameter `id` instead of 3: one line changed.
    const idDigits = (n: number) => new RegExp(`(\\n {4}qs:\\n {6}kv:\\n {8}vals:\\n {10}id:\\n {12}digits: )${n}\\n`);
    const text = await source.inputValue();
    expect(text).toMatch(idDigits(3));
    await source.fill(text.replace(idDigits(3), (_, head: string) => `${head}5\n`));
    await p.getByRole('button', { name: 'Apply to the draft' }).click();
    await p.getByText('You have unsaved changes.').waitFor();
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const after = (await api('demo/shop')).json.spec;
    expect(after.configured.req.qs.kv.vals.id).toEqual({ ...before.spec.configured.req.qs.kv.vals.id, digits: 5 });
    // Nothing else changed on the way through YAML.
    after.configured.req.qs.kv.vals.id.digits = 3;
    expect(after.configured).toEqual(before.spec.configured);
    expect(after.control).toEqual(before.spec.control);
    expect(await source.inputValue()).toMatch(idDigits(5)); // the text shows the saved draft
  });

  it('applies no YAML or JSON text that does not parse, and saves nothing', async () => {
    const p = page();
    const version = (await api('demo/shop')).json.resourceVersion;
    const source = p.getByLabel('Configured rules and control as YAML');
    await source.fill('control:\n  alert: [true\n');
    await p.getByRole('button', { name: 'Apply to the draft' }).click();
    expect(await p.locator('.source p[role="alert"]').innerText()).toMatch(/^Not applied: .*flow sequence/is);
    expect(await p.getByRole('button', { name: 'Save' }).count()).toBe(0);

    await p.getByLabel('JSON', { exact: true }).check();
    const json = p.getByLabel('Configured rules and control as JSON');
    await expect.poll(() => json.inputValue()).toMatch(/^\{\n {2}"control": \{/);
    await json.fill('{"control": {"alert": true,');
    await p.getByRole('button', { name: 'Apply to the draft' }).click();
    expect(await p.locator('.source p[role="alert"]').innerText()).toMatch(/^Not applied: .*JSON/);
    await json.fill('[]');
    await p.getByRole('button', { name: 'Apply to the draft' }).click();
    expect(await p.locator('.source p[role="alert"]').innerText()).toBe('Not applied: give an object with control and configured');
    expect(await p.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect((await api('demo/shop')).json.resourceVersion).toBe(version);
  });

  it('keeps a draft the core refuses from being saved, saying why', async () => {
    const p = page();
    const before = (await api('demo/shop')).json;
    // The text as the draft is, again (the refused text stayed for the person to fix).
    await p.getByLabel('YAML', { exact: true }).check();
    await p.getByLabel('JSON', { exact: true }).check();
    const json = p.getByLabel('Configured rules and control as JSON');
    await expect.poll(() => json.inputValue()).toMatch(/^\{\n {2}"control": \{/);
    const draft = JSON.parse(await json.inputValue());
    draft.configured.req.qs.kv.vals.id.letters = 300; // a count where the Guardian holds a code (0–255)
    await json.fill(JSON.stringify(draft, null, 2));
    await p.getByRole('button', { name: 'Apply to the draft' }).click();
    const refusal = p.locator('.save-actions .error');
    await refusal.waitFor();
    expect(await refusal.innerText()).toBe('The core refuses them: invalid Guardian: configured.req.qs.kv.id.letters: number 300 out of range for a code (0–255)');
    expect(await p.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await p.getByRole('button', { name: 'Discard' }).click();
    expect(await p.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect((await api('demo/shop')).json).toEqual(before);
    expect(browser.problems).toEqual([]);
  });
});
