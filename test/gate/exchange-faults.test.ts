// A failure of the gate's own code in the middle of an exchange — thrown while a request body streams
// to the service, or while a response is written to the client — ends that exchange exactly once:
// the client gets a 5xx or a cut connection, the exchange is counted in guard_gate_requests_total and
// leaves the in-flight set, and the gate keeps serving. The faults are injected into the real gate
// (both listeners) by making one call of the class that does that work throw, once.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { loadCore } from '../../core/index.js';
import { UwsClientResponse } from '../../gate/client-response.js';
import { gateConfig } from '../../gate/config.js';
import { NodeClientResponse } from '../../gate/node-client-response.js';
import { StreamedBody } from '../../gate/streamed-body.js';
import { listenLocal } from '../support/servers.js';
import { checkedGate, checkGateInvariants, requestsCounted } from './invariants.js';

const core = loadCore();
const MAX_BODY = 16 * 1024;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The service: answers every request with the hash of the body it read, as image/png bytes of `?size=`. */
async function service(): Promise<string> {
  const server = createServer((req, res) => {
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => h.update(d));
    req.on('end', () => {
      const size = Number(new URL(req.url!, 'http://x').searchParams.get('size') ?? 0);
      res.setHeader('content-type', 'image/png');
      res.setHeader('x-body-sha', h.digest('hex'));
      res.setHeader('content-length', size);
      res.end(Buffer.alloc(size, 0x89));
    });
    req.on('error', () => {});
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  return listening.url;
}

async function gate(listener: 'uws' | 'node') {
  const g = await checkedGate(
    gateConfig({ serviceName: 'files', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, useCrd: false, protectedService: await service(), maxBody: MAX_BODY, listener }),
    { core, podName: 'files-1', drainMs: 2000 },
  );
  cleanups.push(() => g.close());
  return g;
}

/** The next call of `method` on `proto` throws (once); every other call does what it does. */
function throwOnce<T extends object>(proto: T, method: keyof T & string): { thrown: () => boolean } {
  const original = proto[method] as (...args: unknown[]) => unknown;
  let armed = true;
  vi.spyOn(proto, method as never).mockImplementation(function (this: unknown, ...args: unknown[]) {
    if (armed) {
      armed = false;
      throw new Error(`injected fault in ${method}`);
    }
    return original.apply(this, args);
  } as never);
  return { thrown: () => !armed };
}

/** A request's outcome as its client sees it: the status and whole body, or the connection cut. */
async function outcome(url: string, body?: Buffer): Promise<{ status: number; body: Buffer; bodySha: unknown } | 'cut'> {
  try {
    const r = await request(url, { method: body ? 'POST' : 'GET', body, headers: body ? { 'content-type': 'application/octet-stream' } : {}, reset: true });
    return { status: r.statusCode, body: Buffer.from(await r.body.arrayBuffer()), bodySha: r.headers['x-body-sha'] };
  } catch {
    return 'cut';
  }
}

describe.each(['uws', 'node'] as const)('a fault of the gate mid-exchange (%s listener)', (listener) => {
  it('thrown while a request body streams to the service uninspected: the exchange ends once, the gate serves on', async () => {
    const g = await gate(listener);
    const base = `http://127.0.0.1:${g.port}`;
    // Over GUARD_MAX_BODY: streamed to the service, not buffered for analysis.
    const big = Buffer.alloc(8 * MAX_BODY, 0x61);
    const plain = await outcome(`${base}/upload`, big);
    expect(plain !== 'cut' && plain.status).toBe(200);
    expect(plain !== 'cut' && plain.bodySha).toBe(sha(big));

    const fault = throwOnce(StreamedBody.prototype, 'offer');
    const r = await outcome(`${base}/upload`, big);
    expect(fault.thrown()).toBe(true);
    if (r !== 'cut') expect(r.status).toBeGreaterThanOrEqual(500);

    // The gate serves on, and streams the next body whole.
    const after = await outcome(`${base}/upload`, big);
    expect(after !== 'cut' && after.status).toBe(200);
    expect(after !== 'cut' && after.bodySha).toBe(sha(big));
    expect(await g.proxy.idle(3_000)).toBe(true);
    expect(g.proxy.inFlight).toBe(0);
    expect(await requestsCounted(g)).toBe(3);
    expect(g.proxy.received).toBe(3);
    expect(g.lines.filter((l) => l.msg === 'exchange failed')).toHaveLength(1);
  });

  it('thrown while a response is written to the client: the exchange ends once, the gate serves on', async () => {
    const g = await gate(listener);
    const base = `http://127.0.0.1:${g.port}`;
    const proto = listener === 'uws' ? UwsClientResponse.prototype : NodeClientResponse.prototype;
    const fault = throwOnce(proto, 'writeSized');
    const r = await outcome(`${base}/image?size=${4 * MAX_BODY}`);
    expect(fault.thrown()).toBe(true);
    // The head may have left before the fault: then the body is cut short, never complete.
    if (r !== 'cut') expect(r.status).toBeGreaterThanOrEqual(500);

    const after = await outcome(`${base}/image?size=${4 * MAX_BODY}`);
    expect(after !== 'cut' && after.status).toBe(200);
    expect(after !== 'cut' && after.body.length).toBe(4 * MAX_BODY);
    expect(await g.proxy.idle(3_000)).toBe(true);
    expect(g.proxy.inFlight).toBe(0);
    expect(await requestsCounted(g)).toBe(2);
    expect(g.lines.filter((l) => l.msg === 'exchange failed')).toHaveLength(1);
  });
});
