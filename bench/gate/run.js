// guard-gate load benchmark (npm run bench:gate): a node:http backend alone, behind a bare uWS +
// undici pass-through (the baseline, bench/gate/passthrough.js), behind guard-gate learning and
// behind guard-gate blocking with body analysis, each at 1, 16 and 64 connections, then a 60 s soak
// of the blocking gate at 64 connections for its memory. Every server and the load generator is its
// own process; guard-service runs here. Writes docs/performance.md (bench:gate block) and
// docs/bench-gate.svg.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { request } from 'undici';
import { serviceConfig, startService } from '../../build/js/service/index.js';
import { startGateProcess } from './gate-process.js';
import { deploymentEnv } from './flags.js';
import { ATTACKS, MIX_CYCLE, mixRequest } from './mix.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOC = here('../../docs/performance.md');
const SVG = here('../../docs/bench-gate.svg');
const START = '<!-- bench:gate:start -->';
const END = '<!-- bench:gate:end -->';
const README = here('../../README.md');
const README_START = '<!-- readme:gate:start -->';
const README_END = '<!-- readme:gate:end -->';

const SECONDS = Number(process.env.BENCH_GATE_SECONDS ?? 10);
const SOAK_SECONDS = Number(process.env.BENCH_GATE_SOAK_SECONDS ?? 60);
const WARMUP_SECONDS = 2;
// Block mode at 16 and 64 connections: the pass-through and the gate alternate in this many slices.
const SLICES = 5;
const CONNECTIONS = [1, 16, 64];
const LEARN_REQUESTS = 1200;
const NAMESPACE = 'bench';
const SERVICE = 'shop';
const BUDGET = { ratio: 0.85, addedP99Ms: 1, rssBytes: 100e6 };
// The gate is the process the image runs, with the deployment's Node flags and environment
// (flags.js reads them from deploy/gate-sidecar-example.yaml).
const GATE_SETTINGS = deploymentEnv();

// ---- processes -------------------------------------------------------------------------------

const children = [];

/** Fork a server script; resolves with the child and the port it reports. */
function spawnServer(file, args, execArgv = [], env = process.env) {
  const child = fork(here(file), args, { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (/** @type {{ port: number }} */ m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening`)));
  });
}

/**
 * Have the gate sync as it does in production: it syncs at once when 1000 samples are held (not
 * sooner than 5 s after its last sync), so send the mix until guard-service accepted one more.
 */
async function syncThroughTraffic(gate, gateUrl) {
  const before = await gate.syncs();
  const deadline = Date.now() + 60_000;
  for (let i = 0; ; i++) {
    await send(gateUrl, mixRequest(i));
    if (i % 100 === 99 && (await gate.syncs()) > before) return;
    if (Date.now() > deadline) throw new Error('the gate did not sync within 60 s of traffic');
  }
}

/** One autocannon run in its own process; resolves with its JSON summary (and every latency, if asked). */
function load(port, connections, seconds, withTimes = false) {
  const env = withTimes ? { ...process.env, BENCH_LOAD_TIMES: '1' } : process.env;
  const child = fork(here('./load.js'), [`http://127.0.0.1:${port}`, String(connections), String(seconds)], { env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`load generator exited ${code}`))));
  });
}

// ---- load average, sampled through the run ----------------------------------------------------

const loadSamples = [];
const loadTimer = setInterval(() => loadSamples.push(os.loadavg()[0]), 5_000);
loadTimer.unref();

// ---- CPU used by other processes: the machine's busy time less this run's own processes' -------

const HZ = 100; // USER_HZ on Linux
function ticks(file, fields) {
  try {
    const text = readFileSync(file, 'utf8');
    const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields of /proc/<pid>/stat from state (field 3): utime 14, stime 15, cutime 16, cstime 17.
    return fields.reduce((sum, f) => sum + Number(after[f - 3]), 0);
  } catch {
    return 0;
  }
}
function cpuSnapshot() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4];
  // Our own time plus our reaped children's (the load generators), plus the live servers'.
  let mine = ticks('/proc/self/stat', [14, 15, 16, 17]);
  for (const c of children) if (c.exitCode === null) mine += ticks(`/proc/${c.pid}/stat`, [14, 15]);
  return { busy, mine, at: Date.now() };
}
/** Other processes' CPU between two snapshots, in cores (1 = one core fully busy). */
function foreignCores(a, b) {
  return Math.max(0, (b.busy - a.busy - (b.mine - a.mine)) / HZ / ((b.at - a.at) / 1000));
}

