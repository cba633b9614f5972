// guard-gate recovers from a core fault (gate/core-host.ts): a real wasm trap (the core's test-only
// debug_trap export, reached from a test subclass of Core on a marked request or response) on a
// real gate with a real backend, a real guard-service and a real client. The exchange that trapped
// is blocked (block mode) or passes with an alert; the next ones are decided by a fresh instance
// with the same Guardian; repeated faults fail closed.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pino, type Logger } from 'pino';
import { Core, loadCore, type HttpRequestFields, type HttpResponseFields } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import { gateKubeStore } from '../../gate/guardian-source.js';
import type { GateHandle } from '../../gate/index.js';
import { startKubeStandin } from '../kube/standin.js';
import { start } from '../service/api-support.js';
import { checkedGate, checkGateInvariants } from './invariants.js';


/** The real core, made to trap (debug_trap: `unreachable` in wasm) on marked input. Test only. */
class TrappingCore extends Core {
  override writeRequest(req: HttpRequestFields): number {
    if (req.path.startsWith('/__trap')) this.debugTrap();
    return super.writeRequest(req);
  }

  override writeResponse(resp: HttpResponseFields): number {
    if (resp.headers.some(([k]) => k.toLowerCase() === 'x-test-trap')) this.debugTrap();
    return super.writeResponse(resp);
  }
}

const trappingCore = (): TrappingCore => new TrappingCore(loadCore().fresh().wasm);

/** The real core, whose host throws a plain (non-core) error on marked requests: a bug of the gate. */
class BuggyHostCore extends Core {
  override writeRequest(req: HttpRequestFields): number {
    if (req.path.startsWith('/__bug')) throw new TypeError('a bug in the host code');
    return super.writeRequest(req);
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

interface Backend {
  url: string;
  hits: () => number;
  /** The next response carries x-test-trap (the core traps profiling it). */
  trapNextResponse: () => void;
  /** Hold the next request's response: resolves (with its release) once that request arrived. */
  holdNext: () => Promise<() => void>;
}

async function backend(): Promise<Backend> {
  let hits = 0;
  let trap = false;
  let hold: ((release: () => void) => void) | null = null;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (trap) {
        trap = false;
        res.setHeader('x-test-trap', '1');
      }
      const held = hold;
      hold = null;
      if (held) held(() => res.end('{"ok":true}'));
      else res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, trapNextResponse: () => void (trap = true), holdNext: () => new Promise((resolve) => void (hold = resolve)) };
}

/** A pino logger whose events are kept as objects. */
function capturingLog(): { log: Logger; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) events.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), events };
}

async function gate(core: Core, overrides: Parameters<typeof gateConfig>[0], log = pino({ level: 'silent' })): Promise<GateHandle> {
  const g = await checkedGate(gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, ...overrides }), { core, log, podName: 'shop-1', drainMs: 2000 });
  cleanups.push(() => g.close());
  return g;
}

// A fixed Host (it is decided; the gates here listen on random ports).
const headers = { host: 'shop.example', accept: 'application/json', 'user-agent': 'shop-client/1.0' };
const normal = (i: number) => `/items/${i % 10}?id=${i}&lang=en`;
const ATTACK = '/items/3?id=1%27%20OR%201=1--&lang=en';

async function get(g: GateHandle, path: string): Promise<{ status: number; requestId: string | undefined; body: string }> {
  const r = await request(`http://127.0.0.1:${g.port}${path}`, { headers });
  return { status: r.statusCode, requestId: r.headers['x-guard-request-id'] as string | undefined, body: await r.body.text() };
}

