// Property and fuzz tests of the core host (no input may crash, loop or leak): random requests,
// random wire JSON and random introspection commands may only ever fail with a CoreError, leave the
// core working, learn deterministically and free what they allocate. Seeded: a failure prints its
// seed; rerun with GUARD_FUZZ_SEED=<seed> to reproduce.
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Section, type Guardian, type HeaderLine, type HttpRequestFields } from '../../core/index.js';
import { core, onlyCoreErrors, Rng, suiteSeed, syncExamplePile, syncExampleText, withSeed } from './support.js';

const SEED = suiteSeed(0x5eed2026);

// ---- a known Guardian and request: the core must keep deciding it the same way ---------------

function knownRequest(extraKey = false): HttpRequestFields {
  return {
    method: 'POST',
    path: '/api/orders/17',
    query: 'expand=items',
    headers: [
      ['Content-Type', 'application/json'],
      ['Accept', 'application/json'],
      ['User-Agent', 'shop-client/1.2'],
    ],
    remote: '8.8.4.4',
    body: JSON.stringify(extraKey ? { item: 'book', qty: 2, debug: true } : { item: 'book', qty: 2 }),
  };
}

let known: Guardian;
let knownWire: string;
let knownAllowed: string;
let knownBlocked: string;

function decideOnce(g: Guardian, req: HttpRequestFields): string {
  const s = core().newSession();
  try {
    s.profileRequest(req);
    return `${s.decide(g, Section.All)}|${s.decisionString()}`;
  } finally {
    s.dispose();
  }
}

/** The core still works: the known Guardian is unchanged and decides the known requests as before. */
function expectCoreStillWorks(): void {
  expect(known.toWire()).toBe(knownWire);
  expect(decideOnce(known, knownRequest())).toBe(knownAllowed);
  expect(decideOnce(known, knownRequest(true))).toBe(knownBlocked);
  const p = core().parsePile(JSON.stringify(syncExamplePile()));
  expect(p.count).toBe(1);
  p.dispose();
}

let startHandles = 0;

beforeAll(() => {
  const c = core();
  startHandles = c.wasm.exports.live_handles() as number;
  known = c.defaultGuardian();
  const p = c.newPile();
  for (const item of ['pen', 'book', 'lamp']) {
    const s = c.newSession();
    s.profileRequest({ ...knownRequest(), body: JSON.stringify({ item, qty: 1 }) });
    p.add(s);
    s.dispose();
  }
  known.learn(p);
  p.dispose();
  knownWire = known.toWire();
  knownAllowed = decideOnce(known, knownRequest());
  knownBlocked = decideOnce(known, knownRequest(true));
  expect(knownAllowed).toBe('0|');
  expect(knownBlocked).toContain('Key debug is not known');
});

afterAll(() => {
  known?.dispose();
  // Every handle made by the suite on the shared core was freed, whatever the inputs did.
  if (!core().faulted) expect(core().wasm.exports.live_handles()).toBe(startHandles);
});

// ---- random requests --------------------------------------------------------------------------

const HEADER_NAMES = [
  'Host',
  'host',
  'Content-Type',
  'content-type',
  'Content-Length',
  'Connection',
  'connection',
  'Keep-Alive',
  'Proxy-Connection',
  'Proxy-Authorization',
  'Te',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
  'User-Agent',
  'X-Forwarded-For',
  'x-forwarded-for',
  'Cookie',
  'Accept',
  'X-Custom_header',
  '',
  ' ',
  ':',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=b0undary',
  'multipart/form-data; boundary=""',
  'multipart/form-data; boundary=' + 'x'.repeat(80),
  'multipart/form-data',
  'text/plain',
  'text/html; charset=iso-8859-1',
  'application/octet-stream',
  ';;;',
  'a/b; c="unterminated',
  '',
];
const FAULTS = ['TooLargeBody', 'UnknownSizeBody', 'FailedUnstructured', '', 'x'.repeat(300)];

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function randomText(rng: Rng, max: number): string {
  switch (rng.int(4)) {
    case 0:
      return rng.string(max);
    case 1:
      return latin1(rng.bytes(rng.int(max + 1)));
    case 2:
      return rng.from('abcXYZ019 -_.,;:=&%+/?#[]{}"\'\\<>@!*$~\t', max);
    default:
      return rng.from('%0123456789abcdefABCDEFgz/', max);
  }
}

function randomRemote(rng: Rng): string | undefined {
  switch (rng.int(7)) {
    case 0:
      return undefined;
    case 1:
      return `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
    case 2:
      return `${rng.int(0x10000).toString(16)}::${rng.int(0x10000).toString(16)}`;
    case 3:
      return '::ffff:10.0.0.' + rng.int(300);
    case 4:
      return '1.2.3.4:5678';
    case 5:
      return '';
    default:
      return randomText(rng, 40);
  }
}

function randomJsonText(rng: Rng): string {
  if (rng.bool(0.3)) return randomText(rng, 64);
  const text = JSON.stringify(randomJson(rng, 4, rng.bool() ? WIRE_KEYS : undefined));
  if (text === undefined) return 'null';
  // sometimes cut or splice the text
  if (rng.bool(0.2)) return text.slice(0, rng.int(text.length + 1));
  // data after the first value (NDJSON, concatenated values, garbage, whitespace)
  if (rng.bool(0.15)) return text + rng.pick(['\n', ' ', '\n' + text, text, 'x', ' \u0000', '\r\n\t']);
  return text;
}

/** A Content-Disposition parameter list from the grammar's pieces, well formed or not. */
function randomDispositionParams(rng: Rng): string {
  const piece = () =>
    rng.pick([
      `; name="${rng.from('abc;="\\ %22', 6)}"`,
      `; name=${rng.from('abc-_.', 4)}`,
      `; NAME*=UTF-8''${rng.from('abc%C3%A9%zz', 9)}`,
      `; filename="${rng.from('ab.;=\\"', 6)}"`,
      `; filename*=${rng.pick(["UTF-8''", "utf-8'en'", "iso-8859-1''", "UTF-8'", ''])}${rng.from('ab%C3%A9%2', 8)}`,
      '; filename=""',
      `; x="filename=${rng.from('ab', 2)}"`,
      ';',
      ' ',
      `; ${randomText(rng, 6)}=${randomText(rng, 6)}`,
      randomText(rng, 8),
    ]);
  return Array.from({ length: rng.int(6) }, piece).join('');
}