// ---- the run ---------------------------------------------------------------------------------

async function send(base, p) {
  const r = await request(`${base}${p.path}`, { method: p.method, headers: p.headers, body: p.body });
  await r.body.dump();
  return r.statusCode;
}

async function main() {
  const t0 = Date.now();
  const cpu0 = cpuSnapshot();
  const loadBefore = os.loadavg();
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-bench-gate-'));
  const service = await startService(
    serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }),
    { logger: pino({ level: 'silent' }) },
  );
  const backend = await spawnServer('./backend.js', []);
  const upstream = `http://127.0.0.1:${backend.port}`;
  const passthrough = await spawnServer('./passthrough.js', [upstream, 'request']);
  const dispatchPassthrough = await spawnServer('./passthrough.js', [upstream, 'dispatch']);
  const gate = await startGateProcess(upstream, service.url);
  children.push(gate.child);
  const gateUrl = `http://127.0.0.1:${gate.port}`;
  const api = (path, init = {}) =>
    request(`${service.url}${path}`, {
      method: init.method ?? 'GET',
      body: init.body,
      headers: { authorization: `Bearer ${service.peopleToken}`, 'content-type': 'application/json' },
    }).then(async (r) => ({ status: r.statusCode, json: /** @type {any} */ (await r.body.json()) }));

  try {
    const idle = gate.memory();
    const results = [];
    /**
     * Each case in turn for SECONDS / slices, `slices` times; one result per case over all of its
     * slices (latency percentiles over every response). Server CPU per request is the measured
     * server's own user + system time: less sensitive to the load generator's share of the cores.
     */
    const measureInterleaved = async (cases, connections, slices = SLICES) => {
      const acc = cases.map(([name, server]) => ({ name, server, total: 0, seconds: 0, times: [], non2xx: 0, errors: 0, timeouts: 0, ticks: 0, foreign: 0, perSlice: [] }));
      const slice = SECONDS / slices;
      for (let i = 0; i < slices; i++) {
        // A B, B A, A B …: a drift of the machine's speed within the case favours neither.
        for (const a of i % 2 === 0 ? acc : [...acc].reverse()) {
          const before = cpuSnapshot();
          const serverTicks = ticks(`/proc/${a.server.child.pid}/stat`, [14, 15]);
          const r = await load(a.server.port, connections, slice, true);
          a.foreign += foreignCores(before, cpuSnapshot()) * slice;
          a.ticks += ticks(`/proc/${a.server.child.pid}/stat`, [14, 15]) - serverTicks;
          a.total += r.total;
          a.perSlice.push(r.total);
          a.seconds += slice;
          for (const t of r.times) a.times.push(t);
          a.non2xx += r.non2xx;
          a.errors += r.errors;
          a.timeouts += r.timeouts;
        }
      }
      for (const a of acc) {
        const s = Float64Array.from(a.times).sort();
        const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
        const r = {
          name: a.name,
          connections,
          seconds: a.seconds,
          slices,
          rps: a.total / a.seconds,
          sliceRps: a.perSlice.map((n) => n / slice),
          total: a.total,
          p50: q(0.5),
          p99: q(0.99),
          non2xx: a.non2xx,
          errors: a.errors,
          timeouts: a.timeouts,
          foreign: a.foreign / a.seconds,
          cpuPerRequestUs: (a.ticks / HZ / a.total) * 1e6,
          load1: os.loadavg()[0],
        };
        results.push(r);
        console.log(`${r.name.padEnd(28)} c=${String(connections).padStart(2)}  ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  non-2xx ${r.non2xx}  errors ${r.errors}  load ${r.load1.toFixed(2)}  others ${r.foreign.toFixed(2)} cores  server CPU ${r.cpuPerRequestUs.toFixed(0)} µs/req${slices > 1 ? `  (${slices} slices)` : ''}`);
      }
    };
    /** One case alone for SECONDS. */
    const measure = (name, server, connections) => measureInterleaved([[name, server]], connections, 1);

    // 1. Learn mode: the gate's first Guardian comes from guard-service on the first sync.
    console.log(`learning: ${LEARN_REQUESTS} requests of the mix through the gate (learn mode)…`);
    for (let i = 0; i < LEARN_REQUESTS; i++) await send(gateUrl, mixRequest(i));
    await syncThroughTraffic(gate, gateUrl);
    let learned = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    for (let i = 0; i < 50 && !(learned.json?.spec?.samples > 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      learned = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    }
    const samples = learned.json?.spec?.samples ?? 0;
    if (!(samples > 0)) throw new Error('guard-service did not learn the Guardian from the mix');
    await syncThroughTraffic(gate, gateUrl);
    console.log(`   learned from ${samples} samples`);

    for (const port of [backend.port, passthrough.port, dispatchPassthrough.port, gate.port]) await load(port, 16, WARMUP_SECONDS);
    for (const c of CONNECTIONS) {
      await measure('backend direct', backend, c);
      await measure('uWS + undici pass-through', passthrough, c);
      await measure('pass-through, undici dispatch', dispatchPassthrough, c);
      await measure('gate, learn mode', gate, c);
    }

    // 2. Block mode, through the people API as a person would switch it.
    const put = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`, {
      method: 'PUT',
      body: JSON.stringify({ control: { alert: true, block: true, learn: true, force: false, auto: true } }),
    });
    if (put.status !== 200) throw new Error(`the people API refused block mode (${put.status}): ${JSON.stringify(put.json)}`);
    await syncThroughTraffic(gate, gateUrl);
    const check = { allowed: 0, cycle: MIX_CYCLE.length, blocked: 0, attacks: ATTACKS.length };
    for (const p of MIX_CYCLE) if ((await send(gateUrl, p)) === 200) check.allowed++;
    for (const a of ATTACKS) if ((await send(gateUrl, a)) === 403) check.blocked++;
    console.log(`block mode: ${check.allowed}/${check.cycle} requests of the mix allowed, ${check.blocked}/${check.attacks} attacks blocked`);
    if (check.allowed !== check.cycle || check.blocked === 0) throw new Error('block mode check failed: the benchmark would not measure what it claims');

    await load(gate.port, 16, WARMUP_SECONDS);
    await measure('gate, block mode + body', gate, 1);
    // At 16 and 64 connections the pass-through and the blocking gate take turns, SLICES times
    // each: the machine's speed drifts over seconds, and alternating spreads it over both alike.
    for (const c of CONNECTIONS.filter((n) => n > 1)) {
      await measureInterleaved([['pass-through (interleaved)', passthrough], ['gate, block mode + body', gate]], c);
    }

    // 3. Soak: the blocking gate at 64 connections for a minute; RSS every 10 s.
    const rss = [];
    const soakCpu = cpuSnapshot();
    const soakTicks = ticks(`/proc/${gate.child.pid}/stat`, [14, 15]);
    const soak = load(gate.port, 64, SOAK_SECONDS);
    const soakStart = Date.now();
    const sampler = setInterval(() => {
      rss.push({ s: Math.round((Date.now() - soakStart) / 1000), rss: gate.memory().rss });
    }, 10_000);
    const soakResult = await soak;
    clearInterval(sampler);
    const end = gate.memory();
    rss.push({ s: Math.round((Date.now() - soakStart) / 1000), rss: end.rss });
    soakResult.name = 'soak: gate, block mode + body';
    soakResult.connections = 64;
    soakResult.seconds = SOAK_SECONDS;
    soakResult.load1 = os.loadavg()[0];
    soakResult.foreign = foreignCores(soakCpu, cpuSnapshot());
    soakResult.cpuPerRequestUs = ((ticks(`/proc/${gate.child.pid}/stat`, [14, 15]) - soakTicks) / HZ / soakResult.total) * 1e6;
    console.log(`soak ${SOAK_SECONDS} s c=64: ${soakResult.rps.toFixed(0)} req/s, p99 ${fmtMs(soakResult.p99)}, non-2xx ${soakResult.non2xx}; gate RSS ${mb(end.rss)} (idle ${mb(idle.rss)})`);

    const run = { results, soak: soakResult, rss, idle, check, samples, loadBefore, loadAfter: os.loadavg(), loadSamples: [...loadSamples], wallSeconds: (Date.now() - t0) / 1000, foreign: foreignCores(cpu0, cpuSnapshot()) };
    writeSvg(run);
    writeDoc(report(run));
    writeReadme(readmeBlock(run));
    console.log(report(run));
  } finally {
    for (const c of children) c.disconnect?.();
    await gate.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the document ----------------------------------------------------------------------------

function fmtMs(ms) {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(2)} ms`;
}
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const pct = (x) => `${(x * 100).toFixed(0)} %`;
const passFail = (ok) => (ok ? '**pass**' : '**FAIL**');

function find(results, name, c) {
  return results.find((r) => r.name === name && r.connections === c);
}

function budgets(run) {
  const out = [];
  for (const c of [16, 64]) {
    const gate = find(run.results, 'gate, block mode + body', c);
    const near = find(run.results, 'pass-through (interleaved)', c);
    const first = find(run.results, 'uWS + undici pass-through', c);
    const disp = find(run.results, 'pass-through, undici dispatch', c);
    const pairs = gate.sliceRps.map((g, i) => g / near.sliceRps[i]).sort((a, b) => a - b);
    out.push({ what: `gate block ÷ pass-through, req/s at ${c} connections`, value: gate.rps / near.rps, note: `slice by slice ${pct(pairs[0])}–${pct(pairs[pairs.length - 1])} (median ${pct(pairs[pairs.length >> 1])}); ${pct(gate.rps / first.rps)} against the first pass-through run, ${pct(gate.rps / disp.rps)} against the dispatch pass-through; server CPU per request ${gate.cpuPerRequestUs.toFixed(0)} µs against ${near.cpuPerRequestUs.toFixed(0)} µs`, ok: gate.rps / near.rps >= BUDGET.ratio, budget: `≥ ${pct(BUDGET.ratio)}`, fmt: pct });
  }
  const g16 = find(run.results, 'gate, block mode + body', 16);
  const p16 = find(run.results, 'pass-through (interleaved)', 16);
  const d16 = find(run.results, 'backend direct', 16);
  const added = g16.p99 - p16.p99;
  out.push({ what: 'gate block added p99 over the pass-through at 16 connections', value: added, note: `${fmtMs(g16.p99 - d16.p99)} over the backend direct`, ok: added <= BUDGET.addedP99Ms, budget: `≤ ${BUDGET.addedP99Ms} ms`, fmt: (v) => `${v < 0 ? '−' : '+'}${fmtMs(Math.abs(v))}` });
  const last = run.rss[run.rss.length - 1];
  out.push({ what: `gate RSS after ${run.soak.seconds} s at 64 connections`, value: last.rss, note: `idle ${mb(run.idle.rss)} before any load; max during the soak ${mb(Math.max(...run.rss.map((r) => r.rss)))}`, ok: last.rss <= BUDGET.rssBytes, budget: `≤ ${mb(BUDGET.rssBytes)}`, fmt: mb });
  return out;
}

function report(run) {
  const cpu = os.cpus();
  const lines = [START, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
  lines.push('');
  lines.push('Method:');
  lines.push('');
  lines.push('* `npm run bench:gate` builds, then runs bench/gate/run.js (about four minutes) and rewrites this block and docs/bench-gate.svg.');
  lines.push('* Processes: the backend (a minimal `node:http` server answering a small JSON, bench/gate/backend.js), the');
  lines.push('  pass-through (bench/gate/passthrough.js: uWebSockets.js App + undici Pool of 64 connections, bodies streamed both');
  lines.push('  ways, nothing else; undici\'s `request` API, the baseline of the budgets, and the same on undici\'s `dispatch` API as');
  lines.push('  the gate uses it, for reference), the gate (the process the image runs, `bin/guard.js gate`, configured by the environment,');
  lines.push(`  with the Node flags and settings of deploy/gate-sidecar-example.yaml: \`${Object.entries(GATE_SETTINGS).map(([k, v]) => `${k}=${v}`).join(' ')}\`; pod monitor and body analysis on, their defaults) and the`);
  lines.push('  load generator (autocannon 9, one process per run) each run on their own; guard-service (file store, auth off)');
  lines.push('  runs in the benchmark process, which is idle while load runs. All share the machine\'s cores.');
  lines.push(`* The mix: a cycle of ${MIX_CYCLE.length} requests per connection, item GETs with a query and one JSON cart POST in four, browser headers.`);
  lines.push(`* Learn mode is the gate's state from its first sync (${LEARN_REQUESTS} requests of the mix were sent through it and synced — the gate`);
  lines.push('  syncs as in production, at once when 1000 samples are held, so the benchmark sends the mix until it did —');
  lines.push(`  guard-service learned from ${run.samples} samples). Block mode is switched through the people API (control block, alert`);
  lines.push('  and learn on) and synced; before measuring, every request of the cycle was checked to be allowed');
  lines.push(`  (${run.check.allowed}/${run.check.cycle}) and attacks blocked (${run.check.blocked}/${run.check.attacks}: SQL injection in the query, script in a JSON body).`);
  lines.push(`* Each case runs ${SECONDS} s per connection count after a ${WARMUP_SECONDS} s warm-up per server; connections 1, 16, 64, pipelining 1. In block mode`);
  lines.push(`  at 16 and 64 connections the pass-through and the gate take turns in ${SLICES} slices of ${SECONDS / SLICES} s each (${SECONDS} s per case; in the`);
  lines.push('  order A B, B A, A B …), and the ratios compare those two: this machine\'s speed drifts by 10–20 % within a minute,');
  lines.push('  and alternating spreads the drift over both alike. The budget is the ratio of the two totals; the ratios of the');
  lines.push('  slices side by side are given with it, to show the spread. Latency: p50 and p99 of every response of the run (all slices of a case together), at full');
  lines.push('  timer resolution (autocannon\'s own histogram rounds to whole milliseconds), from request written to response read,');
  lines.push('  as the load generator sees it.');
  lines.push('* Server CPU per request: user + system time of the measured server process (backend, pass-through or gate) over');
  lines.push('  the run, from /proc/<pid>/stat, divided by the requests answered: what one request costs that process, whatever');
  lines.push('  share of the cores the load generator took.');
  lines.push(`* Memory: the gate process's RSS (VmRSS of /proc/<pid>/status) every 10 s of a final ${run.soak.seconds} s soak at 64 connections in block mode.`);
  lines.push('');
  lines.push(`Load average (1 min) before the run ${run.loadBefore[0].toFixed(2)}, after it ${run.loadAfter[0].toFixed(2)}; sampled every 5 s during the run: mean ${mean(run.loadSamples).toFixed(2)}, max ${Math.max(...run.loadSamples).toFixed(2)} — on ${cpu.length} cores the servers and the load generator compete for CPU, so every figure is for this contended setting. Wall time ${Math.round(run.wallSeconds)} s. Processes outside this benchmark used ${run.foreign.toFixed(2)} cores on average over the run (the machine's busy time from /proc/stat less the benchmark's own processes'); the last column shows it per run — a figure well above 0 means the run shared the machine with other work.`);
  lines.push('');
  lines.push('![Requests per second by case and connections](bench-gate.svg)');
  lines.push('');
  lines.push('| Case | Connections | Req/s | p50 | p99 | Server CPU per request | Requests | Non-2xx | Errors | Load (1 min) after | Other processes (cores) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [...run.results, run.soak]) {
    lines.push(`| ${r.name}${r.seconds !== SECONDS ? `, ${r.seconds} s` : ''} | ${r.connections} | ${r.rps.toFixed(0)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.cpuPerRequestUs.toFixed(0)} µs | ${r.total} | ${r.non2xx} | ${r.errors + r.timeouts} | ${r.load1.toFixed(2)} | ${r.foreign.toFixed(2)} |`);
  }
  lines.push('');
  lines.push('Budgets:');
  lines.push('');
  lines.push('| Budget | Measured | Limit | Result | Also |');
  lines.push('| --- | ---: | ---: | --- | --- |');
  for (const b of budgets(run)) lines.push(`| ${b.what} | ${b.fmt(b.value)} | ${b.budget} | ${passFail(b.ok)} | ${b.note} |`);
  lines.push('');
  lines.push(`Gate RSS during the soak: ${run.rss.map((r) => `${r.s} s ${mb(r.rss)}`).join(', ')}.`);
  lines.push('');
  lines.push(END);
  return lines.join('\n');
}

/** The budget table for the README: what the gate costs, in one glance. */
function readmeBlock(run) {
  const cpu = os.cpus();
  const lines = [README_START];
  lines.push(`guard-gate, on ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores shared by backend, proxy and load generator; Node ${process.version}; ${new Date().toISOString().slice(0, 10)} (\`npm run bench:gate\`):`);
  lines.push('');
  lines.push('| Budget | Measured | Limit | Result |');
  lines.push('| --- | ---: | ---: | --- |');
  for (const b of budgets(run)) lines.push(`| ${b.what} | ${b.fmt(b.value)} | ${b.budget} | ${passFail(b.ok)} |`);
  lines.push(README_END);
  return lines.join('\n');
}

function writeReadme(block) {
  const text = readFileSync(README, 'utf8');
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) return; // the README has no place for it
  writeFileSync(README, text.slice(0, a) + block + text.slice(b + README_END.length));
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function writeDoc(block) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Performance\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## guard-gate\n\n${block}\n`;
  writeFileSync(DOC, out);
}

// ---- the chart: grouped bars of req/s, one group per connection count -------------------------

const SERIES = [
  { name: 'backend direct', color: '#9e9e9e' },
  { name: 'uWS + undici pass-through', color: '#4e79a7' },
  { name: 'pass-through, undici dispatch', color: '#76b7b2' },
  { name: 'pass-through (interleaved)', color: '#a0cbe8' },
  { name: 'gate, learn mode', color: '#f28e2b' },
  { name: 'gate, block mode + body', color: '#e15759' },
];

function writeSvg(run) {
  const W = 720, H = 360, left = 64, right = 16, top = 40, bottom = 84;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = Math.max(...run.results.map((r) => r.rps));
  const step = niceStep(max / 5);
  const yMax = Math.ceil(max / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const groupW = plotW / CONNECTIONS.length;
  const barW = (groupW * 0.8) / SERIES.length;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">guard-gate: requests/s by connections (${SECONDS} s per run, ${os.cpus().length} cores shared)</text>`,
  ];
  for (let v = 0; v <= yMax; v += step) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  CONNECTIONS.forEach((c, gi) => {
    const x0 = left + gi * groupW + groupW * 0.1;
    SERIES.forEach((s, si) => {
      const r = find(run.results, s.name, c);
      if (!r) return;
      const x = x0 + si * barW;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(r.rps).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(r.rps)).toFixed(1)}" fill="${s.color}"><title>${esc(s.name)}, ${c} connections: ${r.rps.toFixed(0)} req/s, p99 ${esc(fmtMs(r.p99))}</title></rect>`);
      parts.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(r.rps) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${r.rps.toFixed(0)}</text>`);
    });
    parts.push(`<text x="${left + gi * groupW + groupW / 2}" y="${top + plotH + 16}" text-anchor="middle">${c} connection${c > 1 ? 's' : ''}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#000"/>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#000"/>`);
  SERIES.forEach((s, i) => {
    const lx = left + (i % 3) * 210, ly = H - 44 + Math.floor(i / 3) * 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${s.color}"/><text x="${lx + 18}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  writeFileSync(SVG, `${parts.join('\n')}\n`);
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    for (const c of children) c.kill();
    process.exit(1);
  },
);
