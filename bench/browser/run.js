// The browser-traffic benchmark (npm run bench:browser, docs/tokens.md): a sample web app with
// sessions, CSRF tokens, ETags and static assets (app.js); sessions of headless Chromium and of a
// generator (traffic.js). Guardians are learned from 10, 40 and 100 sessions as `guard learn` learns
// (piles through their wire form, default caps) and decide fresh sessions as `guard check` does:
// the share of refused requests and of sessions with any refusal. Beside it, the same Guardians'
// detection of injected payloads (SQL injection, XSS, traversal in a cookie, a header, the query
// and the body). The baseline is the same Guardian without Guard's token and cookie rules — what
// the core before them learned and decided, and what the original reads (--baseline-wasm FILE
// decides the baseline with another build of the core instead, e.g. main's). The Chromium
// training sessions are also recorded as HAR files; Guardians learned from them by `guard learn
// --in a.har --in b.har …` (bin/guard.js, as a user runs it) decide the same fresh Chromium
// sessions. Rewrites the block in docs/tokens.md.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createCore, DEFAULT_LEARNING_CAPS, loadCore } from '../../build/js/core/index.js';
import { decideRecord } from '../../build/js/cli/decide-record.js';
import { toRequestFields, toResponseFields, toTrafficRecord } from '../../build/js/cli/traffic-record.js';
import { startApp } from './app.js';
import { chromiumSessions, generatedSessions } from './traffic.js';

