// The compatibility suite (README.md, "Running guard-gate"): real services behind the gate — Node `http`, fastify, sirv
// and `python3 -m http.server` serving real files, Go net/http where a Go toolchain is on PATH — and
// real clients in front — undici, curl, Python's urllib, wget, headless Chromium where installed.
// Each exchange is made twice, through the gate and directly, and compared (compat/compare.ts:
// status, reason phrase, header lines but those a proxy may change, trailers, the body's sha256),
// on both listeners; the gate-wide invariants are checked after every scenario. Where the
// uWebSockets.js binding cannot do something (1xx answers, trailers, HTTP/1.0, extension methods,
// many header lines), the uws case asserts the documented behaviour instead and says so.
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { once } from 'node:events';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { chromium as playwright, type Browser } from 'playwright-core';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { loadCore } from '../../core/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js';
import { checkGateInvariants } from './invariants.js';
import { chromiumPair, clients, curl, python, undici, type Ask, type ClientName, type Seen } from './compat/clients.js';
import { eventSourceAcross, eventSourceFirst, fetchUntil, formUpload, webSocketEcho } from './compat/chromium-pages.js';
import { expectKeepAliveAnnounced, expectSameExchange, relaysInformational, relaysTrailers, type ListenerKind } from './compat/compare.js';
import { startFastifyService, type FastifyService } from './compat/fastify-service.js';
import { Gates } from './compat/gates.js';
import { goToolchain, startGoService, type GoService } from './compat/go-service.js';
import { REASONS, startNodeService, type NodeService } from './compat/node-service.js';
import { startRawService, type RawService } from './compat/raw-service.js';
import { makeSite, MiB, type Site } from './compat/site.js';
import { startPythonStatic, startSirv, type StaticService } from './compat/static-services.js';

const core = loadCore();
const LISTENERS: ListenerKind[] = ['uws', 'node'];
const HAS_CHROMIUM = existsSync(CHROMIUM);
const GO = goToolchain();
const HAS_IPV6 = Object.values(networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6' && a.address === '::1'));
const NO_CHROMIUM = HAS_CHROMIUM ? '' : ` (skipped: no ${CHROMIUM})`;
/** The gate's default hold of a response without a declared length (GUARD_RESPONSE_HOLD_MS). */
const HOLD_MS = 100;

let site: Site;
let shop: NodeService;
let shop6: NodeService | null = null;
let api: FastifyService;
let files: StaticService;
let pyFiles: StaticService;
let go: GoService | null = null;
let doubleLength: RawService;
let browser: Browser | null = null;

beforeAll(async () => {
  site = await makeSite();
  [shop, api, files, pyFiles, doubleLength] = await Promise.all([
    startNodeService(),
    startFastifyService(),
    startSirv(site.dir),
    startPythonStatic(site.dir),
    startRawService('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\nhello world\n'),
  ]);
  if (HAS_IPV6) shop6 = await startNodeService('::1');
  if (GO) go = await startGoService();
  if (HAS_CHROMIUM) browser = await playwright.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([shop?.close(), shop6?.close(), api?.close(), files?.close(), pyFiles?.close(), go?.close(), doubleLength?.close()]);
  await site?.remove();
});

const ALL: ClientName[] = ['undici', 'curl', 'python', 'wget', 'chromium'];
/** Clients that can send any request (method, headers, body); Chromium and wget only navigate/GET here. */
const SENDERS: ClientName[] = ['undici', 'curl', 'python'];

interface Pair {
  ask: Ask;
  direct: Seen;
  gated: Seen;
}

/** Which clients make which requests. */
type Plan = Array<[ClientName[], Ask[]]>;

/** Each request of the plan by its clients, through the gate and directly at once; a few pairs at a time. */
async function pairs(gateOrigin: string, directOrigin: string, plan: Plan): Promise<Pair[]> {
  const available = clients(browser);
  const jobs: Array<() => Promise<Pair>> = [];
  for (const [names, asks] of plan) {
    for (const ask of asks) {
      for (const name of names) {
        const client = available[name];
        if (!client) continue;
        jobs.push(async () => {
          const [direct, gated] = name === 'chromium' ? await chromiumPair(browser!, [directOrigin, gateOrigin], ask) : await Promise.all([client(directOrigin, ask), client(gateOrigin, ask)]);
          return { ask, direct, gated };
        });
      }
    }
  }
  const out: Pair[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) out.push(await jobs[next++]!());
    }),
  );
  return out;
}

async function expectSame(listener: ListenerKind, gateOrigin: string, directOrigin: string, plan: Plan): Promise<Pair[]> {
  const got = await pairs(gateOrigin, directOrigin, plan);
  expect(got.length).toBeGreaterThan(0);
  for (const p of got) expectSameExchange(p.direct, p.gated, listener, `${p.ask.method ?? 'GET'} ${p.ask.path}`);
  return got;
}

