// WebSocket upgrades are request heads like any other: on both listeners (uws and node), a repeated
// single-valued field (two Host or Authorization lines) is refused with 400 before anything reaches
// the service, and the query reaches the service in the form the core decided — pieces it skips (a
// ';' or an invalid '%' escape) left out. A real uWS WebSocket service records every upgrade that
// reaches it, and a raw one every byte (uWS itself refuses two Host lines, as many services do not);
// the clients are undici's WebSocket and raw sockets (for heads no client library sends).
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'undici';
import { loadCore } from '../../core/index.js';
import type { ProxyHandle } from '../../gate/proxy.js';
import { listen, loadUws, type Listening } from '../../gate/uws.js';
import { checkedProxy, checkGateInvariants } from './invariants.js';

checkGateInvariants();

const core = loadCore();
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Upgrade requests that reached the uWS service: the target as it read it. */
const reached: Array<{ url: string }> = [];
let service: Listening;

beforeAll(async () => {
  const { uws } = loadUws();
  const app = uws.App();
  app.ws<object>('/*', {
    upgrade: (res, req, context) => {
      reached.push({ url: req.getUrl() + (req.getQuery() ? `?${req.getQuery()}` : '') });
      res.upgrade({}, req.getHeader('sec-websocket-key'), '', '', context);
    },
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
  });
  service = await listen(app, 0, '127.0.0.1');
});

/**
 * A service that reads nothing into a head: it records every byte any connection sent, and answers
 * each upgrade head with a 101 (the accept computed from its key), so a forwarded head shows up.
 */
const rawHeads: string[] = [];
/** Emits 'data' with everything a connection of the raw service received so far. */
const rawData = new EventEmitter();
let rawService: net.Server;
const rawSockets = new Set<net.Socket>();

beforeAll(async () => {
  rawService = net.createServer((socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
    socket.on('error', () => {});
    let got = '';
    let answered = false;
    const at = rawHeads.push('') - 1;
    socket.on('data', (d) => {
      got += d.toString('latin1');
      rawHeads[at] = got;
      rawData.emit('data', got);
      const key = /\r\nsec-websocket-key: *([^\r]*)/i.exec(got)?.[1];
      if (answered || !got.includes('\r\n\r\n') || key === undefined) return;
      answered = true;
      // Upgrades to /refuse are answered as a service without WebSockets does: 404, connection kept.
      if (got.startsWith('GET /refuse')) return void socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
  });
  await new Promise<void>((r) => rawService.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  service.close();
  for (const s of rawSockets) s.destroy();
  await new Promise((r) => rawService.close(r));
});

/**
 * A raw upgrade request with `lines` after the request line, and `then` in the same write; the
 * answer's status and text (0 when cut).
 */
function rawUpgrade(port: number, target: string, lines: string[], then = ''): Promise<{ status: number; text: string }> {
  const head =
    `GET ${target} HTTP/1.1\r\n${lines.map((l) => `${l}\r\n`).join('')}` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(head + then));
    let got = '';
    const settle = (): void => {
      c.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), text: got });
    };
    c.on('error', () => {});
    c.on('close', settle);
    c.on('data', (d) => {
      got += d.toString('latin1');
      // A 101 leaves the connection open (upgraded): its head is the whole answer.
      if (got.startsWith('HTTP/1.1 101') && got.includes('\r\n\r\n')) settle();
    });
  });
}

/** A real WebSocket through the gate: true once a message came back echoed. */
async function echoes(url: string): Promise<boolean> {
  const ws = new WebSocket(url);
  const ok = await new Promise<boolean>((resolve) => {
    ws.onopen = () => ws.send('ping through the gate');
    ws.onmessage = (e) => resolve(String(e.data) === 'ping through the gate');
    ws.onerror = () => resolve(false);
  });
  ws.close();
  return ok;
}