function randomMultipart(rng: Rng): string {
  const b = 'b0undary';
  const nl = () => (rng.bool(0.95) ? '\r\n' : rng.pick(['\n', '\r', '']));
  let s = rng.bool(0.2) ? randomText(rng, 10) + rng.pick(['\r\n', '', `--${b}`]) : '';
  const parts = rng.int(5);
  for (let i = 0; i < parts; i++) {
    s += `--${b}${rng.bool(0.1) ? rng.pick([' ', '\t', 'x', '--']) : ''}${nl()}`;
    const lines = rng.int(4);
    for (let l = 0; l < lines; l++) {
      s += rng.pick([
        `${rng.pick(['Content-Disposition', 'content-disposition', 'CONTENT-DISPOSITION'])}: ${rng.pick(['form-data', 'FORM-DATA', 'attachment', ''])}${randomDispositionParams(rng)}`,
        `Content-Type: ${rng.pick(['image/png', 'Text/Plain; charset=utf-8', '', ';;', randomText(rng, 10)])}`,
        `Content-Transfer-Encoding: ${rng.pick(['base64', '8bit', 'binary', randomText(rng, 5)])}`,
        ` folded ${randomText(rng, 4)}`,
        randomText(rng, 12),
      ]);
      s += nl();
    }
    s += `${nl()}${rng.bool(0.1) ? `x ${b} y` : randomText(rng, 30)}${nl()}`;
  }
  if (rng.bool(0.7)) s += `--${b}--${rng.pick(['\r\n', '', ' \r\nepilogue', 'junk'])}`;
  return s;
}

/** A Host value: mostly of the RFC 3986 grammar's shapes, sometimes anything. */
function randomHost(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return `${rng.int(256)}.${rng.int(256)}.${rng.int(300)}.${rng.int(256)}${rng.bool() ? ':' + rng.int(70000) : ''}`;
    case 1:
      return `[${rng.int(0x10000).toString(16)}::${rng.from('0123456789abcdef:.%', 6)}]${rng.bool() ? ':' + rng.int(70000) : ''}`;
    case 2:
      return rng.from('abcXYZ019-._~%2e!$&\'()*+,;=', 20) + (rng.bool() ? ':' + rng.from('0123456789:a', 6) : '');
    case 3:
      return rng.from('[]v.:@/?# ', 8);
    default:
      return randomText(rng, 40);
  }
}

function randomBody(rng: Rng, contentType: string): string | Uint8Array | undefined {
  switch (rng.int(8)) {
    case 0:
      return undefined;
    case 1:
      return rng.bytes(rng.int(300));
    case 2:
      return randomText(rng, 200);
    case 3:
    case 4:
      return contentType.includes('multipart') ? randomMultipart(rng) : randomJsonText(rng);
    case 5:
      return rng.from('a=1&b=%41;c+d=%zz&&=', 60);
    case 6:
      return randomMultipart(rng);
    default:
      return '';
  }
}

function randomRequest(rng: Rng): HttpRequestFields {
  const headers: HeaderLine[] = [];
  const n = rng.int(12);
  let contentType = '';
  for (let i = 0; i < n; i++) {
    const name = rng.bool(0.7) ? rng.pick(HEADER_NAMES) : randomText(rng, 20);
    let value = rng.bool(0.5) ? randomText(rng, 40) : rng.pick(['trailers', 'upgrade, x-a', 'keep-alive', '1.1.1.1', '']);
    if (name.toLowerCase() === 'content-type') value = contentType = rng.pick(CONTENT_TYPES);
    if (name.toLowerCase() === 'host' && rng.bool(0.7)) value = randomHost(rng);
    headers.push([name, value]);
  }
  if (rng.bool(0.5)) {
    contentType = rng.pick(CONTENT_TYPES);
    headers.push(['Content-Type', contentType]);
  }
  const req: HttpRequestFields = {
    method: rng.bool(0.8) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'get']) : randomText(rng, 10),
    path: rng.bool(0.3) ? randomRoutePath(rng) : rng.bool(0.5) ? '/' + rng.from('abc/%2F019', 20) : randomText(rng, 60),
    headers,
  };
  if (rng.bool(0.7)) req.query = rng.bool(0.5) ? rng.from('ab=&;%+1[]', 30) : randomText(rng, 50);
  if (rng.bool(0.2)) req.proto = rng.pick(['HTTP/1.0', 'HTTP/2.0', '', randomText(rng, 10)]);
  const remote = randomRemote(rng);
  if (remote !== undefined) req.remote = remote;
  if (rng.bool(0.1)) req.bodyFault = rng.pick(FAULTS);
  else {
    const body = randomBody(rng, contentType);
    if (body !== undefined) req.body = body;
  }
  return req;
}

/** A path of segments that are, or nearly are, what templating recognises (docs/routes.md). */
function randomRoutePath(rng: Rng): string {
  const hex = (n: number) => rng.from('0123456789abcdef', n);
  const segment = (): string => {
    switch (rng.int(12)) {
      case 0: return String(rng.int(1e9));
      case 1: return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
      case 2: return hex(7 + rng.int(60));
      case 3: return `20${rng.int(100)}-${rng.int(13)}-${rng.int(32)}${rng.bool() ? 'T10:00' : ''}`;
      case 4: return `v${rng.int(20)}${rng.bool() ? `.${rng.int(9)}` : ''}${rng.bool(0.3) ? 'beta' + rng.int(3) : ''}`;
      case 5: return `${rng.from('abc.+', 6)}@${rng.from('ab.', 6)}`;
      case 6: return rng.from('aZ09-_.=~', 10 + rng.int(40));
      case 7: return `${rng.int(1e6)}.${rng.from('jpgpnx', 1 + rng.int(10))}`;
      case 8: return rng.from('{}*%2F%zz', 8);
      case 9: return rng.from('a', rng.int(600));
      case 10: return '';
      default: return rng.pick(['admin', 'about', 'items', 'x86_64', 'deadbeef', 'café', '..', '.']);
    }
  };
  let p = '';
  const n = rng.bool(0.05) ? 300 : 1 + rng.int(6);
  for (let i = 0; i < n; i++) p += `/${segment()}`;
  return rng.bool(0.1) ? `${p}/` : p;
}

function describeRequest(req: HttpRequestFields): string {
  return JSON.stringify(req, (_k, v) => (v instanceof Uint8Array ? `<bytes ${Buffer.from(v).toString('base64')}>` : v));
}

// ---- random JSON --------------------------------------------------------------------------------

const WIRE_KEYS = [
  'configured', 'learned', 'samples', 'control', 'alert', 'block', 'learn', 'force', 'auto', 'active',
  'req', 'resp', 'reqbody', 'respbody', 'envelop', 'pod', 'cip', 'hopip', 'method', 'proto', 'mediatype',
  'contentlength', 'url', 'qs', 'headers', 'kv', 'vals', 'otherVals', 'otherKeynames', 'type', 'params',
  'set', 'List', 'IP', 'Mask', 'val', 'segments', 'digits', 'letters', 'spaces', 'schars', 'nonreadables',
  'unicodes', 'sequences', 'flags', 'unicodeFlags', 'Digits', 'Letters', 'Spaces', 'SpecialChars',
  'NonReadables', 'Unicodes', 'Sequences', 'Flags', 'UnicodeFlags', 'faults', 'Faults', 'unstructured',
  'structured', 'kind', 'responsetime', 'completiontime', 'tcp4peers', 'udp4peers', 'udplite4peers',
  'tcp6peers', 'udp6peers', 'udplite6peers', 'count', 'pile', 'alerts', 'compromised', 'decision', 'time',
  'level', 'children', 'reasons', 'result', 'spec', 'metadata', 'apiVersion', 'min', 'max', 'data',
  'Guardian', 'input', 'inputs', 'merge', 'clear', 'times', 'prepare', 'json', 'config', 'other',
  'steps', 'inner', 'tag', 'childResult', 'child', 'op', 'vals',
  // route-aware Guardians (docs/routes.md)
  'caps', 'routes', 'query', 'body', 'anyQuery', 'anyBody', 'unknownRoute', 'unknownParam', 'slack', 'unknownHeaders',
  'GET /items/{id}', 'GET {*}', '* {*}',
];

