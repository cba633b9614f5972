// guard-gate assembled (gate/index.ts): a real backend, a real guard-service (file store), a real
// gate on uWebSockets.js and a real client — learning reaches the service, and a Guardian that
// blocks keeps out-of-pattern requests from the backend.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pino } from 'pino';
import { loadCore } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import type { GateHandle } from '../../gate/index.js';
import { PluginRegistry, type Plugin, type Verdict } from '../../gate/plugins.js';
import { start } from '../service/api-support.js';
import { checkedGate, checkGateInvariants } from './invariants.js';


const core = loadCore();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

async function backend(): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

async function gate(overrides: Parameters<typeof gateConfig>[0], check: { quiet?: boolean } = {}, plugins?: PluginRegistry): Promise<GateHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-gate-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const log = process.env.GATE_DEBUG ? { log: pino({ level: 'debug' }) } : {};
  const g = await checkedGate(gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, ...overrides }), { core, ...log, podName: 'shop-1', drainMs: 2000, plugins }, check);
  cleanups.push(() => g.close());
  return g;
}

// The Host is decided: a fixed name, as clients of a deployment send (the gates here listen on
// random ports, which would make 127.0.0.1:<port> a new host for each gate).
const normal = (i: number) => ({ path: `/items/${i % 10}?id=${i}&lang=en`, headers: { host: 'shop.example', accept: 'application/json', 'user-agent': 'shop-client/1.0' } });

/**
 * Learn 50 normal requests through a gate in learn mode and guard-service, as a deployment would;
 * the Guardian guard-service stored (persisted by its shutdown flush).
 */
async function learnedThroughGate(protectedService: string) {
  const svc = await start(null);
  const learner = await gate({ protectedService, guardServiceUrl: svc.url, guardianSyncInterval: 3600 });
  for (let i = 0; i < 50; i++) {
    const n = normal(i);
    const r = await request(`http://127.0.0.1:${learner.port}${n.path}`, { headers: n.headers });
    await r.body.text();
  }
  await learner.close();
  await svc.service.close();
  return svc.disk.get('default', 'shop');
}

/** The spec with its learned rules marked ready (docs/tokens.md), so that auto + block blocks. */
function readyGuardian(spec: Record<string, unknown>): object {
  const learned = spec.learned as Record<string, unknown>;
  return { ...spec, learned: { ...learned, readiness: { ...(learned.readiness as object), ready: true } } };
}