describe.each(['uws', 'node'] as const)('upgrade request heads on the %s listener', (listener) => {
  let gate: ProxyHandle;
  let rawGate: ProxyHandle;
  beforeAll(async () => {
    const common = { port: 0, host: '127.0.0.1', listener, core, getGuardian: () => core.defaultGuardian() };
    gate = await checkedProxy({ ...common, upstream: `http://127.0.0.1:${service.port}` }, { quiet: true });
    rawGate = await checkedProxy({ ...common, upstream: `http://127.0.0.1:${(rawService.address() as net.AddressInfo).port}` }, { quiet: true });
  });
  afterAll(async () => {
    await gate.close(500);
    await rawGate.close(500);
  });

  test('a repeated Host or Authorization line is refused with 400 and never reaches the service', async () => {
    // Single lines: the upgrade reaches the service, its head as the gate forwards it (the checks
    // below are not vacuous).
    expect(await echoes(`ws://127.0.0.1:${gate.port}/chat`)).toBe(true);
    const ok = await rawUpgrade(rawGate.port, '/chat', ['Host: shop.example', 'Authorization: Bearer one']);
    expect(ok.status).toBe(101);
    expect(rawHeads.at(-1)).toMatch(/^GET \/chat HTTP\/1\.1\r\n/);
    expect(rawHeads.at(-1)!.toLowerCase()).toContain('authorization: bearer one');
    const before = rawHeads.length;
    const refusals = rawGate.stats().repeatedFieldRefusals;

    const repeats: Array<[string, string[]]> = [
      ['authorization', ['Host: shop.example', 'Authorization: Bearer user', 'Authorization: Bearer admin']],
      ['host', ['Host: shop.example', 'Host: admin.internal']],
      ['host', ['Host: shop.example', 'host: shop.example']],
    ];
    for (const [field, lines] of repeats) {
      const r = await rawUpgrade(rawGate.port, '/chat', lines);
      expect(rawHeads.length, `${lines.join(' | ')} reached the service`).toBe(before);
      expect(r.status, lines.join(' | ')).toBe(400);
      expect(r.text).toContain(`repeated ${field} header`);
    }
    expect(rawGate.stats().repeatedFieldRefusals).toBe(refusals + repeats.length);
  });

  test('query pieces the core skips (a ; or an invalid % escape) never reach the service', async () => {
    const dropped = gate.stats().queryPiecesDropped;
    const r = await rawUpgrade(gate.port, '/chat?room=1&role=user;admin&next=%zz&x=%2&y=2', ['Host: shop.example']);
    expect(r.status).toBe(101);
    expect(reached.at(-1)!.url).toBe('/chat?room=1&y=2');
    // The same through a real client: what it sends with the URL is what the service would parse.
    expect(await echoes(`ws://127.0.0.1:${gate.port}/live?a=1;b=2&c=%G1&d=4`)).toBe(true);
    expect(reached.at(-1)!.url).toBe('/live?d=4');
    expect(gate.stats().queryPiecesDropped).toBe(dropped + 5);
  });
});

describe('bytes a client sends right after its upgrade request', () => {
  const gates = new Map<'uws' | 'node', ProxyHandle>();
  beforeAll(async () => {
    for (const listener of ['uws', 'node'] as const) {
      const upstream = `http://127.0.0.1:${(rawService.address() as net.AddressInfo).port}`;
      gates.set(listener, await checkedProxy({ port: 0, host: '127.0.0.1', listener, core, getGuardian: () => core.defaultGuardian(), upstream }, { quiet: true }));
    }
  });
  afterAll(async () => {
    for (const g of gates.values()) await g.close(500);
  });

  const smuggled = 'DELETE /admin/users HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0\r\n\r\n';

  test('never reach a service that refused the upgrade on the node listener (a pipelined request the gate did not decide)', async () => {
    const r = await rawUpgrade(gates.get('node')!.port, '/refuse', ['Host: shop.example'], smuggled);
    expect(r.status).toBe(404);
    expect(rawHeads.at(-1)).toMatch(/^GET \/refuse HTTP\/1\.1\r\n/);
    expect(rawHeads.at(-1)).not.toContain('DELETE');
  });

  test('close the connection on the uws listener (uWS itself): nothing of them reaches the service', async () => {
    const before = rawHeads.length;
    const r = await rawUpgrade(gates.get('uws')!.port, '/refuse', ['Host: shop.example'], smuggled);
    expect(r.status).toBe(0);
    await gates.get('uws')!.idle(2_000);
    for (const got of rawHeads.slice(before)) expect(got).not.toContain('DELETE');
  });

  test('reach the service once it accepted the upgrade on the node listener, after its head', async () => {
    const early = new Promise<string>((resolve) => {
      const onData = (got: string): void => {
        if (!got.includes('early bytes')) return;
        rawData.off('data', onData);
        resolve(got);
      };
      rawData.on('data', onData);
    });
    const r = await rawUpgrade(gates.get('node')!.port, '/chat', ['Host: shop.example'], 'early bytes');
    expect(r.status).toBe(101);
    expect(await early).toMatch(/\r\n\r\nearly bytes$/);
  });
});