const { values: args } = parseArgs({
  options: {
    'baseline-wasm': { type: 'string' },
    train: { type: 'string', default: '100' },
    'test-chromium': { type: 'string', default: '30' },
    'test-generated': { type: 'string', default: '100' },
    'no-write': { type: 'boolean', default: false },
    // Keep the training sessions' HAR files in this directory (default: a temporary one, removed).
    'har-dir': { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(ROOT, 'docs/tokens.md');
const START = '<!-- bench:browser:start -->';
const END = '<!-- bench:browser:end -->';
const POLICY = { maxBody: 1024 * 1024 };
const PILE = 1000;
const TRAIN = Number(args.train);
const STEPS = [10, 40, 100].filter((n) => n <= TRAIN);

const core = loadCore();
const baselineCore = args['baseline-wasm'] ? createCore(readFileSync(args['baseline-wasm'])) : core;

// ---- traffic ---------------------------------------------------------------------------------------

const harDir = args['har-dir'] ?? mkdtempSync(join(tmpdir(), 'guard-bench-har-'));
mkdirSync(harDir, { recursive: true });
const app = await startApp();
const t0 = Date.now();
await chromiumSessions(app, TRAIN, 'chromium-train-', { harDir });
await chromiumSessions(app, Number(args['test-chromium']), 'chromium-test-');
const chromiumSeconds = (Date.now() - t0) / 1000;
await generatedSessions(app, TRAIN, 'generated-train-');
await generatedSessions(app, Number(args['test-generated']), 'generated-test-');
await app.close();

/** Sessions of one prefix, in order: [[record…]…]. */
function sessions(prefix) {
  const by = new Map();
  for (const r of app.records) {
    if (!r.label.startsWith(prefix)) continue;
    const n = Number(r.label.slice(prefix.length));
    if (!by.has(n)) by.set(n, []);
    by.get(n).push(toTrafficRecord(r));
  }
  return [...by.keys()].sort((a, b) => a - b).map((k) => by.get(k));
}

// ---- learning and deciding -------------------------------------------------------------------------

/** A Guardian learned from these sessions as `guard learn` does. */
function learn(sessionList) {
  const g = core.defaultGuardian();
  const pile = core.newPile();
  const flush = () => {
    const wire = core.parsePile(pile.toWire());
    g.learn(wire, DEFAULT_LEARNING_CAPS);
    wire.dispose();
    pile.clear();
  };
  for (const record of sessionList.flat()) {
    const s = core.newSession();
    s.profileRequest(toRequestFields(record, POLICY));
    if (record.response) s.profileResponse(toResponseFields(record.response, POLICY));
    pile.add(s);
    s.dispose();
    if (pile.count === PILE) flush();
  }
  if (pile.count > 0) flush();
  pile.dispose();
  return g;
}

/** The spec without Guard's token and cookie rules (members of SimpleVal configs). */
function withoutTokens(value) {
  if (Array.isArray(value)) return value.map(withoutTokens);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  const simpleVal = 'schars' in value && 'digits' in value;
  for (const [k, v] of Object.entries(value)) if (!(simpleVal && (k === 'token' || k === 'cookies'))) out[k] = withoutTokens(v);
  return out;
}

function variants(g) {
  const spec = JSON.parse(g.toWire());
  return { guard: g, baseline: baselineCore.parseGuardian(withoutTokens(spec)) };
}

function decideSessions(c, g, sessionList) {
  let requests = 0;
  let refused = 0;
  let badSessions = 0;
  const reasons = new Map();
  // Refused requests by method and path (digits as N), e.g. "GET /favicon.ico".
  const paths = new Map();
  for (const list of sessionList) {
    let any = false;
    for (const record of list) {
      const d = decideRecord(c, g, record, POLICY);
      requests++;
      if (!d.allowed) {
        refused++;
        any = true;
        const key = d.decision.replace(/\d+/g, 'N').slice(0, 160);
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
        const path = `${record.method} ${record.path.replace(/\d+/g, 'N')}`;
        paths.set(path, (paths.get(path) ?? 0) + 1);
      }
    }
    if (any) badSessions++;
  }
  return { requests, refused, sessions: sessionList.length, badSessions, reasons, paths };
}

/**
 * When the learned rules become ready (readiness.ts) if the sessions arrive in piles of `per`
 * sessions (a gate syncing every few sessions): the sessions and requests learned by then.
 */
function readinessPoint(sessionList, per) {
  const g = core.defaultGuardian();
  let requests = 0;
  try {
    for (let i = 0; i < sessionList.length; i += per) {
      const part = sessionList.slice(i, i + per);
      const pile = core.newPile();
      for (const record of part.flat()) {
        const s = core.newSession();
        s.profileRequest(toRequestFields(record, POLICY));
        if (record.response) s.profileResponse(toResponseFields(record.response, POLICY));
        pile.add(s);
        s.dispose();
      }
      const wire = core.parsePile(pile.toWire());
      g.learn(wire, DEFAULT_LEARNING_CAPS);
      wire.dispose();
      pile.dispose();
      requests += part.flat().length;
      if (g.readiness?.ready) return { sessions: Math.min(i + per, sessionList.length), requests };
    }
    return null;
  } finally {
    g.dispose();
  }
}

/**
 * A Guardian learned from the first `n` Chromium training sessions' HAR files as a user learns one:
 * `guard learn --in a.har --in b.har …` through bin/guard.js. With its run's counters (the
 * GUARD_CLI_STATS line: records read, favicons and preflights it added included).
 */
async function learnFromHar(n) {
  const files = Array.from({ length: n }, (_, i) => join(harDir, `chromium-train-${i}.har`));
  const out = join(harDir, `guardian-${n}.json`);
  const argv = [join(ROOT, 'bin/guard.js'), 'learn', ...files.flatMap((f) => ['--in', f]), '--out', out];
  const { stderr } = await promisify(execFile)(process.execPath, argv, { env: { ...process.env, GUARD_CLI_STATS: '1' }, maxBuffer: 16 << 20 });
  const statsLine = stderr.split('\n').find((l) => l.startsWith('{"guardCliStats"'));
  const stats = statsLine ? JSON.parse(statsLine).guardCliStats : {};
  const entries = files.reduce((sum, f) => sum + JSON.parse(readFileSync(f, 'utf8')).log.entries.length, 0);
  return { guardian: core.parseGuardian(readFileSync(out, 'utf8')), entries, stats };
}

// ---- attacks ---------------------------------------------------------------------------------------

const PAYLOADS = {
  'SQL injection': ["' OR '1'='1", "1' UNION SELECT password FROM users--", '1; DROP TABLE users', "admin'--", '1 AND SLEEP(5)'],
  XSS: ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(document.cookie)', '<svg/onload=alert(1)>'],
  traversal: ['../../../../etc/passwd', '..%2f..%2f..%2fetc%2fpasswd', '....//....//etc/passwd', '..\\..\\windows\\win.ini'],
};

const setHeader = (r, name, f) => ({ ...r, headers: r.headers.map(([k, v]) => [k, k.toLowerCase() === name ? f(v) : v]) });
const PLACES = {
  cookie: { pick: (r) => r.headers.some(([k]) => k.toLowerCase() === 'cookie'), inject: (r, p) => setHeader(r, 'cookie', (v) => v.replace(/sid=[^;]*/, `sid=${p}`)) },
  header: { pick: (r) => r.path === '/api/items', inject: (r, p) => setHeader(r, 'x-request-id', () => p) },
  query: { pick: (r) => r.path === '/api/items', inject: (r, p) => ({ ...r, query: `page=${encodeURIComponent(p)}` }) },
  body: { pick: (r) => r.method === 'POST' && r.path === '/cart', inject: (r, p) => ({ ...r, body: r.body.replace(/qty=[^&]*/, `qty=${encodeURIComponent(p)}`) }) },
};

/** Injected requests (request only: the attack is in the request) built from test sessions. */
function attacks(sessionList) {
  const out = [];
  const records = sessionList.flat();
  for (const [place, { pick, inject }] of Object.entries(PLACES)) {
    const base = records.filter(pick).slice(0, 5);
    for (const [kind, list] of Object.entries(PAYLOADS)) {
      for (const p of list) for (const r of base) out.push({ place, kind, record: { ...inject(r, p), response: undefined } });
    }
  }
  return out;
}

function detection(c, g, list) {
  const by = {};
  let caught = 0;
  for (const a of list) {
    const d = decideRecord(c, g, a.record, POLICY);
    for (const key of [a.place, a.kind]) {
      const e = (by[key] ??= { n: 0, caught: 0 });
      e.n++;
      if (!d.allowed) e.caught++;
    }
    if (!d.allowed) caught++;
  }
  return { n: list.length, caught, by };
}

// ---- behind an ingress ------------------------------------------------------------------------------
//
// In a cluster the gate's peer is the ingress, which names the browser in X-Forwarded-For. Learned
// from IPv4 clients only (a quiet learning week), the fresh sessions come, in turn, from an IPv6
// client, from an IPv4 client behind a proxy of its own (two addresses in the list), and from a new
// IPv4 client: the header's counts refuse the first two; its address-list rule (docs/tokens.md) not.

const int = (n) => Math.floor(Math.random() * n);
const ipv4 = () => `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`;
const ipv6 = () => `2001:db8:${int(0x10000).toString(16)}::${int(0x10000).toString(16)}`;
const INGRESS_CLIENTS = {
  ipv6: ipv6,
  'behind a proxy': () => `${ipv4()}, ${ipv4()}`,
  ipv4: ipv4,
};

/** Each session's records with the X-Forwarded-For line an ingress adds for that session's client. */
function behindIngress(sessionList, clientOf) {
  return sessionList.map((list, i) => {
    const client = clientOf(i);
    // The gate's peer is the ingress pod, which it appends to the line: `client, ingress`.
    return list.map((r) => ({ ...r, remote: '10.0.3.17', headers: [...r.headers, ['X-Forwarded-For', client]] }));
  });
}

// ---- the run ---------------------------------------------------------------------------------------

const pct = (a, b) => (b === 0 ? '–' : `${((100 * a) / b).toFixed(a === 0 || a === b ? 0 : 1)} %`);
const rows = [];
const detectionRows = [];
const topReasons = [];
const readinessRows = [];
const readyAt = [];
for (const source of ['chromium', 'generated']) {
  const train = sessions(`${source}-train-`);
  const test = sessions(`${source}-test-`);
  const injected = attacks(test);
  for (const n of STEPS) {
    const g = learn(train.slice(0, n));
    const v = variants(g);
    for (const [name, guardian] of Object.entries(v)) {
      const c = name === 'baseline' ? baselineCore : core;
      const r = decideSessions(c, guardian, test);
      const det = detection(c, guardian, injected);
      rows.push({ source, n, name, r, det, testRequests: r.requests });
      if ((name === 'baseline' && n === 40) || (name === 'guard' && r.refused > 0)) {
        topReasons.push({ source, n, name, reasons: [...r.reasons].sort((a, b) => b[1] - a[1]).slice(0, 4) });
      }
      if (n === STEPS[STEPS.length - 1]) detectionRows.push({ source, name, det });
    }
    readinessRows.push({ source, n, readiness: g.readiness });
    v.baseline.dispose();
    g.dispose();
  }
  const point = readinessPoint(train, 5);
  readyAt.push({ source, point });
}

// Chromium behind an ingress: learned from IPv4 clients, fresh sessions from new clients of each kind.
const ingressRows = [];
{
  const kinds = Object.entries(INGRESS_CLIENTS);
  const train = behindIngress(sessions('chromium-train-'), () => ipv4());
  const test = behindIngress(sessions('chromium-test-'), (i) => kinds[i % kinds.length][1]());
  const byKind = (i) => kinds[i % kinds.length][0];
  const g = learn(train.slice(0, STEPS[STEPS.length - 1]));
  const v = variants(g);
  for (const [name, guardian] of Object.entries(v)) {
    const c = name === 'baseline' ? baselineCore : core;
    const r = decideSessions(c, guardian, test);
    const det = detection(c, guardian, attacks(test));
    const refusedByKind = {};
    test.forEach((list, i) => {
      const kind = byKind(i);
      const e = (refusedByKind[kind] ??= { sessions: 0, refused: 0 });
      e.sessions++;
      if (list.some((record) => !decideRecord(c, guardian, record, POLICY).allowed)) e.refused++;
    });
    ingressRows.push({ name, r, det, refusedByKind });
  }
  v.baseline.dispose();
  g.dispose();
}

// The same fresh Chromium sessions, decided by Guardians learned from the training sessions' HAR files.
const harRows = [];
{
  const test = sessions('chromium-test-');
  const injected = attacks(test);
  const count = (pred) => test.flat().filter(pred).length;
  const favicons = count((r) => r.path === '/favicon.ico');
  const preflights = count((r) => r.method === 'OPTIONS');
  for (const n of STEPS) {
    const { guardian, entries, stats } = await learnFromHar(n);
    const r = decideSessions(core, guardian, test);
    const det = detection(core, guardian, injected);
    harRows.push({ n, r, det, entries, stats, favicons, preflights, readiness: guardian.readiness });
    guardian.dispose();
  }
}
if (args['har-dir'] === undefined) rmSync(harDir, { recursive: true, force: true });

const label = (name) => (name === 'guard' ? 'token kinds and cookies by name' : 'without them (the core before)');
const lines = [];
const trainRequests = (source) => sessions(`${source}-train-`).flat().length;
const testInfo = (source) => {
  const t = sessions(`${source}-test-`);
  return `${t.length} fresh sessions, ${t.flat().length} requests`;
};
lines.push(
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0].model.trim()}, Node ${process.version}. ` +
    `Chromium: ${TRAIN} training sessions (${trainRequests('chromium')} requests), ${testInfo('chromium')}; ` +
    `generator: ${TRAIN} training sessions (${trainRequests('generated')} requests), ${testInfo('generated')}. ` +
    `Chromium traffic took ${chromiumSeconds.toFixed(0)} s. Baseline core: ${args['baseline-wasm'] ? args['baseline-wasm'] : 'this build, Guardian without token and cookie rules'}.`,
  '',
  '| traffic | learned sessions | Guardian | refused requests | sessions with a refusal | attacks detected |',
  '| --- | ---: | --- | ---: | ---: | ---: |',
);
const row = (source, n, name, r, det) =>
  `| ${source} | ${n} | ${label(name)} | ${pct(r.refused, r.requests)} (${r.refused}) | ${pct(r.badSessions, r.sessions)} (${r.badSessions} of ${r.sessions}) | ${pct(det.caught, det.n)} (${det.caught} of ${det.n}) |`;
for (const { source, n, name, r, det } of rows.filter((x) => x.source === 'chromium')) lines.push(row(source, n, name, r, det));
for (const { n, r, det } of harRows) lines.push(row('chromium, learned from its HAR files', n, 'guard', r, det));
for (const { source, n, name, r, det } of rows.filter((x) => x.source !== 'chromium')) lines.push(row(source, n, name, r, det));
lines.push('', `Attack detection by place and kind, Guardians learned from ${STEPS[STEPS.length - 1]} sessions:`, '');
const keys = [...Object.keys(PLACES), ...Object.keys(PAYLOADS)];
lines.push(`| traffic | Guardian | ${keys.join(' | ')} |`, `| --- | --- | ${keys.map(() => '---:').join(' | ')} |`);
for (const { source, name, det } of detectionRows) lines.push(`| ${source} | ${label(name)} | ${keys.map((k) => pct(det.by[k].caught, det.by[k].n)).join(' | ')} |`);
lines.push(
  '',
  `Chromium behind an ingress (\`X-Forwarded-For\` names the browser, the gate appends the ingress), learned from ${STEPS[STEPS.length - 1]} sessions of IPv4 clients; the fresh sessions come in turn from an IPv6 client, an IPv4 client behind a proxy of its own, and a new IPv4 client:`,
  '',
  '| Guardian | refused requests | sessions with a refusal | of them IPv6 / behind a proxy / new IPv4 | attacks detected |',
  '| --- | ---: | ---: | --- | ---: |',
);
for (const { name, r, det, refusedByKind } of ingressRows) {
  const split = Object.keys(INGRESS_CLIENTS).map((k) => `${refusedByKind[k].refused} of ${refusedByKind[k].sessions}`).join(' / ');
  lines.push(`| ${label(name)} | ${pct(r.refused, r.requests)} (${r.refused}) | ${pct(r.badSessions, r.sessions)} (${r.badSessions} of ${r.sessions}) | ${split} | ${pct(det.caught, det.n)} (${det.caught} of ${det.n}) |`);
}
lines.push('', 'Learned from HAR files (`guard learn --in …har`; playwright-core\'s recorder, content embedded), deciding the fresh Chromium sessions:', '');
for (const { n, r, entries, stats, favicons, preflights, readiness } of harRows) {
  const refusedWhere = (pred) => [...r.paths].filter(([k]) => pred(k)).reduce((sum, [, c]) => sum + c, 0);
  const omitted = `${refusedWhere((k) => k === 'GET /favicon.ico')} of ${favicons} \`/favicon.ico\`, ${refusedWhere((k) => k.startsWith('OPTIONS '))} of ${preflights} preflights (\`OPTIONS\`)`;
  lines.push(
    `* ${n} HAR files, ${entries} entries; \`guard learn\` learned ${stats.learned ?? '–'} records (${(stats.learned ?? entries) - entries} added), ${stats.errors ?? '–'} skipped, ` +
      `rules ${readiness?.ready ? 'ready' : 'not ready'}; refused: ${r.refused} requests, of them ${omitted}`,
  );
  const byPath = [...r.paths].sort((a, b) => b[1] - a[1]).slice(0, 4);
  if (byPath.length > 0) lines.push(`  * refused requests by path: ${byPath.map(([k, c]) => `\`${k}\` ${c}×`).join(', ')}`);
  for (const [k, c] of [...r.reasons].sort((a, b) => b[1] - a[1]).slice(0, 4)) lines.push(`  * ${c}×: \`${k}\``);
}
lines.push('', 'Readiness (guard learn: piles of 1000 requests):', '');
for (const { source, n, readiness } of readinessRows) {
  lines.push(`* ${source}, ${n} sessions: ${readiness?.ready ? 'ready' : 'not ready'}, ${readiness?.stable ?? '–'} samples since the rules last widened`);
}
for (const { source, point } of readyAt) {
  lines.push(`* ${source}, learned 5 sessions at a time (a gate syncing often): ${point ? `ready after ${point.sessions} sessions (${point.requests} requests)` : `not ready after ${TRAIN} sessions`}`);
}
lines.push('', 'Most frequent refusals of the baseline after 40 sessions, and every refusal left with token kinds (digits as N):', '');
for (const { source, n, name, reasons } of topReasons) {
  for (const [k, c] of reasons) lines.push(`* ${source}, ${n} sessions, ${name === 'guard' ? 'token kinds' : 'baseline'}, ${c}×: \`${k}\``);
}

const block = lines.join('\n');
console.log(block);
if (!args['no-write']) {
  const doc = readFileSync(DOC, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`${DOC} has no ${START} … ${END} block`);
  writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n${block}\n${doc.slice(b)}`);
  console.log(`\nwritten into ${DOC}`);
}
