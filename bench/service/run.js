// guard-service load benchmark (npm run bench:service): 100 simulated gates of 50 services post
// piles of 1000 sessions of the realistic mix to POST /sync of an in-process guard-service (file
// store in a temp dir, auth off) over keep-alive undici connections with bounded concurrency, for
// a fixed time. Reports syncs per second, p50/p99 latency and memory held per service, against
// floors measured in the same run: the core's parsePile + merge of one such pile without HTTP, and
// the same HTTP load against a server that only reads the body and answers a canned Guardian.
// Writes the results into docs/performance.md between the bench:service markers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { createCore, loadCore } from '../../build/js/core/index.js';
import { buildGates as buildPiles } from './gates.js';

const DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));
const START = '<!-- bench:service:start -->';
const END = '<!-- bench:service:end -->';

const GATES = 100;
const PODS_PER_SERVICE = 2;
const SERVICES = GATES / PODS_PER_SERVICE;
const NAMESPACES = 5;
const PILE_SESSIONS = 1000;
const SECONDS = Number(process.env.BENCH_SERVICE_SECONDS ?? 20);
/** Syncs in flight at once in the loaded run; one connection each. */
const CONCURRENCY = 16;
/** The unloaded run: one sync at a time, so latency is service time, not queueing. */
const UNLOADED_SECONDS = Math.max(2, Math.round(SECONDS / 4));
const FLOOR_SECONDS = 3;

/** How the figures below were made; written into the document with them. */
const METHOD = [
  'Method:',
  '',
  `* \`npm run bench:service\` builds, then runs bench/service/run.js (about a minute) and rewrites this block.`,
  `* ${GATES} simulated gates, ${PODS_PER_SERVICE} per service, each with its own pile of ${PILE_SESSIONS} sessions of the core`,
  '  benchmark\'s realistic mix (item GETs, searches, HTML pages, JSON cart POSTs, with their responses and',
  '  envelopes), built once with the core and sent as the original gates do: `POST /sync?sid=&ns=&pod=` with',
  '  `{"pile":…,"alerts":[],"compromised":false}` (auth off, which guard-service allows only with the file store).',
  '* guard-service runs in the same process (`startService`, file store in a temporary directory, plain HTTP,',
  '  log silent). Each service\'s first sync happens before the timed runs (creating, learning and persisting its',
  `  Guardian). Then one run with 1 sync in flight (latency without queueing) and one with ${CONCURRENCY} in flight over`,
  `  ${CONCURRENCY} keep-alive undici connections (throughput); gates are taken round-robin. Latency is client-observed, to the`,
  '  last byte of the answer. Every 1000-session pile triggers a learn (service/learner.ts), so each sync merges and learns.',
  '* Syncs/s: the run\'s mean, and the median of its 1-second windows. Latency: p50 and p99 of all syncs of the run.',
  '* The client shares the thread with the service, so the figures are a lower bound for a service on its own core.',
  '* Floors, measured in the same run: the core\'s `parsePile` + `pile.merge` of one pile (no HTTP), then with the',
  '  learn and the answer added; and the same HTTP load against a bare `node:http` server that reads the body and',
  '  answers a canned Guardian of the real size (transport cost alone).',
  '* Memory per service: RSS, JS heap and the wasm memory of the service\'s own core instances after a forced GC, once the',
  `  service listens and after the loaded run, the difference divided by the ${SERVICES} services. wasm memory never`,
  '  shrinks, so it shows the peak; RSS and the heap include the benchmark\'s own piles (constant across the run).',
  '',
].join('\n');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

// The piles and the floors use the process-wide core; guard-service gets a core of its own, so its
// wasm memory is what the service holds and nothing else.
const core = loadCore();
const serviceCore = createCore(readFileSync(fileURLToPath(new URL('../../build/guard-core.wasm', import.meta.url))));
// The learner spreads the services over instances made from it (GUARD_SERVICE_CORES): all counted.
const serviceCores = [serviceCore];
const freshOf = serviceCore.fresh.bind(serviceCore);
serviceCore.fresh = () => {
  const next = freshOf();
  serviceCores.push(next);
  return next;
};