const SPECIAL_NUMBERS = [0, -0, 1, -1, 255, 256, 300, 65535, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 63), 1e308, 1.5, -2.5e-7];
const SPECIAL_STRINGS = [
  '', 'AA==', 'AQID/w==', '/////w==', '/////////////////////w==', '====', 'not base64!', '8.8.4.4', '::1',
  '1.2.3.999', '10.0.0.0', 'object', 'array', 'multi', 'number', 'string', 'boolean', 'Guardian', 'ConfigMap',
  'GuardianList', 'profile', 'pile', 'config', '\u0000', '\ud800', 'x'.repeat(70),
];

function randomJson(rng: Rng, depth: number, keys?: readonly string[]): unknown {
  const k = rng.int(depth <= 0 ? 4 : 7);
  switch (k) {
    case 0:
      return rng.bool(0.3) ? null : rng.bool();
    case 1:
      return rng.bool(0.5) ? rng.pick(SPECIAL_NUMBERS) : rng.int(1000) - 10;
    case 2:
      return rng.bool(0.5) ? rng.pick(SPECIAL_STRINGS) : randomText(rng, 20);
    case 3:
      return rng.bool(0.5) ? rng.int(256) : rng.pick(SPECIAL_STRINGS);
    case 4: {
      const n = rng.int(5);
      return Array.from({ length: n }, () => randomJson(rng, depth - 1, keys));
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.int(6);
      for (let i = 0; i < n; i++) {
        const key = keys && rng.bool(0.85) ? rng.pick(keys) : randomText(rng, 10);
        o[key] = randomJson(rng, depth - 1, keys);
      }
      return o;
    }
  }
}

/** Replace one random node of a JSON value (deep copy) by a random value. */
function mutate(rng: Rng, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value));
  const holders: Array<[any, string | number]> = [];
  const walk = (v: any) => {
    if (v && typeof v === 'object') {
      for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
        holders.push([v, key as string | number]);
        walk(v[key as any]);
      }
    }
  };
  walk(copy);
  if (holders.length === 0) return randomJson(rng, 3, WIRE_KEYS);
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    const [holder, key] = rng.pick(holders);
    switch (rng.int(4)) {
      case 0:
        if (!Array.isArray(holder)) delete holder[key];
        else holder[key as number] = null;
        break;
      case 1:
        holder[key] = rng.pick(SPECIAL_NUMBERS);
        break;
      case 2:
        holder[key] = rng.pick(SPECIAL_STRINGS);
        break;
      default:
        holder[key] = randomJson(rng, 3, WIRE_KEYS);
    }
  }
  return copy;
}

// ---- wire documents to mutate ----------------------------------------------------------------

