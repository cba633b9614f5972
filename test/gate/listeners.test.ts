// The two listeners as clients meet them. The node listener serves what the uWebSockets.js binding
// drops without an answer — HTTP/1.0, extension methods, many header lines — answers malformed heads
// (bare LF among them) with a prompt 4xx, serves pipelined requests in order, each decided, and
// bounds its heads; the uws listener's answer to pipelined requests and bare-LF heads, and the uWS
// binding's own behaviour for all of these on a bare uWS app, are pinned too (what
// docs/threat-model.md states). Both listen on every address, IPv6 and IPv4, and report an IPv4
// client as dotted IPv4.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCore, type Guardian, type HeaderLine } from '../../core/index.js';
import type { ProxyHandle } from '../../gate/proxy.js';
import { addressText } from '../../gate/uws.js';
import { random } from '../support/random.js';
import { blockingGuardianFrom } from '../support/guardian.js';
import { checkedProxy, checkGateInvariants } from './invariants.js';

checkGateInvariants();

interface Seen {
  method: string;
  url: string;
  httpVersion: string;
  headers: number;
  xff: string | undefined;
}

const core = loadCore();
const seen: Seen[] = [];
let backend: Server;
let backendPort: number;

beforeAll(async () => {
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, headers: req.rawHeaders.length / 2, xff: req.headers['x-forwarded-for'] as string | undefined });
      const body = `${req.method} ${req.url}`;
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-sha', createHash('sha256').update(body).digest('hex'));
      res.end(body);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  backendPort = (backend.address() as AddressInfo).port;
});

afterAll(async () => {
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

/** Raw bytes to host:port; everything that came back, once the peer closed or `ms` passed (and how long that took). */
function raw(port: number, text: string | Buffer, ms = 3_000, host = '127.0.0.1'): Promise<{ out: string; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = net.connect(port, host, () => c.write(text));
    let out = '';
    c.on('data', (d) => (out += d.toString('latin1')));
    c.on('error', () => {});
    const t = setTimeout(() => {
      c.destroy();
      resolve({ out, ms: performance.now() - t0, closed: false });
    }, ms);
    c.on('close', () => {
      clearTimeout(t);
      resolve({ out, ms: performance.now() - t0, closed: true });
    });
  });
}

