// WebSocket pass-through end to end: a real uWS WebSocket service, the real gate
// (startProxy / startGate) and real clients (undici's WebSocket, and raw sockets to read the
// handshake answers), all on port 0.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { request, WebSocket } from 'undici';
import { pino } from 'pino';
import { loadCore, type Core, type Guardian, type Pile } from '../../core/index.js';
import { gateConfig } from '../../gate/config.js';
import type { ProxyHandle, ProxyOptions, Verdict } from '../../gate/proxy.js';
import { openServiceSocket, ServiceSocket } from '../../gate/websocket.js';
import { guardPlugin, PluginRegistry, TestGate } from '../../gate/plugins.js';
import { listen, loadUws, type HttpRequest, type HttpResponse, type Listening } from '../../gate/uws.js';
import { checkedProxy, checkedGate, checkGateInvariants } from './invariants.js';

checkGateInvariants();

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Service {
  port: number;
  /** Upgrade requests that reached the service, with their headers. */
  upgrades: Array<{ url: string; headers: Record<string, string> }>;
  /** Binary messages received (sha256) and close codes seen, in order. */
  binary: string[];
  closes: Array<{ code: number; reason: string }>;
  /** Bytes the service could not send yet on its latest connection. */
  buffered(): number;
  /** Upgrades to /hold are never answered; how many the service holds, and how many were aborted. */
  held: number;
  aborted: number;
  pongs: string[];
  listening: Listening;
}

/**
 * The protected service: echoes messages (text as text, binary as binary); `close:<code>:<reason>`
 * makes it close; `drop` drops the connection; `big:<n>` sends n bytes; `flood:<n>:<size>` sends n
 * messages of size bytes (the i-th filled with i); `frag` sends "one two three" in three fragments;
 * `ping` pings; `badtext` sends invalid UTF-8 as text; /refuse answers 403; /hold never answers;
 * it speaks `chat.v2` only.
 */
async function startService(): Promise<Service> {
  const { uws } = loadUws();
  const svc = { upgrades: [], binary: [], closes: [], held: 0, aborted: 0, pongs: [] } as unknown as Service;
  let latest: { getBufferedAmount(): number } | null = null;
  svc.buffered = () => latest?.getBufferedAmount() ?? 0;
  const app = uws.App();
  app.any('/*', (res) => void res.end('plain http'));
  app.ws<object>('/*', {
    maxPayloadLength: 16 * MiB,
    maxBackpressure: 64 * MiB,
    upgrade: (res: HttpResponse, req: HttpRequest, context) => {
      const headers: Record<string, string> = {};
      req.forEach((k, v) => (headers[k] = v));
      const url = req.getUrl() + (req.getQuery() ? `?${req.getQuery()}` : '');
      svc.upgrades.push({ url, headers });
      if (url.startsWith('/refuse')) return void res.writeStatus('403 Forbidden').end('no');
      if (url.startsWith('/hold')) {
        svc.held++;
        return void res.onAborted(() => svc.aborted++);
      }
      const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      res.writeStatus('101 Switching Protocols').writeHeader('set-cookie', 'sid=7; HttpOnly');
      res.upgrade({}, headers['sec-websocket-key']!, offered.includes('chat.v2') ? 'chat.v2' : '', '', context);
    },
    open: (ws) => void (latest = ws),
    message: (ws, data, isBinary) => {
      if (isBinary) svc.binary.push(sha(new Uint8Array(data)));
      const text = isBinary ? '' : Buffer.from(data).toString();
      const close = /^close:(\d+):(.*)$/.exec(text);
      const big = /^big:(\d+)$/.exec(text);
      const flood = /^flood:(\d+):(\d+)$/.exec(text);
      if (close) ws.end(Number(close[1]), close[2]);
      else if (text === 'drop') ws.close();
      else if (text === 'ping') ws.ping('are you there');
      else if (text === 'badtext') ws.send(Buffer.from([0x61, 0xff, 0x62]), false);
      else if (text === 'frag') {
        ws.sendFirstFragment('one ', false);
        ws.sendFragment('two ');
        ws.sendLastFragment('three');
      }
      else if (flood) for (let i = 0; i < Number(flood[1]); i++) ws.send(Buffer.alloc(Number(flood[2]), i), true);
      else if (big) ws.send(Buffer.alloc(Number(big[1]), 7), true);
      else ws.send(data, isBinary);
    },
    pong: (_ws, data) => void svc.pongs.push(Buffer.from(data).toString()),
    close: (_ws, code, reason) => void svc.closes.push({ code, reason: Buffer.from(reason).toString() }),
  });
  svc.listening = await listen(app, 0, '127.0.0.1');
  svc.port = svc.listening.port;
  return svc;
}

