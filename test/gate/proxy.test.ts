// The gate's request path end to end: a real node:http backend, the real proxy (uWS) and a real
// undici client, all on port 0.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore, type Core, type Guardian, type Pile } from '../../core/index.js';
import { type ProxyHandle, type ProxyOptions, type Verdict } from '../../gate/proxy.js';
import { blockingGuardianFrom } from '../support/guardian.js';
import { checkedProxy, checkGateInvariants, takeLines } from './invariants.js';

checkGateInvariants();

const MiB = 1024 * 1024;

interface Received {
  method: string;
  url: string;
  sha: string;
  len: number;
  headers: http.IncomingHttpHeaders;
}

interface Backend {
  port: number;
  received: Received[];
  leak: boolean;
  server: http.Server;
  close(): Promise<void>;
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function startBackend(port = 0): Promise<Backend> {
  const b: Backend = {
    port: 0,
    received: [],
    leak: false,
    server: null as unknown as http.Server,
    close: async () => {
      b.server.closeAllConnections();
      await new Promise<void>((r) => b.server.close(() => r()));
    },
  };
  b.server = http.createServer((req, res) => {
    const h = createHash('sha256');
    let len = 0;
    req.on('data', (c: Buffer) => {
      h.update(c);
      len += c.length;
    });
    req.on('end', () => {
      const digest = h.digest('hex');
      b.received.push({ method: req.method!, url: req.url!, sha: digest, len, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      const body = b.leak
        ? { id: 7, name: 'widget', password: 'hunter2', ssn: '078-05-1120', card: '4111111111111111' }
        : { id: 7, name: 'widget' };
      const out = req.url!.startsWith('/upload') ? JSON.stringify({ sha: digest, len }) : JSON.stringify(body);
      if (req.url!.startsWith('/slow')) setTimeout(() => res.end(out), 300);
      else res.end(out);
    });
  });
  await new Promise<void>((r) => b.server.listen(port, '127.0.0.1', () => r()));
  b.port = (b.server.address() as net.AddressInfo).port;
  return b;
}

const client = new Agent({ keepAliveTimeout: 1000, connections: 8 });

async function send(
  port: number,
  path: string,
  init: { method?: string; body?: Buffer | Readable; headers?: Record<string, string> } = {},
) {
  const r = await request(`http://127.0.0.1:${port}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    body: init.body,
    headers: init.headers,
    dispatcher: client,
  });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body };
}

/** Raw bytes to a port; resolves with whatever came back before the socket closed or 500 ms. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(text));
    let out = '';
    c.on('data', (d) => (out += d.toString('latin1')));
    c.on('error', () => {});
    const t = setTimeout(() => {
      c.destroy();
      resolve(out);
    }, 500);
    c.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

let core: Core;
const backends: Backend[] = [];
const proxies: ProxyHandle[] = [];

/** A proxy in front of `backend`; `quiet` (the default): normal traffic, any warn or error line fails the test. */
async function proxyTo(backend: Backend | number, extra: Partial<ProxyOptions> & { getGuardian: () => Guardian }, quiet = true) {
  const port = typeof backend === 'number' ? backend : backend.port;
  const p = await checkedProxy({ port: 0, host: '127.0.0.1', upstream: `http://127.0.0.1:${port}`, core, ...extra }, { quiet });
  proxies.push(p);
  return p;
}

beforeAll(() => {
  core = loadCore();
});

afterAll(async () => {
  for (const p of proxies) await p.close(500);
  for (const b of backends) await b.close().catch(() => {});
  await client.close();
});

describe('learned Guardian', () => {
  let backend: Backend;
  let proxy: Awaited<ReturnType<typeof proxyTo>>;
  let guardian: Guardian;
  const verdicts: Verdict[] = [];
  const order = JSON.stringify({ item: 'widget', qty: 2 });

  const normalGet = () => send(proxy.port, '/api/items?id=7');
  const normalPost = () =>
    send(proxy.port, '/api/orders', { method: 'POST', body: Buffer.from(order), headers: { 'content-type': 'application/json' } });

  beforeAll(async () => {
    backend = await startBackend();
    backends.push(backend);
    guardian = core.defaultGuardian(); // learning phase: no criteria, block off
    let pile: Pile | null = core.newPile();
    proxy = await proxyTo(backend, {
      getGuardian: () => guardian,
      onSession: (s, v) => {
        verdicts.push(v);
        pile?.add(s);
      },
    });
    for (let i = 0; i < 6; i++) {
      expect((await normalGet()).status).toBe(200);
      expect((await normalPost()).status).toBe(200);
    }
    guardian = blockingGuardianFrom(core, pile!);
    pile = null;
  });

  test('normal GET and POST pass', async () => {
    const before = backend.received.length;
    const g = await normalGet();
    expect(g.status).toBe(200);
    expect(JSON.parse(g.body.toString())).toEqual({ id: 7, name: 'widget' });
    // A GET without a body reaches the service as the client sent it: no Content-Length added.
    expect(backend.received.at(-1)!.headers['content-length']).toBeUndefined();
    const p = await normalPost();
    expect(p.status).toBe(200);
    expect(backend.received.length).toBe(before + 2);
    const last = backend.received.at(-1)!;
    expect(last.sha).toBe(sha(Buffer.from(order)));
    expect(last.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  test('an out-of-pattern request is blocked with 403 and never reaches the backend', async () => {
    const before = backend.received.length;
    const r = await send(proxy.port, '/api/items?id=7&cmd=%3Cscript%3Ealert(1)%3C/script%3E');
    expect(r.status).toBe(403);
    const id = r.headers['x-guard-request-id'];
    expect(typeof id).toBe('string');
    expect(r.body.toString()).toContain(String(id));
    expect(backend.received.length).toBe(before);
    const v = verdicts.find((x) => x.requestId === id)!;
    expect(v.blocked).toBe('request');
    expect(v.result).not.toBe(0);
    // a blocked POST body with unknown keys, too
    const p = await send(proxy.port, '/api/orders', {
      method: 'POST',
      body: Buffer.from(JSON.stringify({ item: 'widget', qty: 2, admin: true, $where: 'sleep(1000)' })),
      headers: { 'content-type': 'application/json' },
    });
    expect(p.status).toBe(403);
    expect(backend.received.length).toBe(before);
    expect(takeLines(proxy)).toEqual(['warn blocked', 'warn blocked']);
  });

  test('a blocked request with an uninspected streaming body is discarded, and the connection is reused', async () => {
    const before = backend.received.length;
    const r = await send(proxy.port, '/api/items?id=7&cmd=drop', {
      method: 'POST',
      body: Readable.from([randomBytes(300 * 1024), randomBytes(300 * 1024)]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(r.status).toBe(403);
    expect(backend.received.length).toBe(before);
    expect((await normalGet()).status).toBe(200);
    expect(takeLines(proxy)).toEqual(['warn blocked']);
  });

  test('a client that goes away mid-body is cleaned up; the proxy keeps serving', async () => {
    const before = backend.received.length;
    await new Promise<void>((resolve) => {
      const c = net.connect(proxy.port, '127.0.0.1', () => {
        c.write('POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"item":');
        setTimeout(() => {
          c.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.inFlight).toBe(0);
    expect(backend.received.length).toBe(before);
    expect((await normalGet()).status).toBe(200);
  });

  test('a response-stage block withholds the data from the client', async () => {
    const before = backend.received.length;
    backend.leak = true;
    try {
      const r = await normalGet();
      expect(r.status).toBe(403);
      expect(r.headers['x-guard-request-id']).toBeTruthy();
      expect(r.body.toString()).not.toContain('hunter2');
      expect(backend.received.length).toBe(before + 1); // the request did reach the service
      const v = verdicts.find((x) => x.requestId === r.headers['x-guard-request-id'])!;
      expect(v.blocked).toBe('response');
    } finally {
      backend.leak = false;
    }
    expect((await normalGet()).status).toBe(200);
    expect(takeLines(proxy)).toEqual(['warn blocked']);
  });

  test('with control.alert off nothing blocks', async () => {
    const saved = guardian.control;
    guardian.control = { ...saved, alert: false };
    try {
      const r = await send(proxy.port, '/api/items?id=7&cmd=drop');
      expect(r.status).toBe(200);
    } finally {
      guardian.control = saved;
    }
  });
});

describe('bodies arrive byte-identical', () => {
  let backend: Backend;
  let analysed: ProxyHandle;
  let refusing: ProxyHandle;
  let passthrough: ProxyHandle;
  let guardian: Guardian;

  beforeAll(async () => {
    backend = await startBackend();
    backends.push(backend);
    guardian = core.defaultGuardian(); // alert on, block off: never blocks
    analysed = await proxyTo(backend, { getGuardian: () => guardian, oversize: 'decide' });
    refusing = await proxyTo(backend, { getGuardian: () => guardian, oversize: 'refuse' });
    passthrough = await proxyTo(backend, { getGuardian: () => guardian, analyzeBody: false });
  });

  /** A valid JSON document of exactly n bytes (n = 0: empty). */
  function jsonOf(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const inner = randomBytes(n).toString('base64').replace(/[+/=]/g, 'x').slice(0, n - 8);
    const b = Buffer.from(`{"d":"${inner}"}`);
    return Buffer.concat([b, Buffer.alloc(n - b.length, 0x20)]);
  }

  function chunked(b: Buffer): Readable {
    const parts: Buffer[] = [];
    for (let i = 0; i < b.length; i += 64 * 1024 + 7) parts.push(b.subarray(i, i + 64 * 1024 + 7));
    return Readable.from(parts);
  }

  const sizes = [0, 1024, MiB - 1, MiB + 1, 8 * MiB];
  const cases: Array<[string, () => ProxyHandle, string]> = [
    ['analysed (oversize decided, then streamed)', () => analysed, 'application/json'],
    ['binary media type (analysed as text)', () => analysed, 'application/octet-stream'],
    ['body analysis off', () => passthrough, 'application/json'],
  ];
  for (const [name, proxy, ctype] of cases) {
    for (const framing of ['fixed', 'chunked'] as const) {
      test(`${name}, ${framing}`, async () => {
        for (const n of sizes) {
          const body = jsonOf(n);
          const before = backend.received.length;
          const r = await send(proxy().port, `/upload/${n}`, {
            method: 'POST',
            body: framing === 'fixed' ? body : chunked(body),
            headers: { 'content-type': ctype },
          });
          expect(r.status, `${n} B`).toBe(200);
          expect(backend.received.length).toBe(before + 1);
          const got = backend.received.at(-1)!;
          expect(got.len, `${n} B`).toBe(n);
          expect(got.sha, `${n} B`).toBe(sha(body));
          expect(JSON.parse(r.body.toString())).toEqual({ sha: sha(body), len: n });
        }
      });
    }
  }

  test('concurrent analysed bodies never mix (one private buffer per request)', async () => {
    const bodies = Array.from({ length: 24 }, (_, i) => jsonOf(32 * 1024 + i * 997));
    const results = await Promise.all(
      bodies.map((body, i) =>
        send(analysed.port, `/upload/c${i}`, {
          method: 'POST',
          body: i % 2 ? body : chunked(body),
          headers: { 'content-type': 'application/json' },
        }),
      ),
    );
    results.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toEqual({ sha: sha(bodies[i]!), len: bodies[i]!.length });
    });
  });

  test('over the limit with oversize=refuse: 413, never forwarded (fixed and chunked)', async () => {
    const before = backend.received.length;
    const body = jsonOf(MiB + 1);
    const a = await send(refusing.port, '/upload/big', { method: 'POST', body, headers: { 'content-type': 'application/json' } }).catch(
      () => ({ status: 413 }),
    );
    expect(a.status).toBe(413);
    const b = await send(refusing.port, '/upload/big', {
      method: 'POST',
      body: chunked(body),
      headers: { 'content-type': 'application/json' },
    }).catch(() => ({ status: 413 }));
    expect(b.status).toBe(413);
    expect(backend.received.length).toBe(before);
    // at the limit exactly: accepted
    const ok = await send(refusing.port, '/upload/max', { method: 'POST', body: jsonOf(MiB), headers: { 'content-type': 'application/json' } });
    expect(ok.status).toBe(200);
  });

  test('large responses stream through with backpressure', async () => {
    const big = randomBytes(8 * MiB);
    const srv = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(big);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const p = await proxyTo((srv.address() as net.AddressInfo).port, { getGuardian: () => guardian });
    const r = await send(p.port, '/download');
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(sha(big));
    srv.closeAllConnections();
    srv.close();
  });
});

describe('failure modes', () => {
  test('upstream down → 502; the next request after the backend is back succeeds', async () => {
    const b = await startBackend();
    const port = b.port;
    const guardian = core.defaultGuardian();
    const proxy = await proxyTo(port, { getGuardian: () => guardian });
    expect((await send(proxy.port, '/api/items?id=7')).status).toBe(200);
    await b.close();
    const down = await send(proxy.port, '/api/items?id=7');
    expect(down.status).toBe(502);
    expect(down.body.toString()).toMatch(/upstream/);
    const again = await startBackend(port);
    backends.push(again);
    const up = await send(proxy.port, '/api/items?id=7');
    expect(up.status).toBe(200);
    expect(again.received.length).toBe(1);
    expect(takeLines(proxy)).toEqual(['warn upstream unavailable']);
  });

  test('duplicate Content-Length and CL+TE are refused and never forwarded', async () => {
    const b = await startBackend();
    backends.push(b);
    const guardian = core.defaultGuardian();
    const proxy = await proxyTo(b, { getGuardian: () => guardian });
    const dup = await raw(
      proxy.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}',
    );
    expect(dup).toMatch(/^HTTP\/1\.1 400 /);
    expect(dup.toLowerCase()).toContain('x-guard-request-id');
    const same = await raw(proxy.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}');
    expect(same).toMatch(/^HTTP\/1\.1 400 /);
    // uWS itself rejects CL+TE by closing the connection before the gate sees the request;
    // either way it is refused and nothing reaches the service.
    const clte = await raw(
      proxy.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    );
    expect(clte === '' || /^HTTP\/1\.1 400 /.test(clte)).toBe(true);
    expect(b.received.length).toBe(0);
    // the proxy still serves
    expect((await send(proxy.port, '/api/items?id=7')).status).toBe(200);
  });

  test('close() stops accepting, drains the in-flight exchange, then releases the port', async () => {
    const b = await startBackend();
    backends.push(b);
    const guardian = core.defaultGuardian();
    const seen: Verdict[] = [];
    const proxy = await checkedProxy({
      port: 0,
      host: '127.0.0.1',
      upstream: `http://127.0.0.1:${b.port}`,
      core,
      getGuardian: () => guardian,
      onSession: (_s, v) => seen.push(v),
    });
    const slow = send(proxy.port, '/slow?id=7');
    // In flight once the backend has it (it answers /slow 300 ms later).
    await expect.poll(() => proxy.inFlight, { timeout: 2000, interval: 5 }).toBe(1);
    const closed = proxy.close(5_000);
    const r = await slow;
    expect(r.status).toBe(200);
    await closed;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.complete).toBe(true);
    expect(seen[0]!.upstreamMs).toBeGreaterThanOrEqual(250);
    await expect(raw(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).resolves.toBe('');
  });

  test('the block status is configurable (e.g. 502 as the original)', async () => {
    const b = await startBackend();
    backends.push(b);
    const g = core.defaultGuardian();
    const p = core.newPile();
    const s = core.newSession();
    s.profileRequest({ method: 'GET', path: '/api/items', query: 'id=7', headers: [['host', 'x']], remote: '127.0.0.1' });
    p.add(s);
    s.dispose();
    g.learn(p);
    p.dispose();
    g.control = { alert: true, block: true, learn: true, force: false, auto: true };
    const proxy = await proxyTo(b, { getGuardian: () => g, blockStatus: 502 });
    const r = await send(proxy.port, '/admin/../../etc/passwd?x=%00');
    expect(r.status).toBe(502);
    expect(r.headers['x-guard-request-id']).toBeTruthy();
    expect(b.received.length).toBe(0);
    expect(takeLines(proxy)).toEqual(['warn blocked']);
  });
});