function seedDocuments(): { guardians: unknown[]; piles: unknown[]; syncs: unknown[] } {
  const c = core();
  const p = c.newPile();
  for (const item of ['a', 'bb']) {
    const s = c.newSession();
    s.profileRequest({ ...knownRequest(), body: JSON.stringify({ item, tags: [1, 2] }), query: 'q=' + item });
    s.profileResponse({ status: 200, headers: [['Content-Type', 'text/plain']], body: 'ok' });
    s.profileEnvelop(1200, 2500);
    p.add(s);
    s.dispose();
  }
  const pileJson = JSON.parse(p.toWire());
  p.dispose();
  const learned = JSON.parse(knownWire);
  const configured = { ...learned, configured: learned.learned, learned: undefined };
  // a route-aware Guardian: caps, a route table with a catch-all, policies and slack
  const routed = c.defaultGuardian();
  const rp = c.parsePile(JSON.stringify(pileJson));
  routed.learn(rp, { params: 3, headers: 5, routes: 1 });
  rp.dispose();
  routed.policy = { unknownRoute: 'service-wide', unknownParam: 'ignore', slack: 2 };
  const withRoutes = JSON.parse(routed.toWire());
  routed.dispose();
  return {
    guardians: [learned, configured, { apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', spec: learned }, withRoutes],
    piles: [pileJson, syncExamplePile()],
    syncs: [JSON.parse(syncExampleText()), { pile: pileJson, alerts: JSON.parse(syncExampleText()).alerts, compromised: true }],
  };
}

// ---- introspection commands ------------------------------------------------------------------

const TYPES = [
  'Limit', 'Count', 'AsciiFlags', 'FlagSlice', 'Set', 'SimpleVal', 'IpSet', 'KeyVal', 'Headers', 'Query',
  'MediaType', 'Url', 'Structured', 'Body', 'Envelop', 'Pod', 'Req', 'Resp', 'SessionData', 'Decision',
] as const;
const OPS = ['profile', 'pile', 'learn', 'decide', 'roundtrip', 'score', 'fuse'] as const;

/** Plausible inputs per type (the introspect input shapes), to get past the first checks. */
function plausibleInput(rng: Rng, type: string): unknown {
  switch (type) {
    case 'Limit':
    case 'Count':
    case 'AsciiFlags':
      return rng.int(300);
    case 'FlagSlice':
      return Array.from({ length: rng.int(4) }, () => rng.int(2 ** 32));
    case 'Set':
      return Array.from({ length: rng.int(3) }, () => randomText(rng, 6));
    case 'SimpleVal':
    case 'MediaType':
    case 'Url':
      return randomText(rng, 30);
    case 'IpSet':
      return rng.bool() ? rng.pick(['8.8.4.4', '::1', '10.0.0.1', 'bad']) : [randomRemote(rng) ?? ''];
    case 'KeyVal':
    case 'Headers':
    case 'Query':
      return { [randomText(rng, 8)]: randomText(rng, 12), a: [randomText(rng, 5), 'x'] };
    case 'Structured':
    case 'Body':
      return randomJson(rng, 3);
    default:
      return randomJson(rng, 3, WIRE_KEYS);
  }
}

function randomCommand(rng: Rng, type: string, op: string, corpus: unknown[]): Record<string, unknown> {
  const value = () => (corpus.length > 0 && rng.bool(0.4) ? mutate(rng, rng.pick(corpus)) : rng.bool(0.6) ? plausibleInput(rng, type) : randomJson(rng, 3, WIRE_KEYS));
  const cmd: Record<string, unknown> = { type, op };
  if (rng.bool(0.8)) cmd.input = value();
  if (rng.bool(0.6)) cmd.inputs = Array.from({ length: rng.int(4) }, value);
  if (rng.bool(0.3)) cmd.pile = value();
  if (rng.bool(0.2)) cmd.merge = Array.from({ length: rng.int(3) }, value);
  if (rng.bool(0.2)) cmd.clear = rng.bool(0.7) ? rng.bool() : value();
  if (rng.bool(0.4)) cmd.config = value();
  if (rng.bool(0.2)) cmd.other = value();
  if (rng.bool(0.2)) cmd.times = rng.pick([0, 1, 2, 3, -1, 'x', 2.5]);
  if (rng.bool(0.2)) cmd.prepare = rng.bool(0.8) ? rng.bool() : value();
  if (op === 'roundtrip' || rng.bool(0.1)) cmd.kind = rng.pick(['profile', 'pile', 'config', 'other', 5]);
  if (op === 'roundtrip' || rng.bool(0.1)) cmd.json = value();
  if (type === 'Decision' || rng.bool(0.05)) {
    cmd.steps = Array.from({ length: rng.int(5) }, () =>
      rng.pick([
        { inner: randomText(rng, 10), result: rng.int(4) },
        { tag: randomText(rng, 6), childResult: rng.int(4) },
        { tag: randomText(rng, 6), child: [{ inner: 'x' }] },
        randomJson(rng, 2, WIRE_KEYS),
      ]),
    );
    cmd.tag = randomText(rng, 5);
  }
  return cmd;
}

// ---- a worker to run one potentially slow core call with a hard limit -------------------------

const CORE_JS = new URL('../../build/js/core/index.js', import.meta.url).href;

interface WorkerResult {
  ok: boolean;
  timedOut?: boolean;
  ms?: number;
  detail?: string;
}

/**
 * Run `body` (source of an async function taking the core module) in a worker thread, so a call
 * that runs away (quadratic in its input) is stopped at `limitMs` instead of stalling the suite.
 */
function runLimited(body: string, limitMs: number): Promise<WorkerResult> {
  const src = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(CORE_JS)}).then(async (mod) => {
      const core = mod.loadCore();
      const t0 = Date.now();
      try {
        const detail = await (${body})(core, mod);
        parentPort.postMessage({ ok: true, ms: Date.now() - t0, detail: String(detail ?? '') });
      } catch (e) {
        parentPort.postMessage({ ok: e instanceof mod.CoreError, ms: Date.now() - t0, detail: (e && e.name) + ': ' + (e && e.message) });
      }
    });`;
  return new Promise((resolve) => {
    const w = new Worker(src, { eval: true });
    const timer = setTimeout(() => {
      void w.terminate();
      resolve({ ok: false, timedOut: true, ms: limitMs });
    }, limitMs);
    w.once('message', (m: WorkerResult) => {
      clearTimeout(timer);
      void w.terminate();
      resolve(m);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `worker error: ${e.message}` });
    });
  });
}

// ================================================================================================

describe('random requests', () => {
  test('random header names/values, paths, queries, bodies and remotes: only CoreErrors', () => {
    withSeed(SEED, 'random requests', (rng) => {
      const c = core();
      const pile = c.newPile();
      const bodyPile = c.newPile();
      for (let i = 0; i < 4000; i++) {
        const req = randomRequest(rng);
        const s = c.newSession();
        onlyCoreErrors(
          () => describeRequest(req),
          () => {
            s.profileRequest(req);
            if (rng.bool(0.3)) {
              s.profileResponse({
                status: rng.int(600),
                headers: req.headers,
                ...(req.body !== undefined ? { body: req.body } : {}),
                ...(req.bodyFault !== undefined ? { bodyFault: req.bodyFault } : {}),
              });
            }
            if (rng.bool(0.2)) s.profileEnvelop(rng.pick([0, -5, 1e15, Number.NaN, Infinity, 1234]), rng.int(1e7));
            s.decide(known, rng.pick([Section.All, Section.Req, Section.ReqBody, 0, -1, 0xffff]));
            s.decisionString();
            s.decisionTree();
            pile.add(s);
          },
        );
        s.dispose();
        if (i % 1000 === 999) {
          // what was piled is valid wire JSON that loads and merges again
          const text = pile.toWire();
          JSON.parse(text);
          const again = c.parsePile(text);
          expect(again.toWire()).toBe(text);
          bodyPile.merge(again);
          again.dispose();
          pile.clear();
          expectCoreStillWorks();
        }
      }
      // a Guardian can learn all of it, and write and load what it learned
      const g = c.defaultGuardian();
      g.learn(bodyPile);
      const wire = g.toWire();
      const g2 = c.parseGuardian(wire);
      expect(g2.toWire()).toBe(wire);
      for (const h of [g, g2, pile, bodyPile]) h.dispose();
      expectCoreStillWorks();
    });
  });

  test('a session reused for many requests and responses', () => {
    withSeed(SEED + 1, 'session reuse', (rng) => {
      const c = core();
      const s = c.newSession();
      for (let i = 0; i < 500; i++) {
        const req = randomRequest(rng);
        onlyCoreErrors(
          () => describeRequest(req),
          () => {
            s.profileRequest(req);
            s.decide(known, Section.All);
          },
        );
      }
      s.dispose();
      expectCoreStillWorks();
    });
  });
});

describe('raw records', () => {
  test('mutated and truncated request and response records: an error or a profile, never a trap', () => {
    withSeed(SEED, 'raw records', (rng) => {
      const c = core();
      const mem = () => new Uint8Array(c.wasm.exports.memory.buffer);
      const s = c.newSession();
      const outcomes = { refused: 0, profiled: 0 };
      for (let i = 0; i < 3000; i++) {
        const req = randomRequest(rng);
        // A valid record as the host writes it (well-known names by index, the header table)…
        let len: number;
        const response = rng.bool(0.3);
        try {
          len = response ? c.writeResponse({ status: 200, headers: req.headers, body: req.body }) : c.writeRequest(req);
        } catch {
          continue;
        }
        const at = c.wasm.inputBuffer(len + 16);
        const bytes = mem().slice(at, at + len);
        // …then damaged: flipped bytes, huge or top-bit lengths, truncation, trailing garbage.
        const edits = 1 + rng.int(6);
        for (let e = 0; e < edits && bytes.length > 0; e++) {
          const k = rng.int(bytes.length);
          const what = rng.int(4);
          if (what === 0) bytes[k] = rng.int(256);
          else if (what === 1) bytes[k] = 0xff;
          else if (what === 2 && k + 4 <= bytes.length) bytes.set([0xff, 0xff, 0xff, rng.pick([0x7f, 0x80, 0xff])], k);
          else bytes[k] ^= 0x80;
        }
        const cut = rng.bool(0.3) ? rng.int(bytes.length + 1) : bytes.length;
        const at2 = c.wasm.inputBuffer(cut);
        mem().set(bytes.subarray(0, cut), at2);
        const rc = response ? c.wasm.exports.session_response(s.id, cut) : c.wasm.exports.session_request(s.id, cut);
        expect(typeof rc).toBe('number');
        if (rc < 0) {
          outcomes.refused++;
          expect(c.wasm.readOutputString().length).toBeGreaterThan(0);
        } else outcomes.profiled++;
        s.decide(known, Section.All);
        s.reset();
      }
      // Both kinds of outcome happened: the damage reached the parser and some survived it.
      expect(outcomes.refused).toBeGreaterThan(100);
      expect(outcomes.profiled).toBeGreaterThan(100);
      s.dispose();
      expectCoreStillWorks();
    });
  });
});

describe('deep and wide JSON', () => {
  const DEPTH = 10_000;
  const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
  const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
  const deepMixed = '{"a":['.repeat(DEPTH / 2) + '"x"' + ']}'.repeat(DEPTH / 2);

  test('10,000 levels as request bodies: a recorded fault, never a trap', () => {
    const c = core();
    for (const body of [deepArray, deepObject, deepMixed, '['.repeat(DEPTH), '{"a":'.repeat(DEPTH)]) {
      const s = c.newSession();
      s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
      const p = c.newPile();
      p.add(s);
      const w = JSON.parse(p.toWire());
      expect(w.reqbody.faults).toEqual({ set: ['FailedJsonDecode'] });
      s.decide(known, Section.All);
      p.dispose();
      s.dispose();
    }
    expectCoreStillWorks();
  });

  test('10,000 levels as response bodies', () => {
    const s = core().newSession();
    s.profileResponse({ status: 200, headers: [['Content-Type', 'application/json']], body: deepObject });
    s.dispose();
    expectCoreStillWorks();
  });

  test('10,000 levels as text into parseGuardian, parsePile, parseSyncRequest, introspect', () => {
    const c = core();
    for (const text of [deepArray, deepObject, deepMixed]) {
      expect(() => c.parseGuardian(text)).toThrow(expect.objectContaining({ code: 'GUARD_INVALID_GUARDIAN' }));
      expect(() => c.parsePile(text)).toThrow(expect.objectContaining({ code: 'GUARD_INVALID_PILE' }));
      expect(() => c.parseSyncRequest(text)).toThrow(expect.objectContaining({ code: 'GUARD_INVALID_SYNC' }));
    }
    const wrapped = `{"configured":${deepObject}}`;
    expect(() => c.parseGuardian(wrapped)).toThrow(expect.objectContaining({ code: 'GUARD_INVALID_GUARDIAN' }));
    expect(() => c.parseSyncRequest(`{"pile":${deepObject}}`)).toThrow(expect.objectContaining({ code: 'GUARD_INVALID_SYNC' }));
    expectCoreStillWorks();
  });

  test('10,000 levels as objects into parseGuardian and introspect: a CoreError, not a RangeError', () => {
    const c = core();
    const deep = JSON.parse(deepObject);
    onlyCoreErrors(() => 'parseGuardian({configured: <10,000 levels>})', () => c.parseGuardian({ configured: deep }));
    onlyCoreErrors(() => 'parseGuardian(<10,000 levels>)', () => c.parseGuardian(deep));
    for (const type of ['Structured', 'Body', 'SessionData']) {
      onlyCoreErrors(() => `introspect profile ${type} <10,000 levels>`, () => c.introspect({ op: 'profile', type, input: deep }));
    }
    expectCoreStillWorks();
  });

  test('introspect at its depth limit profiles nested structures', () => {
    const c = core();
    // 60 levels fit in the command's depth limit of 64
    const nested = JSON.parse('{"a":'.repeat(60) + '1' + '}'.repeat(60));
    const out: any = c.introspect({ op: 'profile', type: 'Structured', input: nested });
    expect(out.kind).toBe('object');
  });

  // 100,000 keys: each case runs in a worker with a hard limit; a linear core needs well under a
  // second for any of them, a quadratic one minutes.
  const WIDE = 100_000;
  const LIMIT_MS = 10_000;
  const PARALLEL = 2; // the test machines have two cores
  const wideCases: Array<[string, string]> = [
    [
      'a JSON body with 100,000 keys',
      `async (core) => {
        const body = '{' + Array.from({ length: ${WIDE} }, (_, i) => '"k' + i + '":' + i).join(',') + '}';
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
        const p = core.newPile();
        p.add(s);
        const w = JSON.parse(p.toWire());
        const n = Object.keys(w.reqbody.structured.kv).length;
        // A pile keeps at most 1024 distinct keys (assembly/model/keyval.ts MAX_PILE_KEYS).
        if (n !== 1024) throw new Error('expected the pile to keep 1024 of ${WIDE} keys, got ' + n);
        return n;
      }`,
    ],
    [
      'a JSON body with 100,000 keys in nested objects',
      `async (core) => {
        const inner = (o) => '{' + Array.from({ length: 1000 }, (_, i) => '"k' + o + '_' + i + '":1').join(',') + '}';
        const body = '{' + Array.from({ length: 100 }, (_, o) => '"o' + o + '":' + inner(o)).join(',') + '}';
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
        return 'ok';
      }`,
    ],
    [
      'a JSON body with 100,000 array elements',
      `async (core) => {
        const body = '[' + Array.from({ length: ${WIDE} }, (_, i) => i).join(',') + ']';
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
        return 'ok';
      }`,
    ],
    [
      'a JSON body with 100,000 values after the first',
      `async (core) => {
        const body = Array.from({ length: ${WIDE} }, (_, i) => '{"k":' + i + '}').join('\\n');
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
        const p = core.newPile();
        p.add(s);
        const faults = JSON.parse(p.toWire()).reqbody.faults.set;
        if (String(faults) !== 'JsonTrailingData') throw new Error('expected JsonTrailingData, got ' + faults);
        return 'ok';
      }`,
    ],
    ...([
      ['100,000 parts', 'FailedMultipart 0', (b: string) => Array.from({ length: 100_000 }, (_, i) => '--' + b + '\r\nContent-Disposition: form-data; name="k' + i + '"\r\n\r\n' + i + '\r\n').join('') + '--' + b + '--'],
      ['a disposition with 100,000 parameters', 'FailedMultipart 0', (b: string) => '--' + b + '\r\nContent-Disposition: form-data; name=a' + '; p=v'.repeat(100_000) + '\r\n\r\nx\r\n--' + b + '--'],
      ['a part with 100,000 header lines', 'FailedMultipart 0', (b: string) => '--' + b + '\r\nContent-Disposition: form-data; name=a\r\n' + 'X-H: v\r\n'.repeat(100_000) + '\r\nx\r\n--' + b + '--'],
      ['100,000 near-delimiters in a value', 'null 1', (b: string) => '--' + b + '\r\nContent-Disposition: form-data; name=a\r\n\r\n' + ('\r\n--' + b.slice(0, -1) + 'X').repeat(100_000) + '\r\n--' + b + '--'],
    ] as Array<[string, string, (b: string) => string]>).map(([what, expected, make]): [string, string] => [
      `a multipart body with ${what}`,
      `async (core) => {
        const body = (${make.toString()})('b0undary');
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'multipart/form-data; boundary=b0undary']], body });
        const p = core.newPile();
        p.add(s);
        const w = JSON.parse(p.toWire()).reqbody;
        const got = String(w.faults.set) + ' ' + Object.keys(w.structured?.kv ?? {}).length;
        if (got !== ${JSON.stringify(expected)}) throw new Error('expected ${expected}, got ' + got);
        return got;
      }`,
    ]),
    [
      'a Host of 1 MB and 100,000 Host lines',
      `async (core) => {
        const s = core.newSession();
        const refused = (headers) => {
          try {
            s.profileRequest({ method: 'GET', path: '/', headers });
            return false;
          } catch (e) {
            return e.field === 'host';
          }
        };
        if (!refused([['Host', 'a'.repeat(1 << 20)]])) throw new Error('a 1 MB Host was not refused');
        if (!refused(Array.from({ length: 1000 }, () => ['Host', 'a.example']))) throw new Error('1,000 Host lines were not refused');
        return 'ok';
      }`,
    ],
    [
      'a query with 100,000 keys',
      `async (core) => {
        const query = Array.from({ length: ${WIDE} }, (_, i) => 'k' + i + '=' + i).join('&');
        const s = core.newSession();
        s.profileRequest({ method: 'GET', path: '/', headers: [], query });
        return 'ok';
      }`,
    ],
    [
      'a urlencoded form body with 100,000 fields',
      `async (core) => {
        const body = Array.from({ length: ${WIDE} }, (_, i) => 'k' + i + '=' + i).join('&');
        const s = core.newSession();
        s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body });
        return 'ok';
      }`,
    ],
    [
      'a pile and a Guardian with 100,000 header keys',
      `async (core) => {
        const sv = { Digits: 'AQ==', Letters: 'AA==', Spaces: 'AA==', SpecialChars: 'AA==', NonReadables: 'AA==', Unicodes: 'AA==', Sequences: 'AQ==', Flags: 0, UnicodeFlags: null };
        const kv = {};
        for (let i = 0; i < ${WIDE}; i++) kv['H' + i] = sv;
        const p = core.parsePile(JSON.stringify({ count: 1, req: { headers: { kv } } }));
        const g = core.defaultGuardian();
        g.learn(p);
        const vals = {};
        for (let i = 0; i < ${WIDE}; i++) vals['H' + i] = { digits: 1 };
        core.parseGuardian({ configured: { active: true, req: { headers: { kv: { vals } } } } });
        return 'ok';
      }`,
    ],
  ];

  test(
    'wide inputs finish (100,000 keys, each within 10 s)',
    async () => {
      const results: WorkerResult[] = new Array(wideCases.length);
      let next = 0;
      const lane = async () => {
        while (next < wideCases.length) {
          const i = next++;
          results[i] = await runLimited(wideCases[i][1], LIMIT_MS);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, lane));
      const failures = results
        .map((r, i) => [wideCases[i][0], r] as const)
        .filter(([, r]) => !r.ok)
        .map(([name, r]) => `${name}: ${r.timedOut ? `did not finish within ${LIMIT_MS} ms` : `${r.detail} (${r.ms} ms)`}`);
      expect(failures).toEqual([]);
      expectCoreStillWorks();
    },
    Math.ceil(wideCases.length / PARALLEL) * LIMIT_MS + 20_000,
  );
});

const POLICIES = ['alert', 'ignore', 'service-wide'] as const;

describe('route tables', () => {
  test('random paths, methods and names: bounded routes and names, deterministic learning, only CoreErrors', () => {
    withSeed(SEED + 9, 'route tables', (rng) => {
      const c = core();
      const before = c.wasm.exports.live_handles() as number;
      const requests: HttpRequestFields[] = [];
      for (let i = 0; i < 3000; i++) {
        const req: HttpRequestFields = {
          method: rng.bool(0.9) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE']) : randomText(rng, 30),
          path: randomRoutePath(rng),
          query: Array.from({ length: rng.int(5) }, () => `${rng.bool(0.8) ? rng.from('abcq', 3) : randomText(rng, 70)}=${rng.int(9)}`).join('&'),
          headers: [['Content-Type', 'application/json']],
          body: JSON.stringify(Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.from('xyz:', 4), rng.int(9)]))),
        };
        requests.push(req);
      }
      const learnAll = (caps: object): string => {
        const g = c.defaultGuardian();
        const pile = c.newPile();
        for (let i = 0; i < requests.length; i++) {
          const s = c.newSession();
          onlyCoreErrors(() => `request ${describeRequest(requests[i])}`, () => {
            s.profileRequest(requests[i]);
            pile.add(s);
          });
          s.dispose();
          if (i % 1000 === 999) {
            const wire = JSON.parse(pile.toWire());
            for (const [key, r] of Object.entries<any>(wire.routes ?? {})) {
              expect(key.length).toBeLessThanOrEqual(16 + 1 + 512);
              expect(r.query.length).toBeLessThanOrEqual(256);
            }
            const received = c.parsePile(JSON.stringify(wire));
            g.learn(received, caps);
            received.dispose();
            pile.clear();
          }
        }
        pile.dispose();
        const text = g.toWire();
        const routes = JSON.parse(text).learned.routes ?? {};
        expect(Object.keys(routes).filter((k) => !k.endsWith(' {*}')).length).toBeLessThanOrEqual((caps as { routes: number }).routes);
        for (const r of Object.values<any>(routes)) expect(r.query.length).toBeLessThanOrEqual((caps as { params: number }).params);
        // whatever was learned decides random requests under any policy, and loads back the same
        for (let k = 0; k < 200; k++) {
          g.policy = { unknownRoute: rng.pick(POLICIES), unknownParam: rng.pick(POLICIES), slack: rng.int(17) };
          const s = c.newSession();
          onlyCoreErrors(() => 'decide', () => {
            s.profileRequest(rng.bool(0.5) ? rng.pick(requests) : randomRequest(rng));
            s.decide(g, Section.All);
            s.decisionString();
          });
          s.dispose();
        }
        const again = c.parseGuardian(text);
        expect(again.toWire()).toBe(text);
        again.dispose();
        g.dispose();
        return text;
      };
      const caps = { params: 1 + rng.int(20), headers: 1 + rng.int(20), routes: 1 + rng.int(50) };
      expect(learnAll(caps)).toBe(learnAll(caps));
      expect(c.wasm.exports.live_handles()).toBe(before);
      expectCoreStillWorks();
    });
  });
});

describe('random JSON into the parsers', () => {
  test('parseGuardian, parsePile, parseSyncRequest: only CoreErrors, and the core keeps working', () => {
    withSeed(SEED + 2, 'random wire JSON', (rng) => {
      const c = core();
      const docs = seedDocuments();
      const before = c.wasm.exports.live_handles() as number;
      for (let i = 0; i < 3000; i++) {
        const which = i % 3;
        const pool = which === 0 ? docs.guardians : which === 1 ? docs.piles : docs.syncs;
        const r = rng.int(10);
        const value: unknown = r < 6 ? mutate(rng, rng.pick(pool)) : r < 9 ? randomJson(rng, 5, WIRE_KEYS) : undefined;
        const text = value === undefined ? randomJsonText(rng) : JSON.stringify(value);
        const asText = rng.bool(0.7) || value === null || typeof value !== 'object';
        onlyCoreErrors(
          () => `${['parseGuardian', 'parsePile', 'parseSyncRequest'][which]}(${text.slice(0, 2000)})`,
          () => {
            if (which === 0) {
              const g = c.parseGuardian(asText ? text : (value as object));
              // whatever loads writes a text that loads to the same text
              const wire = g.toWire();
              const g2 = c.parseGuardian(wire);
              expect(g2.toWire()).toBe(wire);
              g2.dispose();
              g.dispose();
            } else if (which === 1) {
              const p = c.parsePile(text);
              const wire = p.toWire();
              const p2 = c.parsePile(wire);
              expect(p2.toWire()).toBe(wire);
              p2.dispose();
              p.dispose();
            } else {
              const sync = c.parseSyncRequest(text);
              sync.pile?.dispose();
            }
          },
        );
        if (i % 500 === 499) expectCoreStillWorks();
      }
      expect(c.wasm.exports.live_handles()).toBe(before);
      expectCoreStillWorks();
    });
  });

  test('mutated Guardians learn mutated piles and decide random requests', () => {
    withSeed(SEED + 3, 'mutated learn/decide', (rng) => {
      const c = core();
      const docs = seedDocuments();
      for (let i = 0; i < 400; i++) {
        let g: Guardian | undefined;
        const gText = JSON.stringify(mutate(rng, rng.pick(docs.guardians)));
        const pText = JSON.stringify(mutate(rng, rng.pick(docs.piles)));
        const req = randomRequest(rng);
        onlyCoreErrors(
          () => `guardian ${gText}\n  pile ${pText}\n  request ${describeRequest(req)}`,
          () => {
            g = c.parseGuardian(gText);
            if (rng.bool(0.5)) g.control = { alert: true, block: rng.bool(), learn: true, force: true, auto: rng.bool() };
            if (rng.bool(0.3)) g.policy = { unknownRoute: rng.pick(POLICIES), unknownParam: rng.pick(POLICIES), slack: rng.int(20) };
            const p = c.parsePile(pText);
            try {
              const caps = rng.bool(0.5) ? undefined : { params: rng.int(300), headers: rng.int(300), routes: rng.int(1100) - 10, unknownHeaders: rng.pick(['alert', 'shape'] as const) };
              g.learn(p, caps);
              g.learn(p);
            } finally {
              p.dispose();
            }
            const s = c.newSession();
            try {
              s.profileRequest(req);
              s.decide(g, Section.All);
              s.decisionString();
            } finally {
              s.dispose();
            }
            const wire = g.toWire();
            const again = c.parseGuardian(wire);
            expect(again.toWire()).toBe(wire);
            again.dispose();
          },
        );
        g?.dispose();
      }
      expectCoreStillWorks();
    });
  });

  test('core.introspect: all 20 types × ops with random commands', () => {
    withSeed(SEED + 4, 'random introspect', (rng) => {
      const c = core();
      const corpus = new Map<string, unknown[]>(TYPES.map((t) => [t, []]));
      let succeeded = 0;
      for (let round = 0; round < 12; round++) {
        for (const type of TYPES) {
          for (const op of OPS) {
            const cmd = randomCommand(rng, type, op, corpus.get(type)!);
            onlyCoreErrors(
              () => JSON.stringify(cmd).slice(0, 3000),
              () => {
                const out = c.introspect(cmd);
                succeeded++;
                const bucket = corpus.get(type)!;
                if (bucket.length < 40 && out !== null && typeof out === 'object') bucket.push(out);
              },
            );
          }
        }
        expectCoreStillWorks();
      }
      // sanity: the commands are not all rejected at the door
      expect(succeeded).toBeGreaterThan(100);
      // malformed commands
      for (const cmd of [{}, [], { type: 5, op: [] }, { type: 'Nope', op: 'profile' }, { type: 'Set', op: 'nope' }, { type: 'Set', op: 'profile' }]) {
        onlyCoreErrors(
          () => JSON.stringify(cmd),
          () => c.introspect(cmd),
        );
      }
      expectCoreStillWorks();
    });
  });
});

// ---- determinism -------------------------------------------------------------------------------

/** Requests from a small vocabulary: at most 7 keys per key/value section (no evictions). */
function vocabRequest(rng: Rng): HttpRequestFields {
  const headers: HeaderLine[] = [['Content-Type', 'application/json']];
  for (const name of ['Accept', 'Accept-Language', 'Cookie', 'X-Req']) {
    if (rng.bool(0.6)) headers.push([name, rng.from('abcdefgh0123456789-=;/ ', 12)]);
  }
  if (rng.bool(0.7)) headers.push(['User-Agent', rng.pick(['curl/8.5', 'Mozilla/5.0 (X11)', 'go-http/1.1'])]);
  const query = ['id', 'page', 'sort', 'q']
    .filter(() => rng.bool(0.5))
    .map((k) => `${k}=${encodeURIComponent(rng.from('abc123 -_', 8))}`)
    .join('&');
  const body: Record<string, unknown> = {};
  for (const k of ['name', 'age', 'tags', 'admin', 'note']) {
    if (!rng.bool(0.6)) continue;
    body[k] = rng.pick([rng.int(1000), rng.from('abcxyz ', 10), [rng.int(5), 'x'], rng.bool(), null]);
  }
  return {
    method: rng.pick(['GET', 'POST', 'PUT']),
    path: '/' + Array.from({ length: 1 + rng.int(4) }, () => rng.from('abcdef0123', 6)).join('/'),
    query,
    headers,
    remote: rng.pick(['8.8.4.4', '8.8.4.5', '9.9.9.9', '1.1.1.1']),
    body: JSON.stringify(body),
  };
}

function pileOf(reqs: HttpRequestFields[]): ReturnType<ReturnType<typeof core>['newPile']> {
  const c = core();
  const p = c.newPile();
  for (const req of reqs) {
    const s = c.newSession();
    s.profileRequest(req);
    s.profileResponse({ status: 200, headers: [['Content-Type', 'application/json']], body: req.body });
    p.add(s);
    s.dispose();
  }
  return p;
}

/**
 * Learn `groups` pile by pile as guard-service does (Guard's key caps: keys kept by name while a
 * table has room). Without caps the original's 7-key learning is order-dependent by design: a key
 * first seen with only empty values (score 0) goes straight to the catch-all, one first seen with a
 * value is kept (docs/compatibility.md) — so the order of piles may change what is learned.
 */
function learnFrom(groups: HttpRequestFields[][]): Guardian {
  const g = core().defaultGuardian();
  for (const group of groups) {
    const p = pileOf(group);
    g.learn(p, {});
    p.dispose();
  }
  return g;
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function decisions(g: Guardian, probes: HttpRequestFields[]): string[] {
  return probes.map((req) => decideOnce(g, req));
}

describe('determinism', () => {
  test('the same records learned twice by fresh Guardians give byte-identical toWire()', () => {
    withSeed(SEED + 5, 'same records twice', (rng) => {
      const records = Array.from({ length: 60 }, () => vocabRequest(rng));
      const a = learnFrom(chunk(records, 20));
      const b = learnFrom(chunk(records, 20));
      expect(b.toWire()).toBe(a.toWire());
      // and random (unrestricted) records too
      const wild = Array.from({ length: 200 }, () => randomRequest(rng)).filter((r) => {
        const s = core().newSession();
        try {
          s.profileRequest(r);
          return true;
        } catch {
          return false;
        } finally {
          s.dispose();
        }
      });
      const c = learnFrom(chunk(wild, 50));
      const d = learnFrom(chunk(wild, 50));
      expect(d.toWire()).toBe(c.toWire());
      for (const g of [a, b, c, d]) g.dispose();
    });
  });

  test('a different order of piles of the same records gives the same decisions', () => {
    withSeed(SEED + 6, 'pile order', (rng) => {
      const records = Array.from({ length: 60 }, () => vocabRequest(rng));
      const piles = chunk(records, 10);
      const forward = learnFrom(piles);
      const backward = learnFrom([...piles].reverse());
      const rotated = learnFrom([...piles.slice(3), ...piles.slice(0, 3)]);
      const oneByOne = learnFrom(records.map((r) => [r]));
      const probes = [...Array.from({ length: 80 }, () => vocabRequest(rng)), ...records.slice(0, 10), knownRequest(), knownRequest(true)];
      const expected = decisions(forward, probes);
      // the probes are not all trivially allowed nor all blocked
      expect(expected.some((d) => d.startsWith('0|'))).toBe(true);
      expect(expected.some((d) => !d.startsWith('0|'))).toBe(true);
      expect(decisions(backward, probes)).toEqual(expected);
      expect(decisions(rotated, probes)).toEqual(expected);
      expect(decisions(oneByOne, probes)).toEqual(expected);
      expect(backward.samples).toBe(forward.samples);
      for (const g of [forward, backward, rotated, oneByOne]) g.dispose();
    });
  });

  test('decisions do not depend on what the core did before', () => {
    withSeed(SEED + 7, 'history independence', (rng) => {
      const probes = Array.from({ length: 40 }, () => vocabRequest(rng));
      const first = decisions(known, probes);
      for (let i = 0; i < 300; i++) {
        const s = core().newSession();
        try {
          s.profileRequest(randomRequest(rng));
          s.decide(known, Section.All);
        } catch {
          // CoreErrors are fine here
        }
        s.dispose();
      }
      expect(decisions(known, probes)).toEqual(first);
    });
  });
});

// ---- memory -------------------------------------------------------------------------------------

describe('memory', () => {
  test('20,000 random requests profiled and disposed: handles back to start, memory bounded', () => {
    withSeed(SEED + 8, 'memory', (rng) => {
      const c = core();
      const exports = c.wasm.exports as unknown as { live_handles(): number; memory: WebAssembly.Memory };
      const start = exports.live_handles();
      const pile = c.newPile();
      for (let i = 0; i < 20_000; i++) {
        const req = randomRequest(rng);
        const s = c.newSession();
        try {
          s.profileRequest(req);
          if (i % 4 === 0) s.decide(known, Section.All);
          if (i % 10 === 0) pile.add(s);
        } catch (e) {
          if (!(e as { code?: string }).code) throw e;
        }
        s.dispose();
        if (i % 2000 === 1999) pile.clear();
      }
      pile.dispose();
      expect(exports.live_handles()).toBe(start);
      expect(exports.memory.buffer.byteLength).toBeLessThan(256 * 1024 * 1024);
      expectCoreStillWorks();
    });
  });

  test('distinct Hosts and multipart field names without end: piles stay capped, memory flat', () => {
    const c = core();
    const exports = c.wasm.exports as unknown as { memory: WebAssembly.Memory };
    const s = c.newSession();
    const pile = c.newPile();
    const round = (from: number) => {
      for (let i = from; i < from + 10_000; i++) {
        const form = `--b0undary\r\nContent-Disposition: form-data; name="f${i}"; filename="x"\r\nContent-Type: type/t${i}\r\n\r\nv\r\n--b0undary--`;
        s.profileRequest({
          method: 'POST',
          path: '/',
          headers: [['Host', `h${i}.example:${i % 65536}`], ['Content-Type', 'multipart/form-data; boundary=b0undary']],
          body: form,
        });
        pile.add(s);
        s.reset();
      }
    };
    round(0);
    const w = JSON.parse(pile.toWire());
    // A Set keeps at most 1,024 entries, a KeyVal pile 1,024 keys (assembly/model/set.ts, keyval.ts)
    expect(w.req.host.set.length).toBe(1024);
    expect(Object.keys(w.reqbody.structured.kv).length).toBe(1024);
    round(10_000);
    const after1 = exports.memory.buffer.byteLength;
    round(20_000);
    round(30_000);
    expect(exports.memory.buffer.byteLength).toBe(after1);
    pile.dispose();
    s.dispose();
    expectCoreStillWorks();
  });

  test('all handle kinds are released: parse/dispose cycles do not grow memory', () => {
    const c = core();
    const exports = c.wasm.exports as unknown as { live_handles(): number; memory: WebAssembly.Memory };
    const start = exports.live_handles();
    const syncText = syncExampleText();
    const cycle = () => {
      for (let i = 0; i < 500; i++) {
        const g = c.parseGuardian(knownWire);
        const sync = c.parseSyncRequest(syncText);
        g.learn(sync.pile!);
        const pod = c.profilePod({ tcp: '  sl  local_address rem_address   st\n' });
        pod.decide(g);
        sync.pile!.dispose();
        pod.dispose();
        g.dispose();
      }
    };
    cycle();
    const after1 = exports.memory.buffer.byteLength;
    cycle();
    cycle();
    expect(exports.live_handles()).toBe(start);
    expect(exports.memory.buffer.byteLength).toBe(after1);
  });
});

