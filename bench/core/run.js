// Core benchmarks (npm run bench:core): profile + decide of a GET and of a JSON POST against a
// learned Guardian, and learning a Guardian from a 1000-session pile, each with the floors they are
// compared against (JSON.parse of the body, the bare copy of the request into wasm) measured in the
// same process and run. Reports medians, writes the table into docs/performance.md, and checks that
// 1e5 profile + decide cycles leave no live handles and no unbounded memory growth behind.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { loadCore, Section } from '../../build/js/core/index.js';
import { random, getRequest, postRequest, mixedPile as mixedPileOf } from './traffic.js';
import { exchangeCases, interleaved } from './exchange.js';
import { routeTableCase } from '../routes/decide-cost.js';

const DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));
const START = '<!-- bench:core:start -->';
const END = '<!-- bench:core:end -->';
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const README_START = '<!-- readme:perf:start -->';
const README_END = '<!-- readme:perf:end -->';
const PILE_SIZE = 1000;
const LEAK_ROUNDS = 2;
const LEAK_ITERATIONS = 100_000;
const REQ = Section.Req | Section.ReqBody;

const core = loadCore();
const exports = core.wasm.exports;

/**
 * A Guardian learned (control.auto on) from PILE_SIZE requests of one generator, via the wire, as
 * guard-service learns it (default caps, route table).
 */
function learnedGuardian(make, seed) {
  const rnd = random(seed);
  const pile = core.newPile();
  for (let i = 0; i < PILE_SIZE; i++) {
    const s = core.newSession();
    s.profileRequest(make(rnd));
    pile.add(s);
    s.dispose();
  }
  const wire = core.parsePile(pile.toWire());
  pile.dispose();
  const guardian = core.defaultGuardian();
  guardian.learn(wire, {});
  wire.dispose();
  return guardian;
}

/** The realistic mix of PILE_SIZE full exchanges (request, response, envelope) as one pile. */
function mixedPile(seed) {
  return mixedPileOf(core, seed, PILE_SIZE);
}

/** Decide one request and return the decision string ("" = allowed), for the report. */
function decisionOf(guardian, req) {
  const s = core.newSession();
  s.profileRequest(req);
  s.decide(guardian, REQ);
  const d = s.decisionString();
  s.dispose();
  return d;
}

const getGuardian = learnedGuardian(getRequest, 1);
const postGuardian = learnedGuardian(postRequest, 2);
const getReq = getRequest(random(101));
const postReq = postRequest(random(102));
const body = /** @type {string} */ (postReq.body);
const bodyCopy = 'x'.repeat(body.length);
const pile = mixedPile(3);
const pileWire = pile.toWire();

const reused = core.newSession();

/** The gate's pattern: one session per connection slot, reset between exchanges. */
function profileDecideReused(guardian, req) {
  reused.reset();
  reused.profileRequest(req);
  return reused.decide(guardian, REQ);
}

function profileDecide(guardian, req) {
  const s = core.newSession();
  s.profileRequest(req);
  const r = s.decide(guardian, REQ);
  s.dispose();
  return r;
}

// ---- leak check ------------------------------------------------------------------------------

function leakCheck() {
  const handles = [exports.live_handles()];
  const memory = [exports.memory.buffer.byteLength];
  for (let round = 0; round < LEAK_ROUNDS; round++) {
    for (let i = 0; i < LEAK_ITERATIONS; i++) profileDecide(getGuardian, getReq);
    handles.push(exports.live_handles());
    memory.push(exports.memory.buffer.byteLength);
  }
  return { handles, memory, ok: handles.every((h) => h === handles[0]) && memory[LEAK_ROUNDS] === memory[1] };
}

// ---- benchmarks ------------------------------------------------------------------------------