const get = (path: string, headers?: Ask['headers'], more: Partial<Ask> = {}): Ask => ({ path, headers, ...more });
const header = (s: Seen, name: string): string | undefined => s.headers.find(([k]) => k === name)?.[1];
/** The pair of `client` for the plain request of `path` (no header lines of the case's own). */
const seenBy = (got: Pair[], client: ClientName, path: string): Pair => got.find((p) => p.gated.client === client && p.ask.path === path && !p.ask.headers?.length)!;

/** What the gate added before `until` arrived (Infinity when it never did through the gate). */
const added = ([direct, gated]: [Seen, Seen]): number => (gated.untilMs === null ? Infinity : gated.untilMs - (direct.untilMs ?? 0));

/**
 * The first event (or line) of a streamed answer: when undici, curl and Python saw it directly and
 * through the gate, at once. A client whose gated exchange added `limitMs` or more tries again, up to
 * three times, and the best try counts: a machine busy with other tests can delay one start.
 */
async function firstBytes(gateOrigin: string, directOrigin: string, ask: Ask, limitMs: number): Promise<Array<[Seen, Seen]>> {
  return Promise.all([undici, curl, python].map((client) => bestOf(limitMs, () => Promise.all([client(directOrigin, ask), client(gateOrigin, ask)]))));
}

/** The try (direct, gated) in which the gate added least, of up to three while it added `limitMs` or more. */
async function bestOf(limitMs: number, attempt: () => Promise<[Seen, Seen]>): Promise<[Seen, Seen]> {
  let best = await attempt();
  for (let i = 1; i < 3 && added(best) >= limitMs && best[1].untilMs !== null; i++) {
    const pair = await attempt();
    if (added(pair) < added(best)) best = pair;
  }
  return best;
}

/** A time measured in Chromium as a Seen, for bestOf. */
const inChromium = (untilMs: number | null): Seen => ({ client: 'chromium', untilMs }) as Seen;

