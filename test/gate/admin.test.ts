// The admin listener (/healthz, /readyz, /metrics) on a real port, and alerts as structured log
// events (their de-duplication and cap are the sync client's: test/gate/sync.test.ts).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { GateMetrics, RequestHistogram, startAdmin, type AdminServer } from '../../gate/admin.js';
import { Alerts, type AlertEvent } from '../../gate/alerts.js';

let admin: AdminServer | undefined;
afterEach(async () => {
  await admin?.close();
  admin = undefined;
});

async function get(path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${admin!.port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('admin listener', () => {
  it('answers /healthz always and /readyz only once a Guardian is in force', async () => {
    let ready = false;
    admin = await startAdmin({ metrics: new GateMetrics({ defaultMetrics: false }), ready: () => ready, port: 0, host: '127.0.0.1' });
    expect(admin.port).toBeGreaterThan(0);
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 503 });
    ready = true;
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await get('/readyz?verbose=1')).toMatchObject({ status: 200 });
    expect((await get('/other')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(405);
    expect(await get('/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('a throwing readiness getter is not ready', async () => {
    admin = await startAdmin({ metrics: new GateMetrics({ defaultMetrics: false }), ready: () => { throw new Error('x'); }, port: 0, host: '127.0.0.1' });
    expect((await get('/readyz')).status).toBe(503);
  });

  it('exposes the gate metrics the other parts update', async () => {
    const m = new GateMetrics();
    admin = await startAdmin({ metrics: m, ready: () => true, port: 0, host: '127.0.0.1' });
    m.requests.inc(3);
    m.decisions.inc({ outcome: 'allow' }, 2);
    m.decisions.inc({ outcome: 'block' });
    m.alerts.inc({ level: 'Session' });
    m.blocks.inc({ stage: 'request' });
    m.syncs.inc({ result: 'ok' });
    m.syncSeconds.observe(0.02);
    m.pileSize.set(42);
    m.coreSeconds.observe(0.0002);
    m.upstreamSeconds.observe(0.01);
    m.podCompromised.set(1);
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    for (const line of [
      'guard_gate_requests_total 3',
      'guard_gate_decisions_total{outcome="allow"} 2',
      'guard_gate_decisions_total{outcome="block"} 1',
      'guard_gate_alerts_total{level="Session"} 1',
      'guard_gate_blocks_total{stage="request"} 1',
      'guard_gate_syncs_total{result="ok"} 1',
      'guard_gate_sync_duration_seconds_count 1',
      'guard_gate_pile_samples 42',
      'guard_gate_core_duration_seconds_count 1',
      'guard_gate_upstream_duration_seconds_count 1',
      'guard_gate_pod_compromised 1',
    ]) {
      expect(r.body).toContain(line);
    }
    expect(r.body).toContain('guard_gate_process_cpu_user_seconds_total');
  });

  it('counts exchanges counted on the request path when the metrics are read, scrape after scrape', async () => {
    const m = new GateMetrics({ defaultMetrics: false });
    admin = await startAdmin({ metrics: m, ready: () => true, port: 0, host: '127.0.0.1' });
    m.countExchange('allow');
    m.countExchange('allow');
    m.countExchange('block');
    let r = await get('/metrics');
    expect(r.body).toContain('guard_gate_requests_total 3');
    expect(r.body).toContain('guard_gate_decisions_total{outcome="allow"} 2');
    expect(r.body).toContain('guard_gate_decisions_total{outcome="block"} 1');
    m.countExchange('alert');
    m.requests.inc(); // a direct increment adds up with the counted ones
    r = await get('/metrics');
    expect(r.body).toContain('guard_gate_requests_total 5');
    expect(r.body).toContain('guard_gate_decisions_total{outcome="alert"} 1');
    expect(r.body).toContain('guard_gate_decisions_total{outcome="allow"} 2');
    r = await get('/metrics'); // nothing new: nothing added twice
    expect(r.body).toContain('guard_gate_requests_total 5');
  });

  it('RequestHistogram exposes exactly what prom-client\'s Histogram exposes for the same observations', async () => {
    const buckets = [0.0001, 0.001, 0.01, 0.1];
    const ours = new Registry();
    const theirs = new Registry();
    const a = new RequestHistogram({ name: 'h_seconds', help: 'h', buckets, registers: [ours] });
    const b = new Histogram({ name: 'h_seconds', help: 'h', buckets, registers: [theirs] });
    for (const v of [0, 0.0001, 0.00011, 0.001, 0.05, 0.1, 0.2, 7, Number.NaN]) {
      a.observe(v);
      if (!Number.isNaN(v)) b.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('h_seconds_bucket{le="0.0001"} 2');
    a.reset();
    expect(await ours.metrics()).toContain('h_seconds_count 0');
  });

  it('fails to start on a port in use', async () => {
    admin = await startAdmin({ metrics: new GateMetrics({ defaultMetrics: false }), ready: () => true, port: 0, host: '127.0.0.1' });
    await expect(startAdmin({ metrics: new GateMetrics({ defaultMetrics: false }), ready: () => true, port: admin.port, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'GUARD_LISTEN_FAILED' });
  });
});

function event(text: string, level: AlertEvent['level'] = 'Session', extra: Partial<AlertEvent> = {}): AlertEvent {
  return { level, decision: { children: {}, reasons: [text], result: 1 }, decisionText: `[${text},]`, ...extra };
}

describe('Alerts', () => {
  it('logs a structured JSON event with the request, the tree and its sorted string', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => void (lines.push(String(c)), cb()) }));
    const seen: AlertEvent[] = [];
    const alerts = new Alerts({ logger, onAlert: (e) => seen.push(e) });
    const e = event('Key a is not known', 'Session', { requestId: 'req-1', method: 'GET', path: '/x', clientAddress: '8.8.4.4' });
    alerts.report(e);
    expect(seen).toEqual([e]);
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({
      level: 40,
      alert: true,
      alertLevel: 'Session',
      requestId: 'req-1',
      method: 'GET',
      path: '/x',
      clientAddress: '8.8.4.4',
      decision: { reasons: ['Key a is not known'], result: 1 },
      decisionText: '[Key a is not known,]',
      msg: 'SECURITY ALERT! Session ->[Key a is not known,]',
    });
  });
});