/** The gates: who they are and the sync message each sends, built once with the core. */
function buildGates() {
  return buildPiles(core, { gates: GATES, podsPerService: PODS_PER_SERVICE, namespaces: NAMESPACES, sessions: PILE_SESSIONS });
}

// ---- statistics ------------------------------------------------------------------------------

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summary(times) {
  const s = Float64Array.from(times).sort();
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// ---- the floor: the core's work of one sync, without HTTP ---------------------------------------

/** Time `op` on every gate's pile in turn for `seconds`; per-op times in ms. The Guardian carries over. */
function floor(gates, seconds, op) {
  const state = { pile: core.newPile(), guardian: core.defaultGuardian() };
  const times = [];
  const end = nowMs() + seconds * 1000;
  for (let i = 0; nowMs() < end || i < 20; i++) {
    const t0 = nowMs();
    op(gates[i % gates.length].wire, state);
    times.push(nowMs() - t0);
  }
  state.pile.dispose();
  state.guardian.dispose();
  return summary(times);
}

function mergeInto(wire, state) {
  const p = core.parsePile(wire);
  state.pile.merge(p);
  p.dispose();
}

/** The service's pile is cleared by the learn each 1000-session pile triggers: so is this one. */
function parseMerge(wire, state) {
  mergeInto(wire, state);
  state.pile.clear();
}

function parseMergeLearn(wire, state) {
  mergeInto(wire, state);
  state.guardian.learn(state.pile);
  state.pile.clear();
}

let sink = 0;
function parseMergeLearnAnswer(wire, state) {
  parseMergeLearn(wire, state);
  sink ^= state.guardian.toWire().length;
}

// ---- HTTP load ------------------------------------------------------------------------------------

/**
 * `concurrency` workers post the gates' sync messages round-robin over keep-alive connections for
 * `seconds`. Latency is client-observed, from the request to the last byte of the answer.
 */
async function load(url, gates, concurrency, seconds) {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const times = [];
  const perSecond = new Map();
  let next = 0;
  let failures = 0;
  let firstFailure = null;
  let answerBytes = 0;
  const start = nowMs();
  const end = start + seconds * 1000;
  async function worker() {
    while (nowMs() < end) {
      const gate = gates[next++ % gates.length];
      const t0 = nowMs();
      const res = await pool.request({ method: 'POST', path: gate.path, body: gate.body });
      const text = await res.body.text();
      const t1 = nowMs();
      if (res.statusCode !== 200) {
        failures++;
        firstFailure ??= `${res.statusCode} ${text.slice(0, 200)}`;
        continue;
      }
      answerBytes = text.length;
      times.push(t1 - t0);
      const second = Math.floor((t1 - start) / 1000);
      if (second < seconds) perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (nowMs() - start) / 1000;
  await pool.close();
  const rates = Float64Array.from(perSecond.values()).sort();
  return { ...summary(times), failures, firstFailure, answerBytes, elapsed, mean: times.length / elapsed, rateP50: quantile(rates, 0.5) };
}

/** The HTTP floor: a bare node:http server that reads the whole body and answers `answer`. */
async function startEchoServer(answer) {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    let bytes = 0;
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => {
      sink ^= bytes;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

function memory() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external, wasm: serviceCores.reduce((b, c) => b + c.wasm.exports.memory.buffer.byteLength, 0) };
}

// ---- run --------------------------------------------------------------------------------------------

async function importService() {
  try {
    const service = await import('../../build/js/service/index.js');
    const config = await import('../../build/js/service/config.js');
    if (typeof service.startService !== 'function') throw new Error('build/js/service/index.js has no startService');
    return { startService: service.startService, serviceConfig: config.serviceConfig };
  } catch (err) {
    console.error(`guard-service is not built: ${err.message}`);
    process.exit(1);
  }
}

const started = Date.now();
const { startService, serviceConfig } = await importService();

console.log(`building ${GATES} piles of ${PILE_SESSIONS} sessions…`);
const gates = buildGates();
const pileKb = gates.reduce((n, g) => n + g.wire.length, 0) / gates.length / 1024;
console.log(`  mean pile wire JSON: ${pileKb.toFixed(0)} KB`);

console.log('floors (in-process, no HTTP):');
const floors = {
  merge: floor(gates, FLOOR_SECONDS, parseMerge),
  learn: floor(gates, FLOOR_SECONDS, parseMergeLearn),
  answer: floor(gates, FLOOR_SECONDS, parseMergeLearnAnswer),
};
for (const [k, f] of Object.entries(floors)) console.log(`  ${k}: p50 ${fmtMs(f.p50)}, p99 ${fmtMs(f.p99)} (${f.n} ops)`);

const dir = mkdtempSync(join(os.tmpdir(), 'guard-bench-service-'));
const before = memory();
const config = serviceConfig({
  port: 0,
  address: '127.0.0.1',
  auth: false,
  tls: null,
  store: 'file',
  storeDir: dir,
  logLevel: 'silent',
  peopleAuth: 'token',
  inCluster: false,
});
const service = await startService(config, { core: serviceCore });
const idle = memory();
let results;
let after;
let answer = '';
try {
  // Every service's first sync: its Guardian is created, learned and persisted at once
  // (service/learner.ts).
  console.log(`warm-up: one sync per gate (${SERVICES} services are created)…`);
  const pool = new Pool(service.url, { connections: 1 });
  for (const gate of gates) {
    const res = await pool.request({ method: 'POST', path: gate.path, body: gate.body });
    answer = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`warm-up sync failed: ${res.statusCode} ${answer.slice(0, 300)}`);
  }
  await pool.close();
  console.log(`unloaded: 1 sync in flight for ${UNLOADED_SECONDS} s…`);
  const unloaded = await load(service.url, gates, 1, UNLOADED_SECONDS);
  console.log(`loaded: ${CONCURRENCY} syncs in flight for ${SECONDS} s…`);
  const loaded = await load(service.url, gates, CONCURRENCY, SECONDS);
  after = memory();
  results = { unloaded, loaded };
} finally {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
}
for (const [k, r] of Object.entries(results)) {
  console.log(`  ${k}: ${r.mean.toFixed(1)} syncs/s (median second ${r.rateP50}), p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}, ${r.n} syncs, ${r.failures} failed${r.firstFailure ? ` (${r.firstFailure})` : ''}`);
}

console.log(`HTTP floor: a bare server that reads the body and answers a ${(answer.length / 1024).toFixed(0)} KB Guardian…`);
const echo = await startEchoServer(answer);
const transport = await load(echo.url, gates, CONCURRENCY, Math.max(2, Math.round(SECONDS / 4)));
const transportOne = await load(echo.url, gates, 1, Math.max(2, Math.round(SECONDS / 8)));
await echo.close();
console.log(`  loaded: ${transport.mean.toFixed(1)} syncs/s, p50 ${fmtMs(transport.p50)}; unloaded p50 ${fmtMs(transportOne.p50)}`);

const failed = results.unloaded.failures + results.loaded.failures;
const section = report({ floors, results, transport, transportOne, before, idle, after, pileKb, answerKb: answer.length / 1024 });
console.log(`\n${section}`);
writeDoc(section);
console.log(`\nwrote ${DOC} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (sink === 0.5) console.log(sink);
if (failed > 0) process.exitCode = 1;

// ---- report -----------------------------------------------------------------------------------------

function fmtMs(ms) {
  if (ms < 1) return `${+(ms * 1000).toPrecision(3)} µs`;
  return `${+ms.toPrecision(3)} ms`;
}

function mib(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function report({ floors, results, transport, transportOne, before, idle, after, pileKb, answerKb }) {
  const cpu = os.cpus();
  const machine = `${cpu[0].model.trim()}, ${cpu.length} cores, ${os.type()} ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`;
  const { unloaded, loaded } = results;
  const x = (a, b) => `${(a / b).toFixed(1)}×`;
  const lines = [
    START,
    METHOD,
    `Machine: ${machine}.`,
    '',
    `${GATES} gates of ${SERVICES} services (${NAMESPACES} namespaces), each sync a pile of ${PILE_SESSIONS} sessions of the mix ` +
      `(${pileKb.toFixed(0)} KB of wire JSON); answers of ${answerKb.toFixed(0)} KB. File store, auth off, plain HTTP, one process.`,
    '',
    '| Case | Syncs/s (run mean; median second) | p50 | p99 | Syncs | Failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| guard-service, ${CONCURRENCY} in flight, ${SECONDS} s | ${loaded.mean.toFixed(1)}; ${loaded.rateP50} | ${fmtMs(loaded.p50)} | ${fmtMs(loaded.p99)} | ${loaded.n} | ${loaded.failures} |`,
    `| guard-service, 1 in flight, ${UNLOADED_SECONDS} s | ${unloaded.mean.toFixed(1)}; ${unloaded.rateP50} | ${fmtMs(unloaded.p50)} | ${fmtMs(unloaded.p99)} | ${unloaded.n} | ${unloaded.failures} |`,
    `| HTTP floor: bare node:http, read body + canned answer, ${CONCURRENCY} in flight | ${transport.mean.toFixed(1)}; ${transport.rateP50} | ${fmtMs(transport.p50)} | ${fmtMs(transport.p99)} | ${transport.n} | ${transport.failures} |`,
    `| HTTP floor, 1 in flight | ${transportOne.mean.toFixed(1)}; ${transportOne.rateP50} | ${fmtMs(transportOne.p50)} | ${fmtMs(transportOne.p99)} | ${transportOne.n} | ${transportOne.failures} |`,
    '',
    'The core\'s work of one sync in-process, no HTTP (each op on the next gate\'s pile, merged into a pile that is then cleared, as the learn clears the service\'s; the Guardian carries over):',
    '',
    '| Floor | p50 | p99 | Ops | Ops/s at p50 | guard-service unloaded p50 ÷ floor p50 | guard-service loaded syncs/s ÷ floor ops/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const floorRows = [
    ['parsePile + merge', floors.merge],
    ['+ learn into the Guardian + clear', floors.learn],
    ['+ the answer (Guardian toWire)', floors.answer],
  ];
  for (const [name, f] of floorRows) {
    lines.push(`| ${name} | ${fmtMs(f.p50)} | ${fmtMs(f.p99)} | ${f.n} | ${(1000 / f.p50).toFixed(0)} | ${x(unloaded.p50, f.p50)} | ${((100 * loaded.mean * f.p50) / 1000).toFixed(0)}% |`);
  }
  const perService = (k) => (after[k] - idle[k]) / SERVICES;
  const memoryRow = (name, k) => `| ${name} | ${mib(before[k])} | ${mib(idle[k])} | ${mib(after[k])} | ${kib(perService(k))} |`;
  lines.push(
    '',
    `Memory, after a forced GC: before guard-service started, once it listened (no service yet), and after the loaded run with ${SERVICES} services held ` +
      `(${((GATES + unloaded.n + loaded.n + unloaded.failures + loaded.failures) / SERVICES).toFixed(0)} syncs per service, all within the learner's 5-minute persist interval):`,
    '',
    '| Memory | Before start | Started, idle | After the run | Per service ((after − idle) ÷ services) |',
    '| --- | ---: | ---: | ---: | ---: |',
    memoryRow('RSS (process)', 'rss'),
    memoryRow('JS heap used (process)', 'heap'),
    memoryRow('wasm memory (the service\'s core instances)', 'wasm'),
    '',
    `Ratios: guard-service unloaded p50 is ${x(unloaded.p50, floors.merge.p50)} the parse + merge floor and ${x(unloaded.p50, transportOne.p50)} the HTTP floor's; ` +
      `loaded throughput is ${((100 * loaded.mean) / transport.mean).toFixed(0)}% of the HTTP floor's.`,
    END,
  );
  return lines.join('\n');
}

function writeDoc(block) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Performance\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## guard-service\n\n${block}\n`;
  writeFileSync(DOC, out);
}
