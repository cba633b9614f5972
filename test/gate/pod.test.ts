// The pod monitor against fake /proc/net tables in a temp dir (the kernel's line format, as
// test/vectors/pod.test.ts has it).
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCore, type Guardian } from '../../core/index.js';
import type { Clock } from '../../clock/index.js';
import { PodMonitor, type PodAlert } from '../../gate/pod.js';
import { silentLogger } from '../../log/index.js';

const core = loadCore();
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const HEADER6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TAIL = ' 01 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1\n';

/** IPv4 as the kernel prints it: the uint32 in host (little-endian) order, 8 upper-case hex digits. */
function hex4(ip: string): string {
  return ip.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

function v4Table(remotes: string[]): string {
  let s = HEADER;
  // a listening socket and a loopback peer: never peers
  s += `   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1\n`;
  s += `   1: 0100007F:1F90 0100007F:A1B2${TAIL}`;
  remotes.forEach((r, i) => (s += `${String(i + 2).padStart(4)}: 02001102:E12E ${hex4(r)}:0050${TAIL}`));
  return s;
}

function v6Table(remotesHex: string[]): string {
  let s = HEADER6;
  s += `   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n`;
  remotesHex.forEach((r, i) => (s += `${String(i + 1).padStart(4)}: 00000000000000000000000000000000:1F90 ${r}:0050${TAIL}`));
  return s;
}

/** A Guardian that learned the pod with the given tcp peers. */
function learnedGuardian(peers: string[], control?: object): Guardian {
  const pod = core.profilePod({ tcp: v4Table(peers) });
  const session = core.newSession();
  session.setPod(pod);
  const pile = core.newPile();
  pile.add(session);
  const g = control ? core.parseGuardian({ control }) : core.defaultGuardian();
  if (control) g.control = { alert: true, learn: false, force: false, auto: true, block: false, ...control };
  g.learn(pile);
  pod.dispose();
  session.dispose();
  pile.dispose();
  return g;
}

/** A clock whose timers a test fires by hand. */
function manualClock() {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const clock: Clock = {
    now: () => 0,
    setTimeout(fn, ms) {
      timers.set(next, { fn, ms });
      return { id: next++ };
    },
    clearTimeout(h) {
      timers.delete((h as { id: number }).id);
    },
  };
  return {
    clock,
    pending: () => [...timers.values()].map((t) => t.ms),
    fire() {
      const [id, t] = [...timers.entries()][0];
      timers.delete(id);
      t.fn();
    },
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'guard-pod-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function monitor(guardian: () => Guardian | null, extra: Partial<ConstructorParameters<typeof PodMonitor>[0]> = {}) {
  const alerts: PodAlert[] = [];
  const warnings: string[] = [];
  let clears = 0;
  const m = new PodMonitor({
    core,
    interval: 5,
    guardian,
    procDir: dir,
    onAlert: (a) => alerts.push(a),
    onClear: () => clears++,
    logger: { ...silentLogger, warn: (_o, msg) => void warnings.push(msg) },
    ...extra,
  });
  return { m, alerts, warnings, clears: () => clears };
}

describe('PodMonitor', () => {
  it('detects a new public peer, ignores private, loopback and listening sockets', async () => {
    const g = learnedGuardian(['2.217.23.2']);
    const { m, alerts } = monitor(() => g);
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '10.1.2.3', '192.168.7.1', '172.16.0.9']));
    await m.sample();
    expect(m.samples).toBe(1);
    expect(m.alerting).toBeNull();
    expect(alerts).toEqual([]);

    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '10.1.2.3', '8.8.8.8']));
    await m.sample();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].decisionText).toBe('[Pod:[Tcp4Peers:[IP 8.8.8.8 not allowed,],],]');
    expect(alerts[0].decision).toMatchObject({ result: 1, children: { Pod: { children: { Tcp4Peers: { reasons: ['IP 8.8.8.8 not allowed'] } } } } });
    expect(alerts[0].block).toBe(false);
    expect(m.compromised).toBe(false);

    // the same alert on the next tick is not reported again
    await m.sample();
    expect(alerts).toHaveLength(1);
    expect(m.alerting?.decisionText).toBe(alerts[0].decisionText);
    await m.stop();
  });

  it('after a core fault, samples with the new core instance; its alert holds under the same Guardian loaded again', async () => {
    const wire = learnedGuardian(['2.217.23.2']).toWire();
    const first = loadCore().fresh();
    let g = first.parseGuardian(wire);
    const { m, alerts, warnings, clears } = monitor(() => g, { core: first });
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '8.8.8.8']));
    await m.sample();
    expect(alerts).toHaveLength(1);

    expect(() => first.debugTrap()).toThrow(/the core failed/);
    await m.sample(); // the failed instance: nothing profiled, a warning
    expect(m.samples).toBe(1);
    expect(warnings.some((w) => w.includes('GUARD_CORE_FAULT') || w.includes('must be reloaded'))).toBe(true);

    const next = first.fresh();
    const from = g;
    g = next.parseGuardian(wire);
    m.replaceCore(next, { from, to: g });
    await m.sample();
    expect(m.samples).toBe(2);
    expect(m.current).not.toBeNull();
    expect(alerts).toHaveLength(1); // the same alert, not reported again

    // Peers gone: the alert holds under the Guardian that raised it (loaded again), as before a fault.
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2']));
    await m.sample();
    expect(clears()).toBe(0);
    expect(m.alerting).not.toBeNull();
    await m.stop();
  });

  it('reads IPv6 and the other tables; a missing file is fine', async () => {
    const g = learnedGuardian(['2.217.23.2']);
    const { m, alerts, warnings } = monitor(() => g);
    // 2001:4860:4860::8888, each 32-bit group little-endian as /proc prints it
    await writeFile(join(dir, 'tcp6'), v6Table(['60480120000060480000000088880000']));
    await writeFile(join(dir, 'udp'), v4Table(['1.1.1.1']));
    await m.sample();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].decisionText).toContain('Tcp6Peers');
    expect(alerts[0].decisionText).toContain('Udp4Peers');
    expect(alerts[0].decisionText).toContain('1.1.1.1');
    expect(warnings).toEqual([]);
    await m.stop();
  });

  it('under control.block marks the pod compromised; latched while the peer comes and goes', async () => {
    const g = learnedGuardian(['2.217.23.2'], { block: true });
    expect(g.control.block).toBe(true);
    let compromisedCalls = 0;
    const { m, alerts } = monitor(() => g, { onCompromised: () => compromisedCalls++ });
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '9.9.9.9']));
    await m.sample();
    expect(alerts[0].block).toBe(true);
    expect(m.compromised).toBe(true);
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2']));
    await m.sample();
    expect(m.alerting).not.toBeNull(); // the same Guardian: the alert holds
    expect(m.compromised).toBe(true);
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '9.9.9.9', '1.0.0.1']));
    await m.sample();
    expect(alerts).toHaveLength(2); // a changed alert is reported again
    expect(compromisedCalls).toBe(1);
    await m.stop();
  });

  it('clears the alert when a new Guardian allows the pod state', async () => {
    let g = learnedGuardian(['2.217.23.2']);
    const { m, alerts, clears } = monitor(() => g);
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2', '8.8.8.8']));
    await m.sample();
    expect(m.alerting).not.toBeNull();

    // a new Guardian that still does not allow 8.8.8.8: the alert stays
    g = learnedGuardian(['2.217.23.2', '2.217.23.4']);
    await m.sample();
    expect(m.alerting).not.toBeNull();
    expect(clears()).toBe(0);

    // a permissive Guardian (configured: every IPv4 peer) clears it
    g = core.parseGuardian({
      configured: { pod: { tcp4peers: [{ IP: '0.0.0.0', Mask: 'AAAAAA==' }] } },
      control: { auto: false, alert: true, block: false },
    });
    await m.sample();
    expect(m.alerting).toBeNull();
    expect(clears()).toBe(1);
    expect(alerts).toHaveLength(1);
    await m.stop();
  });

  it('does nothing before a Guardian is in force, but still profiles', async () => {
    const seen: unknown[] = [];
    const { m, alerts } = monitor(() => null, { onProfile: (p) => seen.push(p) });
    await writeFile(join(dir, 'tcp'), v4Table(['8.8.8.8']));
    await m.sample();
    expect(alerts).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(m.current).toBe(seen[0]);
    await m.stop();
    expect(m.current).toBeNull();
  });

  it('logs an unreadable table once per message and goes on', async () => {
    const g = learnedGuardian(['2.217.23.2']);
    const { m, alerts, warnings } = monitor(() => g);
    await mkdir(join(dir, 'udp')); // reading a directory fails with EISDIR
    await writeFile(join(dir, 'tcp'), v4Table(['8.8.8.8']));
    await m.sample();
    await m.sample();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^error while reading .*udp: /);
    expect(alerts).toHaveLength(1);
    await m.stop();
  });

  it('gives up a sample whose reads hang, after the read timeout', async () => {
    const g = learnedGuardian(['2.217.23.2']);
    const { m, warnings } = monitor(() => g, { readTimeoutMs: 100 });
    await writeFile(join(dir, 'tcp'), v4Table(['8.8.8.8']));
    execFileSync('mkfifo', [join(dir, 'udp')]); // opening a FIFO without a writer blocks
    const t0 = Date.now();
    await m.sample();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(m.samples).toBe(0);
    expect(warnings).toEqual([`error while reading ${dir}: timed out after 100 ms`]);
    // release the blocked open so the thread pool is free again
    const w = await open(join(dir, 'udp'), 'w');
    await w.close();
    await m.stop();
  });

  it('samples at start, then every interval, one sample at a time; stop cancels the timer', async () => {
    const g = learnedGuardian(['2.217.23.2']);
    const c = manualClock();
    const { m } = monitor(() => g, { clock: c.clock, interval: 7 });
    await writeFile(join(dir, 'tcp'), v4Table(['2.217.23.2']));
    m.start();
    expect(c.pending()).toEqual([0]);
    c.fire();
    await m.sample(); // joins the sample in flight
    await new Promise((r) => setImmediate(r));
    expect(m.samples).toBe(1);
    expect(c.pending()).toEqual([7000]);
    c.fire();
    await m.sample();
    await new Promise((r) => setImmediate(r));
    expect(m.samples).toBe(2);
    await m.stop();
    expect(c.pending()).toEqual([]);
  });

  it('rejects an interval below one second', () => {
    expect(() => new PodMonitor({ core, interval: 0, guardian: () => null })).toThrow(RangeError);
  });
});
