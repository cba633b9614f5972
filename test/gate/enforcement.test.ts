// Pod-level enforcement as the original's gate has it: a pod whose indicators say it is compromised
// (a pod alert under block) has every request refused until it restarts; and a request that runs
// over the learned service time is cancelled in flight by the gate's tick under block. Real gate,
// real backend, fake /proc/net tables in a temporary directory.
import { createServer, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCore } from '../../core/index.js';
import { gateConfig, type GateConfig } from '../../gate/config.js';
import type { GateHandle } from '../../gate/index.js';
import { checkedGate, checkGateInvariants } from './invariants.js';

const core = loadCore();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

const TAIL = ' 01 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1\n';
function hex4(ip: string): string {
  return ip.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}
function tcpTable(remotes: string[]): string {
  let s = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  remotes.forEach((r, i) => (s += `${String(i).padStart(4)}: 02001102:E12E ${hex4(r)}:0050${TAIL}`));
  return s;
}

const normal = { path: '/items/3?id=3', headers: { host: 'shop.example', accept: 'application/json' } };

/** A blocking Guardian (alerting only with `block` false) that learned the normal request (served in under a second; the response section left unlearned, so not enforced) with the pod talking to 1.1.1.1. */
function blockingGuardian(block = true): string {
  const learner = core.defaultGuardian();
  const pod = core.profilePod({ tcp: tcpTable(['1.1.1.1']) });
  const session = core.newSession();
  const pile = core.newPile();
  session.profileRequest({ method: 'GET', path: '/items/3', query: 'id=3', headers: [['Host', 'shop.example'], ['Accept', 'application/json']], remote: '127.0.0.1' });
  session.setPod(pod);
  session.finish(learner, true, 5, 5, pile);
  const g = core.defaultGuardian();
  g.learn(pile);
  g.control = { alert: true, block, learn: false, force: false, auto: true };
  const wire = g.toWire();
  for (const o of [learner, pod, session, pile, g]) o.dispose();
  return wire;
}

async function backend(): Promise<{ url: string; aborted: () => number; slowNext: (answerAfterMs?: number) => void }> {
  let aborted = 0;
  let slow: number | null = null;
  const server: Server = createServer((req, res) => {
    req.resume();
    if (slow !== null) {
      const after = slow;
      slow = null;
      // Never answers on its own (or only after `after` ms): the gate's cancellation ends it first.
      res.on('close', () => {
        if (!res.writableEnded) aborted++;
      });
      if (Number.isFinite(after)) setTimeout(() => !res.destroyed && res.end('{"ok":"late"}'), after).unref();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, aborted: () => aborted, slowNext: (answerAfterMs = Infinity) => void (slow = answerAfterMs) };
}

/** `settings`: the gate's settings as its environment gives them (GUARD_POD_BLOCK: podBlock, GUARD_INFLIGHT_TICK: inFlightTick). */
async function setup(settings: Partial<GateConfig> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'guard-enforce-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const proc = join(dir, 'proc');
  await mkdir(proc);
  await writeFile(join(proc, 'tcp'), tcpTable(['1.1.1.1']));
  const guardianFile = join(dir, 'guardian.json');
  await writeFile(guardianFile, blockingGuardian());
  const svc = await backend();
  const start = async (): Promise<GateHandle> => {
    const g = await checkedGate(
      gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, guardServiceUrl: null, useCrd: false, guardianFile, protectedService: svc.url, monitorPod: true, podMonitorInterval: 1, ...settings }),
      { core, podName: 'shop-1', procDir: proc, drainMs: 500 },
      { quiet: false },
    );
    cleanups.push(() => g.close());
    return g;
  };
  return { proc, svc, start, guardianFile };
}

async function get(gate: GateHandle, path = normal.path): Promise<{ status: number; text: string }> {
  const r = await request(`http://127.0.0.1:${gate.port}${path}`, { headers: normal.headers });
  return { status: r.statusCode, text: await r.body.text() };
}

