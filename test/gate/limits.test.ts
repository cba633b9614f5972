// The gate's limits on what it holds at once, through a real gate (startGate, its admin /metrics) in
// front of a service that holds its answers until the test releases them: GUARD_MAX_IN_FLIGHT on
// either listener (beyond it, 503 with Retry-After, counted as a refusal and as a request, never
// forwarded) and GUARD_MAX_CONNECTIONS on the node listener (beyond it, a new connection is closed
// unanswered, nothing is received, and the refusal is counted); below the limit again, the gate serves at once.
import { createServer, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import type { GateHandle } from '../../gate/index.js';
import { listenLocal } from '../support/servers.js';
import { waitFor } from '../support/waiters.js';
import { checkedGate, checkGateInvariants } from './invariants.js';

const core = loadCore();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

interface Holding {
  url: string;
  /** Paths the service received, in order. */
  seen: string[];
  /** Resolves once `n` requests are held (received and not answered). */
  held(n: number): Promise<void>;
  /** Answer the oldest held request. */
  release(): void;
}

/** A service that answers a path under /hold only when released, and any other path at once. */
async function holdingService(): Promise<Holding> {
  const seen: string[] = [];
  const holding: ServerResponse[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(req.url!);
      res.setHeader('content-type', 'text/plain');
      if (!req.url!.startsWith('/hold')) return void res.end(`served ${req.url}`);
      holding.push(res);
      for (const w of waiters) w();
    });
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  return {
    url: listening.url,
    seen,
    held: (n) => waitFor(waiters, () => holding.length === n, `${n} requests held by the service`, () => `${holding.length} held`),
    release: () => void holding.shift()!.end('released'),
  };
}

async function gate(upstream: string, listener: 'uws' | 'node', limits: { maxInFlight?: number; maxConnections?: number }): Promise<GateHandle> {
  const g = await checkedGate(
    gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, listenAddress: '127.0.0.1', monitorPod: false, useCrd: false, protectedService: upstream, listener, ...limits }),
    { core, podName: 'shop-1', drainMs: 500 },
    { quiet: true },
  );
  cleanups.push(() => g.close());
  return g;
}

/** A counter's value as the admin endpoint serves it (0 when the series is absent). */
async function scraped(g: GateHandle, series: string): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${g.adminPort}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Raw bytes to the gate; what came back once the gate closed the connection. */
function exchange(port: number, text: string): { socket: net.Socket; answer: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
  let out = '';
  socket.on('data', (d) => (out += d.toString('latin1')));
  socket.on('error', () => {});
  return { socket, answer: new Promise((resolve) => socket.on('close', () => resolve(out))) };
}

const statusOf = (out: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);

describe.each(['uws', 'node'] as const)('GUARD_MAX_IN_FLIGHT (%s listener)', (listener) => {
  it('answers 503 with Retry-After beyond the limit, counts it, forwards nothing, and serves again below it', async () => {
    const app = await holdingService();
    const g = await gate(app.url, listener, { maxInFlight: 2 });
    const pool = new Agent({ connections: 8 });
    cleanups.push(() => pool.close());
    const get = (path: string) => request(`http://127.0.0.1:${g.port}${path}`, { dispatcher: pool }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }));

    const first = get('/hold/1');
    const second = get('/hold/2');
    await app.held(2);
    const refused = await get('/over');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe('guard-gate: too many requests in flight; retry shortly\n');
    expect(app.seen).toEqual(['/hold/1', '/hold/2']);
    expect(await scraped(g, 'guard_gate_refusals_total{reason="too_many_in_flight"}')).toBe(1);
    expect(await scraped(g, 'guard_gate_undecided_total{reason="refused"}')).toBe(1);
    // The refused request is a request received: counted, while the two held are not ended yet.
    expect(await scraped(g, 'guard_gate_requests_total')).toBe(1);
    expect(await scraped(g, 'guard_gate_in_flight')).toBe(2);

    // One answered: one below the limit, a new request is served while the other is still held.
    app.release();
    expect(await first).toMatchObject({ status: 200, body: 'released' });
    expect(await get('/again')).toMatchObject({ status: 200, body: 'served /again' });
    app.release();
    expect(await second).toMatchObject({ status: 200, body: 'released' });
    expect(app.seen).toEqual(['/hold/1', '/hold/2', '/again']);
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(await scraped(g, 'guard_gate_requests_total')).toBe(4);
    expect(await scraped(g, 'guard_gate_refusals_total{reason="too_many_in_flight"}')).toBe(1);
  });
});

describe('GUARD_MAX_CONNECTIONS (node listener)', () => {
  it('closes a connection beyond the limit unanswered, receives nothing from it, and accepts again below it', async () => {
    const app = await holdingService();
    const g = await gate(app.url, 'node', { maxConnections: 2 });
    const hold = (n: number) => exchange(g.port, `GET /hold/${n} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n`);
    const a = hold(1);
    const b = hold(2);
    await app.held(2);

    // A third connection: dropped as it is accepted, without a byte of answer; the gate received no
    // request from it, so no request is counted — the dropped connection is, as a refusal.
    const over = exchange(g.port, 'GET /over HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n');
    expect(await over.answer).toBe('');
    expect(g.proxy.received).toBe(2);
    expect(app.seen).toEqual(['/hold/1', '/hold/2']);
    expect(await scraped(g, 'guard_gate_refusals_total{reason="too_many_connections"}')).toBe(1);

    // The gate closes the first connection once it answered (the client asked it to): one below the
    // limit, a new connection is served while the other is still open.
    app.release();
    const answered = await a.answer;
    expect(statusOf(answered)).toBe(200);
    expect(answered.endsWith('released')).toBe(true);
    const again = await exchange(g.port, 'GET /again HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n').answer;
    expect(statusOf(again)).toBe(200);
    expect(again.endsWith('served /again')).toBe(true);
    app.release();
    expect(statusOf(await b.answer)).toBe(200);
    expect(app.seen).toEqual(['/hold/1', '/hold/2', '/again']);
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(await scraped(g, 'guard_gate_requests_total')).toBe(3);
  });
});