describe.each(LISTENERS)('through the gate on the %s listener, compared with the direct exchange', (listener) => {
  const gates = new Gates(listener, core);
  beforeEach(() => gates.closeAll());
  afterAll(async () => {
    await gates.closeAll();
    gates.expectAllClosed();
  });
  checkGateInvariants();
  const uws = listener === 'uws';

  test('Node http: pages, JSON, a 302 chain, a 301, a 404 and HEAD — undici, curl, Python, wget, Chromium', async () => {
    const gate = await gates.get('shop', shop.origin);
    await expectSame(listener, gate.origin, shop.origin, [
      [['undici', 'curl', 'python', 'wget'], [get('/page'), get('/json'), get('/redirect/3'), get('/moved'), get('/nowhere')]],
      [['chromium'], [get('/redirect/3')]],
      [['curl', 'undici'], [get('/redirect/3', [], { follow: true }), get('/page', [], { method: 'HEAD' })]],
    ]);
  });

  test('Node http: several Set-Cookie lines, kept apart and in order', async () => {
    const gate = await gates.get('shop', shop.origin);
    const got = await expectSame(listener, gate.origin, shop.origin, [[ALL, [get('/cookies')]]]);
    expect(seenBy(got, 'curl', '/cookies').gated.headers.filter(([k]) => k === 'set-cookie')).toHaveLength(3);
  });

  test('Node http: 304 to a matching If-None-Match (ETag), 200 to a stale one', async () => {
    const gate = await gates.get('shop', shop.origin);
    const etag = header(await curl(shop.origin, get('/page')), 'etag')!;
    // wget is left out: on a 304 without a length it waits for a body until its timeout.
    const got = await expectSame(listener, gate.origin, shop.origin, [[SENDERS, [get('/page', [['if-none-match', etag]]), get('/page', [['if-none-match', '"stale"']])]]]);
    expect(got.filter((p) => p.gated.status === 304)).toHaveLength(3);
  });

  test('Node http: gzip and br answers negotiated by Accept-Encoding, the compressed bytes unchanged', async () => {
    const gate = await gates.get('shop', shop.origin);
    await expectSame(listener, gate.origin, shop.origin, [
      [['undici', 'curl'], [get('/encoded', [['accept-encoding', 'gzip']]), get('/encoded', [['accept-encoding', 'br']]), get('/encoded', [['accept-encoding', 'gzip, deflate, br']])]],
      [['python', 'wget'], [get('/encoded', [['accept-encoding', 'gzip']])]],
      [['chromium'], [get('/encoded')]],
    ]);
  });

  test('Node http: reason phrases kept (200 Everything Fine, 404 No Such Shelf, 503 Back Soon…)', async () => {
    const gate = await gates.get('shop', shop.origin);
    const got = await expectSame(listener, gate.origin, shop.origin, [
      [['undici', 'curl'], Object.keys(REASONS).map((code) => get(`/reason/${code}`))],
      [['python', 'wget'], [get('/reason/404'), get('/reason/503')]],
    ]);
    expect(seenBy(got, 'curl', '/reason/404').direct.reason).toBe('No Such Shelf');
  });

  test(uws ? 'Node http: trailers dropped, the body intact (uws: the binding cannot write trailers)' : 'Node http: trailers relayed (curl and undici show them)', async () => {
    const gate = await gates.get('shop', shop.origin);
    const got = await expectSame(listener, gate.origin, shop.origin, [[['curl', 'undici'], [get('/trailers', [['te', 'trailers']])]]]);
    for (const p of got) {
      expect(p.direct.trailers, `${p.direct.client}: the service's trailers, direct`).toEqual([
        ['x-checksum', 'sha256=abc123'],
        ['server-timing', 'db;dur=53'],
      ]);
      expect(p.gated.trailers.length, `${p.gated.client}: trailers through the gate`).toBe(relaysTrailers(listener) ? 2 : 0);
    }
  });

  test('Node http: keep-alive answers announce the idle timeout (Keep-Alive: timeout=N)', async () => {
    const gate = await gates.get('shop', shop.origin);
    for (const p of await pairs(gate.origin, shop.origin, [[['curl', 'undici'], [get('/json'), get('/page')]]])) {
      expectKeepAliveAnnounced(p.direct);
      expectKeepAliveAnnounced(p.gated);
    }
  });

  test('fastify: a JSON API — 200, 201 with Location, 204, 400, 404, 301, 304, three cookies', async () => {
    const gate = await gates.get('api', api.origin);
    const json: Ask['headers'] = [['content-type', 'application/json']];
    const post = (path: string, body: string): Ask => ({ method: 'POST', path, headers: json, body: Buffer.from(body) });
    await expectSame(listener, gate.origin, api.origin, [
      [
        ['undici', 'curl'],
        [get('/api/items/3'), get('/api/items/3', [['if-none-match', '"item-3-v1"']]), get('/api/items/99'), post('/api/items', '{"nom":"tea"}'), { method: 'DELETE', path: '/api/items/3' }],
      ],
      [SENDERS, [get('/api/items'), post('/api/items', '{"name":"tea"}'), post('/login', '{"user":"ann"}')]],
      [['wget'], [get('/old-items')]],
    ]);
  });

  test('sirv: files of several sizes and types, a 20 MB download, ETag and 304, Range and 206, 416, precompressed br and gzip', async () => {
    const gate = await gates.get('files', files.origin);
    const etag = header(await curl(files.origin, get('/index.html')), 'etag');
    expect(etag, 'sirv sends an ETag').toBeTruthy();
    // Megabytes take longer than the clients' default 5 s on a loaded two-core machine, direct as
    // well as through the gate (a CI run under load cut the 20 MB download of both at 5 s).
    const big = { timeoutMs: 30_000 };
    const got = await expectSame(listener, gate.origin, files.origin, [
      [['undici', 'curl'], site.files.map((f) => get(f.path, undefined, f.bytes > MiB ? big : {}))],
      [['wget'], [get('/index.html'), get('/download/archive.bin', undefined, big)]],
      [['python'], [get('/img/logo.png'), get('/logs/today.txt')]],
      // A page load: Chromium fetches its stylesheet, script and image through the gate as well.
      [['chromium'], [get('/index.html')]],
      [
        ['undici', 'curl'],
        [
          get('/index.html', [['if-none-match', etag!]]),
          get('/download/archive.bin', [['range', 'bytes=0-99']]),
          get('/download/archive.bin', [['range', 'bytes=10485760-']], big),
          get('/logs/today.txt', [['range', 'bytes=-500']]),
          get('/logs/today.txt', [['range', 'bytes=999999999-']]),
          get('/logs/today.txt', [['accept-encoding', 'br']]),
          get('/api/catalog.json', [['accept-encoding', 'gzip']]),
        ],
      ],
    ]);
    expect(got.filter((p) => p.gated.status === 206)).toHaveLength(6);
    expect(got.filter((p) => p.gated.status === 416)).toHaveLength(2);
    expect(seenBy(got, 'curl', '/download/archive.bin').gated.bytes).toBe(20 * MiB);
  });

  test('python -m http.server: the same files as HTTP/1.0 answers, Last-Modified and 304, a directory listing, a 404', async () => {
    const gate = await gates.get('python', pyFiles.origin);
    const lastModified = header(await curl(pyFiles.origin, get('/index.html')), 'last-modified');
    expect(lastModified).toBeTruthy();
    await expectSame(listener, gate.origin, pyFiles.origin, [
      [['undici'], site.files.map((f) => get(f.path))],
      [['curl'], [get('/index.html'), get('/img/'), get('/nowhere.html'), get('/index.html', [['if-modified-since', lastModified!]])]],
      [['python', 'wget'], [get('/img/')]],
    ]);
  });

  test.skipIf(!GO)(`Go net/http: ServeContent with Range and 304, 103 Early Hints, a flushed chunked answer, trailers, cookies, a redirect${GO ? '' : ' (skipped: no go toolchain on PATH)'}`, async () => {
    const gate = await gates.get('go', go!.origin);
    await expectSame(listener, gate.origin, go!.origin, [
      [['undici', 'curl'], [get('/file'), get('/file', [['range', 'bytes=100-199']]), get('/file', [['if-none-match', '"go-file-v1"']]), get('/early-hints'), get('/chunked'), get('/trailers', [['te', 'trailers']]), get('/cookies'), get('/redirect')]],
      [['python', 'wget'], [get('/file'), get('/cookies')]],
    ]);
    for (const [direct, gated] of await firstBytes(gate.origin, go!.origin, { path: '/sse', until: 'data: hello', timeoutMs: 3_000 }, 100)) {
      expect(direct.untilMs, `${direct.client}: the first event of the Go service, direct`).not.toBeNull();
      expect(gated.untilMs, `${gated.client}: the first event of the Go service through the gate`).not.toBeNull();
      expect(gated.untilMs! - direct.untilMs!).toBeLessThan(100);
    }
  });

  test('Server-Sent Events: the first event through the gate within 100 ms of the direct one — undici, curl, Python', async () => {
    const gate = await gates.get('shop', shop.origin);
    for (const [direct, gated] of await firstBytes(gate.origin, shop.origin, { path: '/sse', until: 'data: hello', timeoutMs: 3_000 }, 100)) {
      expect(direct.untilMs, `${direct.client}: the first event, direct`).not.toBeNull();
      expect(gated.untilMs, `${gated.client}: the first event through the gate (status ${gated.status})`).not.toBeNull();
      expect(gated.untilMs! - direct.untilMs!, `${gated.client}: ms the gate added before the first event`).toBeLessThan(100);
      expect(header(gated, 'content-type')).toBe('text/event-stream');
    }
  });

  test('70 open SSE streams, more than the 64 upstream connections: each gets its first event, and a page is still answered', async () => {
    const gate = await gates.get('shop', shop.origin);
    const streams = await Promise.all(Array.from({ length: 70 }, (_, i) => openEventStream(gate.origin, `/sse?id=many-${i}`, 3_000)));
    try {
      expect.soft(streams.filter((s) => s.firstMs !== null).length, 'streams that got their first event within 3 s').toBe(70);
      expect.soft((await undici(gate.origin, { path: '/json', timeoutMs: 3_000 })).status, 'a page asked while the streams are open').toBe(200);
    } finally {
      for (const s of streams) s.close();
    }
  });

  test.skipIf(!HAS_CHROMIUM)(`Server-Sent Events: Chromium's EventSource gets its first message through the gate within 100 ms of the direct one${NO_CHROMIUM}`, async () => {
    const gate = await gates.get('shop', shop.origin);
    const [direct, gated] = await bestOf(100, async () => (await Promise.all([eventSourceFirst(browser!, shop.origin, '/sse', 3_000), eventSourceFirst(browser!, gate.origin, '/sse', 3_000)])).map(inChromium) as [Seen, Seen]);
    expect(direct.untilMs).not.toBeNull();
    expect(gated.untilMs, 'the first message through the gate').not.toBeNull();
    expect(gated.untilMs! - direct.untilMs!).toBeLessThan(100);
  });

  test('a chunked text/plain answer: its first line through the gate at most the response hold (GUARD_RESPONSE_HOLD_MS, 100 ms) after the direct one, long before its end', async () => {
    const gate = await gates.get('shop', shop.origin);
    const runs = await firstBytes(gate.origin, shop.origin, { path: '/chunked', until: 'first line', timeoutMs: 3_000 }, HOLD_MS + 150);
    if (browser) runs.push(await bestOf(HOLD_MS + 150, async () => (await Promise.all([fetchUntil(browser!, shop.origin, '/chunked', 'first line', 3_000), fetchUntil(browser!, gate.origin, '/chunked', 'first line', 3_000)])).map(inChromium) as [Seen, Seen]));
    // The rest comes 1000 ms after the first line: a gate that held the answer to its end would add about that.
    for (const [direct, gated] of runs) {
      expect.soft(direct.untilMs, `${direct.client}: the first line, direct`).not.toBeNull();
      expect.soft(gated.untilMs, `${gated.client}: the first line through the gate`).not.toBeNull();
      expect.soft(gated.untilMs! - direct.untilMs!, `${gated.client}: ms the gate added before the first line`).toBeLessThan(HOLD_MS + 150);
    }
    await expectSame(listener, gate.origin, shop.origin, [[['curl'], [get('/chunked')]]]);
  });

  test(
    uws
      ? '103 Early Hints and 102 Processing before the answer: dropped, the final answer delivered unchanged (uws: the binding cannot write 1xx)'
      : '103 Early Hints and 102 Processing before the answer: relayed, then the final answer',
    async () => {
      const gate = await gates.get('shop', shop.origin);
      // Python's urllib takes a 103 for the final answer (it skips only 100): left out.
      const hinted = [get('/early-hints', [], { timeoutMs: 3_000 }), get('/processing', [], { timeoutMs: 3_000 })];
      const got = await expectSame(listener, gate.origin, shop.origin, [
        [['curl', 'undici'], hinted],
        [['wget', 'chromium'], hinted.slice(0, 1)],
      ]);
      const curlHints = seenBy(got, 'curl', '/early-hints');
      expect.soft(curlHints.direct.informational.map((i) => i.status)).toEqual([103]);
      expect.soft(curlHints.gated.informational.map((i) => i.status)).toEqual(relaysInformational(listener) ? [103] : []);
      expect.soft(seenBy(got, 'curl', '/processing').gated.informational.map((i) => i.status)).toEqual(relaysInformational(listener) ? [102, 102] : []);
      // No upstream exchange left hanging: the gate closes.
      await gates.closeAll(true);
    },
  );

  test('1xx answers leave no upstream connection paused: 12 early-hinted requests over a pool of 4, then the next request is answered, and the gate closes', async () => {
    const gate = await gates.get('shop-pool-4', shop.origin, { connections: 4 });
    const hinted = await Promise.all(Array.from({ length: 12 }, () => undici(gate.origin, { path: '/early-hints', timeoutMs: 3_000 })));
    expect.soft(hinted.map((s) => s.status)).toEqual(Array(12).fill(200));
    expect.soft((await undici(gate.origin, { path: '/json', timeoutMs: 3_000 })).status).toBe(200);
    await gates.closeAll(true);
  });

  const refused = (s: Seen): boolean => s.status === 0 || s.status >= 400;
  /** Counts the requests to `path` the service sees from now; call the result to stop and read the count. */
  const arrivals = (path: string): (() => number) => {
    let n = 0;
    const count = (_method: string, url: string): void => void (url === path && n++);
    shop.events.on('request', count);
    return () => {
      shop.events.off('request', count);
      return n;
    };
  };
  /** uws: the binding never hands such a request to the gate. The service must never see it, and the client gets no 2xx. */
  async function expectNeverForwarded(gateOrigin: string, ask: Ask, by: ClientName[]): Promise<void> {
    const seen = arrivals(ask.path);
    const available = clients(browser);
    const answers = await Promise.all(by.map((name) => available[name]!(gateOrigin, { ...ask, timeoutMs: 1_000 })));
    for (const a of answers) expect(refused(a), `${a.client}: answered ${a.status}`).toBe(true);
    expect(seen(), 'requests that reached the service').toBe(0);
  }

  test(
    uws
      ? 'HTTP/1.0 clients (curl --http1.0, Python): never forwarded, never answered 2xx (uws: the binding does not hand HTTP/1.0 to the gate; GUARD_LISTENER=node serves it)'
      : 'HTTP/1.0 clients (curl --http1.0, Python): served as directly',
    async () => {
      const gate = await gates.get('shop', shop.origin);
      const asks: Ask[] = [get('/echo/http10?x=1', [], { http10: true }), get('/page', [], { http10: true }), { method: 'POST', path: '/echo/http10-post', http10: true, headers: [['content-type', 'application/json']], body: Buffer.from('{"a":1}') }];
      if (uws) await expectNeverForwarded(gate.origin, asks[0]!, ['curl', 'python']);
      else await expectSame(listener, gate.origin, shop.origin, [[['curl', 'python'], asks]]);
    },
  );

  const METHODS: Ask[] = [
    { method: 'PROPFIND', path: '/echo/dav/docs/', headers: [['depth', '1'], ['content-type', 'application/xml']], body: Buffer.from('<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>') },
    { method: 'MKCOL', path: '/echo/dav/docs/new/' },
    { method: 'MOVE', path: '/echo/dav/docs/a.txt', headers: [['destination', '/dav/docs/b.txt']] },
    { method: 'COPY', path: '/echo/dav/docs/b.txt', headers: [['destination', '/dav/docs/c.txt']] },
    { method: 'LOCK', path: '/echo/dav/docs/c.txt', headers: [['content-type', 'application/xml']], body: Buffer.from('<?xml version="1.0"?><lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope></lockinfo>') },
    { method: 'UNLOCK', path: '/echo/dav/docs/c.txt', headers: [['lock-token', '<urn:uuid:1>']] },
    { method: 'REPORT', path: '/echo/cal/ann/', headers: [['content-type', 'application/xml']], body: Buffer.from('<c:calendar-query xmlns:c="urn:ietf:params:xml:ns:caldav"/>') },
    { method: 'SEARCH', path: '/echo/search', headers: [['content-type', 'application/json']], body: Buffer.from('{"q":"bread"}') },
    { method: 'PURGE', path: '/echo/cache/page' },
    { method: 'MKCALENDAR', path: '/echo/cal/ann/work/' },
  ];

  test(
    uws
      ? 'extension methods (PROPFIND, MKCOL, MOVE, COPY, LOCK, UNLOCK, REPORT, SEARCH, PURGE, MKCALENDAR): never forwarded, never answered 2xx (uws: the binding drops them; GUARD_LISTENER=node serves them)'
      : 'extension methods (PROPFIND, MKCOL, MOVE, COPY, LOCK, UNLOCK, REPORT, SEARCH, PURGE, MKCALENDAR): forwarded as sent',
    async () => {
      const gate = await gates.get('shop', shop.origin);
      if (uws) await expectNeverForwarded(gate.origin, METHODS[8]!, SENDERS);
      else await expectSame(listener, gate.origin, shop.origin, [[['curl', 'undici'], METHODS], [['python'], [METHODS[0]!, METHODS[8]!]]]);
    },
  );

  const HOPS: Ask['headers'] = Array.from({ length: 65 }, (_, i) => [`x-hop-${i}`, `value-${i}`] as [string, string]);
  test(
    uws
      ? '65 request header lines: never forwarded, never answered 2xx (uws: the binding drops heads of more than about 48 lines; GUARD_LISTENER=node serves them)'
      : '65 request header lines (a browser behind a mesh and an ingress) all reach the service',
    async () => {
      const gate = await gates.get('shop', shop.origin);
      if (uws) return expectNeverForwarded(gate.origin, get('/echo/many-headers', HOPS), SENDERS);
      const got = await expectSame(listener, gate.origin, shop.origin, [[SENDERS, [get('/echo/many-headers', HOPS)]]]);
      expect(got[0]!.gated.status).toBe(200);
    },
  );

  test('a long answer (2 s) passes the default timeouts; a gate set to headersTimeoutMs 800 answers 502 or 504 after about 0.8 s', async () => {
    const gate = await gates.get('shop', shop.origin);
    const short = await gates.get('shop-headers-800ms', shop.origin, { headersTimeoutMs: 800 }, false);
    const [same, cut] = await Promise.all([expectSame(listener, gate.origin, shop.origin, [[['curl', 'undici'], [get('/slow?ms=2000')]]]), curl(short.origin, get('/slow?ms=2000'))]);
    const whole = seenBy(same, 'curl', '/slow?ms=2000');
    expect(whole.gated.ms).toBeGreaterThan(1_900);
    expect([502, 504]).toContain(cut.status);
    // curl's own start is in both times: the cut answer comes at least 0.6 s before the whole one,
    // and not at once (undici arms the timeout a little before the request is written: seen at 650 ms).
    expect(cut.ms).toBeGreaterThan(400);
    expect(cut.ms).toBeLessThan(whole.direct.ms - 600);
  });

  test('a request body over GUARD_MAX_BODY (64 KiB) in learn mode is forwarded, not refused: JSON, a multipart form, a raw upload, a photo from a browser form', async () => {
    const gate = await gates.whole(shop.origin, { maxBody: 64 * 1024 });
    const json = Buffer.from(JSON.stringify({ rows: Array.from({ length: 6000 }, (_, i) => ({ i, name: `row ${i}` })) }));
    const boundary = '----compat7e3b';
    const photo = randomBytes(Math.floor(2.5 * MiB));
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nholiday\r\n--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      photo,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const got = await expectSame(listener, gate.origin, shop.origin, [
      [SENDERS, [{ method: 'POST', path: '/echo/rows', headers: [['content-type', 'application/json']], body: json }]],
      [['curl', 'undici'], [{ method: 'POST', path: '/echo/photo', headers: [['content-type', `multipart/form-data; boundary=${boundary}`]], body: form }, { method: 'PUT', path: '/echo/raw', headers: [['content-type', 'text/plain']], body: Buffer.alloc(300 * 1024, 0x78) }]],
    ]);
    expect(got.every((p) => p.gated.status === 200)).toBe(true);
    if (browser) {
      const [direct, gated] = await Promise.all([formUpload(browser, shop.origin, photo), formUpload(browser, gate.origin, photo)]);
      expect(gated.status, "Chromium's form upload through the gate").toBe(200);
      expect(gated.echo?.bodyBytes).toBe(direct.echo?.bodyBytes);
    }
  });

  test('%2F and %2E in the path reach the service as the client sent them', async () => {
    const gate = await gates.get('shop', shop.origin);
    const paths = ['/echo/api/queues/%2F/q1', '/echo/group%2Fproject/-/raw/main', '/echo/keys/a%2Eb%2Ejson', '/echo/files/%2e%2e%2fetc', '/echo/v1/objects/photos%2F2026%2Fjune.jpg?versions'];
    const got = await expectSame(listener, gate.origin, shop.origin, [
      [['undici', 'curl'], paths.map((p) => get(p))],
      [['python', 'wget'], paths.slice(0, 2).map((p) => get(p))],
      [['chromium'], [get(paths[0]!)]],
    ]);
    expect(seenBy(got, 'curl', paths[0]!).gated.status).toBe(200);
  });

  test('response heads over 16 KiB (a 20 KiB Content-Security-Policy and 40 cookies)', async () => {
    const gate = await gates.get('shop', shop.origin);
    await expectSame(listener, gate.origin, shop.origin, [[ALL, [get('/big-headers')]]]);
  });

  test.skipIf(!HAS_IPV6)(`IPv6: the gate on ::, clients of [::1], the service on [::1]${HAS_IPV6 ? '' : ' (skipped: no ::1 on this machine)'}`, async () => {
    const gate = await gates.get('shop-v6', shop6!.origin, { host: '::' });
    await expectSame(listener, gate.origin, shop6!.origin, [
      [['undici', 'curl'], [get('/page'), get('/echo/v6?x=1')]],
      [['python', 'wget', 'chromium'], [get('/page')]],
    ]);
  });

  // undici, the gate's client of the service, reads neither of the next two as curl does: each is
  // answered with a 502 that names the cause, in the body and in the log (docs/operations.md,
  // "An answer before the upload is read").

  test('an early 401 with Connection: close to a 5 MB upload: the 401 when undici reads it before the reset, else a 502 that says so', async () => {
    const gate = await gates.get('early-401', shop.origin, {}, false);
    // No Expect: 100-continue (curl adds it to large uploads): the body is on its way when the 401 comes.
    const ask: Ask = { method: 'POST', path: '/upload-401', headers: [['content-type', 'application/octet-stream'], ['expect', '']], body: randomBytes(5 * MiB) };
    const [direct, gated] = await Promise.all([curl(shop.origin, ask), curl(gate.origin, ask)]);
    // Direct, the same race is curl's: the service closes with the body unread, the kernel resets the
    // connection, and curl reads the 401 only when it arrived before the reset (else it sees none).
    expect([401, 0]).toContain(direct.status);
    if (gated.status !== 401) {
      expect(gated.status).toBe(502);
      expect(gate.proxy.lines.some((l) => l.msg === 'upstream unavailable' && /an answer it sent before reading the whole body is lost/.test(String(l.fields.reason)))).toBe(true);
    }
    gate.proxy.lines.length = 0;
  });

  test('a duplicate identical Content-Length from the service: a 502 naming it (undici refuses the framing; curl and Python read it as one)', async () => {
    const gate = await gates.get('double-length', doubleLength.origin, {}, false);
    for (const path of ['/a', '/b']) expect((await curl(gate.origin, get(path))).status).toBe(502);
    expect(gate.proxy.lines.length).toBe(2);
    for (const l of gate.proxy.lines) expect(String(l.fields.reason)).toMatch(/does not match its Content-Length \(or it sent Content-Length twice\)/);
    gate.proxy.lines.length = 0;
  });

  test('WebSockets: text and binary messages echoed through the gate (undici WebSocket, Chromium)', async () => {
    const gate = await gates.get('shop', shop.origin);
    const [direct, gated] = await Promise.all([undiciEcho(shop.origin), undiciEcho(gate.origin)]);
    expect(gated).toEqual(direct);
    if (browser) {
      const [d, g] = await Promise.all([webSocketEcho(browser, shop.origin, '/ws'), webSocketEcho(browser, gate.origin, '/ws')]);
      expect(g).toEqual(d);
    }
  });

  test('a client that goes away mid-download: the gate lets the service go (its answer closed early, as directly)', async () => {
    const gate = await gates.get('shop', shop.origin);
    const total = 256 * MiB;
    for (const [name, origin] of [
      ['direct', shop.origin],
      ['gated', gate.origin],
    ] as const) {
      const id = `abort-${listener}-${name}`;
      const ended = streamClosed(shop, id);
      const seen = await curl(origin, { path: `/stream?id=${id}&bytes=${total}`, until: 'aaaa', timeoutMs: 5_000 });
      expect(seen.untilMs, `${name}: the download started`).not.toBeNull();
      const end = await ended;
      expect(end.finished, `${name}: the service's answer was cut short, not completed`).toBe(false);
      expect(end.sent).toBeLessThan(total);
    }
  });

  test('backpressure: a client that stops reading holds the service back, then reads everything intact', async () => {
    const gate = await gates.get('shop', shop.origin);
    const total = 64 * MiB;
    const [direct, gated] = await Promise.all([pausedDownload(shop, shop.origin, `bp-${listener}-direct`, total), pausedDownload(shop, gate.origin, `bp-${listener}-gated`, total)]);
    expect(direct.bytes).toBe(total);
    expect(gated.bytes).toBe(total);
    expect(gated.sha256).toBe(direct.sha256);
    // While the client read nothing, the service wrote only what the sockets (two through the gate) and the gate's bounded buffers hold.
    expect(gated.writtenWhilePaused, `bytes the service wrote while the client read nothing (direct: ${direct.writtenWhilePaused})`).toBeLessThan(2 * direct.writtenWhilePaused + 16 * MiB);
    expect(gated.writtenWhilePaused).toBeLessThan(total / 2);
  });

  test(`close() — what SIGTERM runs — during an open SSE stream: the stream ends as a closed connection, never a 502, EventSource will reconnect, and close() completes${NO_CHROMIUM ? ' (undici only: no Chromium)' : ''}`, async () => {
    const gate = await gates.whole(shop.origin, {}, 300);
    const streamed = undici(gate.origin, { path: '/sse?id=drain', timeoutMs: 8_000 });
    let closed: Promise<boolean> | null = null;
    // SIGTERM's close: not ready, a drain of 300 ms, then open streams are cut; bounded here so that a hang fails the case.
    const shutdown = (): Promise<boolean> => (closed ??= Promise.race([gate.close().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref())]));
    if (browser) {
      const es = await eventSourceAcross(browser, gate.origin, '/sse?id=drain-es', async () => void (await shutdown()));
      expect.soft(es.opened, 'the EventSource got its first message through the gate').toBe(true);
      expect.soft(es.readyStateAtError, 'EventSource.readyState at the error: 0 = it will reconnect, 2 = it gave up').toBe(0);
    }
    expect.soft(await shutdown(), 'close() completed within 5 s').toBe(true);
    const seen = await streamed;
    expect(seen.status, 'the stream was answered 200 before the shutdown').toBe(200);
    expect(seen.error, 'the stream ends as a cut connection').not.toBeNull();
    expect(seen.bytes).toBeGreaterThan(0);
  });
});

