// SyncClient: its sync policy (gate/sync.ts) on a FakeClock (against a small capturing HTTP
// server), and the protocol against a real guard-service (file store, auth off: identity in the
// query).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCore } from '../../core/index.js';
import { GuardianSource } from '../../gate/guardian-source.js';
import { SyncClient, type SyncClientOptions, type SyncResult } from '../../gate/sync.js';
import { FakeClock, type Clock } from '../../clock/index.js';
import { silentLogger } from '../../log/index.js';
import { core, eventually, gate, standin, start, tempDir } from '../service/api-support.js';

const NS = 'shop';
const SID = 'cart';
const POD = 'cart-7f9c-abcde';
const INTERVAL = 60_000;

function spec(samples: number, block = false) {
  return { configured: null, samples, control: { alert: true, block, learn: true, force: false, auto: true } };
}

interface Captured {
  url: string;
  authorization: string | undefined;
  body: string;
  pileCount: number;
  /** X-Guard-Sync-Id. */
  syncId: string | undefined;
  contentType: string | undefined;
  alerts: unknown[] | null;
  compromised: boolean;
}

type Mode = 'answer' | 'hang' | 'drop' | 'status500' | 'status400' | 'status429' | 'forward';

/** A server recording every /sync; answers `answer` (text), hangs, drops, fails or forwards. */
async function capturingServer(initial: { answer?: string; mode?: Mode; forwardTo?: string } = {}) {
  const captured: Captured[] = [];
  const hanging: ServerResponse[] = [];
  const state = { mode: initial.mode ?? 'answer', answer: initial.answer ?? `{"guardian":${JSON.stringify(spec(0))}}`, forwardTo: initial.forwardTo };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const msg = JSON.parse(body) as { pile: { count: number } | null; alerts: unknown[] | null; compromised: boolean };
      const syncId = req.headers['x-guard-sync-id'];
      captured.push({ url: req.url ?? '', authorization: req.headers.authorization, body, pileCount: msg.pile?.count ?? 0, alerts: msg.alerts, compromised: msg.compromised, syncId: typeof syncId === 'string' ? syncId : undefined, contentType: req.headers['content-type'] });
      switch (state.mode) {
        case 'hang':
          hanging.push(res);
          return;
        case 'drop':
          req.socket.destroy();
          return;
        case 'status500':
          res.writeHead(500).end('{"error":"down"}');
          return;
        case 'status429':
          res.writeHead(429, { 'retry-after': '40' }).end('{"error":{"code":"GUARD_API_RATE_LIMITED","message":"pod shop/cart-1 syncs more often than 60 a minute"}}');
          return;
        case 'status400':
          res.writeHead(400).end('{"error":{"code":"GUARD_API_INVALID","message":"the pile is not one the core reads"}}');
          return;
        case 'forward':
          void request(`${state.forwardTo}${req.url}`, { method: 'POST', body, headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} }).then(
            async (r) => {
              const text = await r.body.text();
              res.writeHead(r.statusCode, { 'content-type': 'application/json' }).end(text);
            },
            () => req.socket.destroy(),
          );
          return;
        default:
          res.writeHead(200, { 'content-type': 'application/json' }).end(state.answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const h of hanging) h.socket?.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url, captured, state };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  client: SyncClient;
  source: GuardianSource;
  clock: FakeClock;
  results: SyncResult[];
}

function harness(url: string | undefined, options: Partial<SyncClientOptions> = {}): Harness {
  const clock = new FakeClock(0);
  const source = new GuardianSource({ core, namespace: NS, service: SID });
  const results: SyncResult[] = [];
  const client = new SyncClient({
    core,
    source,
    url,
    namespace: NS,
    service: SID,
    pod: POD,
    tokenFile: '/nonexistent/guard-service-token',
    clock,
    random: () => 0,
    intervalMs: INTERVAL,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    onResult: (r) => results.push(r),
    ...options,
  });
  cleanups.push(async () => {
    await client.close();
    source.close();
  });
  return { client, source, clock, results };
}