/** An undici WebSocket with awaitable messages and close. */
class Client {
  readonly ws: WebSocket;
  private queue: Array<string | Buffer> = [];
  private waiting: ((m: string | Buffer) => void) | null = null;
  readonly opened: Promise<boolean>;
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(url: string, protocols?: string[], headers?: Record<string, string>) {
    this.ws = new WebSocket(url, { protocols, headers });
    this.ws.binaryType = 'arraybuffer';
    this.opened = new Promise((resolve) => {
      this.ws.onopen = () => resolve(true);
      this.ws.onerror = () => resolve(false);
    });
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
    this.ws.onmessage = (e) => {
      const m = typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.queue.push(m);
    };
  }
  next(): Promise<string | Buffer> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

function upgradeRequest(path: string, key = randomBytes(16).toString('base64')): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: shop.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A raw upgrade request; resolves with the answer's status and headers (or 0 when the socket closed). */
function rawUpgrade(port: number, path: string, key?: string): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(upgradeRequest(path, key)));
    let got = '';
    c.on('error', () => {});
    c.on('close', () => resolve({ status: 0, headers: {} }));
    c.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [line, ...rest] = got.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of rest) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      c.destroy();
      resolve({ status: Number(line!.split(' ')[1]), headers });
    });
  });
}

let core: Core;
let service: Service;
const proxies: ProxyHandle[] = [];

async function gateTo(port: number, extra: Partial<ProxyOptions> & { getGuardian: () => Guardian }): Promise<ProxyHandle> {
  const p = await checkedProxy({ port: 0, host: '127.0.0.1', upstream: `http://127.0.0.1:${port}`, core, ...extra });
  proxies.push(p);
  return p;
}

beforeAll(async () => {
  core = loadCore();
  service = await startService();
});

afterAll(async () => {
  for (const p of proxies) await p.close(500);
  service.listening.close();
});

