// A request body over GUARD_MAX_BODY through a real gate (startGate, its metrics and its log) in
// front of a real service: under GUARD_OVERSIZE=decide (the default) and a Guardian that does not
// block, it reaches the service byte for byte and is counted in guard_gate_oversize_bodies_total;
// under refuse it gets 413, never reaches the service, and the gate says why — a log line and
// guard_gate_refusals_total{reason="body_too_large"} — for a declared and a chunked body alike.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Writable, Readable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, request } from 'undici';
import { loadCore } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import type { GateHandle } from '../../gate/index.js';
import { listenLocal } from '../support/servers.js';
import { checkedGate, checkGateInvariants } from './invariants.js';

const core = loadCore();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

const MAX_BODY = 4096;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A JSON document of n bytes (an analysed type: the limit applies to it). */
const json = (n: number) => Buffer.from(`{"d":"${randomBytes(n).toString('hex').slice(0, n - 8)}"}`);

/** The service: answers each upload with the sha256 and length of what it received. */
async function uploads(): Promise<{ url: string; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      received++;
      const body = Buffer.concat(parts);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha: sha(body), len: body.length }));
    });
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  return { url: listening.url, received: () => received };
}

/** Every log line the gate wrote (info included), parsed. */
function capturingLog(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

async function gateWith(protectedService: string, oversize: 'decide' | 'refuse', lines: Array<Record<string, unknown>>): Promise<GateHandle> {
  const g = await checkedGate(
    gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, protectedService, maxBody: MAX_BODY, oversize }),
    { core, podName: 'shop-1', drainMs: 2000, log: capturingLog(lines) },
  );
  cleanups.push(() => g.close());
  return g;
}

/** One upload on a connection of its own (a refused one may be closed by the gate). */
async function upload(gate: GateHandle, body: Buffer, framing: 'declared' | 'chunked') {
  const client = new Client(`http://127.0.0.1:${gate.port}`);
  try {
    const r = await request(`http://127.0.0.1:${gate.port}/upload`, {
      dispatcher: client,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: framing === 'declared' ? body : Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
    });
    return { status: r.statusCode, body: await r.body.text() };
  } finally {
    await client.destroy();
  }
}

/** The value of a counter of the gate (with these labels), as scraped. */
async function counted(gate: GateHandle, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await gate.metrics.registry.getSingleMetric(name)?.get()) ?? { values: [] };
  return metric.values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe('a request body over GUARD_MAX_BODY', () => {
  it('GUARD_OVERSIZE=decide (default), learn mode: forwarded intact, counted in guard_gate_oversize_bodies_total, nothing refused', async () => {
    const service = await uploads();
    const lines: Array<Record<string, unknown>> = [];
    const gate = await gateWith(service.url, 'decide', lines);
    for (const framing of ['declared', 'chunked'] as const) {
      const body = json(3 * MAX_BODY);
      const r = await upload(gate, body, framing);
      expect(r.status, framing).toBe(200);
      expect(JSON.parse(r.body), framing).toEqual({ sha: sha(body), len: body.length });
    }
    // At the limit exactly: analysed, not counted.
    expect((await upload(gate, json(MAX_BODY), 'declared')).status).toBe(200);
    expect(service.received()).toBe(3);
    expect(await counted(gate, 'guard_gate_oversize_bodies_total')).toBe(2);
    expect(await counted(gate, 'guard_gate_refusals_total')).toBe(0);
  });

  it('GUARD_OVERSIZE=refuse: 413, never forwarded, logged and counted as guard_gate_refusals_total{reason="body_too_large"}', async () => {
    const service = await uploads();
    const lines: Array<Record<string, unknown>> = [];
    const gate = await gateWith(service.url, 'refuse', lines);
    for (const framing of ['declared', 'chunked'] as const) {
      const r = await upload(gate, json(3 * MAX_BODY), framing).catch((err: unknown) => ({ status: 0, body: String(err) }));
      expect(r, framing).toEqual({ status: 413, body: 'guard-gate: request body too large\n' });
    }
    expect(service.received()).toBe(0);
    expect(await counted(gate, 'guard_gate_refusals_total', { reason: 'body_too_large' })).toBe(2);
    expect(await counted(gate, 'guard_gate_oversize_bodies_total')).toBe(0);
    const refusals = lines.filter((l) => l.msg === 'request body over GUARD_MAX_BODY refused (GUARD_OVERSIZE=refuse)');
    expect(refusals.map((l) => [l.level, l.method, l.path, l.maxBody])).toEqual([
      [30, 'POST', '/upload', MAX_BODY],
      [30, 'POST', '/upload', MAX_BODY],
    ]);
    // Under the limit: served.
    expect((await upload(gate, json(MAX_BODY), 'declared')).status).toBe(200);
  });
});
