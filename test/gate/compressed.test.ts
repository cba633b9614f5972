// Compressed request bodies end to end: a real node:http backend that counts and hashes
// what it receives, the real proxy (uWS) and a real undici client, all on port 0. The gate decides
// the decoded body and forwards the bytes the client sent, Content-Encoding and all.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { brotliCompressSync, createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore, type Core, type Guardian, type Pile } from '../../core/index.js';
import { type ProxyHandle, type ProxyOptions, type Verdict } from '../../gate/proxy.js';
import { blockingGuardianFrom } from '../support/guardian.js';
import { checkedProxy, checkGateInvariants, takeLines, type LoggedLine } from './invariants.js';

checkGateInvariants();

const MiB = 1024 * 1024;

interface Received {
  url: string;
  sha: string;
  len: number;
  headers: http.IncomingHttpHeaders;
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

let core: Core;
let server: http.Server;
let backendPort = 0;
const received: Received[] = [];
const proxies: ProxyHandle[] = [];
const client = new Agent({ keepAliveTimeout: 1000, connections: 4 });
/** What the gate decided, by request id: the verdict and the sorted decision string. */
const seen = new Map<string, { verdict: Verdict; decision: string }>();
let lastId = '';
let guardian: Guardian;
let pile: Pile | null = null;

async function proxy(extra: Partial<ProxyOptions> = {}): Promise<Gate> {
  const p = await checkedProxy({
    port: 0,
    host: '127.0.0.1',
    upstream: `http://127.0.0.1:${backendPort}`,
    core,
    getGuardian: () => guardian,
    onSession: (s, v) => {
      seen.set(v.requestId, { verdict: v, decision: s.decisionString() });
      lastId = v.requestId;
      pile?.add(s);
    },
    ...extra,
  }, { quiet: true });
  proxies.push(p);
  return p;
}

async function post(port: number, body: Buffer, encoding?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (encoding) headers['content-encoding'] = encoding;
  const r = await request(`http://127.0.0.1:${port}/api/orders`, { method: 'POST', body, headers, dispatcher: client });
  await r.body.arrayBuffer();
  const id = r.headers['x-guard-request-id'];
  return { status: r.statusCode, decided: seen.get(typeof id === 'string' ? id : lastId) };
}

/** `chunks` MiB of zeros, gzipped from a stream. */
async function gzipBomb(chunks: number): Promise<Buffer> {
  const z = createGzip();
  const parts: Buffer[] = [];
  z.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((resolve) => z.on('end', resolve));
  const mib = Buffer.alloc(MiB);
  for (let i = 0; i < chunks; i++) if (!z.write(mib)) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(parts);
}

const order = (i: number): Buffer => Buffer.from(JSON.stringify({ item: ['widget', 'gadget', 'sprocket'][i % 3], qty: 1 + (i % 4) }));

type Gate = ProxyHandle & { lines: LoggedLine[] };
let gate: Gate;
let streaming: Gate;

beforeAll(async () => {
  core = loadCore();
  server = http.createServer((req, res) => {
    const h = createHash('sha256');
    let len = 0;
    req.on('data', (c: Buffer) => {
      h.update(c);
      len += c.length;
    });
    req.on('end', () => {
      received.push({ url: req.url!, sha: h.digest('hex'), len, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  backendPort = (server.address() as net.AddressInfo).port;

  // Learn from plain, gzip and br orders sent through the gate (default Guardian: never blocks).
  guardian = core.defaultGuardian();
  pile = core.newPile();
  gate = await proxy({ oversize: 'refuse' });
  streaming = await proxy({ oversize: 'decide' });
  for (let i = 0; i < 12; i++) {
    expect((await post(gate.port, order(i))).status).toBe(200);
    expect((await post(gate.port, gzipSync(order(i)), 'gzip')).status).toBe(200);
    expect((await post(gate.port, brotliCompressSync(order(i)), 'br')).status).toBe(200);
  }
  guardian = blockingGuardianFrom(core, pile);
  pile = null;
});

afterAll(async () => {
  for (const p of proxies) await p.close(500);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await client.close();
});

describe('compressed request bodies', () => {
  test('a normal gzip or br body passes and arrives byte-identical, with its Content-Encoding', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(order(5))],
      ['br', brotliCompressSync(order(7))],
    ] as const) {
      const before = received.length;
      const r = await post(gate.port, body, encoding);
      expect(r.status, encoding).toBe(200);
      expect(r.decided!.verdict.result, encoding).toBe(0);
      expect(received.length).toBe(before + 1);
      const got = received.at(-1)!;
      expect(got.sha).toBe(sha(body));
      expect(got.len).toBe(body.length);
      expect(got.headers['content-encoding']).toBe(encoding);
      expect(got.headers['content-length']).toBe(String(body.length));
    }
  });

  test('an attack string inside a gzip JSON body is blocked and never reaches the backend', async () => {
    const before = received.length;
    const attack = Buffer.from(JSON.stringify({ item: '<script>alert(1)</script>', qty: 2 }));
    const r = await post(gate.port, gzipSync(attack), 'gzip');
    expect(r.status).toBe(403);
    expect(r.decided!.verdict.blocked).toBe('request');
    expect(r.decided!.decision).not.toContain('Faults'); // decided on the decoded JSON, not a fault
    const br = await post(gate.port, brotliCompressSync(gzipSync(attack)), 'gzip, br');
    expect(br.status).toBe(403);
    expect(received.length).toBe(before);
    expect(takeLines(gate)).toEqual(['warn blocked', 'warn blocked']);
  });

  test('corrupt data and unknown codings are faults a Guardian that never saw them alerts on', async () => {
    const before = received.length;
    const gz = gzipSync(order(1));
    const corrupt = Buffer.concat([gz.subarray(0, gz.length - 6), Buffer.from('garbage')]);
    const c = await post(gate.port, corrupt, 'gzip');
    expect(c.status).toBe(403);
    expect(c.decided!.decision).toContain('FailedDecompress');
    const u = await post(gate.port, gz, 'compress');
    expect(u.status).toBe(403);
    expect(u.decided!.decision).toContain('UnknownContentEncoding');
    expect(received.length).toBe(before);
    expect(takeLines(gate)).toEqual(['warn blocked', 'warn blocked']);
    // with blocking off, the corrupt body is forwarded exactly as it came (never "repaired")
    const saved = guardian.control;
    guardian.control = { ...saved, block: false };
    try {
      const passed = await post(gate.port, corrupt, 'gzip');
      expect(passed.status).toBe(200);
      expect(passed.decided!.verdict.result).not.toBe(0);
      expect(received.at(-1)!.sha).toBe(sha(corrupt));
    } finally {
      guardian.control = saved;
    }
  });

  test('a decompression bomb gets the over-limit treatment of a plain body', async () => {
    const bomb = await gzipBomb(100); // ~100 KiB on the wire, 100 MiB decoded
    expect(bomb.length).toBeLessThan(MiB);
    const before = received.length;
    // oversize=refuse: 413, as a plain body over the limit; the connection stays usable
    const refused = await post(gate.port, bomb, 'gzip');
    expect(refused.status).toBe(413);
    expect(received.length).toBe(before);
    expect((await post(gate.port, gzipSync(order(2)), 'gzip')).status).toBe(200);

    // oversize=stream: the fault TooLargeBody, decided like a plain body over the limit
    const plain = await post(streaming.port, Buffer.concat([order(3), Buffer.alloc(MiB, 0x20)]));
    const big = await post(streaming.port, bomb, 'gzip');
    expect(plain.decided!.decision).toContain('TooLargeBody');
    expect(big.decided!.decision).toContain('TooLargeBody');
    expect(big.status).toBe(plain.status);
    expect(takeLines(streaming)).toEqual(['warn blocked', 'warn blocked']);
    const saved = guardian.control;
    guardian.control = { ...saved, block: false };
    try {
      const n = received.length;
      const passed = await post(streaming.port, bomb, 'gzip');
      expect(passed.status).toBe(200);
      expect(received.length).toBe(n + 1);
      expect(received.at(-1)!.sha).toBe(sha(bomb)); // forwarded as it came, never decoded
      expect(received.at(-1)!.headers['content-encoding']).toBe('gzip');
    } finally {
      guardian.control = saved;
    }
  });
});

describe('compressed response bodies', () => {
  // Enable when forwardExchange decodes with gate/decode.ts (the response side is being rewritten;
  // verified against that wiring, it fails without it: the leak passes as an unanalysed body).
  test('a leak inside a gzip JSON response is withheld; a normal one arrives byte-identical', async () => {
    let leak = false;
    const sent: Buffer[] = [];
    const srv = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-encoding', 'gzip');
      const b = gzipSync(JSON.stringify(leak ? { id: 7, name: 'widget', password: 'hunter2' } : { id: 7, name: 'widget' }));
      sent.push(b);
      res.write(b); // chunked: no Content-Length that would give the leak away by itself
      res.end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const saved = guardian;
    guardian = core.defaultGuardian();
    pile = core.newPile();
    try {
      const p = await checkedProxy({
        port: 0,
        host: '127.0.0.1',
        upstream: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
        core,
        getGuardian: () => guardian,
        onSession: (s) => pile?.add(s),
      }, { quiet: true });
      proxies.push(p);
      const get = async () => {
        const r = await request(`http://127.0.0.1:${p.port}/api/items?id=7`, { dispatcher: client });
        return { status: r.statusCode, encoding: r.headers['content-encoding'], body: Buffer.from(await r.body.arrayBuffer()) };
      };
      for (let i = 0; i < 6; i++) expect((await get()).status).toBe(200);
      const learned = core.defaultGuardian();
      learned.learn(pile);
      learned.control = { alert: true, block: true, learn: true, force: false, auto: true };
      guardian = learned;
      const ok = await get();
      expect(ok.status).toBe(200);
      expect(ok.encoding).toBe('gzip');
      expect(sha(ok.body)).toBe(sha(sent.at(-1)!));
      leak = true;
      const blocked = await get();
      expect(blocked.status).toBe(403);
      expect(blocked.body.toString()).not.toContain('hunter2');
      expect(takeLines(p)).toEqual(['warn blocked']);
    } finally {
      pile?.dispose();
      pile = null;
      guardian = saved;
      srv.closeAllConnections();
      srv.close();
    }
  });
});