/** Resolves when the service's `/stream?id=` answer closes: the bytes it wrote, and whether it completed. */
function streamClosed(service: NodeService, id: string): Promise<{ sent: number; finished: boolean }> {
  return new Promise((resolve) => {
    const on = (got: string, sent: number, finished: boolean): void => {
      if (got !== id) return;
      service.events.off('stream-closed', on);
      resolve({ sent, finished });
    };
    service.events.on('stream-closed', on);
  });
}

/** An SSE stream on a raw socket: ms to its first event (null: none within timeoutMs), and how to close it. */
function openEventStream(origin: string, path: string, timeoutMs: number): Promise<{ firstMs: number | null; close(): void }> {
  const url = new URL(origin);
  const socket = net.connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  const close = (): void => void socket.destroy();
  const t0 = performance.now();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: shop\r\nAccept: text/event-stream\r\n\r\n`);
  return new Promise((resolve) => {
    let seen = '';
    const timer = setTimeout(() => resolve({ firstMs: null, close }), timeoutMs);
    socket.on('data', (d: Buffer) => {
      if (seen.includes('data: hello')) return;
      seen += d.toString('latin1');
      if (!seen.includes('data: hello')) return;
      clearTimeout(timer);
      resolve({ firstMs: performance.now() - t0, close });
    });
  });
}

/** A text and a 64 KiB binary message to the WebSocket echo of `origin`, with undici's WebSocket. */
async function undiciEcho(origin: string): Promise<{ text: string; binary: string }> {
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/ws`);
  ws.binaryType = 'arraybuffer';
  await once(ws as unknown as EventTarget, 'open');
  const got: Array<string | ArrayBuffer> = [];
  const both = new Promise<void>((resolve) =>
    ws.addEventListener('message', (e) => {
      got.push(e.data as string | ArrayBuffer);
      if (got.length === 2) resolve();
    }),
  );
  ws.send('hello through the gate');
  ws.send(Buffer.alloc(64 * 1024, 7));
  await both;
  ws.close(1000);
  return { text: got[0] as string, binary: createHash('sha256').update(new Uint8Array(got[1] as ArrayBuffer)).digest('hex') };
}

