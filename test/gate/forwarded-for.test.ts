// X-Forwarded-For behind an ingress, through a real gate (both listeners): learned from IPv4
// clients, the Guardian blocks; a browser on IPv6 or behind a proxy of its own is still served (the
// header is an address list, docs/tokens.md), what the service receives is the client's line with
// the gate's peer appended, and a payload in the header is refused before the service.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore, type Core, type Guardian, type Pile } from '../../core/index.js';
import type { ProxyHandle } from '../../gate/proxy.js';
import { blockingGuardianFrom } from '../support/guardian.js';
import { checkedProxy, checkGateInvariants, takeLines, type LoggedLine } from './invariants.js';

checkGateInvariants();

let core: Core;
let server: http.Server;
let origin = '';
/** The X-Forwarded-For line each request reached the service with. */
const received: string[] = [];
const client = new Agent({ connections: 2 });

const int = (n: number) => Math.floor(Math.random() * n);
const ipv4 = () => `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`;

beforeAll(async () => {
  core = loadCore();
  server = http.createServer((req, res) => {
    received.push(String(req.headers['x-forwarded-for']));
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await client.close();
});

for (const listener of ['uws', 'node'] as const) {
  describe(`X-Forwarded-For behind an ingress (${listener} listener)`, () => {
    let guardian: Guardian;
    let pile: Pile | null;
    let gate: ProxyHandle & { lines: LoggedLine[] };
    const get = async (forwardedFor: string) => {
      const r = await request(`http://127.0.0.1:${gate.port}/api/items?page=2`, { headers: { 'x-forwarded-for': forwardedFor, accept: 'application/json' }, dispatcher: client });
      await r.body.text();
      return r.statusCode;
    };

    beforeAll(async () => {
      guardian = core.defaultGuardian();
      pile = core.newPile();
      gate = await checkedProxy(
        { port: 0, host: '127.0.0.1', listener, upstream: origin, core, getGuardian: () => guardian, onSession: (s) => pile?.add(s) },
        { quiet: true },
      );
      // A quiet learning week: every browser on IPv4, each named by the ingress.
      for (let i = 0; i < 40; i++) expect(await get(ipv4())).toBe(200);
      guardian = blockingGuardianFrom(core, pile!);
      pile = null;
    });

    afterAll(async () => {
      await gate.close(500);
      guardian.dispose();
    });

    test('an IPv6 browser, one behind its own proxy and a chain of five hops are served, the peer appended', async () => {
      for (const forwardedFor of ['2001:db8:85a3::8a2e:370:7334', `${ipv4()}, ${ipv4()}`, '[2001:db8::17]:443', Array.from({ length: 5 }, ipv4).join(', ')]) {
        const before = received.length;
        expect(await get(forwardedFor), forwardedFor).toBe(200);
        expect(received.slice(before)).toEqual([`${forwardedFor}, 127.0.0.1`]);
      }
    });

    test('a payload in the header is refused before the service, an address list or not', async () => {
      const before = received.length;
      const payloads = [`${ipv4()}' OR '1'='1`, `${ipv4()}, <script>alert(1)</script>`, '1.2.3.4; DROP TABLE users', `${ipv4()}, ../../etc/passwd`];
      for (const forwardedFor of payloads) expect(await get(forwardedFor), forwardedFor).toBe(403);
      expect(received.length).toBe(before);
      expect(takeLines(gate)).toEqual(payloads.map(() => 'warn blocked'));
    });
  });
}