describe('WebSocket pass-through', () => {
  let gate: ProxyHandle;
  let guardian: Guardian;
  const verdicts: Verdict[] = [];
  const url = (path: string) => `ws://127.0.0.1:${gate.port}${path}`;

  afterEach(() => {
    guardian = core.defaultGuardian();
  });

  beforeAll(async () => {
    guardian = core.defaultGuardian();
    gate = await gateTo(service.port, { getGuardian: () => guardian, maxBody: 1.5 * MiB, onSession: (_s, v) => void verdicts.push(v) });
  });

  test('text and binary messages are echoed byte for byte, and the upgrade request is reported like any request', async () => {
    const c = new Client(url('/chat?room=1'), undefined, { 'x-trace': 'abc' });
    expect(await c.opened).toBe(true);
    c.ws.send('héllo ☃');
    expect(await c.next()).toBe('héllo ☃');
    const bin = randomBytes(MiB);
    c.ws.send(bin);
    const back = await c.next();
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(sha(back as Buffer)).toBe(sha(bin));
    expect(service.binary.at(-1)).toBe(sha(bin));
    c.ws.send(new Uint8Array(0));
    expect(((await c.next()) as Buffer).length).toBe(0);

    const seen = service.upgrades.at(-1)!;
    expect(seen.url).toBe('/chat?room=1');
    expect(seen.headers['x-trace']).toBe('abc');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['host']).toBe(`127.0.0.1:${gate.port}`);
    const v = verdicts.at(-1)!;
    expect(v).toMatchObject({ method: 'GET', path: '/chat', status: 101, complete: true, blocked: 'none', result: 0 });
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
  });

  test('fragmented messages are reassembled, pings of the service answered, invalid UTF-8 refused with 1007', async () => {
    const c = new Client(url('/chat'));
    expect(await c.opened).toBe(true);
    c.ws.send('frag');
    expect(await c.next()).toBe('one two three');
    c.ws.send('ping');
    await expect.poll(() => service.pongs.at(-1)).toBe('are you there');
    c.ws.send('after');
    expect(await c.next()).toBe('after');
    c.ws.send('badtext');
    expect((await c.closed).code).toBe(1007);
    await expect.poll(() => service.closes.at(-1)?.code).toBe(1007);
  });

  test('a client gone while the service has not answered the upgrade cancels the service side', async () => {
    const held = service.held;
    const aborted = service.aborted;
    const sock = net.connect(gate.port, '127.0.0.1', () => sock.write(upgradeRequest('/hold')));
    await expect.poll(() => service.held).toBe(held + 1);
    sock.destroy();
    await expect.poll(() => service.aborted).toBe(aborted + 1);
    expect(gate.inFlight).toBe(0);
  });

  test("the service's own 101 headers reach the client, the handshake's are the gate's", async () => {
    const r = await rawUpgrade(gate.port, '/chat');
    expect(r.status).toBe(101);
    expect(r.headers['set-cookie']).toBe('sid=7; HttpOnly');
    expect(r.headers['upgrade']).toBe('websocket');
    expect(r.headers['sec-websocket-accept']).toBeTruthy();
  });

  test('plugins decide the upgrade like any request: a block keeps it from the service, tags and headers apply', async () => {
    const quiet = pino({ level: 'silent' });
    const reg = new PluginRegistry({ logger: quiet });
    reg.register(guardPlugin, { first: true });
    reg.register(new TestGate());
    await reg.init({ testgate: { action: 'block', path: '/admin' } }, { serviceName: 's', namespace: 'n', logger: quiet });
    const seen: Verdict[] = [];
    const p = await gateTo(service.port, { getGuardian: () => core.defaultGuardian(), plugins: reg, onSession: (_s, v) => void seen.push(v) });
    const before = service.upgrades.length;
    const b = await rawUpgrade(p.port, '/admin/ws');
    expect(b.status).toBe(403);
    expect(service.upgrades.length).toBe(before);
    expect(seen.at(-1)).toMatchObject({ blocked: 'request', blockedBy: 'testgate' });

    const tagging = new PluginRegistry({ logger: quiet });
    tagging.register(new TestGate());
    await tagging.init({ testgate: { path: '/chat' } }, { serviceName: 's', namespace: 'n', logger: quiet });
    const t = await gateTo(service.port, { getGuardian: () => core.defaultGuardian(), plugins: tagging, onSession: (_s, v) => void seen.push(v) });
    const r = await rawUpgrade(t.port, '/chat');
    expect(r.status).toBe(101);
    expect(r.headers['x-testgate-bye']).toBe('CU');
    expect(seen.at(-1)).toMatchObject({ status: 101, tags: ['testgate'] });
  });

  test('the subprotocol the service chose is the one the client gets', async () => {
    const c = new Client(url('/chat'), ['chat.v1', 'chat.v2']);
    expect(await c.opened).toBe(true);
    expect(c.ws.protocol).toBe('chat.v2');
    expect(service.upgrades.at(-1)!.headers['sec-websocket-protocol']).toBe('chat.v1, chat.v2');
    c.ws.close();
    await c.closed;
  });

  test('close codes and reasons are relayed both ways', async () => {
    const a = new Client(url('/chat'));
    expect(await a.opened).toBe(true);
    const before = service.closes.length;
    a.ws.close(4000, 'client bye');
    await a.closed;
    await expect.poll(() => service.closes.length).toBe(before + 1);
    expect(service.closes.at(-1)).toEqual({ code: 4000, reason: 'client bye' });

    const b = new Client(url('/chat'));
    expect(await b.opened).toBe(true);
    b.ws.send('close:4001:service bye');
    expect(await b.closed).toEqual({ code: 4001, reason: 'service bye' });

    // A service that drops the connection without a close frame: 1014 (bad gateway) to the client.
    const c = new Client(url('/chat'));
    expect(await c.opened).toBe(true);
    c.ws.send('drop');
    expect((await c.closed).code).toBe(1014);
  });

  test('a message over the limit closes with 1009, from the client and from the service', async () => {
    const a = new Client(url('/chat'));
    expect(await a.opened).toBe(true);
    const before = service.closes.length;
    a.ws.send(Buffer.alloc(2 * MiB));
    expect((await a.closed).code).toBe(1009);
    await expect.poll(() => service.closes.length).toBe(before + 1);
    expect(service.closes.at(-1)!.code).toBe(1009);

    const b = new Client(url('/chat'));
    expect(await b.opened).toBe(true);
    b.ws.send(`big:${2 * MiB}`);
    expect((await b.closed).code).toBe(1009);
    await expect.poll(() => service.closes.at(-1)!.code).toBe(1009);
  });

  test('a refusal of the service is relayed and nothing is upgraded; plain HTTP keeps working', async () => {
    const r = await rawUpgrade(gate.port, '/refuse');
    expect(r.status).toBe(403);
    expect(r.headers['x-guard-request-id']).toBeTruthy();
    expect(r.headers['upgrade']).toBeUndefined();
    const h = await request(`http://127.0.0.1:${gate.port}/plain`);
    expect(h.statusCode).toBe(200);
    expect(await h.body.text()).toBe('plain http');
  });

  test('a learned Guardian blocks an out-of-pattern upgrade before the service, and alerts on it in alert mode', async () => {
    // Learn from normal upgrades. One Sec-WebSocket-Key throughout: a real client's random key is
    // profiled like any header, and six samples are too few to learn the shape of random values.
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    let pile: Pile | null = core.newPile();
    const learning = await gateTo(service.port, { getGuardian: () => core.defaultGuardian(), onSession: (s) => pile?.add(s) });
    for (let i = 0; i < 6; i++) expect((await rawUpgrade(learning.port, `/chat?room=${i}`, key)).status).toBe(101);
    const learned = core.defaultGuardian();
    const loaded = core.parsePile(pile!.toWire());
    pile!.dispose();
    pile = null;
    learned.learn(loaded);
    loaded.dispose();
    learned.control = { alert: true, block: true, learn: false, force: false, auto: true };
    guardian = learned;

    expect((await rawUpgrade(gate.port, '/chat?room=3', key)).status).toBe(101);

    const before = service.upgrades.length;
    const r = await rawUpgrade(gate.port, '/chat?room=1%27%20OR%201=1--', key);
    expect(r.status).toBe(403);
    const id = r.headers['x-guard-request-id'];
    expect(id).toBeTruthy();
    expect(service.upgrades.length).toBe(before);
    const v = verdicts.find((x) => x.requestId === id)!;
    expect(v).toMatchObject({ blocked: 'request', status: 403 });
    expect(v.result).not.toBe(0);

    // Alert only: the upgrade passes, and its verdict carries the alert.
    learned.control = { ...learned.control, block: false };
    expect((await rawUpgrade(gate.port, '/chat?room=1%27%20OR%201=1--', key)).status).toBe(101);
    expect(service.upgrades.length).toBe(before + 1);
    expect(verdicts.at(-1)).toMatchObject({ status: 101, blocked: 'none' });
    expect(verdicts.at(-1)!.result).not.toBe(0);
  });

  test('a service that is down answers 502, and the gate keeps serving', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const down = await gateTo(port, { getGuardian: () => core.defaultGuardian() });
    const r = await rawUpgrade(down.port, '/chat');
    expect(r.status).toBe(502);
    const c = new Client(`ws://127.0.0.1:${down.port}/chat`);
    expect(await c.opened).toBe(false);
    const h = await request(`http://127.0.0.1:${down.port}/plain`);
    expect(h.statusCode).toBe(502);
    await h.body.text();
    // and a gate to a live service still upgrades
    const ok = new Client(url('/chat'));
    expect(await ok.opened).toBe(true);
    ok.ws.close();
    await ok.closed;
  });

  test('the gate stops reading the service while the client does not read, and loses nothing when it does', async () => {
    // The client is the gate's own client side (ServiceSocket), which does not read until attached.
    const h = await openServiceSocket({
      upstream: new URL(`http://127.0.0.1:${gate.port}`),
      target: '/chat',
      headers: [],
      protocols: '',
      maxMessage: 2 * MiB,
      connectTimeoutMs: 5000,
      handshakeTimeoutMs: 5000,
      signal: new AbortController().signal,
    });
    if (!h.ok) throw new Error(h.reason);
    const n = 48;
    h.socket.send(Buffer.from(`flood:${n}:${MiB}`), false);
    // Without backpressure the gate would read all of it and buffer towards the client until uWS
    // dropped a message (the relay then closes with 1013); with it, most waits at the service,
    // whose unsent amount comes to rest (no event tells "stopped reading": two equal samples).
    const before = service.closes.length;
    let last = -1;
    await expect
      .poll(
        () => {
          const b = service.buffered();
          const resting = b === last;
          last = b;
          return resting ? b : 0;
        },
        { interval: 200, timeout: 10_000 },
      )
      .toBeGreaterThan(16 * MiB);
    expect(service.closes.length).toBe(before);
    const got: number[] = [];
    let closedWith = 0;
    h.socket.attach({
      message: (data) => void got.push(data.equals(Buffer.alloc(MiB, data[0])) ? data[0]! : -1),
      close: (code) => void (closedWith = code),
    });
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(n);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i & 0xff));
    expect(closedWith).toBe(0);
    h.socket.close(1000);
    await expect.poll(() => service.closes.length).toBe(before + 1);
    expect(service.closes.at(-1)!.code).toBe(1000);
  });

  test('shutting the gate down closes relayed WebSockets with 1001', async () => {
    const g = await checkedProxy({ port: 0, host: '127.0.0.1', upstream: `http://127.0.0.1:${service.port}`, core, getGuardian: () => core.defaultGuardian() });
    const c = new Client(`ws://127.0.0.1:${g.port}/chat`);
    expect(await c.opened).toBe(true);
    const before = service.closes.length;
    await g.close(500);
    expect((await c.closed).code).toBe(1001);
    await expect.poll(() => service.closes.length).toBe(before + 1);
    expect(service.closes.at(-1)!.code).toBe(1001);
  });
});

