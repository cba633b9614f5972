// A service that misbehaves at the byte level, behind a real gate (both listeners): a response head
// over GUARD_MAX_RESPONSE_HEAD_SIZE, bare-LF line ends, an unsolicited 100 Continue, a body that
// stops arriving. The service is a raw `net` server writing fixed bytes (no HTTP library of Node
// would send them); the client is undici. Each case asserts what the client gets, that the gate
// logged a reason an operator can act on and nothing else (the gates are quiet: every warn or error
// line is taken and asserted), and the gate-wide invariants (checkGateInvariants).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client, request } from 'undici';
import { loadCore, type Core, type Guardian } from '../../core/index.js';
import type { ProxyHandle } from '../../gate/proxy.js';
import { startRawService, type RawAnswer, type RawService } from './compat/raw-service.js';
import { checkedProxy, checkGateInvariants, type LoggedLine } from './invariants.js';

checkGateInvariants();

let core: Core;
let guardian: Guardian;
let service: RawService;

const BIG_HEAD = 8 * 1024;
const HEAD_LIMIT = 4 * 1024;
const BODY_TIMEOUT_MS = 300;

/** The bytes the service writes for the request line `path` (a function of the socket for the stalls). */
const answers: Record<string, RawAnswer> = {
  '/big-head': `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Policy: ${'p'.repeat(BIG_HEAD)}\r\nContent-Length: 5\r\n\r\nhello`,
  '/head-under-limit': `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Policy: ${'p'.repeat(HEAD_LIMIT / 2)}\r\nContent-Length: 5\r\n\r\nhello`,
  '/bare-lf': 'HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello',
  '/continue-first': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
  // The head and the first bytes of a declared body, then nothing (the connection stays open).
  '/stall-binary': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789'),
  // The same for a JSON body, which the gate holds for analysis: its head is not out yet.
  '/stall-json': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":7,  '),
  '/ok': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok',
};

beforeAll(async () => {
  core = loadCore();
  guardian = core.defaultGuardian(); // learn mode: alert on, block off
  service = await startRawService((path) => answers[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
});

afterAll(() => service.close());

/** What the client got: the status and body, or the error that cut the response (after its head). */
async function ask(port: number, path: string): Promise<{ status: number; body: string; cut: Error | null }> {
  // One connection per request: a cut connection must not be mistaken for the next request's.
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const r = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: client });
    try {
      return { status: r.statusCode, body: await r.body.text(), cut: null };
    } catch (err) {
      return { status: r.statusCode, body: '', cut: err as Error };
    }
  } finally {
    await client.destroy();
  }
}

/** Every warn and error line logged so far, taken off the record: `level msg` with the error code, if any. */
const taken = (proxy: { lines: LoggedLine[] }) => proxy.lines.splice(0).map((l) => ({ line: `${l.level} ${l.msg}`, code: l.fields.code, reason: l.fields.reason }));

for (const listener of ['uws', 'node'] as const) {
  describe(`a misbehaving service (${listener} listener)`, () => {
    let proxy: ProxyHandle & { lines: LoggedLine[] };

    beforeAll(async () => {
      proxy = await checkedProxy({
        port: 0,
        listener,
        upstream: service.origin,
        core,
        getGuardian: () => guardian,
        maxResponseHeadSize: HEAD_LIMIT,
        bodyTimeoutMs: BODY_TIMEOUT_MS,
        inFlightTickSeconds: 0,
      }, { quiet: true });
    });
    afterAll(() => proxy.close(0));

    test(`a response head over GUARD_MAX_RESPONSE_HEAD_SIZE (${BIG_HEAD} B over ${HEAD_LIMIT}): 502 naming the setting; one under it passes`, async () => {
      const r = await ask(proxy.port, '/big-head');
      expect(r.status).toBe(502);
      expect(r.body).toBe(`guard-gate: upstream unavailable (the service's response head is over ${HEAD_LIMIT} bytes (GUARD_MAX_RESPONSE_HEAD_SIZE))\n`);
      expect(taken(proxy).map((l) => [l.line, l.code])).toEqual([['warn upstream unavailable', 'UND_ERR_HEADERS_OVERFLOW']]);

      const ok = await ask(proxy.port, '/head-under-limit');
      expect(ok).toEqual({ status: 200, body: 'hello', cut: null });
    });

    test('bare-LF line ends: 502 saying the service sent malformed HTTP/1.1', async () => {
      const r = await ask(proxy.port, '/bare-lf');
      expect(r.status).toBe(502);
      expect(r.body).toMatch(/^guard-gate: upstream unavailable \(the service sent malformed HTTP\/1\.1 \(bare LF line ends, invalid framing\)\)\n$/);
      expect(taken(proxy).map((l) => l.line)).toEqual(['warn upstream unavailable']);
    });

    test('an unsolicited 100 Continue before the real response: 502 naming it', async () => {
      const r = await ask(proxy.port, '/continue-first');
      expect(r.status).toBe(502);
      expect(r.body).toBe('guard-gate: upstream unavailable (the service sent a response that is not HTTP/1.1 (an unsolicited 100 Continue?))\n');
      expect(taken(proxy).map((l) => [l.line, l.code])).toEqual([['warn upstream unavailable', 'UND_ERR_SOCKET']]);
    });

    test(`a body that stops after the head was sent: the client's connection is cut once GUARD_UPSTREAM_BODY_TIMEOUT passes, never a 502 after the head`, async () => {
      const r = await ask(proxy.port, '/stall-binary');
      expect(r.status).toBe(200);
      expect(r.cut).not.toBeNull();
      expect(r.body).toBe('');
      expect(taken(proxy).map((l) => [l.line, l.code, l.reason])).toEqual([
        ['warn upstream stream failed', 'UND_ERR_BODY_TIMEOUT', 'the service paused its body too long (GUARD_UPSTREAM_BODY_TIMEOUT)'],
      ]);
      // The gate still serves (the exchange ended once: checked by the invariants after the test).
      expect(await ask(proxy.port, '/ok')).toEqual({ status: 200, body: 'ok', cut: null });
    });

    test('a held (analysed) body that stops before the gate sent anything: 502 naming the body timeout', async () => {
      const r = await ask(proxy.port, '/stall-json');
      expect(r.status).toBe(502);
      expect(r.body).toBe('guard-gate: upstream response failed (the service paused its body too long (GUARD_UPSTREAM_BODY_TIMEOUT))\n');
      expect(taken(proxy).map((l) => [l.line, l.code])).toEqual([['warn upstream response failed', 'UND_ERR_BODY_TIMEOUT']]);
    });
  });
}