async function metric(gate: GateHandle, name: string): Promise<number> {
  const r = await request(`http://127.0.0.1:${gate.adminPort}/metrics`);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await r.body.text());
  return m ? Number(m[1]) : Number.NaN;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pod-level enforcement', () => {
  it('refuses every request of a compromised pod until the pod restarts', async () => {
    const { proc, start } = await setup();
    const gate = await start();
    const first = await get(gate);
    expect(first.status, JSON.stringify((gate as unknown as { lines: unknown[] }).lines)).toBe(200);

    // The pod starts talking to a peer it never did: a pod alert under block — compromised.
    await writeFile(join(proc, 'tcp'), tcpTable(['1.1.1.1', '203.0.113.9']));
    await until(async () => (await metric(gate, 'guard_gate_pod_compromised')) === 1, 'the pod to be compromised');
    const refused = await get(gate);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('compromised');

    // The peer goes away: still refused — only a restart ends it.
    await writeFile(join(proc, 'tcp'), tcpTable(['1.1.1.1']));
    await until(async () => (await metric(gate, 'guard_gate_pod_blocks_total')) >= 1, 'the block to be counted');
    for (let i = 0; i < 3; i++) expect((await get(gate)).status).toBe(403);
    expect(await metric(gate, 'guard_gate_pod_blocks_total')).toBe(4);

    await gate.close();
    const restarted = await start();
    expect((await get(restarted)).status).toBe(200);
    expect(await metric(restarted, 'guard_gate_pod_compromised')).toBe(0);
  }, 30_000);

  it('cancels a request in flight once it runs over the learned service time', async () => {
    const { svc, start } = await setup();
    const gate = await start();
    expect((await get(gate)).status).toBe(200);
    // The same request as learned, but the service now takes its time.
    svc.slowNext();
    const slow = await get(gate);
    // The learned service time is under a second; the tick cancels it after one to two seconds.
    expect(slow.status).toBe(403);
    expect(slow.text).toContain('blocked by guard');
    await until(async () => svc.aborted() === 1, 'the backend to see its request aborted');
    expect(await metric(gate, 'guard_gate_cancelled_in_flight_total')).toBe(1);
    // A fast request still passes.
    expect((await get(gate)).status).toBe(200);
  }, 30_000);

  it('GUARD_POD_BLOCK=false: a compromised pod is reported but its requests are judged as usual, none refused or alerted for it', async () => {
    const { proc, start } = await setup({ podBlock: false });
    const gate = await start();
    expect((await get(gate)).status).toBe(200);

    await writeFile(join(proc, 'tcp'), tcpTable(['1.1.1.1', '203.0.113.9']));
    await until(async () => (await metric(gate, 'guard_gate_pod_compromised')) === 1, 'the pod to be compromised');
    for (let i = 0; i < 3; i++) expect((await get(gate)).status).toBe(200);
    expect(await metric(gate, 'guard_gate_pod_blocks_total')).toBe(0);
    expect(await metric(gate, 'guard_gate_pod_alerted_requests_total')).toBe(0);
    // As usual: what the blocking Guardian never learned is still refused, on its own merits.
    const unlearned = await get(gate, '/admin/users?drop=1');
    expect(unlearned.status).toBe(403);
    expect(unlearned.text).not.toContain('compromised');
  }, 30_000);

  it('a compromised pod whose Guardian is switched to alert only serves its requests, each alerting', async () => {
    const { proc, start, guardianFile } = await setup();
    const gate = await start();
    await writeFile(join(proc, 'tcp'), tcpTable(['1.1.1.1', '203.0.113.9']));
    await until(async () => (await metric(gate, 'guard_gate_pod_compromised')) === 1, 'the pod to be compromised');
    expect((await get(gate)).status).toBe(403);

    // People switch the Guardian to alert only (here its file, re-read at the next sync).
    await writeFile(guardianFile, blockingGuardian(false));
    await gate.syncNow();
    for (let i = 0; i < 3; i++) expect((await get(gate)).status).toBe(200);
    expect(await metric(gate, 'guard_gate_pod_alerted_requests_total')).toBe(3);
    // Only the one request before the switch was refused; the pod stays compromised until it restarts.
    expect(await metric(gate, 'guard_gate_pod_blocks_total')).toBe(1);
    expect(await metric(gate, 'guard_gate_pod_compromised')).toBe(1);
  }, 30_000);

  it('GUARD_INFLIGHT_TICK=0: a request over the learned service time is not cancelled in flight; the service answers it', async () => {
    const { svc, start } = await setup({ inFlightTick: 0 });
    const gate = await start();
    expect((await get(gate)).status).toBe(200);
    // Over the learned time (under a second) for 2.5 s: with the tick, cancelled after one to two.
    svc.slowNext(2_500);
    const started = performance.now();
    const slow = await get(gate);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_400);
    expect(svc.aborted()).toBe(0);
    expect(await metric(gate, 'guard_gate_cancelled_in_flight_total')).toBe(0);
    // Judged when it ends: the response already relayed, the long envelope is an alert.
    expect(slow.status, slow.text).toBe(200);
    expect(slow.text).toContain('late');
    expect(await metric(gate, 'guard_gate_alerts_total\\{level="Session"\\}')).toBe(1);
  }, 30_000);
});