let sink = 0;
const exchange = exchangeCases(core);
// The same Guardian without its route table (learned with routes 0), for the route table's cost.
const noRoutes = exchangeCases(core, { routes: 0 });
const mixRoutes = Object.keys(JSON.parse(exchange.guardian.toWire()).learned.routes ?? {}).length;
const CASES = [
  { id: 'a', name: '(a) GET, 10 headers, 4 query params: profile + decide', budgetUs: 5, fn: () => { sink ^= profileDecide(getGuardian, getReq); } },
  { id: 'b', name: '(b) POST, 1 KB JSON body: profile + decide', budgetUs: 20, fn: () => { sink ^= profileDecide(postGuardian, postReq); } },
  { id: 'a2', name: '(a) the same, session reused (reset) as the gate does', budgetUs: 5, fn: () => { sink ^= profileDecideReused(getGuardian, getReq); } },
  { id: 'b2', name: '(b) the same, session reused (reset) as the gate does', budgetUs: 20, fn: () => { sink ^= profileDecideReused(postGuardian, postReq); } },
  { id: 'c', name: `(c) learn a Guardian from ${PILE_SIZE} mixed sessions`, budgetUs: 50_000, maxTime: 4, fn: () => {
    const g = core.defaultGuardian();
    g.learn(pile, {});
    g.dispose();
  } },
  exchange.cases.d,
  exchange.cases.d2,
  { id: 'parse', name: 'floor: JSON.parse of the 1 KB body', fn: () => { sink ^= JSON.parse(body).items.length; } },
  { id: 'stringifyGet', name: 'floor: JSON.stringify of the GET request object', fn: () => { sink ^= JSON.stringify(getReq).length; } },
  { id: 'copyGet', name: 'floor: copy the GET record into wasm (writeRequest)', fn: () => { sink ^= core.writeRequest(getReq); } },
  { id: 'copyPost', name: 'floor: copy the POST record into wasm (writeRequest)', fn: () => { sink ^= core.writeRequest(postReq); } },
  { id: 'copyStr', name: 'floor: writeInputString of a 1 KB string', fn: () => { sink ^= core.wasm.writeInputString(bodyCopy); } },
  { id: 'parsePile', name: `floor: JSON.parse of the pile's wire JSON (${(pileWire.length / 1024).toFixed(0)} KB)`, maxTime: 2, fn: () => { sink ^= JSON.parse(pileWire) ? 1 : 0; } },
];

/** Where an op's time goes: each stage timed alone on the GET and the POST. */
function stageCases(tag, guardian, req) {
  const profiled = core.newSession();
  profiled.profileRequest(req);
  return [
    { id: `${tag}-session`, name: `${tag}: newSession + dispose`, fn: () => { core.newSession().dispose(); } },
    { id: `${tag}-profile`, name: `${tag}: newSession + profileRequest + dispose`, fn: () => {
      const s = core.newSession();
      s.profileRequest(req);
      s.dispose();
    } },
    { id: `${tag}-decide`, name: `${tag}: decide on a profiled session`, fn: () => { sink ^= profiled.decide(guardian, REQ); } },
  ];
}
const STAGES = [...stageCases('GET', getGuardian, getReq), ...stageCases('POST', postGuardian, postReq), ...exchange.stages];

