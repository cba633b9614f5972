// The response side of the gate's request path, end to end (real node:http backend, real proxy on
// uWS, real clients on port 0): bodiless answers, streamed and chunked bodies, truncated upstream
// answers, repeated headers, asynchronous response plugins and clients that go away mid-response.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore, type Core, type Guardian } from '../../core/index.js';
import { guardPlugin, PluginRegistry, type Plugin } from '../../gate/plugins.js';
import { type ProxyHandle, type Verdict } from '../../gate/proxy.js';
import { silentLogger as quiet } from '../../log/index.js';
import { checkedProxy, checkGateInvariants } from './invariants.js';

checkGateInvariants();

const MiB = 1024 * 1024;
const big = randomBytes(3 * MiB);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let core: Core;
let guardian: Guardian;
let server: http.Server;
let port = 0;
/** Backend requests whose response the client abandoned: 'close' seen on the backend's response. */
let backendClosed = 0;
const proxies: ProxyHandle[] = [];
const client = new Agent({ keepAliveTimeout: 1000, connections: 4 });

/** The backend: one route per response shape under test. */
function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url!;
  if (url === '/head') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  } else if (url === '/204') {
    res.writeHead(204, { 'x-kind': 'empty' }).end();
  } else if (url === '/304') {
    res.writeHead(304, { etag: '"v1"' }).end();
  } else if (url === '/chunked-binary') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let off = 0; off < big.length; off += 256 * 1024) res.write(big.subarray(off, off + 256 * 1024));
    res.end();
  } else if (url === '/chunked-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":7,');
    setTimeout(() => res.end('"name":"widget"}'), 20);
  } else if (url === '/cookies') {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  } else if (url === '/non-ascii') {
    // node:http writes header values as UTF-8: café as 63 61 66 C3 A9.
    res.setHeader('X-Utf8', 'café');
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  } else if (url === '/truncated-json' || url === '/truncated-binary') {
    // Declares 100 bytes, sends 10, then the connection dies.
    const type = url.endsWith('json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': '100' });
    res.write('{"id":7,  ');
    setTimeout(() => res.socket?.destroy(), 20);
  } else if (url === '/endless') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => res.write(randomBytes(64 * 1024)), 5);
    res.on('close', () => {
      clearInterval(timer);
      backendClosed++;
    });
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  core = loadCore();
  guardian = core.defaultGuardian(); // alert on, block off: the guard never blocks here
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => route(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const p of proxies) await p.close(200);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await client.close();
});

async function proxy(options: { plugins?: PluginRegistry; verdicts?: Verdict[]; connections?: number } = {}): Promise<ProxyHandle> {
  const p = await checkedProxy({
    port: 0,
    host: '127.0.0.1',
    upstream: `http://127.0.0.1:${port}`,
    core,
    getGuardian: () => guardian,
    connections: options.connections,
    plugins: options.plugins,
    onSession: (_s, v) => options.verdicts?.push(v),
  });
  proxies.push(p);
  return p;
}

async function send(p: ProxyHandle, path: string, method = 'GET') {
  const r = await request(`http://127.0.0.1:${p.port}${path}`, { method: method as 'GET', dispatcher: client });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

/** Raw HTTP/1.1 on one socket: resolves with everything received until the socket closed or ms passed. */
function rawExchange(p: ProxyHandle, text: string, ms = 600): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(p.port, '127.0.0.1', () => c.write(text));
    let data = '';
    c.on('data', (d) => (data += d.toString('latin1')));
    c.on('error', () => {});
    const t = setTimeout(() => {
      c.destroy();
      resolve({ data, closed: false });
    }, ms);
    c.on('close', () => {
      clearTimeout(t);
      resolve({ data, closed: true });
    });
  });
}