/**
 * A download read by a client that reads nothing until the service has stopped writing for 400 ms
 * (held back by the full sockets and buffers between them), then reads it all.
 */
async function pausedDownload(service: NodeService, origin: string, id: string, total: number): Promise<{ writtenWhilePaused: number; bytes: number; sha256: string }> {
  const url = new URL(origin);
  const socket = net.connect(Number(url.port), url.hostname);
  socket.pause();
  await once(socket, 'connect');
  socket.write(`GET /stream?id=${id}&bytes=${total} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n`);
  // The service writes until the sockets are full; then nothing more until the client reads.
  let last = -1;
  while (service.written(id) !== last) {
    last = service.written(id);
    await new Promise((r) => setTimeout(r, 400));
  }
  const writtenWhilePaused = last;
  const hash = createHash('sha256');
  let head = '';
  let bytes = 0;
  let inBody = false;
  socket.on('data', (d: Buffer) => {
    if (inBody) {
      bytes += d.length;
      hash.update(d);
      return;
    }
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    inBody = true;
    const rest = Buffer.from(head.slice(end + 4), 'latin1');
    bytes += rest.length;
    hash.update(rest);
  });
  socket.resume();
  await once(socket, 'close');
  return { writtenWhilePaused, bytes, sha256: hash.digest('hex') };
}