const session = (() => {
  const s = core.newSession();
  s.profileRequest({ method: 'GET', path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
  return s;
})();

function pile(client: SyncClient, n: number): void {
  for (let i = 0; i < n; i++) client.addSession(session);
}

/** Advance the fake clock, then wait (real time) until `n` results were reported. */
async function advanceTo(h: Harness, t: number, results: number): Promise<void> {
  h.clock.advance(t - h.clock.now());
  await eventually(async () => h.results.length >= results, 5000);
  await new Promise((r) => setImmediate(r));
}

/** Advance and make sure no sync starts. */
async function advanceQuiet(h: Harness, t: number): Promise<void> {
  const before = h.results.length;
  h.clock.advance(t - h.clock.now());
  await new Promise((r) => setTimeout(r, 50));
  expect(h.results.length).toBe(before);
}

describe('sync policy (FakeClock)', () => {
  it('syncs at 1000 samples, not at 999 (5 s after the last attempt)', async () => {
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(1_000_000))}}` });
    const h = harness(srv.url);
    expect((await h.client.start()).outcome).toBe('ok');
    expect(h.source.current().samples).toBe(1_000_000);
    h.clock.advance(6000);
    pile(h.client, 999);
    expect(h.client.nextSyncAt).toBe(5 * INTERVAL);
    await advanceQuiet(h, 20_000);
    pile(h.client, 1);
    expect(h.client.nextSyncAt).toBe(20_000);
    await advanceTo(h, 20_000, 2);
    expect(srv.captured[1]!.pileCount).toBe(1000);
    expect(h.client.pileCount).toBe(0);
  });

  it('keeps its schedule when a timer fires a fraction of a millisecond early, with no more traffic to re-arm it', async () => {
    // Real timers count whole milliseconds of a coarser clock than the one the policy reads.
    const fake = new FakeClock(0);
    const early: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(fn, Math.max(0, ms - 0.7)), clearTimeout: (t) => fake.clearTimeout(t) };
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(1_000_000))}}` });
    const h = harness(srv.url, { clock: early });
    await h.client.start(); // attempt at t=0
    fake.advance(1000.3);
    pile(h.client, 1000); // due at 5000 (5 s after the attempt), the timer fires at 4999.3
    fake.advance(4999.3 - fake.now());
    fake.advance(1);
    await eventually(async () => h.results.length >= 2, 5000);
    expect(srv.captured[1]!.pileCount).toBe(1000);
  });

  it('never syncs more often than every 5 s, even over the thresholds', async () => {
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(1_000_000))}}` });
    const h = harness(srv.url);
    await h.client.start(); // attempt at t=0
    pile(h.client, 1000);
    expect(h.client.nextSyncAt).toBe(5000);
    await advanceQuiet(h, 4999);
    await advanceTo(h, 5000, 2);
    pile(h.client, 1500);
    expect(h.client.nextSyncAt).toBe(10_000);
    expect((await h.client.sync(false)).outcome).toBe('skipped');
    await advanceTo(h, 10_000, 3);
    expect(srv.captured.map((c) => c.pileCount)).toEqual([0, 1000, 1500]);
  });

  it('syncs at 1000 alerts; any alert syncs at the interval', async () => {
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(1_000_000))}}` });
    let dropped = 0;
    const h = harness(srv.url, { onAlertDropped: () => dropped++ });
    await h.client.start();
    h.client.addAlert({ children: {}, reasons: ['x'], result: 1 }, 'x');
    h.client.addAlert({ children: {}, reasons: ['x'], result: 1 }, 'x'); // duplicate: counted
    expect(h.client.alertCount).toBe(1);
    expect(h.client.nextSyncAt).toBe(INTERVAL);
    for (let i = 0; i < 998; i++) h.client.addAlert({ reasons: [`a${i}`] }, `a${i}`);
    expect(h.client.nextSyncAt).toBe(INTERVAL);
    h.client.addAlert({ reasons: ['last'] }, 'last');
    expect(h.client.alertCount).toBe(1000);
    expect(h.client.nextSyncAt).toBe(5000);
    h.client.addAlert({ reasons: ['dropped'] }, 'dropped'); // beyond the cap: the newest is dropped
    expect(h.client.alertCount).toBe(1000);
    expect(dropped).toBe(1);
    await advanceTo(h, 5000, 2);
    expect(srv.captured[1]!.alerts).toHaveLength(1000);
    expect((srv.captured[1]!.alerts![0] as { count: number }).count).toBe(2);
    expect(h.client.alertCount).toBe(0);
  });

  it('holds alerts de-duplicated by level and sorted decision string, with the time of the first', async () => {
    const srv = await capturingServer();
    let wall = 1_700_000_000_500;
    const h = harness(srv.url, { wallNow: () => wall });
    await h.client.start();
    h.client.addAlert({ reasons: ['a'] }, '[a,]');
    wall += 10_000;
    h.client.addAlert({ reasons: ['a'] }, '[a,]'); // the same: counted
    h.client.addAlert({ reasons: ['a'] }, '[a,]', 'Gate'); // another level: another alert
    h.client.addAlert({ reasons: ['b'] }, '[b,]');
    expect(h.client.alertCount).toBe(3);
    await advanceTo(h, INTERVAL, 2);
    expect(srv.captured[1]!.alerts).toEqual([
      { decision: { reasons: ['a'] }, time: 1_700_000_000, level: 'Session', count: 2 },
      { decision: { reasons: ['a'] }, time: 1_700_000_010, level: 'Gate', count: 1 },
      { decision: { reasons: ['b'] }, time: 1_700_000_010, level: 'Session', count: 1 },
    ]);
  });

  it('after the interval syncs when the pile holds ≥ 10 % of the samples learned', async () => {
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(1000))}}` });
    const h = harness(srv.url);
    await h.client.start();
    pile(h.client, 99);
    expect(h.client.nextSyncAt).toBe(5 * INTERVAL);
    await advanceQuiet(h, 2 * INTERVAL);
    pile(h.client, 1); // 100 = 10 % of 1000, and the interval has passed: due now
    expect(h.client.nextSyncAt).toBe(2 * INTERVAL);
    await advanceTo(h, 2 * INTERVAL, 2);
    expect(srv.captured[1]!.pileCount).toBe(100);
    // Before the interval: waits for it.
    pile(h.client, 100);
    expect(h.client.nextSyncAt).toBe(3 * INTERVAL);
    await advanceQuiet(h, 3 * INTERVAL - 1);
    await advanceTo(h, 3 * INTERVAL, 3);
  });

  it('syncs after 5 intervals with nothing held', async () => {
    const srv = await capturingServer();
    const h = harness(srv.url);
    await h.client.start();
    expect(h.client.nextSyncAt).toBe(5 * INTERVAL);
    await advanceQuiet(h, 5 * INTERVAL - 1);
    await advanceTo(h, 5 * INTERVAL, 2);
    expect(srv.captured[1]!.pileCount).toBe(0);
    expect(srv.captured[1]!.alerts).toBeNull();
    expect(h.client.nextSyncAt).toBe(10 * INTERVAL);
  });

  it('spreads instances by a per-instance jitter (up to 10 % of the interval)', async () => {
    const srv = await capturingServer();
    const times: number[] = [];
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const h = harness(srv.url, { random: () => r });
      await h.client.start();
      h.client.addAlert({ reasons: ['x'] }, 'x');
      times.push(h.client.nextSyncAt);
      expect(h.client.nextSyncAt).toBe(INTERVAL + h.client.jitterMs);
    }
    expect(times).toEqual([60_000, 61_500, 63_000, 65_994]);
    const real = [1, 2, 3, 4, 5].map(() => {
      const c = new SyncClient({ core, source: new GuardianSource({ core, namespace: NS, service: SID }), namespace: NS, service: SID, pod: POD });
      cleanups.push(() => c.close());
      return c.jitterMs;
    });
    expect(new Set(real).size).toBeGreaterThan(1);
    for (const j of real) expect(j).toBeGreaterThanOrEqual(0), expect(j).toBeLessThan(6000);
  });

  it('is single-flight', async () => {
    const srv = await capturingServer();
    const h = harness(srv.url);
    await h.client.start();
    h.clock.advance(10_000);
    srv.state.mode = 'hang';
    const a = h.client.sync(true);
    const b = h.client.sync(true);
    expect(a).toBe(b);
    await eventually(async () => srv.captured.length === 2);
    srv.state.mode = 'answer';
    const r = await a; // the hanging one times out (headers timeout)
    expect(r.outcome).toBe('transport');
    expect(srv.captured).toHaveLength(2);
  });

  it('sends the compromised flag and asks for a sync when it rises', async () => {
    const srv = await capturingServer();
    const h = harness(srv.url);
    await h.client.start();
    h.clock.advance(1000);
    h.client.setCompromised(true);
    expect(h.client.nextSyncAt).toBe(5000);
    await advanceTo(h, 5000, 2);
    expect(srv.captured[1]!.compromised).toBe(true);
  });
});

describe('sync failures and back-off', () => {
  it('keeps the pile while guard-service is down or hanging, backs off exponentially, delivers it when back, a pile that may have arrived once', async () => {
    const { url: serviceUrl } = await start(null);
    const front = await capturingServer({ mode: 'drop', forwardTo: serviceUrl });
    const h = harness(front.url, { headersTimeoutMs: 300, bodyTimeoutMs: 300, maxBackoffMs: 20_000 });
    expect((await h.client.start()).outcome).toBe('transport');
    expect(h.source.ready).toBe(true); // the default after every source was tried
    expect(h.source.origin).toBe('default');
    expect(h.client.stats.backoffMs).toBe(5000);
    pile(h.client, 30);
    expect((await h.client.sync(false)).outcome).toBe('skipped'); // backing off
    h.clock.advance(5000);
    front.state.mode = 'hang';
    const t0 = Date.now();
    const hung = await h.client.sync(false);
    expect(hung.outcome).toBe('transport');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(h.client.stats.backoffMs).toBe(10_000);
    pile(h.client, 20);
    h.clock.advance(10_000);
    front.state.mode = 'status500';
    expect((await h.client.sync(false)).outcome).toBe('status');
    expect(h.client.stats.backoffMs).toBe(20_000);
    h.clock.advance(20_000);
    expect((await h.client.sync(false)).outcome).toBe('status');
    expect(h.client.stats.backoffMs).toBe(20_000); // capped
    expect(h.client.stats.consecutiveFailures).toBe(4);
    expect(h.client.pileCount).toBe(50);
    // Back: the scheduled retry delivers everything that was piled.
    front.state.mode = 'forward';
    const at = h.client.nextSyncAt;
    expect(at).toBeGreaterThanOrEqual(h.clock.now() + 20_000);
    await advanceQuiet(h, at - 1);
    await advanceTo(h, at, 5);
    expect(h.results[4]!.outcome).toBe('ok');
    expect(h.results[4]!.samples).toBe(50);
    expect(h.client.pileCount).toBe(0);
    expect(h.client.stats.backoffMs).toBe(0);
    expect(h.source.origin).toBe('service');
    expect(h.source.current().samples).toBe(50);
    // The 30 samples went out while the service hung: they may have arrived, so they were sent again
    // alone under their first id until an answer came; the 20 piled meanwhile followed, with their own.
    expect(front.captured.map((c) => c.pileCount)).toEqual([0, 30, 30, 30, 30, 20]);
    const ids = front.captured.map((c) => c.syncId);
    expect(ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(id))).toBe(true);
    expect(new Set(ids.slice(1, 5)).size).toBe(1);
    expect(new Set(ids).size).toBe(3);
  });

  it('after a core fault: an empty pile in the new instance; a snapshot in flight is lost, its alerts kept', async () => {
    const srv = await capturingServer({ mode: 'status500' });
    const first = loadCore().fresh();
    const h = harness(srv.url, { core: first });
    const inFirst = first.newSession();
    inFirst.profileRequest({ method: 'GET', path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
    for (let i = 0; i < 3; i++) h.client.addSession(inFirst);
    h.client.addAlert({ children: null, reasons: ['x'], result: 1 }, '[x,]');
    expect(h.client.pileCount).toBe(3);

    const flight = h.client.sync(true); // the snapshot (3 samples, 1 alert) is on its way…
    expect(() => first.debugTrap()).toThrow(/the core failed/);
    const next = first.fresh();
    expect(h.client.replaceCore(next)).toBe(0); // …so nothing was held in the failed pile
    const failed = await flight; // guard-service answers 500: the snapshot cannot be put back
    expect(failed.outcome).toBe('status');
    expect(h.client.pileCount).toBe(0);
    expect(h.client.alertCount).toBe(1);

    const inNext = next.newSession();
    inNext.profileRequest({ method: 'GET', path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
    h.client.addSession(inNext);
    srv.state.mode = 'answer';
    expect((await h.client.sync(true)).outcome).toBe('ok');
    // The unanswered unit goes again first, under its id, with its alerts and no pile; the new pile follows.
    const [resent, fresh] = srv.captured.slice(-2);
    expect(resent).toMatchObject({ pileCount: 0, syncId: srv.captured.at(-3)?.syncId });
    expect(resent?.alerts).toHaveLength(1);
    expect(fresh).toMatchObject({ pileCount: 1, alerts: null });
    expect(fresh?.syncId).not.toBe(resent?.syncId);
    expect(h.client.alertCount).toBe(0);
  });

  it('a sync message guard-service refuses (400) is dropped, not held: what comes after it still goes', async () => {
    const srv = await capturingServer({ mode: 'status400' });
    const errors: string[] = [];
    let dropped = 0;
    const log = { ...silentLogger, error: (obj: object, msg?: string) => errors.push(`${msg} ${JSON.stringify(obj)}`) };
    const h = harness(srv.url, { log, onAlertDropped: () => dropped++ });
    pile(h.client, 4);
    h.client.addAlert({ children: null, reasons: ['x'], result: 1 }, '[x,]');
    const refused = await h.client.sync(true);
    expect(refused).toMatchObject({ outcome: 'status', status: 400 });
    expect(refused.error).toContain('GUARD_API_INVALID');
    expect(h.client.pileCount).toBe(0);
    expect(h.client.alertCount).toBe(0);
    expect(dropped).toBe(1);
    expect(errors.some((e) => e.includes('refused the sync message') && e.includes('"samples":4'))).toBe(true);
    expect(h.client.stats.backoffMs).toBeGreaterThan(0);

    srv.state.mode = 'answer';
    pile(h.client, 2);
    h.clock.advance(h.client.stats.backoffMs * 2);
    expect((await h.client.sync(true)).outcome).toBe('ok');
    const [first, next] = srv.captured.slice(-2);
    expect(first).toMatchObject({ pileCount: 4 });
    expect(next).toMatchObject({ pileCount: 2, alerts: null });
    expect(next?.syncId).not.toBe(first?.syncId);
  });

  it("waits at least the Retry-After guard-service asks for (its sync rate limit), keeping the pile", async () => {
    const srv = await capturingServer({ mode: 'status429' });
    const h = harness(srv.url);
    pile(h.client, 3);
    const limited = await h.client.sync(false);
    expect(limited).toMatchObject({ outcome: 'status', status: 429, retryAfterMs: 40_000 });
    expect(limited.error).toContain('GUARD_API_RATE_LIMITED');
    // 40 s, not the first back-off's 5 s; the pile is kept for the retry.
    expect(h.client.stats.backoffMs).toBe(40_000);
    expect(h.client.pileCount).toBe(3);
    h.clock.advance(39_000);
    expect((await h.client.sync(false)).outcome).toBe('skipped');
    srv.state.mode = 'answer';
    h.clock.advance(5_000);
    expect((await h.client.sync(false)).outcome).toBe('ok');
    expect(srv.captured.map((c) => c.pileCount)).toEqual([3, 3]);
    expect(srv.captured[1]!.syncId).toBe(srv.captured[0]!.syncId);
  });

  it('fails fast when nothing listens', async () => {
    const srv = await capturingServer();
    const url = srv.url;
    await cleanups.pop()!(); // close it: connection refused
    const h = harness(url);
    const r = await h.client.start();
    expect(r.outcome).toBe('transport');
    expect(h.source.origin).toBe('default');
  });

  it('an invalid Guardian answer keeps the last good one (and the pile sent is cleared)', async () => {
    const srv = await capturingServer({ answer: `{"guardian":${JSON.stringify(spec(42, true))}}` });
    const h = harness(srv.url);
    await h.client.start();
    expect(h.source.current().samples).toBe(42);
    srv.state.answer = '{"guardian":{"control":5}}';
    pile(h.client, 3);
    h.clock.advance(10_000);
    expect((await h.client.sync(false)).outcome).toBe('ok');
    expect(h.client.pileCount).toBe(0);
    expect(h.source.current().samples).toBe(42);
    expect(h.source.current().control.block).toBe(true);
    // Not JSON at all: a failure, pile kept, Guardian kept.
    srv.state.answer = 'not json';
    pile(h.client, 2);
    h.clock.advance(10_000);
    expect((await h.client.sync(false)).outcome).toBe('invalid');
    expect(h.client.pileCount).toBe(2);
    expect(h.source.current().samples).toBe(42);
  });
});

describe('sync protocol', () => {
  it('delivers the pile to a real guard-service: its samples equal what was piled', async () => {
    const { url } = await start(null);
    const h = harness(url);
    expect((await h.client.start()).outcome).toBe('ok');
    expect(h.source.origin).toBe('service');
    pile(h.client, 1000);
    await advanceTo(h, 5000, 2);
    pile(h.client, 234);
    expect((await h.client.sync(true)).outcome).toBe('ok');
    expect(h.source.current().samples).toBe(1234);
  });

  it('final sync on close() delivers what is held, bounded in time when the service hangs', async () => {
    const { url } = await start(null);
    const h = harness(url);
    await h.client.start();
    pile(h.client, 7);
    h.client.addAlert({ children: {}, reasons: ['bad'], result: 1 }, 'bad');
    await h.client.close();
    const check = harness(url);
    await check.client.start();
    expect(check.source.current().samples).toBe(7);

    const srv = await capturingServer();
    const hang = harness(srv.url, { closeTimeoutMs: 300, headersTimeoutMs: 60_000 });
    await hang.client.start().catch(() => {});
    const t0 = Date.now();
    srv.state.mode = 'hang';
    pile(hang.client, 1);
    await hang.client.close();
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('re-reads the token file at every sync, names the gate in the query and sends JSON', async () => {
    const srv = await capturingServer();
    const dir = await tempDir();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first-token\n');
    const h = harness(srv.url, { tokenFile, useCrd: false });
    await h.client.start();
    await writeFile(tokenFile, 'second-token');
    h.clock.advance(10_000);
    await h.client.sync(false);
    expect(srv.captured.map((c) => c.authorization)).toEqual(['Bearer first-token', 'Bearer second-token']);
    const q = new URL(srv.captured[0]!.url, 'http://x').searchParams;
    expect(new URL(srv.captured[0]!.url, 'http://x').pathname).toBe('/sync');
    expect([q.get('cm'), q.get('ns'), q.get('pod'), q.get('sid')]).toEqual(['true', NS, POD, SID]);
    // The body is the wire message, said to be JSON: pile spliced as the core writes it.
    expect(srv.captured.map((c) => c.contentType)).toEqual(['application/json', 'application/json']);
    expect(srv.captured[0]!.body).toMatch(/^\{"pile":\{"count":0,.*\},"alerts":null,"compromised":false\}$/s);
  });
});

const OPENSSL = '/usr/bin/openssl';
const SERVER_NAME = 'data-plane.knative.dev';

/** A throwaway CA and a leaf it signed for data-plane.knative.dev (made with the openssl CLI). */
async function makePki(): Promise<{ caFile: string; cert: Buffer; key: Buffer }> {
  const dir = await tempDir();
  const run = (...args: string[]) => promisify(execFile)(OPENSSL, args, { cwd: dir, timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Gate test CA', '-keyout', 'ca.key', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await run('req', '-new', ...ec, '-subj', `/CN=${SERVER_NAME}`, '-keyout', 'tls.key', '-out', 'tls.csr');
  await writeFile(join(dir, 'leaf.ext'), `subjectAltName=DNS:${SERVER_NAME}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  await run('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x5eed', '-days', '2', '-extfile', 'leaf.ext', '-out', 'tls.crt');
  return { caFile: join(dir, 'ca.crt'), cert: await readFile(join(dir, 'tls.crt')), key: await readFile(join(dir, 'tls.key')) };
}

