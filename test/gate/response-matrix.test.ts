// Every kind of response a service sends, through a whole gate (learn mode, the default Guardian):
// Content-Length and chunked framing; analysed and not analysed media types; empty, one chunk, many
// chunks and larger than GUARD_MAX_BODY; HEAD, 204 and 304; keep-alive and `Connection: close`
// clients; a client that goes away mid-response. Each answer is compared with what the service sent
// (status, framing, body hash), and after each scenario the gate-wide invariants are checked: no
// exchange left in flight, guard_gate_requests_total equal to the requests sent, nothing logged at
// warn or above.
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import { listenLocal } from '../support/servers.js';
import { waitFor } from '../support/waiters.js';
import { checkedGate, checkGateInvariants, requestsCounted } from './invariants.js';


const core = loadCore();
const MAX_BODY = 64 * 1024;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
checkGateInvariants();

const TYPES = ['none', 'image/png', 'application/octet-stream', 'text/html; charset=utf-8', 'application/json'] as const;
const FRAMINGS = ['length', 'chunked'] as const;
const SIZES = { empty: 0, one: 3_000, many: 40_000, over: 3 * MAX_BODY } as const;
type SizeName = keyof typeof SIZES;

/** Deterministic bytes of a body of `type`: valid JSON for JSON, text for text, binary otherwise. */
function bodyOf(type: string, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  if (type === 'application/json') {
    const pad = Math.max(0, size - 10);
    return Buffer.from(`{"d":"${'x'.repeat(pad)}"}`.padEnd(size, ' '));
  }
  if (type.startsWith('text/')) return Buffer.from('<p>hello</p>\n'.repeat(Math.ceil(size / 13)).slice(0, size));
  const b = Buffer.alloc(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Write `body` in chunks of at most 4 KiB, each after the previous one was flushed (many chunks on the wire). */
function writeInChunks(res: ServerResponse, body: Buffer): void {
  let at = 0;
  const next = (): void => {
    if (at >= body.length) return void res.end();
    const piece = body.subarray(at, at + 4096);
    at += piece.length;
    if (res.write(piece)) setImmediate(next);
    else res.once('drain', next);
  };
  next();
}

/** The test's service; `onClose` learns how each response ended (true: sent whole; false: cut short). */
async function service(onClose?: (finished: boolean) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (onClose) res.on('close', () => onClose(res.writableFinished));
    req.resume();
    req.on('end', () => {
      const status = Number(url.searchParams.get('status') ?? 200);
      const type = url.searchParams.get('type') ?? 'none';
      const framing = url.searchParams.get('framing') ?? 'length';
      const size = SIZES[(url.searchParams.get('size') ?? 'one') as SizeName] ?? Number(url.searchParams.get('size'));
      const body = bodyOf(type, size);
      if (type !== 'none') res.setHeader('content-type', type);
      res.setHeader('x-body-sha', sha(body));
      if (status === 204 || status === 304) {
        res.statusCode = status;
        return void res.end();
      }
      if (framing === 'length') res.setHeader('content-length', body.length);
      if (req.method === 'HEAD') return void res.end();
      if (size <= SIZES.one) res.end(body);
      else writeInChunks(res, body);
    });
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  return listening.url;
}

async function gate(upstream: string, listener: 'uws' | 'node') {
  const g = await checkedGate(
    gateConfig({ serviceName: 'files', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, useCrd: false, protectedService: upstream, maxBody: MAX_BODY, listener }),
    { core, podName: 'files-1', drainMs: 2000 },
    { quiet: true },
  );
  cleanups.push(() => g.close());
  return g;
}

describe.each(['uws', 'node'] as const)('responses of every framing, type and size through the gate (%s listener)', (listener) => {
  it('reach keep-alive and Connection: close clients byte for byte; every exchange ends and is counted', async () => {
    const g = await gate(await service(), listener);
    const keepAlive = new Agent({ connections: 4 });
    cleanups.push(() => keepAlive.close());
    let sent = 0;
    for (const reset of [false, true]) {
      for (const type of TYPES) {
        for (const framing of FRAMINGS) {
          for (const size of Object.keys(SIZES) as SizeName[]) {
            const path = `/r?type=${encodeURIComponent(type)}&framing=${framing}&size=${size}`;
            const r = await request(`http://127.0.0.1:${g.port}${path}`, { dispatcher: keepAlive, reset });
            const body = Buffer.from(await r.body.arrayBuffer());
            sent++;
            const what = `${type} ${framing} ${size}${reset ? ' (Connection: close)' : ''}`;
            expect(r.statusCode, what).toBe(200);
            expect(sha(body), what).toBe(r.headers['x-body-sha']);
            expect(body.length, what).toBe(SIZES[size]);
            if (framing === 'length') expect(r.headers['content-length'], what).toBe(String(SIZES[size]));
            if (type !== 'none') expect(r.headers['content-type'], what).toBe(type);
          }
        }
      }
    }
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(await requestsCounted(g)).toBe(sent);
  });

  it('answers HEAD, 204 and 304 without a body, to keep-alive and Connection: close clients; a kept connection stays usable', async () => {
    const g = await gate(await service(), listener);
    let sent = 0;
    for (const reset of [false, true]) {
      const one = new Agent({ connections: 1 });
      cleanups.push(() => one.close());
      const how = reset ? ' (Connection: close)' : '';
      for (const type of TYPES) {
        for (const framing of FRAMINGS) {
          const head = await request(`http://127.0.0.1:${g.port}/r?type=${encodeURIComponent(type)}&framing=${framing}&size=many`, { method: 'HEAD', dispatcher: one, reset });
          const what = `HEAD ${type} ${framing}${how}`;
          expect((await head.body.arrayBuffer()).byteLength, what).toBe(0);
          expect(head.statusCode, what).toBe(200);
          if (framing === 'length') expect(head.headers['content-length'], what).toBe(String(SIZES.many));
          sent++;
        }
        for (const status of [204, 304]) {
          const r = await request(`http://127.0.0.1:${g.port}/r?type=${encodeURIComponent(type)}&status=${status}`, { dispatcher: one, reset });
          const what = `${status} ${type}${how}`;
          expect(r.statusCode, what).toBe(status);
          expect((await r.body.arrayBuffer()).byteLength, what).toBe(0);
          sent++;
        }
      }
      // The same client (on a kept connection, or a new one after each close) still receives a
      // response with a body after all of them: no body bytes were expected or left behind.
      const after = await request(`http://127.0.0.1:${g.port}/r?type=image%2Fpng&size=one`, { dispatcher: one, reset });
      expect(sha(Buffer.from(await after.body.arrayBuffer())), `a body after them${how}`).toBe(after.headers['x-body-sha']);
      sent++;
    }
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(await requestsCounted(g)).toBe(sent);
  });

  it('ends the exchange of a client that goes away in the middle of a large response of any type, to keep-alive and Connection: close clients', async () => {
    // The service learns how each response ended: finished, or cut when the gate gave it up.
    const finished: boolean[] = [];
    const waiters = new Set<() => void>();
    const g = await gate(
      await service((done) => {
        finished.push(done);
        for (const w of waiters) w();
      }),
      listener,
    );
    // Large enough that the service is still writing when the client goes away (each response was
    // cut at 1 MiB in every measured run), small enough to keep the file quick.
    const size = 2 * 1024 * 1024;
    let sent = 0;
    for (const reset of [false, true]) {
      for (const type of TYPES) {
        for (const framing of FRAMINGS) {
          const client = new Agent({ connections: 1 });
          const r = await request(`http://127.0.0.1:${g.port}/r?type=${encodeURIComponent(type)}&framing=${framing}&size=${size}`, { dispatcher: client, reset });
          sent++;
          const what = `${type} ${framing}${reset ? ' (Connection: close)' : ''}`;
          expect(r.statusCode, what).toBe(200);
          // Read a little, then drop the connection.
          for await (const chunk of r.body) {
            expect(chunk.length, what).toBeGreaterThan(0);
            break;
          }
          await client.destroy();
          await waitFor(waiters, () => finished.length === sent, `the service's response of ${what} to end`, () => `${finished.length} ended`);
          expect(finished.at(-1), `${what}: the service's response was cut, not sent whole`).toBe(false);
        }
      }
    }
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(await requestsCounted(g)).toBe(sent);
  });

  it('serves many concurrent image downloads and ends every exchange', async () => {
    const g = await gate(await service(), listener);
    const pool = new Agent({ connections: 16 });
    cleanups.push(() => pool.close());
    const N = 200;
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const size = i % 2 === 0 ? 'one' : 'many';
        const r = await request(`http://127.0.0.1:${g.port}/r?type=image%2Fpng&size=${size}`, { dispatcher: pool });
        const body = Buffer.from(await r.body.arrayBuffer());
        return r.statusCode === 200 && sha(body) === r.headers['x-body-sha'];
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(await g.proxy.idle(3000)).toBe(true);
    expect(g.proxy.inFlight).toBe(0);
    expect(await requestsCounted(g)).toBe(N);
  });
});