describe('bodiless answers', () => {
  test('HEAD keeps the declared length without a body, and the connection is reused', async () => {
    const p = await proxy();
    const c = net.connect(p.port, '127.0.0.1');
    let data = '';
    c.on('data', (d) => (data += d.toString('latin1')));
    c.write('HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => data.includes('\r\n\r\n'), { timeout: 2000 }).toBe(true);
    expect(data).toMatch(/^HTTP\/1\.1 200 /);
    expect(data).toMatch(/content-length: 5\r\n/i);
    expect(data.endsWith('\r\n\r\n')).toBe(true); // no body after the head
    data = '';
    c.write('GET /head HTTP/1.1\r\nHost: x\r\n\r\n'); // the same connection
    await expect.poll(() => data.endsWith('hello'), { timeout: 2000 }).toBe(true);
    expect(c.destroyed).toBe(false);
    c.destroy();
  });

  test('204 and 304 pass with their headers and no body', async () => {
    const p = await proxy();
    const a = await send(p, '/204');
    expect(a.status).toBe(204);
    expect(a.headers['x-kind']).toBe('empty');
    expect(a.headers['content-length']).toBeUndefined(); // RFC 9110: never on a 204
    expect(a.body.length).toBe(0);
    const b = await send(p, '/304');
    expect(b.status).toBe(304);
    expect(b.headers.etag).toBe('"v1"');
    expect(b.body.length).toBe(0);
  });
});

describe('upstream connections are reused', () => {
  test('bodiless answers (HEAD, 204, 304) give their connection back: 30 of them over 2 connections', async () => {
    const p = await proxy({ connections: 2 });
    for (let i = 0; i < 10; i++) {
      expect((await send(p, '/204')).status).toBe(204);
      expect((await send(p, '/304')).status).toBe(304);
      expect((await send(p, '/head', 'HEAD')).status).toBe(200);
    }
    expect((await send(p, '/cookies')).status).toBe(200);
  });

  test('collected and streamed bodies give their connection back too', async () => {
    const p = await proxy({ connections: 1 });
    for (let i = 0; i < 5; i++) {
      expect((await send(p, '/chunked-json')).status).toBe(200);
      expect(sha((await send(p, '/chunked-binary')).body)).toBe(sha(big));
      expect((await send(p, '/cookies')).status).toBe(200);
    }
  });
});

describe('bodies', () => {
  test('a chunked binary response streams through byte-identical', async () => {
    const p = await proxy();
    const r = await send(p, '/chunked-binary');
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(sha(big));
  });

  test('a chunked JSON response is collected, decided and sent whole', async () => {
    const verdicts: Verdict[] = [];
    const p = await proxy({ verdicts });
    const r = await send(p, '/chunked-json');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ id: 7, name: 'widget' });
    expect(verdicts.at(-1)?.complete).toBe(true);
  });

  test('repeated response headers stay separate (two Set-Cookie lines)', async () => {
    const p = await proxy();
    const { data } = await rawExchange(p, 'GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n', 300);
    expect(data).toMatch(/set-cookie: a=1; Path=\/\r\n/i);
    expect(data).toMatch(/set-cookie: b=2; Path=\/\r\n/i);
  });

  test('non-ASCII bytes of response header values reach the client unchanged', async () => {
    const p = await proxy();
    const { data } = await rawExchange(p, 'GET /non-ascii HTTP/1.1\r\nHost: x\r\n\r\n', 300);
    expect(data).toMatch(/^HTTP\/1\.1 200 /);
    // Read as latin1: the two bytes C3 A9, not a second UTF-8 encoding of them (C3 83 C2 A9).
    expect(data).toContain('x-utf8: caf\xc3\xa9\r\n');
    expect(data).toContain('{"ok":true}');
  });

  for (const kind of ['json', 'binary']) {
    test(`an upstream that dies mid-body (${kind}) never yields a complete-looking response`, async () => {
      const p = await proxy();
      const r = await send(p, `/truncated-${kind}`).catch((err: Error) => err);
      if (r instanceof Error) return; // the client saw the connection close before the declared length
      // An analysed body is refused whole instead: the head was never sent.
      expect(r.status).toBe(502);
      expect(r.headers['x-guard-request-id']).toBeTruthy();
      // and the gate keeps serving
      expect((await send(p, '/cookies')).status).toBe(200);
    });
  }
});

describe('response plugins and clients', () => {
  const slowResponder = (action: 'allow' | 'block'): Plugin => ({
    name: 'slow',
    version: '1',
    init() {},
    approveRequest: () => ({ action: 'allow' }),
    approveResponse: () => new Promise((r) => setTimeout(() => r(action === 'allow' ? { action: 'allow', addHeaders: [['X-Slow', 'yes']] } : { action: 'block', reason: 'no' }), 30)),
    shutdown() {},
  });

  async function withPlugin(action: 'allow' | 'block'): Promise<ProxyHandle> {
    const reg = new PluginRegistry({ logger: quiet });
    reg.register(guardPlugin, { first: true });
    reg.register(slowResponder(action));
    await reg.init({}, { serviceName: 's', namespace: 'n', logger: quiet });
    return proxy({ plugins: reg });
  }

  test('an asynchronous response plugin holds a streamed body until it allows it', async () => {
    const p = await withPlugin('allow');
    const r = await send(p, '/chunked-binary');
    expect(r.status).toBe(200);
    expect(r.headers['x-slow']).toBe('yes');
    expect(sha(r.body)).toBe(sha(big));
  });

  test('an asynchronous response plugin that blocks withholds the body', async () => {
    const p = await withPlugin('block');
    const r = await send(p, '/chunked-binary');
    expect(r.status).toBe(403);
    expect(r.body.length).toBeLessThan(200);
  });

  test('a client that goes away mid-response aborts the upstream exchange; the gate keeps serving', async () => {
    const p = await proxy();
    const before = backendClosed;
    await rawExchange(p, 'GET /endless HTTP/1.1\r\nHost: x\r\n\r\n', 150);
    await expect.poll(() => backendClosed, { timeout: 3000 }).toBe(before + 1);
    await expect.poll(() => p.inFlight, { timeout: 3000 }).toBe(0);
    expect((await send(p, '/cookies')).status).toBe(200);
  });
});