/** guard-service over TLS with the leaf of `pki`, answering every sync with spec(samples); `seen` collects the URLs. */
async function tlsGuardService(pki: { cert: Buffer; key: Buffer }, samples: number, seen?: string[]) {
  const server = createHttpsServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    seen?.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(200).end(`{"guardian":${JSON.stringify(spec(samples))}}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(!existsSync(OPENSSL))('sync over TLS', () => {
  it('verifies guard-service with GUARD_SERVICE_CA_FILE and GUARD_SERVICE_SERVER_NAME', async () => {
    const pki = await makePki();
    const seen: string[] = [];
    const { url } = await tlsGuardService(pki, 11, seen);

    const good = harness(url, { caFile: pki.caFile, serverName: SERVER_NAME });
    expect((await good.client.start()).outcome).toBe('ok');
    expect(good.source.current().samples).toBe(11);

    const untrusted = harness(url, { serverName: SERVER_NAME });
    const r1 = await untrusted.client.start();
    expect(r1.outcome).toBe('transport');
    expect(r1.error).toMatch(/certificate|issuer/i);
    const wrongName = harness(url, { caFile: pki.caFile, serverName: 'other.example' });
    const r2 = await wrongName.client.start();
    expect(r2.outcome).toBe('transport');
    expect(r2.error).toMatch(/altnames|hostname|other\.example/i);
    expect(seen).toHaveLength(1);
  });

  it('trusts a renewed GUARD_SERVICE_CA_FILE from the next sync on, and keeps the CA in use when the file turns unusable', async () => {
    const [first, second] = [await makePki(), await makePki()];
    let served = first;
    const { server, url } = await tlsGuardService(first, 12);
    // The gate's CA file, as a mounted Secret: its text is replaced in place.
    const caFile = join(await tempDir(), 'ca.crt');
    await writeFile(caFile, await readFile(first.caFile));
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (o: object, m?: string) => void warnings.push(`${m} ${JSON.stringify(o)}`) };
    const h = harness(url, { caFile, serverName: SERVER_NAME, log });
    expect((await h.client.start()).outcome).toBe('ok');

    // guard-service moves to a certificate of another CA: refused until the file names that CA.
    served = second;
    server.setSecureContext({ cert: served.cert, key: served.key });
    server.closeAllConnections();
    h.clock.advance(10_000);
    const refused = await h.client.sync(true);
    expect(refused.outcome).toBe('transport');
    await writeFile(caFile, await readFile(second.caFile));
    h.clock.advance(10_000);
    expect((await h.client.sync(true)).outcome).toBe('ok');

    // A file that cannot be used (half-written, emptied, removed) keeps the CA that works, said once.
    await writeFile(caFile, '-----BEGIN CERTIFICATE-----\ntruncated');
    for (let i = 0; i < 2; i++) {
      h.clock.advance(10_000);
      expect((await h.client.sync(true)).outcome).toBe('ok');
    }
    await rm(caFile);
    h.clock.advance(10_000);
    expect((await h.client.sync(true)).outcome).toBe('ok');
    expect(warnings.filter((w) => w.includes('GUARD_SERVICE_CA_FILE changed but cannot be used'))).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/no PEM certificate in it[\s\S]*cannot read it/);
  });

  it("starts with Knative's CA file unusable (found, not configured): syncs fail until it holds the CA, then trust it", async () => {
    const pki = await makePki();
    const { url } = await tlsGuardService(pki, 13);
    const caFile = join(await tempDir(), 'ca.crt');
    await writeFile(caFile, 'not a certificate');
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (o: object, m?: string) => void warnings.push(`${m} ${JSON.stringify(o)}`) };
    // Configured, the same file is a configuration error.
    expect(() => harness(url, { caFile, serverName: SERVER_NAME })).toThrow(/GUARD_SERVICE_CA_FILE: .*no PEM certificate/);
    const h = harness(url, { caFile, caFileFound: true, serverName: SERVER_NAME, log, useCrd: false });
    const first = await h.client.start();
    expect(first.outcome).toBe('transport');
    expect(first.error).toMatch(/certificate|issuer/i);
    await writeFile(caFile, await readFile(pki.caFile));
    h.clock.advance(10_000);
    expect((await h.client.sync(true)).outcome).toBe('ok');
    expect(h.source.current().samples).toBe(13);
    // Said once at start, not again at every sync while it stayed the same.
    expect(warnings.filter((w) => w.includes("Knative's CA file cannot be used"))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('GUARD_SERVICE_CA_FILE changed but cannot be used'))).toHaveLength(0);
  });
});

describe('sync with authentication (guard-service and the Kubernetes stand-in)', () => {
  it('a gate whose SERVICE_NAME is not what its pod\'s labels say is refused, and logs why and the fix in full', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const dir = await tempDir();
    const tokenFile = join(dir, 'token');
    // The pod is labelled for another service than the gate's SERVICE_NAME (cart).
    await writeFile(tokenFile, gate(kube, NS, POD, { app: 'basket' }));
    const h = harness(url, { tokenFile });
    const refused = await h.client.sync(true);
    expect([refused.outcome, refused.status]).toEqual(['status', 403]);
    expect(refused.error).toBe(
      `guard-service did not respond with 200 OK (403): GUARD_API_FORBIDDEN: the gate says it guards service "cart" (its SERVICE_NAME), but guard-service names the service of pod ${NS}/${POD} basket (from label app), and would learn and answer for that one: set SERVICE_NAME=basket, or label the pod guard.security.knative.dev/service=cart`,
    );
    // Labelled as the gate says: it syncs.
    await writeFile(tokenFile, gate(kube, NS, 'cart-2', { 'guard.security.knative.dev/service': SID }));
    h.clock.advance(300_000);
    expect((await h.client.sync(true)).outcome).toBe('ok');
  });
});
