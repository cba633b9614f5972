// /readyz of a gate whose upstream pool is wedged: a real gate (startGate, the admin listener) in
// front of a real backend that stops answering, with a short upstream headers timeout (1 s) and one
// upstream connection, so that requests queue behind each other and each times out in turn. The
// gate reports not ready while requests wait and the service answered none of them for longer than
// that timeout — the timeouts themselves are no answer — and ready again once it answers.
// And GUARD_SHUTDOWN_DELAY: after close() (what SIGTERM runs, cli/gate.ts) /readyz says 503 while
// requests are still served for the delay; then the listener closes and in-flight requests drain.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { Agent, Client, request } from 'undici';
import { loadCore } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import type { GateHandle } from '../../gate/index.js';
import { listenLocal } from '../support/servers.js';
import { waitFor } from '../support/waiters.js';
import { checkedGate, checkGateInvariants, type LoggedLine } from './invariants.js';

const core = loadCore();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

/** A backend that answers at once, or — while `silent` — holds every request until `answerHeld()`. */
async function silenceableBackend() {
  const held: ServerResponse[] = [];
  const arrivals = new Set<() => void>();
  let arrived = 0;
  const answer = (res: ServerResponse) => {
    if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  const b = {
    silent: false,
    arrived: () => arrived,
    /** Resolves once `n` requests reached the backend in all. */
    arrivedAt: (n: number) => waitFor(arrivals, () => arrived >= n, `${n} requests at the backend`, () => `${arrived} arrived`),
    /** Answer every request held (those whose connection is still open), and answer at once from now on. */
    answerHeld: () => {
      b.silent = false;
      for (const res of held.splice(0)) answer(res);
    },
    url: '',
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      arrived++;
      for (const w of [...arrivals]) w();
      if (b.silent) held.push(res);
      else answer(res);
    });
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  b.url = listening.url;
  return b;
}

async function readyz(gate: GateHandle): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${gate.adminPort}/readyz`);
  return { status: r.statusCode, body: await r.body.text() };
}

describe('/readyz and a service that stops answering', () => {
  it('says 503 with the reason while queued requests time out one after another, and 200 once the service answers again', async () => {
    const backend = await silenceableBackend();
    const gate = await checkedGate(
      gateConfig({
        serviceName: 'shop',
        namespace: 'default',
        port: 0,
        adminPort: 0,
        monitorPod: false,
        protectedService: backend.url,
        upstreamHeadersTimeout: 1,
        upstreamConnections: 1,
      }),
      { core, podName: 'shop-1', drainMs: 2000 },
    );
    cleanups.push(() => gate.close());
    const clients = new Agent({ connections: 8 });
    cleanups.push(() => clients.close());
    const get = async (path: string) => {
      const r = await request(`http://127.0.0.1:${gate.port}${path}`, { dispatcher: clients });
      return { status: r.statusCode, body: await r.body.text() };
    };

    expect((await get('/first')).status).toBe(200);
    expect(await readyz(gate)).toEqual({ status: 200, body: 'ready\n' });

    // A quiet spell longer than the timeout, then one request the service takes a moment to answer:
    // the request has not waited long, so the gate is ready (the quiet spell alone is no stall).
    await delay(1_200);
    backend.silent = true;
    const slow = get('/slow');
    await backend.arrivedAt(2);
    expect((await readyz(gate)).status).toBe(200);
    backend.answerHeld();
    expect((await slow).status).toBe(200);

    // The service stops answering. Three requests queue for the one connection: each waits its
    // headers timeout (1 s) in turn, so requests have waited on the service for over 1 s by the time
    // the second one fails — every failure so far a timeout, none an answer.
    backend.silent = true;
    const [a, b, c] = [get('/a'), get('/b'), get('/c')];
    const first = await a;
    expect(first.status).toBe(502);
    expect(first.body).toMatch(/GUARD_UPSTREAM_HEADERS_TIMEOUT/);
    expect((await b).status).toBe(502);
    const wedged = await readyz(gate);
    expect(wedged.status).toBe(503);
    expect(wedged.body).toMatch(/^not ready: 1 requests wait for the service, which has answered nothing for \d+ s \(over GUARD_UPSTREAM_HEADERS_TIMEOUT\)\n$/);
    // /healthz still says the process is up: only readiness depends on the service.
    const health = await request(`http://127.0.0.1:${gate.adminPort}/healthz`);
    await health.body.text();
    expect(health.statusCode).toBe(200);

    // The service answers again: the request still waiting gets its answer, and the gate is ready.
    await backend.arrivedAt(5);
    backend.answerHeld();
    expect((await c).status).toBe(200);
    expect(await readyz(gate)).toEqual({ status: 200, body: 'ready\n' });
    expect((await get('/after')).status).toBe(200);

    const timeouts = gate.lines.filter((l: LoggedLine) => l.msg === 'upstream unavailable' && l.fields.code === 'UND_ERR_HEADERS_TIMEOUT');
    expect(timeouts).toHaveLength(2);
    expect(timeouts[0]!.fields.reason).toBe('the service sent no response head in time (GUARD_UPSTREAM_HEADERS_TIMEOUT)');
  }, 20_000);
});

describe('GUARD_SHUTDOWN_DELAY', () => {
  it('after close(): not ready (503) but serving new connections for the delay, then no new connection, and the request in flight drains with 200', async () => {
    const backend = await silenceableBackend();
    const gate = await checkedGate(
      gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, protectedService: backend.url, shutdownDelay: 1 }),
      { core, podName: 'shop-1', drainMs: 10_000 },
      { quiet: true },
    );
    cleanups.push(() => gate.close());
    /** A request on a connection of its own (the listener must accept it). */
    const fresh = async (path: string) => {
      const client = new Client(`http://127.0.0.1:${gate.port}`);
      try {
        const r = await request(`http://127.0.0.1:${gate.port}${path}`, { dispatcher: client });
        return { status: r.statusCode, body: await r.body.text() };
      } finally {
        await client.destroy();
      }
    };
    expect(await readyz(gate)).toEqual({ status: 200, body: 'ready\n' });

    // A request in flight at the service when the shutdown begins.
    backend.silent = true;
    const inFlight = fresh('/long');
    await backend.arrivedAt(1);
    backend.silent = false;

    // The delay ends when the gate closes its proxy (stops listening, then drains): seen here.
    const proxy = gate.proxy;
    const closeProxy = proxy.close.bind(proxy);
    let delayEnded!: () => void;
    const drainBegan = new Promise<void>((resolve) => {
      delayEnded = resolve;
    });
    proxy.close = (drainMs?: number) => {
      const closing = closeProxy(drainMs);
      delayEnded();
      return closing;
    };
    const t0 = performance.now();
    let closed = false;
    const closing = gate.close().then(() => {
      closed = true;
    });
    expect(await readyz(gate)).toEqual({ status: 503, body: 'not ready: shutting down\n' });
    // Kubernetes still sends requests until it removed the endpoint: they are answered.
    expect(await fresh('/during-delay')).toEqual({ status: 200, body: '{"ok":true}' });
    expect(await readyz(gate)).toEqual({ status: 503, body: 'not ready: shutting down\n' });

    // After the delay the listener closes: a new connection is refused, the request in flight is not cut.
    await drainBegan;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1_000);
    await expect(fresh('/after-delay')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(gate.proxy.inFlight).toBe(1);
    expect(closed).toBe(false);

    backend.answerHeld();
    expect(await inFlight).toEqual({ status: 200, body: '{"ok":true}' });
    await closing;
    expect(closed).toBe(true);
  }, 20_000);
});