describe('WebSocket pass-through in guard-gate', () => {
  test('upgrades and messages are counted, and the upgrade request is piled', async () => {
    const g = await checkedGate(gateConfig({ serviceName: 'chat', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, protectedService: `http://127.0.0.1:${service.port}` }), {
      core,
      log: pino({ level: 'silent' }),
      podName: 'chat-1',
      drainMs: 1000,
    });
    try {
      const c = new Client(`ws://127.0.0.1:${g.port}/chat?room=1`);
      expect(await c.opened).toBe(true);
      c.ws.send('hi');
      expect(await c.next()).toBe('hi');
      c.ws.close();
      await c.closed;
      const m = await request(`http://127.0.0.1:${g.adminPort}/metrics`);
      const text = await m.body.text();
      expect(text).toMatch(/guard_gate_websocket_upgrades_total 1/);
      expect(text).toMatch(/guard_gate_websocket_messages_total\{direction="to_service"\} 1/);
      expect(text).toMatch(/guard_gate_websocket_messages_total\{direction="to_client"\} 1/);
      expect(text).toMatch(/guard_gate_requests_total 1/);
      expect(text).toMatch(/guard_gate_pile_samples 1/);
    } finally {
      await g.close();
    }
  });
});

describe('ServiceSocket framing', () => {
  function serverFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
    const p = Buffer.from(payload);
    const head = p.length < 126 ? Buffer.from([0, p.length]) : p.length < 65536 ? Buffer.from([0, 126, p.length >> 8, p.length & 0xff]) : Buffer.alloc(10);
    if (p.length >= 65536) {
      head[1] = 127;
      head.writeUInt32BE(p.length, 6);
    }
    head[0] = (fin ? 0x80 : 0) | opcode;
    return Buffer.concat([head, p]);
  }
  /** The frames the gate wrote (masked, as a client's must be), unmasked. */
  function clientFrames(written: Buffer[]): Array<{ opcode: number; payload: Buffer }> {
    const all = Buffer.concat(written);
    const out: Array<{ opcode: number; payload: Buffer }> = [];
    for (let i = 0; i < all.length; ) {
      expect(all[i + 1]! & 0x80).toBe(0x80);
      let len = all[i + 1]! & 0x7f;
      let hl = 2;
      if (len === 126) [len, hl] = [all.readUInt16BE(i + 2), 4];
      else if (len === 127) [len, hl] = [all.readUInt32BE(i + 6), 10];
      const mask = all.subarray(i + hl, i + hl + 4);
      const payload = Buffer.from(all.subarray(i + hl + 4, i + hl + 4 + len).map((b, j) => b ^ mask[j & 3]!));
      out.push({ opcode: all[i]! & 0x0f, payload });
      i += hl + 4 + len;
    }
    return out;
  }
  function standIn(): { duplex: Duplex; written: Buffer[] } {
    const written: Buffer[] = [];
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk);
        cb();
      },
    });
    return { duplex, written };
  }

  test('frames cut at arbitrary points are read as the service sent them; pings answered, close echoed', async () => {
    const { duplex, written } = standIn();
    const s = new ServiceSocket(duplex, Buffer.alloc(0), MiB);
    const got: Array<[boolean, string]> = [];
    let closed: { code: number; reason: string; byGate: boolean } | null = null;
    s.attach({
      message: (data, isBinary) => void got.push([isBinary, isBinary ? sha(data) : data.toString()]),
      close: (code, reason, byGate) => void (closed = { code, reason: reason.toString(), byGate }),
    });
    const b300 = randomBytes(300);
    const b70k = randomBytes(70_000);
    const close = Buffer.concat([Buffer.from([0x0f, 0xa2]), Buffer.from('bye')]);
    const stream = Buffer.concat([
      serverFrame(1, 'hello'),
      serverFrame(2, b300),
      serverFrame(2, b70k),
      serverFrame(1, 'frag-', false),
      serverFrame(9, 'ping!'),
      serverFrame(0, 'ment'),
      serverFrame(8, close),
    ]);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < stream.length; ) {
      const n = 1 + Math.floor(rnd() * 7);
      duplex.push(stream.subarray(i, i + n));
      i += n;
    }
    await expect.poll(() => closed).toEqual({ code: 4002, reason: 'bye', byGate: false });
    expect(got).toEqual([
      [false, 'hello'],
      [true, sha(b300)],
      [true, sha(b70k)],
      [false, 'frag-ment'],
    ]);
    const frames = clientFrames(written);
    expect(frames.map((f) => f.opcode)).toEqual([0xa, 0x8]);
    expect(frames[0]!.payload.toString()).toBe('ping!');
    expect(frames[1]!.payload.readUInt16BE(0)).toBe(4002);
  });

  test('a message over the limit, a masked frame or a bad close code fail the connection with a close frame', async () => {
    for (const [frame, code] of [
      [serverFrame(2, Buffer.alloc(2000)), 1009],
      [Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61]), 1002],
      [serverFrame(8, Buffer.from([0x03, 0xee])), 1002],
      [Buffer.concat([serverFrame(1, 'a', false), serverFrame(2, 'b')]), 1002],
    ] as const) {
      const { duplex, written } = standIn();
      const s = new ServiceSocket(duplex, Buffer.alloc(0), 1000);
      let closed = 0;
      s.attach({ message: () => {}, close: (c) => void (closed = c) });
      duplex.push(frame);
      await expect.poll(() => closed).toBe(code);
      const last = clientFrames(written).at(-1)!;
      expect(last.opcode).toBe(0x8);
      expect(last.payload.readUInt16BE(0)).toBe(code);
    }
  });
});