const statusOf = (out: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0);
/** Every status line of what came back, in order. */
const statusesOf = (out: string): number[] => [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** A request head whose lines end in LF alone. */
const BARE_LF = 'GET /lf HTTP/1.1\nHost: shop\n\n';
/** Two requests in one write; the second asks to close, so that a listener serving both ends the connection. */
const pipelined = (first: string, second: string): string => `GET ${first} HTTP/1.1\r\nHost: shop\r\n\r\nGET ${second} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n`;
const ALLOWED = '/p';
const BLOCKED = '/p?evil=1';

/** A blocking Guardian that learned one request only. */
function learnedOnly(method: string, path: string, headers: HeaderLine[]): Guardian {
  const session = core.newSession();
  session.profileRequest({ method, path, query: '', headers, remote: '127.0.0.1' });
  const pile = core.newPile();
  pile.add(session);
  session.dispose();
  return blockingGuardianFrom(core, pile);
}

/** A proxy on `listener` under a blocking Guardian that learned GET /p only: a query is out of pattern. */
async function decidingGate(listener: 'uws' | 'node') {
  const guardian = learnedOnly('GET', '/p', [['host', 'shop']]);
  // Not quiet: each blocked request is logged at warn (asserted below).
  return checkedProxy({ port: 0, host: '127.0.0.1', listener, upstream: `http://127.0.0.1:${backendPort}`, core, getGuardian: () => guardian });
}

describe('the node listener', () => {
  let gate: ProxyHandle;
  beforeAll(async () => {
    gate = await checkedProxy({ port: 0, host: '::', listener: 'node', maxHeaderSize: 8 * 1024, upstream: `http://127.0.0.1:${backendPort}`, core, getGuardian: () => core.defaultGuardian() }, { quiet: true });
  });
  afterAll(() => gate.close(500));

  test('serves HTTP/1.0 requests (nginx proxy_pass, ab, health checkers), closing after each', async () => {
    const n = seen.length;
    const r = await raw(gate.port, 'GET /health?x=1 HTTP/1.0\r\nHost: shop\r\n\r\n');
    expect(statusOf(r.out)).toBe(200);
    expect(r.out.endsWith('GET /health?x=1')).toBe(true);
    expect(r.closed).toBe(true);
    expect(seen.length).toBe(n + 1);
  });

  test.each(['PROPFIND', 'MKCOL', 'MOVE', 'COPY', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'PURGE', 'MKCALENDAR'])('forwards the extension method %s', async (method) => {
    const r = await raw(gate.port, `${method} /dav/a HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n`);
    expect(statusOf(r.out)).toBe(200);
    expect(seen.at(-1)!.method).toBe(method);
  });

  test('serves a head of 80 header lines (a browser behind a mesh and an ingress)', async () => {
    const lines = Array.from({ length: 80 }, (_, i) => `X-Hop-${i}: value-${i}\r\n`).join('');
    const r = await raw(gate.port, `GET /many HTTP/1.1\r\nHost: shop\r\n${lines}Connection: close\r\n\r\n`);
    expect(statusOf(r.out)).toBe(200);
    expect(seen.at(-1)!.headers).toBeGreaterThanOrEqual(81);
  });

  test('answers a head over GUARD_MAX_HEADER_SIZE with 431 at once', async () => {
    const r = await raw(gate.port, `GET /big HTTP/1.1\r\nHost: shop\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
    expect(statusOf(r.out)).toBe(431);
    expect(r.closed).toBe(true);
  });

  test.each([
    ['absolute-form target', 'GET http://evil.example/a HTTP/1.1\r\nHost: shop\r\n\r\n'],
    ['no Host', 'GET /a HTTP/1.1\r\n\r\n'],
    ['two Host lines', 'GET /a HTTP/1.1\r\nHost: shop\r\nHost: evil\r\n\r\n'],
    ['a space before the colon', 'GET /a HTTP/1.1\r\nHost : shop\r\n\r\n'],
    ['NUL in a name', 'GET /a HTTP/1.1\r\nHost: shop\r\nX-\0A: b\r\n\r\n'],
    ['a control byte in a value', 'GET /a HTTP/1.1\r\nHost: shop\r\nX-A: b\x01c\r\n\r\n'],
    ['obs-fold', 'GET /a HTTP/1.1\r\nHost: shop\r\nX-A: b\r\n c\r\n\r\n'],
    ['Content-Length and Transfer-Encoding', 'POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bad chunk size', 'POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['an invalid method', 'G@T /a HTTP/1.1\r\nHost: shop\r\n\r\n'],
    ['bare LF line ends', BARE_LF],
  ])('answers a malformed head (%s) with a prompt 400, never forwarded', async (_what, text) => {
    const n = seen.length;
    const r = await raw(gate.port, text);
    expect(statusOf(r.out)).toBe(400);
    expect(r.ms).toBeLessThan(1_500);
    expect(seen.length).toBe(n);
  });

  test('serves pipelined requests in order', async () => {
    const r = await raw(gate.port, ['/p1', '/p2', '/p3'].map((p, i) => `GET ${p} HTTP/1.1\r\nHost: shop\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join(''));
    expect([...r.out.matchAll(/GET (\/p\d)/g)].map((m) => m[1]), r.out).toEqual(['/p1', '/p2', '/p3']);
    expect([...r.out.matchAll(/HTTP\/1\.1 200 OK\r\n/g)].length).toBe(3);
  });

  test('decides each of two pipelined requests on its own and answers them in order', async () => {
    const gate = await decidingGate('node');
    try {
      for (const [first, second, statuses] of [
        [BLOCKED, ALLOWED, [403, 200]],
        [ALLOWED, BLOCKED, [200, 403]],
      ] as const) {
        const n = seen.length;
        const r = await raw(gate.port, pipelined(first, second));
        expect(statusesOf(r.out), r.out).toEqual(statuses);
        expect(r.out.endsWith(statuses[1] === 200 ? `GET ${ALLOWED}` : ')\n'), r.out).toBe(true);
        expect(r.closed).toBe(true);
        // Only the allowed one reached the service.
        expect(seen.slice(n).map((s) => s.url)).toEqual([ALLOWED]);
      }
      expect(Object.fromEntries(gate.outcomes)).toEqual({ allow: 2, block: 2 });
      expect(gate.lines.map((l) => l.msg)).toEqual(['blocked', 'blocked']);
    } finally {
      await gate.close(500);
    }
  });

  test('listens on IPv6 and IPv4 alike, and reports an IPv4 client as dotted IPv4', async () => {
    const v4 = await raw(gate.port, 'GET /v4 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n');
    expect(statusOf(v4.out)).toBe(200);
    expect(seen.at(-1)!.xff).toBe('127.0.0.1');
    const v6 = await raw(gate.port, 'GET /v6 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n', 3_000, '::1');
    expect(statusOf(v6.out)).toBe(200);
    expect(seen.at(-1)!.xff).toBe('::1');
  });
});

describe('WebSockets on the node listener', () => {
  test('an upgrade is decided, relayed, and the connection joined byte for byte; a blocked one never reaches the service', async () => {
    const require = createRequire(import.meta.url);
    const uws = require('uWebSockets.js') as typeof import('uWebSockets.js');
    let upgrades = 0;
    const app = uws.App();
    app.ws('/*', {
      upgrade: (res, req, context) => {
        upgrades++;
        res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      message: (ws, data, isBinary) => void ws.send(data, isBinary),
    });
    const sock = await new Promise<unknown>((r) => app.listen('127.0.0.1', 0, r));
    const servicePort = uws.us_socket_local_port(sock as never);
    let block = false;
    const allow = core.defaultGuardian();
    // A Guardian that learned only a POST: a GET upgrade is out of pattern.
    const refuse = learnedOnly('POST', '/other', [['content-type', 'text/plain']]);
    const gate = await checkedProxy({ port: 0, host: '127.0.0.1', listener: 'node', upstream: `http://127.0.0.1:${servicePort}`, core, getGuardian: () => (block ? refuse : allow) });
    try {
      const { WebSocket } = await import('undici');
      const ws = new WebSocket(`ws://127.0.0.1:${gate.port}/chat?room=1`);
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.onopen = () => ws.send('hello through the gate');
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => reject(new Error('websocket failed'));
      });
      expect(echoed).toBe('hello through the gate');
      ws.close();
      expect(upgrades).toBe(1);
      block = true;
      const r = await raw(gate.port, 'GET /chat HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      expect(statusOf(r.out)).toBe(403);
      expect(upgrades).toBe(1);
    } finally {
      await gate.close(200);
      uws.us_listen_socket_close(sock as never);
    }
  });
});

describe('the uws listener', () => {
  let gate: ProxyHandle;
  beforeAll(async () => {
    gate = await checkedProxy({ port: 0, host: '::', upstream: `http://127.0.0.1:${backendPort}`, core, getGuardian: () => core.defaultGuardian() }, { quiet: true });
  });
  afterAll(() => gate.close(500));

  test('listens on IPv6 and IPv4 alike, and reports an IPv4 client as dotted IPv4', async () => {
    expect(statusOf((await raw(gate.port, 'GET /v4 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n')).out)).toBe(200);
    expect(seen.at(-1)!.xff).toBe('127.0.0.1');
    expect(statusOf((await raw(gate.port, 'GET /v6 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n', 3_000, '::1')).out)).toBe(200);
    expect(seen.at(-1)!.xff).toBe('::1');
  });

  test('says Connection: close on the answer to a request that asked to close, and Keep-Alive with its timeout otherwise', async () => {
    const headOf = (out: string): string[] => out.slice(0, out.indexOf('\r\n\r\n')).toLowerCase().split('\r\n').slice(1);
    for (const asked of ['close', 'Close']) {
      const closing = await raw(gate.port, `GET /close HTTP/1.1\r\nHost: shop\r\nConnection: ${asked}\r\n\r\n`);
      expect(statusOf(closing.out)).toBe(200);
      expect(closing.closed, `uWS closes after answering Connection: ${asked}`).toBe(true);
      expect(headOf(closing.out).filter((l) => l.startsWith('connection:') || l.startsWith('keep-alive:'))).toEqual(['connection: close']);
    }
    // kept alive: the idle timeout announced, no Connection header (the test's timer ends the wait)
    const kept = await raw(gate.port, 'GET /kept HTTP/1.1\r\nHost: shop\r\n\r\n', 500);
    expect(statusOf(kept.out)).toBe(200);
    expect(kept.closed).toBe(false);
    expect(headOf(kept.out).filter((l) => l.startsWith('connection:') || l.startsWith('keep-alive:'))).toEqual(['keep-alive: timeout=10']);
  });

  test('answers pipelined requests only while the gate answers each at once: a forwarded first one closes the connection unanswered', async () => {
    const gate = await decidingGate('uws');
    try {
      // The first blocked (answered by the gate inside uWS's handler): uWS reads the second, which is
      // decided and forwarded, and both are answered in order.
      let n = seen.length;
      const served = await raw(gate.port, pipelined(BLOCKED, ALLOWED));
      expect(statusesOf(served.out), served.out).toEqual([403, 200]);
      expect(served.out.endsWith(`GET ${ALLOWED}`)).toBe(true);
      expect(seen.slice(n).map((s) => s.url)).toEqual([ALLOWED]);
      expect(gate.received).toBe(2);

      // The first allowed (answered only once the service did): uWS closes the connection at once,
      // without a byte of answer. The first was received and decided; the second, which the gate
      // would allow too, was never read: neither decided nor forwarded.
      n = seen.length;
      const cut = await raw(gate.port, pipelined(ALLOWED, ALLOWED));
      expect(cut.out).toBe('');
      expect(cut.closed).toBe(true);
      expect(cut.ms).toBeLessThan(1_500);
      expect(gate.received).toBe(3);
      expect(seen.length - n).toBeLessThanOrEqual(1);
      expect(await gate.idle(3_000)).toBe(true);
      expect(Object.fromEntries(gate.outcomes)).toEqual({ allow: 2, block: 1 });
      expect(gate.lines.map((l) => l.msg)).toEqual(['blocked']);
    } finally {
      await gate.close(500);
    }
  });

  test('never answers a bare-LF head: the connection is held open, silent, and nothing is received', async () => {
    const n = seen.length;
    const received = gate.received;
    const r = await raw(gate.port, BARE_LF, 600);
    expect(r.out).toBe('');
    expect(r.closed).toBe(false);
    expect(gate.received).toBe(received);
    expect(seen.length).toBe(n);
  });

  test('peer addresses as uWS gives them (bytes), in the form other tools print', () => {
    const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
    expect(addressText(bytes(10, 1, 2, 3))).toBe('10.1.2.3');
    expect(addressText(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1))).toBe('127.0.0.1');
    expect(addressText(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(addressText(new Uint8Array(16))).toBe('::');
    expect(addressText(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42))).toBe('2001:db8::42');
    // Random addresses with zero runs, against the WHATWG URL serializer (RFC 5952's rules).
    const next = random(11);
    for (let n = 0; n < 2000; n++) {
      const b = new Uint8Array(16);
      for (let i = 0; i < 16; i += 2) if (next() < 0.5) [b[i], b[i + 1]] = [Math.floor(next() * 256), Math.floor(next() * 256)];
      const full = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
      const whatwg = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      // WHATWG writes an IPv4-mapped address in hex; the gate writes it dotted, as tested above.
      if (!whatwg.startsWith('::ffff:')) expect(addressText(b), full).toBe(whatwg);
    }
  });
});

/** A bare uWS app, its routes added by `route`, listening on a loopback port. */
async function bareUws(route: (app: import('uWebSockets.js').TemplatedApp) => void): Promise<{ port: number; close(): void }> {
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as typeof import('uWebSockets.js');
  const app = uws.App();
  route(app);
  const sock = await new Promise<unknown>((r) => app.listen('127.0.0.1', 0, r));
  return { port: uws.us_socket_local_port(sock as never), close: () => uws.us_listen_socket_close(sock as never) };
}

describe('the uWebSockets.js binding itself (why the node listener exists)', () => {
  test('a bare uWS app never answers HTTP/1.0, extension methods or many header lines, and holds a bare-LF head open', async () => {
    let handled = 0;
    const app = await bareUws((a) =>
      a.any('/*', (res) => {
        handled++;
        res.end('ok');
      }),
    );
    try {
      const lines = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join('');
      for (const text of ['GET /a HTTP/1.0\r\nHost: shop\r\n\r\n', 'PROPFIND /a HTTP/1.1\r\nHost: shop\r\n\r\n', `GET /a HTTP/1.1\r\nHost: shop\r\n${lines}\r\n`]) {
        const r = await raw(app.port, text, 600);
        expect(statusOf(r.out)).toBe(0);
      }
      const lf = await raw(app.port, BARE_LF, 600);
      expect(lf.out).toBe('');
      expect(lf.closed).toBe(false);
      expect(handled).toBe(0);
    } finally {
      app.close();
    }
  });

  test('a bare uWS app serves pipelined requests answered in their handler, and closes the connection when the first is answered later', async () => {
    const events: string[] = [];
    const app = await bareUws((a) => {
      a.get('/now/*', (res, req) => {
        events.push(req.getUrl());
        res.end(req.getUrl());
      });
      // As any proxy must: the answer comes after the handler returned (here, on the next turn).
      a.get('/later/*', (res, req) => {
        const url = req.getUrl();
        events.push(url);
        let gone = false;
        res.onAborted(() => {
          gone = true;
          events.push(`aborted ${url}`);
        });
        setImmediate(() => gone || res.cork(() => res.end(url)));
      });
    });
    try {
      const now = await raw(app.port, pipelined('/now/1', '/now/2'));
      expect(statusesOf(now.out)).toEqual([200, 200]);
      expect(now.out.endsWith('/now/2')).toBe(true);
      expect(events.splice(0)).toEqual(['/now/1', '/now/2']);

      const later = await raw(app.port, pipelined('/later/1', '/later/2'));
      expect(later.out).toBe('');
      expect(later.closed).toBe(true);
      expect(later.ms).toBeLessThan(1_500);
      expect(events.splice(0)).toEqual(['/later/1', 'aborted /later/1']);
    } finally {
      app.close();
    }
  });
});