describe('guard-gate', () => {
  it('passes traffic in learn mode and delivers every sample to guard-service on shutdown', async () => {
    const app = await backend();
    const svc = await start(null);
    const g = await gate({ protectedService: app.url, guardServiceUrl: svc.url, guardianSyncInterval: 3600 }, { quiet: true });
    for (let i = 0; i < 40; i++) {
      const n = normal(i);
      const r = await request(`http://127.0.0.1:${g.port}${n.path}`, { headers: n.headers });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    }
    expect(app.hits()).toBe(40);
    const ready = await request(`http://127.0.0.1:${g.adminPort}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.text();
    await g.close();
    // The final sync carried the pile; guard-service's shutdown flush persists what it learned.
    await svc.service.close();
    const stored = await svc.disk.get('default', 'shop');
    expect(stored?.spec.samples).toBe(40);
  });

  it('blocks out-of-pattern requests before the backend once the learned Guardian is in block mode', async () => {
    const app = await backend();
    const stored = await learnedThroughGate(app.url);
    expect(stored?.spec.samples).toBe(50);

    // The learned Guardian, switched to blocking, given to a gate as a file (no guard-service).
    const dir = await mkdtemp(join(tmpdir(), 'guard-gate-file-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const blockingSpec = { ...stored!.spec, control: { alert: true, block: true, learn: false, force: false, auto: true } };
    // 50 samples do not make the learned rules ready (docs/tokens.md): auto only alerts with them.
    expect((stored!.spec.learned as { readiness?: unknown }).readiness).toEqual({ ready: false, stable: 0, widened: 1 });
    const early = join(dir, 'early.json');
    await writeFile(early, JSON.stringify(blockingSpec));
    const unready = await gate({ protectedService: app.url, guardianFile: early });
    const passed = await request(`http://127.0.0.1:${unready.port}/items/3?id=1%27%20OR%201=1--&lang=en`, { headers: normal(0).headers });
    expect(passed.statusCode).toBe(200);
    await passed.body.text();
    const unreadyMetrics = await (await request(`http://127.0.0.1:${unready.adminPort}/metrics`)).body.text();
    expect(unreadyMetrics).toMatch(/guard_gate_guardian_ready 0/);
    expect(unreadyMetrics).toMatch(/guard_gate_alerts_total\S* 1/);
    // Ready rules (here: the record marked ready) block.
    const file = join(dir, 'guardian.json');
    await writeFile(file, JSON.stringify(readyGuardian(blockingSpec)));
    const hitsBefore = app.hits();
    const g = await gate({ protectedService: app.url, guardianFile: file });
    const ok = await request(`http://127.0.0.1:${g.port}/items/3?id=7&lang=en`, { headers: normal(0).headers });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
    const attack = await request(`http://127.0.0.1:${g.port}/items/3?id=1%27%20OR%201=1--&lang=en`, { headers: normal(0).headers });
    expect(attack.statusCode).toBe(403);
    expect(attack.headers['x-guard-request-id']).toBeTruthy();
    await attack.body.text();
    expect(app.hits() - hitsBefore).toBe(1);
    const metrics = await request(`http://127.0.0.1:${g.adminPort}/metrics`);
    const text = await metrics.body.text();
    expect(text).toMatch(/guard_gate_blocks_total\{stage="request"\} 1/);
    expect(text).toMatch(/guard_gate_guardian_ready 1/);
  });

  it('learns a route table through guard-service and blocks unknown routes and names (docs/routes.md)', async () => {
    const app = await backend();
    const stored = (await learnedThroughGate(app.url))!.spec;
    expect((stored.learned as { routes?: unknown }).routes).toEqual({ 'GET /items/{id}': { query: ['id', 'lang'], body: [] } });

    const dir = await mkdtemp(join(tmpdir(), 'guard-gate-routes-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const blocking = async (control: object) => {
      const file = join(dir, `guardian-${Object.keys(control).length}.json`);
      await writeFile(file, JSON.stringify(readyGuardian({ ...stored, control: { alert: true, block: true, learn: false, force: false, auto: true, ...control } })));
      return gate({ protectedService: app.url, guardianFile: file });
    };
    const status = async (port: number, path: string) => {
      const r = await request(`http://127.0.0.1:${port}${path}`, { headers: normal(0).headers });
      await r.body.text();
      return r.statusCode;
    };
    const g = await blocking({});
    expect(await status(g.port, '/items/7?id=3&lang=en')).toBe(200);
    expect(await status(g.port, '/itemz/7?id=3&lang=en')).toBe(403); // a page of the same shape on no route
    const lenient = await blocking({ unknownRoute: 'ignore' });
    expect(await status(lenient.port, '/itemz/7?id=3&lang=en')).toBe(200);
    expect(app.hits()).toBe(50 + 2);
  });

  it('counts plugins that really fail (a throw, no answer in time) in guard_gate_plugin_failures_total', async () => {
    const app = await backend();
    const failing = (name: string, approveRequest: () => Verdict | Promise<Verdict>): Plugin => ({
      name,
      version: '1',
      init() {},
      approveRequest,
      approveResponse: () => ({ action: 'allow' }),
      shutdown() {},
    });
    const plugins = new PluginRegistry();
    // Failing open: the requests still pass, and each failure is counted once per request.
    plugins.register(
      failing('thrower', () => {
        throw new Error('boom');
      }),
      { failure: 'open' },
    );
    plugins.register(
      failing('sleeper', () => new Promise<Verdict>(() => {})),
      { failure: 'open', timeoutMs: 50 },
    );
    const g = await gate({ protectedService: app.url }, {}, plugins);
    for (let i = 0; i < 2; i++) {
      const r = await request(`http://127.0.0.1:${g.port}/items/${i}`, { headers: normal(i).headers });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    }
    expect(app.hits()).toBe(2);
    const metrics = await (await request(`http://127.0.0.1:${g.adminPort}/metrics`)).body.text();
    expect(metrics).toContain('guard_gate_plugin_failures_total{plugin="thrower",kind="throw"} 2');
    expect(metrics).toContain('guard_gate_plugin_failures_total{plugin="sleeper",kind="timeout"} 2');
  });
});