function median(sample) {
  const s = [...sample].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function measure(c, maxTime) {
  const bench = new Benchmark(c.name, c.fn, { maxTime: c.maxTime ?? maxTime, minSamples: 10 });
  bench.run();
  if (bench.error) throw bench.error;
  const us = median(bench.stats.sample) * 1e6;
  process.stdout.write(`  ${c.name}: ${fmt(us)} (${bench.stats.sample.length} samples, ±${bench.stats.rme.toFixed(1)}%)\n`);
  return { ...c, us, samples: bench.stats.sample.length, rme: bench.stats.rme };
}

/** A duration in µs as text with its unit, to three significant digits. */
function fmt(us) {
  if (us >= 1000) return `${+(us / 1000).toPrecision(3)} ms`;
  return `${+us.toPrecision(3)} µs`;
}

const ratio = (x, y) => `${(x.us / y.us).toFixed(1)}× ${y.label}`;

// ---- run ---------------------------------------------------------------------------------------

const started = Date.now();
const decisions = { get: decisionOf(getGuardian, getReq), post: decisionOf(postGuardian, postReq) };
console.log(`decision of the benchmarked GET: ${decisions.get || '(allowed)'}; POST: ${decisions.post || '(allowed)'}`);
console.log(`leak check: ${LEAK_ROUNDS} × ${LEAK_ITERATIONS} iterations of (a)`);
const leaks = leakCheck();
console.log(`  live_handles ${leaks.handles.join(' → ')}; memory ${leaks.memory.map((b) => `${(b / 1048576).toFixed(1)} MiB`).join(' → ')}`);
console.log('benchmarks:');
const r = Object.fromEntries(CASES.map((c) => [c.id, measure(c, 2.5)]));
console.log('stages:');
const st = Object.fromEntries(STAGES.map((c) => [c.id, measure(c, 1)]));
console.log('route table, with against without, interleaved:');
// Route tables of realistic size: the generated corpus's 10 endpoints (docs/routes.md), and the
// same endpoints under 10 path prefixes (100 routes), each against itself learned without one; and
// the 100-route table deciding requests of 10 of its routes (what the number of routes in use costs).
// Built here, after the other cases and the leak check, so that their Guardians and sessions do not
// change what those measure.
const corpusTables = [routeTableCase(core, 1), routeTableCase(core, 10), routeTableCase(core, 10, 1)];
const routeCost = {
  decide: interleaved(noRoutes.decideRequest, exchange.decideRequest, 200, 5),
  exchange: interleaved(noRoutes.cases.d.fn, exchange.cases.d.fn, 200, 5),
  corpus: corpusTables.map((t) => interleaved(t.without, t.with, 200, 5)),
};
const quartiles = (x) => {
  const s = [...x.ratios].sort((p, q) => p - q);
  return `${s[s.length >> 2].toFixed(3)}–${s[(3 * s.length) >> 2].toFixed(3)}`;
};
const costLine = (what, x) => `${what}: ${fmt(x.b)} with, ${fmt(x.a)} without — ratio ${x.ratio.toFixed(3)} (median of ${x.ratios.length} slice pairs; quartiles ${quartiles(x)})${x.ratio <= 1.1 ? '' : ' **over 1.10**'}`;
const routeLines = [
  costLine('decide(Req|ReqBody) of (d)\'s requests on profiled sessions', routeCost.decide),
  costLine('the whole exchange (d)', routeCost.exchange),
  ...corpusTables.map((t, i) => costLine(`decide(Req|ReqBody) of the route corpus's normal requests, ${t.routes} routes learned${t.inUse < t.sections ? `, requests of the routes under ${t.inUse} of its ${t.sections} prefixes only` : ''} (${t.sessions} requests cycled)`, routeCost.corpus[i])),
];
for (const l of routeLines) console.log(`  ${l}`);

r.parse.label = 'JSON.parse';
r.copyGet.label = 'copy';
r.copyPost.label = 'copy';
r.parsePile.label = 'JSON.parse of the pile';
r.stringifyGet.label = 'JSON.stringify';

const rows = [
  [r.a, `${ratio(r.a, r.copyGet)}, ${ratio(r.a, r.stringifyGet)}`],
  [r.a2, `${ratio(r.a2, r.copyGet)}, ${ratio(r.a2, r.stringifyGet)}`],
  [r.b, `${ratio(r.b, r.copyPost)}, ${ratio(r.b, r.parse)}`],
  [r.b2, `${ratio(r.b2, r.copyPost)}, ${ratio(r.b2, r.parse)}`],
  [r.c, ratio(r.c, r.parsePile)],
  [r.d, ''],
  [r.d2, ''],
  [r.parse, ''],
  [r.stringifyGet, ''],
  [r.copyGet, ''],
  [r.copyPost, ''],
  [r.copyStr, ''],
  [r.parsePile, ''],
];
const share = (x, of) => `${Math.round((100 * x.us) / of.us)}% of (${of.id})`;
const stageOf = (id) => (id.startsWith('GET') ? r.a : id.startsWith('POST') ? r.b : r.d);
const stageRows = STAGES.map((c) => [st[c.id], share(st[c.id], stageOf(c.id))]);

const cpu = os.cpus();
const machine = `${cpu[0].model.trim()}, ${cpu.length} cores, ${os.type()} ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`;

function table(list, ratioHead = 'Ratio to floor') {
  const lines = [`| Case | Median | Samples | ${ratioHead} | Budget | Result |`, '| --- | ---: | ---: | --- | ---: | --- |'];
  for (const [x, rat] of list) {
    const budget = x.budgetUs === undefined ? '' : `≤ ${fmt(x.budgetUs)}`;
    const result = x.budgetUs === undefined ? '' : x.us <= x.budgetUs ? 'pass' : '**FAIL**';
    lines.push(`| ${x.name.replaceAll('|', '\\|')} | ${fmt(x.us)} | ${x.samples} | ${rat} | ${budget} | ${result} |`);
  }
  return lines.join('\n');
}

const leakLine =
  `Leak check (${LEAK_ROUNDS} × ${LEAK_ITERATIONS.toLocaleString('en')} iterations of (a)): ` +
  `live_handles ${leaks.handles.join(' → ')}; wasm memory ` +
  `${leaks.memory.map((b) => `${(b / 1048576).toFixed(1)} MiB`).join(' → ')} — ${leaks.ok ? 'no leak' : '**LEAK?**'}.`;

const section = [
  START,
  `Machine: ${machine}.`,
  '',
  table(rows),
  '',
  'Where the time of (a), (b) and (d) goes, each stage alone:',
  '',
  table(stageRows, 'Share'),
  '',
  leakLine,
  '',
  `Route table (docs/routes.md): (d)'s Guardian is learned as guard-service learns, with its route table (${mixRoutes} routes); and, for tables of realistic size, Guardians learned the same way from bench/routes/corpus.js's 20,000 training requests — its 10 endpoints, and the same endpoints under 10 path prefixes (\`/shop/books/{id}\`, …), the latter also deciding requests of only the first prefix's 10 routes — deciding fresh normal requests of the corpus that both allow, on profiled sessions. Each against the same Guardian learned without a route table (caps routes 0), measured in 200 interleaved pairs of 5 ms slices in the same process (A B, B A, …; median of the pair ratios, quartiles beside it; budget ≤ 1.10):`,
  '',
  ...routeLines.map((l) => `* ${l}`),
  '',
  `Decision of the benchmarked requests against their learned Guardians: GET ${decisions.get ? `\`${decisions.get}\`` : 'allowed'}, POST ${decisions.post ? `\`${decisions.post}\`` : 'allowed'}.`,
  END,
].join('\n');

console.log(`\n${machine}\n\n${table(rows)}\n\n${table(stageRows, 'Share')}\n\n${leakLine}`);
writeDoc(section);
writeBlock(README, README_START, README_END, [
  README_START,
  `Core, on ${machine} (\`npm run bench:core\`):`,
  '',
  table(rows.slice(0, 5)),
  README_END,
].join('\n'));
console.log(`\nwrote ${DOC} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (sink === 0.5 || exchange.sink() === 0.5 || corpusTables.some((t) => t.sink() === 0.5)) console.log(sink); // keep the results observable

/** Replace the text between two markers of a file that has them. */
function writeBlock(file, start, end, block) {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b <= a) return;
  writeFileSync(file, text.slice(0, a) + block + text.slice(b + end.length));
}

function writeDoc(block) {
  const intro = [
    '# Performance',
    '',
    'Benchmarks of the Guard core, measured through the host API (build/js/core) as the gate uses it.',
    '',
    '## Method',
    '',
    '* Every case and its floor run in the same process and the same run, with benchmark.js',
    '  (1–5 s per case); the figure is the median of its samples (each sample a mean over many ops).',
    '* Ratios compare a case with the cheapest thing it cannot avoid: the bare copy of the request',
    '  record into wasm memory (`core.writeRequest`, no profiling) and `JSON.parse` of the same body.',
    '* (a) and (b) decide against a Guardian learned from 1000 requests of the same shape (learned',
    '  criteria, control.auto on); (c) learns a fresh default Guardian from a 1000-session pile of a mix',
    '  of item GETs, searches, HTML pages and JSON cart POSTs with their responses. All of them learn as',
    '  guard-service does: with the default key caps and a route table (docs/routes.md).',
    '* (d) runs the gate\'s whole sequence of core calls for one exchange on a reused session — reset,',
    '  profileRequest, decide(Req|ReqBody), profileResponse, decide(Resp|RespBody), profileEnvelop,',
    '  decide(Envelop), decide(0), pile.add — cycling through the 16 requests of bench:gate\'s mix with',
    '  the answers of its backend, against a Guardian learned from them with block on (all allowed);',
    '  the second (d) row ends with `Session.finish` instead of the last four calls.',
    '* The stage table times each part of (a), (b) and (d) alone; the leak check runs 2 × 100,000 ops of (a)',
    '  and compares the core\'s live handle count and wasm memory size before and after.',
    '* Absolute figures depend on the machine and its load at the time; the ratios compare better',
    '  across machines.',
    '* Rerun with `npm run bench:core`: it builds, runs (about a minute) and rewrites the block below.',
    '',
    '## Core',
    '',
    '',
  ].join('\n');
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : `${intro}${START}\n${END}\n`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, out);
}