async function admin(g: GateHandle, path: string): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${g.adminPort}${path}`);
  return { status: r.statusCode, body: await r.body.text() };
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

let learned: Promise<object> | null = null;

/** A Guardian learned through a gate in learn mode from normal traffic (as gate.test.ts does). */
function learnedSpec(): Promise<object> {
  learned ??= (async () => {
    const app = await backend();
    const svc = await start(null);
    const learner = await gate(loadCore(), { protectedService: app.url, guardServiceUrl: svc.url, guardianSyncInterval: 3600 });
    for (let i = 0; i < 50; i++) await get(learner, normal(i));
    await learner.close();
    await svc.service.close();
    const stored = await svc.disk.get('default', 'shop');
    expect(stored?.spec.samples).toBe(50);
    return stored!.spec as object;
  })();
  return learned;
}

/**
 * The spec without its readiness record: 50 samples do not make learned rules ready, and auto would
 * only alert (docs/tokens.md); without the record they count as ready, as a Guardian learned before.
 */
function withoutReadiness(spec: object): object {
  const learned = (spec as { learned?: Record<string, unknown> }).learned;
  if (!learned) return spec;
  const { readiness: _, ...rest } = learned;
  return { ...spec, learned: rest };
}

async function guardianFile(spec: object, block: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-core-fault-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'guardian.json');
  await writeFile(file, JSON.stringify({ ...withoutReadiness(spec), control: { alert: true, block, learn: false, force: false, auto: true } }));
  return file;
}

describe('guard-gate when its own code fails around the core', () => {
  it('blocks the request under block, passes it with an alert otherwise; the core is not restarted', async () => {
    const app = await backend();
    const spec = await learnedSpec();
    for (const block of [true, false]) {
      const { log, events } = capturingLog();
      const g = await gate(new BuggyHostCore(loadCore().fresh().wasm), { protectedService: app.url, guardianFile: await guardianFile(spec, block) }, log);
      const before = app.hits();
      const r = await get(g, '/__bug/1');
      expect(r.status).toBe(block ? 403 : 200);
      expect(app.hits()).toBe(before + (block ? 0 : 1));
      if (block) expect(r.body).toContain('could not be evaluated');
      const alert = events.find((e) => JSON.stringify(e).includes('gate error: request not evaluated'));
      expect(alert, 'an alert names the gate error').toBeTruthy();
      // The core itself is fine: no restart, and the next requests are decided as usual.
      expect((await get(g, normal(7))).status).toBe(200);
      expect((await get(g, ATTACK)).status).toBe(block ? 403 : 200);
      const metrics = (await admin(g, '/metrics')).body;
      expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(0);
      expect(metrics).toMatch(new RegExp(`guard_gate_core_unevaluated_total\\{stage="request",action="${block ? 'block' : 'pass'}"\\} 1`));
    }
  });
});

describe('guard-gate after a core fault', () => {
  it('blocks the request that trapped, then decides with a fresh core and the same Guardian', async () => {
    const app = await backend();
    const file = await guardianFile(await learnedSpec(), true);
    const core = trappingCore();
    const g = await gate(core, { protectedService: app.url, guardianFile: file });

    expect((await get(g, normal(1))).status).toBe(200);
    expect(app.hits()).toBe(1);

    const trapped = await get(g, '/__trap/1');
    expect(trapped.status).toBe(403);
    expect(trapped.requestId).toBeTruthy();
    expect(trapped.body).toContain('could not be evaluated');
    expect(trapped.body).toContain(trapped.requestId);
    expect(app.hits()).toBe(1);
    expect(core.faulted).toBe(true);
    expect(g.coreHost.core).not.toBe(core);

    // The fresh instance has the same (blocking, learned) Guardian.
    const ok = await get(g, normal(2));
    expect(ok.status).toBe(200);
    const attack = await get(g, ATTACK);
    expect(attack.status).toBe(403);
    expect(attack.body).toContain('blocked by guard (request id');
    expect(app.hits()).toBe(2);

    const metrics = (await admin(g, '/metrics')).body;
    expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(1);
    expect(metrics).toMatch(/guard_gate_core_unevaluated_total\{stage="request",action="block"\} 1/);
    expect(metrics).toMatch(/guard_gate_blocks_total\{stage="request"\} 2/);
    expect((await admin(g, '/readyz')).status).toBe(200);
  });

  it('withholds a response that trapped in block mode; the backend was asked, the client gets the block answer', async () => {
    const app = await backend();
    const file = await guardianFile(await learnedSpec(), true);
    const g = await gate(trappingCore(), { protectedService: app.url, guardianFile: file });

    app.trapNextResponse();
    const withheld = await get(g, normal(3));
    expect(withheld.status).toBe(403);
    expect(withheld.requestId).toBeTruthy();
    expect(withheld.body).not.toContain('"ok"');
    expect(app.hits()).toBe(1);

    expect((await get(g, normal(4))).status).toBe(200);
    expect((await get(g, ATTACK)).status).toBe(403);
    const metrics = (await admin(g, '/metrics')).body;
    expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(1);
    expect(metrics).toMatch(/guard_gate_blocks_total\{stage="response"\} 1/);
  });

  it('treats an exchange in flight on the failed instance as not evaluated: its response is withheld in block mode', async () => {
    const app = await backend();
    const file = await guardianFile(await learnedSpec(), true);
    const g = await gate(trappingCore(), { protectedService: app.url, guardianFile: file });

    const arrived = app.holdNext();
    const inFlight = get(g, normal(5)); // decided on the first instance, then held by the backend
    const release = await arrived;
    expect((await get(g, '/__trap/3')).status).toBe(403);
    release();
    const answer = await inFlight;
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('could not be evaluated');
    expect(answer.body).not.toContain('"ok"');

    expect((await get(g, normal(6))).status).toBe(200);
    const metrics = (await admin(g, '/metrics')).body;
    expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(1);
    expect(metrics).toMatch(/guard_gate_core_unevaluated_total\{stage="response",action="block"\} 1/);
  });

  it('evaluates a request whose body was still arriving on the new instance', async () => {
    const app = await backend();
    const { log, events } = capturingLog();
    const g = await gate(trappingCore(), { protectedService: app.url }, log);

    // Head and half the body sent (a session of the first instance is taken at the head)…
    const socket = connect(g.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = '{"name":"tea","qty":2}';
    await new Promise<void>((resolve) => socket.write(`POST /items HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.slice(0, 8)}`, () => resolve()));
    // …then the core traps on another request, …
    expect((await get(g, '/__trap/4')).status).toBe(200);
    // …then the rest of the body: decided by the new instance, not "could not be evaluated".
    socket.write(body.slice(8));
    await closed;
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(app.hits()).toBe(2);
    const faults = events.filter((e) => e.alertLevel !== undefined && String(e.decisionText).includes('core fault'));
    expect(faults.map((e) => e.path)).toEqual(['/__trap/4']);
    const metrics = (await admin(g, '/metrics')).body;
    expect(metrics).toMatch(/guard_gate_core_unevaluated_total\{stage="request",action="pass"\} 1/);
  });

  it('in alert mode lets the trapping request pass with an alert, and sync goes on with a new pile', async () => {
    const app = await backend();
    const svc = await start(null);
    const { log, events } = capturingLog();
    // No Guardian stored yet: the default one (learn, alert; block off).
    const g = await gate(trappingCore(), { protectedService: app.url, guardServiceUrl: svc.url, guardianSyncInterval: 3600 }, log);

    for (let i = 0; i < 4; i++) expect((await get(g, normal(i))).status).toBe(200);
    await g.syncNow(); // 4 samples delivered
    for (let i = 4; i < 7; i++) expect((await get(g, normal(i))).status).toBe(200); // 3 held in the core: lost

    const trapped = await get(g, '/__trap/2');
    expect(trapped.status).toBe(200);
    expect(trapped.body).toBe('{"ok":true}');
    expect(app.hits()).toBe(8);

    const restart = events.find((e) => String(e.msg).startsWith('core: the core failed (trap)'));
    expect(restart).toMatchObject({ lostSamples: 3, restarts: 1 });
    const alertEvents = events.filter((e) => e.alert === true && e.alertLevel !== undefined);
    expect(alertEvents).toHaveLength(1);
    expect(alertEvents[0]).toMatchObject({ alertLevel: 'Session', path: '/__trap/2', decisionText: '[core fault: request not evaluated,]' });

    for (let i = 7; i < 12; i++) expect((await get(g, normal(i))).status).toBe(200);
    const metrics = (await admin(g, '/metrics')).body;
    expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(1);
    expect(metrics).toMatch(/guard_gate_core_unevaluated_total\{stage="request",action="pass"\} 1/);

    // The final sync delivers the new pile (5) and the alert to guard-service.
    await g.close();
    const alerts = await request(`${svc.url}/api/v1/alerts?namespace=default&service=shop`, { headers: { authorization: `Bearer ${svc.service.peopleToken}` } });
    const items = ((await alerts.body.json()) as { items: Array<{ decision: { reasons: string[] } }> }).items;
    expect(items.map((a) => a.decision.reasons)).toContainEqual(['core fault: request not evaluated']);
    await svc.service.close();
    const stored = await svc.disk.get('default', 'shop');
    expect(stored?.spec.samples).toBe(4 + 5);
  });

  it('fails closed when the core keeps failing: every request refused, /readyz not ready, alerts still delivered', async () => {
    const app = await backend();
    const svc = await start(null);
    const g = await gate(trappingCore(), { protectedService: app.url, guardServiceUrl: svc.url, guardianSyncInterval: 3600 });

    // Alert mode: each trapping request passes (with an alert) while restarts are within bounds.
    for (let i = 0; i < 5; i++) expect((await get(g, `/__trap/${i}`)).status).toBe(200);
    expect(g.coreHost.restarts).toBe(5);
    expect((await get(g, normal(1))).status).toBe(200);
    const hits = app.hits();

    // The sixth fault within 60 s: no more restarts — fail closed, the trapping request included.
    const sixth = await get(g, '/__trap/6');
    expect(sixth.status).toBe(403);
    const refused = await get(g, normal(2));
    expect(refused.status).toBe(403);
    expect(refused.requestId).toBeTruthy();
    expect(refused.body).toContain('fail closed');
    expect(app.hits()).toBe(hits);

    const ready = await admin(g, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('fail closed');
    const metrics = (await admin(g, '/metrics')).body;
    expect(metric(metrics, 'guard_gate_core_restarts_total')).toBe(5);
    expect(metric(metrics, 'guard_gate_core_failed_closed')).toBe(1);

    // Without a usable core the final sync still carries the alerts (the pile is gone).
    await g.close();
    const alerts = await request(`${svc.url}/api/v1/alerts?namespace=default&service=shop`, { headers: { authorization: `Bearer ${svc.service.peopleToken}` } });
    const items = ((await alerts.body.json()) as { items: Array<{ count: number; decision: { reasons: string[] } }> }).items;
    const faults = items.filter((a) => a.decision.reasons?.[0] === 'core fault: request not evaluated');
    expect(faults.reduce((n, a) => n + a.count, 0)).toBe(6);
  });

  it("the gate's Kubernetes store validates with the core instance in use, so Guardians are read after a fault", async () => {
    const kube = await startKubeStandin();
    cleanups.push(() => kube.close());
    kube.state.putObject('guardians', { metadata: { namespace: 'default', name: 'shop' }, spec: { samples: 3, control: { alert: true, block: true, learn: false, force: false, auto: true } } });
    let current: Core = loadCore().fresh();
    const store = (await gateKubeStore({ useCrd: true, namespace: 'default', kubeConfig: kube.kubeConfig(), core: () => current }))!;
    cleanups.push(() => store.close());
    expect((await store.get('default', 'shop'))?.spec.samples).toBe(3);
    expect(() => current.debugTrap()).toThrow(/the core failed/);
    current = current.fresh();
    expect((await store.get('default', 'shop'))?.spec.samples).toBe(3);
  });
});
