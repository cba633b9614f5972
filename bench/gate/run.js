// guard-gate load benchmark (npm run bench:gate). Debian's wrk (one thread, pinned to one core) loads
// servers pinned to the other core: the backend alone; a bare uWS + undici pass-through on undici's
// dispatch API — the floor for a gate built on dispatch, as this one is, and the baseline of every
// budget — and the same on undici's request API beside it; `guard gate` (bin/guard.js, as the image
// runs it) in block mode with body analysis, on the uws listener and on the node listener. Two
// request mixes (a plain GET; the shop's mix with JSON bodies), 1, 16 and 64 connections, the
// servers taking turns in short slices so that the machine's drift falls on all alike. Then a soak
// of the blocking gate for its memory. Writes its block of docs/performance.md, the README's budget
// table and docs/bench-gate.svg. BENCH_GATE_ABLATE=1 (npm run bench:gate:ablate) measures instead
// what the gate costs with a part taken out (bench/gate/ablate-preload.js) and writes its own block.
import { execFileSync } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { request } from 'undici';
import { serviceConfig, startService } from '../../build/js/service/index.js';
import { writeBlock } from './doc-block.js';
import { GATE_ENV, GATE_NODE_FLAGS } from './flags.js';
import { startGateProcess, until } from './gate-process.js';
import { ATTACKS, MIX_CYCLE, mixRequest } from './mix.js';
import { ensureWrk, runWrk } from './wrk.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOC = here('../../docs/performance.md');
const SVG = here('../../docs/bench-gate.svg');
const MARKERS = { start: '<!-- bench:gate:start -->', end: '<!-- bench:gate:end -->', heading: '## guard-gate under load' };
const README = here('../../README.md');
const README_MARKERS = { start: '<!-- readme:gate:start -->', end: '<!-- readme:gate:end -->' };

const SLICE_SECONDS = Number(process.env.BENCH_GATE_SLICE_SECONDS ?? 2);
const SLICES = Number(process.env.BENCH_GATE_SLICES ?? 4);
const SOAK_SECONDS = Number(process.env.BENCH_GATE_SOAK_SECONDS ?? 60);
const CONNECTIONS = [1, 16, 64];
// BENCH_GATE_TRY=1: a quick look for trying a change — only the dispatch pass-through and the uws
// gate, the connection counts of BENCH_GATE_CONNECTIONS (default 1,16), the plain GET, no soak;
// nothing is written (the docs keep the full run's figures).
const TRY = process.env.BENCH_GATE_TRY === '1';
const TRY_CONNECTIONS = (process.env.BENCH_GATE_CONNECTIONS ?? '1,16').split(',').map(Number);
// BENCH_GATE_TRY_WASM=PATH (try mode): a third server, the uws gate with the core built at PATH.
const TRY_WASM = process.env.BENCH_GATE_TRY_WASM ?? '';
/** Try mode: a third server, the same gate with these V8 flags added (space-separated). */
const TRY_V8_FLAGS = (process.env.BENCH_GATE_TRY_V8_FLAGS ?? '').split(' ').filter(Boolean);
// BENCH_GATE_ABLATE=1: the uws gate as shipped beside the same gate with a part taken out — the
// peer address, the core, both — against the dispatch pass-through; writes its block, nothing else.
const ABLATE = process.env.BENCH_GATE_ABLATE === '1';
const ABLATION_MARKERS = { start: '<!-- bench:gate-ablation:start -->', end: '<!-- bench:gate-ablation:end -->', heading: '### guard-gate with a part taken out' };
const ABLATIONS = [
  { parts: 'peer', name: 'gate without the peer address' },
  { parts: 'core', name: 'gate without the core' },
  { parts: 'peer,core', name: 'gate without either' },
];
// Five servers, differences of a few microseconds: more slices than the main run.
const ABLATION_SLICES = Number(process.env.BENCH_GATE_SLICES ?? 8);
// Not one connection: closed-loop on one connection, a slice's ratio moved between 41 % and 138 %
// in trials, too much to attribute a few microseconds.
const ABLATION_RUNS = [
  { mix: 0, connections: 16 },
  { mix: 0, connections: 64 },
  { mix: 1, connections: 16 },
  { mix: 1, connections: 64 },
];
const NAMESPACE = 'bench';
const SERVICE = 'shop';
const BUDGET = { ratio: 0.85, addedP99Ms: 1, addedUs: 15, rssBytes: 100e6 };
const HZ = 100; // USER_HZ on Linux
// Servers on one core, the load generator on the other (when there are two).
const CORES = os.cpus().length;
const SERVER_CPU = CORES > 1 ? '0' : null;
const LOAD_CPU = CORES > 1 ? 1 : null;

// One Host for every server and gate, as a service's clients name it (it is decided: every gate
// listens on its own port, and a Host with a port never learned would be refused).
const HOST = 'shop.bench';
const withHost = (r) => ({ ...r, headers: { ...r.headers, Host: HOST } });
/** The plain GET: the request wrk sends by itself (Host only). */
const PLAIN = [withHost({ method: 'GET', path: '/api/items?id=42&name=alice', headers: {} })];
const MIX = MIX_CYCLE.map(withHost);
const MIXES = [
  { name: 'plain GET', cycle: PLAIN },
  { name: 'mix', cycle: MIX },
];
const attacks = ATTACKS.map(withHost);

// ---- processes -------------------------------------------------------------------------------

const children = [];

/** Fork a server script; resolves with the child and the port it reports. */
function forkServer(file, args) {
  const child = fork(here(file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (/** @type {{ port: number }} */ m) => resolve({ pid: child.pid, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening`)));
  });
}

/** Pin a process and its threads to the servers' core. */
function pin(pid) {
  if (SERVER_CPU !== null) execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(pid)], { stdio: 'ignore' });
}

/** CPU time (user + system, every thread) of a process so far, in ticks. */
function ticks(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(after[11]) + Number(after[12]);
}

/** Busy ticks of the whole machine (for the share other processes took). */
function machineBusy() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4];
}

async function send(base, p) {
  const r = await request(`${base}${p.path}`, { method: p.method, headers: p.headers, body: p.body });
  await r.body.dump();
  return r.statusCode;
}

// ---- measuring -------------------------------------------------------------------------------

/**
 * The servers take turns, `SLICES` times, for SLICE_SECONDS each (A B C D, D C B A, …); one result
 * per server over all its slices: requests per second, the median of the slices' p50 and p99, the
 * largest p99, and the server's CPU per request.
 */
async function interleaved(servers, mix, connections, slices = SLICES) {
  const acc = servers.map((s) => ({ server: s, requests: 0, seconds: 0, ticks: 0, p50: [], p99: [], sliceRps: [], errors: 0, non2xx: 0, busy: 0, own: 0 }));
  for (let i = 0; i < slices; i++) {
    for (const a of i % 2 === 0 ? acc : [...acc].reverse()) {
      const t0 = ticks(a.server.pid);
      const b0 = machineBusy();
      const r = await runWrk({ url: `http://127.0.0.1:${a.server.port}`, connections, seconds: SLICE_SECONDS, cycle: mix.cycle, cpu: LOAD_CPU });
      const used = ticks(a.server.pid) - t0;
      a.ticks += used;
      a.busy += machineBusy() - b0;
      a.requests += r.requests;
      a.seconds += r.seconds;
      a.p50.push(r.p50);
      a.p99.push(r.p99);
      a.sliceRps.push(r.rps);
      a.errors += r.errors + r.timeouts;
      a.non2xx += r.non2xx;
    }
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  return acc.map((a) => ({
    name: a.server.name,
    mix: mix.name,
    connections,
    rps: a.requests / a.seconds,
    sliceRps: a.sliceRps,
    p50: median(a.p50),
    p99: median(a.p99),
    p99max: Math.max(...a.p99),
    cpuUs: ((a.ticks / HZ) * 1e6) / a.requests,
    requests: a.requests,
    errors: a.errors,
    non2xx: a.non2xx,
    // The machine's busy cores during the slices: 2 means both cores fully used.
    busyCores: a.busy / HZ / a.seconds,
  }));
}

// ---- the run ---------------------------------------------------------------------------------

async function main() {
  ensureWrk();
  const t0 = Date.now();
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-bench-gate-'));
  const service = await startService(
    serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }),
    { logger: pino({ level: 'silent' }) },
  );
  const backend = await forkServer('./backend.js', []);
  const upstream = `http://127.0.0.1:${backend.port}`;
  const dispatch = { name: 'pass-through (dispatch)', ...(await forkServer('./passthrough.js', [upstream, 'dispatch'])) };
  const requestApi = { name: 'pass-through (request API)', ...(await forkServer('./passthrough.js', [upstream, 'request'])) };
  // Syncs every 5 s at most (the shortest interval): block mode reaches the gates soon after the switch.
  const settings = { GUARD_LISTEN_ADDRESS: '127.0.0.1', GUARDIAN_SYNC_INTERVAL: '5', MONITOR_POD: 'false', USE_CRD: 'false' };
  const uwsGate = await startGateProcess(upstream, service.url, settings);
  const nodeGate = await startGateProcess(upstream, service.url, { ...settings, GUARD_LISTENER: 'node' });
  const gates = [
    { name: 'guard gate (uws)', pid: uwsGate.child.pid, port: uwsGate.port, process: uwsGate },
    { name: 'guard gate (node)', pid: nodeGate.child.pid, port: nodeGate.port, process: nodeGate },
  ];
  for (const pid of [backend.pid, dispatch.pid, requestApi.pid, ...gates.map((g) => g.pid)]) pin(pid);
  /**
   * The people API, as a person's client calls it.
   * @param {string} path
   * @param {{ method?: string, body?: string }} [init]
   * @returns {Promise<{ status: number, json: any }>}
   */
  const api = (path, init = {}) =>
    request(`${service.url}${path}`, { method: /** @type {any} */ (init.method ?? 'GET'), body: init.body, headers: { authorization: `Bearer ${service.peopleToken}`, 'content-type': 'application/json' } }).then(async (r) => ({
      status: r.statusCode,
      json: await r.body.json(),
    }));

  try {
    // 1. Learning, as in production: each gate syncs once it holds 1000 samples of both mixes.
    console.log('learning: the plain GET and the mix through both gates (learn mode)…');
    for (const g of gates) {
      const base = `http://127.0.0.1:${g.port}`;
      const before = await g.process.syncs();
      for (let i = 0; (await g.process.syncs()) === before; i++) {
        for (let k = 0; k < 50; k++) await send(base, i % 2 === 0 ? PLAIN[0] : withHost(mixRequest(i * 50 + k)));
        if (i > 400) throw new Error(`${g.name} did not sync`);
      }
    }
    await until(async () => ((await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`)).json?.spec?.samples ?? 0) > 0, 30_000, 'guard-service to learn');
    const samples = (await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`)).json.spec.samples;

    // 2. Block mode, switched through the people API as a person would, reaching the gates in their next sync.
    // auto would wait until the learned rules are ready (docs/tokens.md): they are pinned as
    // configured ones and blocked with, as `guard demo` does.
    const copied = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}/copy-learned`, { method: 'POST', body: '{}' });
    if (copied.status !== 200) throw new Error(`the people API refused to copy the learned rules (${copied.status}): ${JSON.stringify(copied.json)}`);
    const put = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`, { method: 'PUT', body: JSON.stringify({ control: { alert: true, block: true, learn: false, force: false, auto: false } }) });
    if (put.status !== 200) throw new Error(`the people API refused block mode (${put.status}): ${JSON.stringify(put.json)}`);
    for (const g of gates) {
      const base = `http://127.0.0.1:${g.port}`;
      await until(async () => (await send(base, attacks[0])) === 403, 60_000, `${g.name} to block`);
    }
    const check = [];
    for (const g of gates) {
      const base = `http://127.0.0.1:${g.port}`;
      const allowed = [];
      for (const p of [...PLAIN, ...MIX]) allowed.push(await send(base, p));
      const blocked = [];
      for (const a of attacks) blocked.push(await send(base, a));
      check.push({ gate: g.name, allowed: allowed.filter((s) => s === 200).length, of: allowed.length, blocked: blocked.filter((s) => s === 403).length, attacks: ATTACKS.length });
      if (allowed.some((s) => s !== 200) || blocked.some((s) => s !== 403)) {
        throw new Error(`${g.name} in block mode: ${JSON.stringify(check.at(-1))}; the benchmark would not measure what it claims. Its log:\n${g.process.warned().slice(-3).join('\n')}`);
      }
    }
    console.log(`block mode: ${check.map((c) => `${c.gate} ${c.allowed}/${c.of} allowed, ${c.blocked}/${c.attacks} attacks blocked`).join('; ')}`);

    if (ABLATE) {
      const run = await ablation({ upstream, serviceUrl: service.url, settings, dispatch, gate: gates[0], samples });
      const block = ablationReport(run);
      writeBlock(DOC, ABLATION_MARKERS, block);
      console.log(block);
      return;
    }

    // 3. The measurements.
    const servers = TRY ? [dispatch, gates[0]] : [dispatch, requestApi, ...gates];
    if (TRY && TRY_WASM) {
      // Another build of the core in the same gate, measured in the same turns.
      const p = await startGateProcess(upstream, service.url, { ...settings, GUARD_BENCH_CORE_WASM: TRY_WASM }, ['--import', here('./ablate-preload.js')]);
      const g = { name: 'guard gate (uws), other core', pid: p.child.pid, port: p.port, process: p };
      gates.push(g);
      pin(g.pid);
      for (const q of [...PLAIN, ...MIX]) if ((await send(`http://127.0.0.1:${g.port}`, q)) !== 200) throw new Error(`${g.name}: ${q.method} ${q.path} not allowed`);
      servers.push(g);
    } else if (TRY && TRY_V8_FLAGS.length > 0) {
      // The same gate with other V8 flags, measured in the same turns.
      const p = await startGateProcess(upstream, service.url, settings, TRY_V8_FLAGS);
      const g = { name: 'guard gate (uws), V8 flags', pid: p.child.pid, port: p.port, process: p };
      gates.push(g);
      pin(g.pid);
      for (const q of [...PLAIN, ...MIX]) if ((await send(`http://127.0.0.1:${g.port}`, q)) !== 200) throw new Error(`${g.name}: ${q.method} ${q.path} not allowed`);
      servers.push(g);
    }
    for (const s of servers) await runWrk({ url: `http://127.0.0.1:${s.port}`, connections: 16, seconds: 2, cycle: MIX, cpu: LOAD_CPU });
    const results = TRY ? [] : await direct(backend);
    for (const mix of TRY ? MIXES.slice(0, 1) : MIXES) {
      for (const c of TRY ? TRY_CONNECTIONS : CONNECTIONS) {
        const rows = await interleaved(servers, mix, c);
        for (const r of rows) {
          results.push(r);
          console.log(`${mix.name.padEnd(9)} c=${String(c).padStart(2)}  ${r.name.padEnd(27)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  CPU ${r.cpuUs.toFixed(1)} µs/req  errors ${r.errors}  non-2xx ${r.non2xx}  busy ${r.busyCores.toFixed(2)} cores`);
        }
        if (TRY) {
          const [base, gate] = rows;
          const coreSum = await uwsGate.metric('guard_gate_core_duration_seconds_sum');
          const coreCount = await uwsGate.metric('guard_gate_core_duration_seconds_count');
          console.log(`  the gate's core time so far: ${((coreSum / coreCount) * 1e6).toFixed(2)} µs an exchange (guard_gate_core_duration_seconds)`);
          console.log(`  → gate/pass-through: ${pct(gate.rps / base.rps)} of req/s, +${(addedPerRequest(gate, base).median * c).toFixed(1)} µs a request (median of the rounds), CPU ${gate.cpuUs.toFixed(1)} against ${base.cpuUs.toFixed(1)} µs/req`);
          const other = rows[2];
          const what = TRY_WASM ? 'the other core' : `with ${TRY_V8_FLAGS.join(' ')}`;
          if (other) console.log(`  → ${what}: ${pct(other.rps / base.rps)} of req/s, CPU ${other.cpuUs.toFixed(1)} µs/req (${other.cpuUs - gate.cpuUs < 0 ? '−' : '+'}${Math.abs(other.cpuUs - gate.cpuUs).toFixed(1)} against the gate as deployed)`);
        }
      }
    }

    if (TRY) return;

    // 4. Soak: the blocking gate (uws) at 64 connections on the mix; its RSS every 5 s.
    const idle = uwsGate.memory().rss;
    const rss = [];
    const soakStart = Date.now();
    const sampler = setInterval(() => rss.push({ s: Math.round((Date.now() - soakStart) / 1000), rss: uwsGate.memory().rss }), 5_000);
    const soak = await runWrk({ url: `http://127.0.0.1:${uwsGate.port}`, connections: 64, seconds: SOAK_SECONDS, cycle: MIX, cpu: LOAD_CPU });
    clearInterval(sampler);
    rss.push({ s: Math.round((Date.now() - soakStart) / 1000), rss: uwsGate.memory().rss });
    console.log(`soak ${SOAK_SECONDS} s c=64: ${soak.rps.toFixed(0)} req/s, p99 ${fmtMs(soak.p99)}; gate RSS ${mb(rss.at(-1).rss)} (idle ${mb(idle)})`);

    const run = { results, soak, rss, idle, check, samples, wallSeconds: (Date.now() - t0) / 1000 };
    writeSvg(run);
    writeBlock(DOC, MARKERS, report(run));
    writeReadme(readmeBlock(run));
    console.log(report(run));
  } finally {
    for (const c of children) c.kill();
    await Promise.all(gates.map((g) => g.process.close()));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * The ablation run: gates with a part taken out, started now (they take the blocking Guardian from
   * guard-service at start), checked, then measured in turns with the dispatch pass-through and the
   * gate as shipped.
   */
  async function ablation({ upstream, serviceUrl, settings, dispatch, gate, samples }) {
    const preload = here('./ablate-preload.js');
    const ablated = [];
    for (const a of ABLATIONS) {
      const p = await startGateProcess(upstream, serviceUrl, { ...settings, GUARD_BENCH_ABLATE: a.parts }, ['--import', preload]);
      gates.push({ name: a.name, pid: p.child.pid, port: p.port, process: p });
      pin(p.child.pid);
      ablated.push({ ...a, pid: p.child.pid, port: p.port });
    }
    // Each answers the mix (the peer-less gate also blocks the attacks: only its address reading changed).
    const checks = [];
    for (const g of ablated) {
      const base = `http://127.0.0.1:${g.port}`;
      const allowed = [];
      for (const p of [...PLAIN, ...MIX]) allowed.push(await send(base, p));
      if (allowed.some((s) => s !== 200)) throw new Error(`${g.name}: not every request of the mix allowed (${allowed.join(' ')})`);
      let blocked = null;
      const got = [];
      for (const a of attacks) got.push(await send(base, a));
      if (!g.parts.includes('core')) {
        if (got.some((s) => s !== 403)) throw new Error(`${g.name}: an attack was not blocked (${got.join(' ')})`);
        blocked = got.length;
      } else if (got.some((s) => s !== 200)) {
        // Without the core nothing is decided: a blocked attack means the preload did not take it out.
        throw new Error(`${g.name}: an attack was blocked (${got.join(' ')}); the core was not taken out`);
      }
      checks.push({ name: g.name, allowed: allowed.length, blocked });
    }
    const servers = [dispatch, gate, ...ablated];
    for (const s of servers) await runWrk({ url: `http://127.0.0.1:${s.port}`, connections: 16, seconds: 2, cycle: MIX, cpu: LOAD_CPU });
    const results = [];
    for (const r of ABLATION_RUNS) {
      const rows = await interleaved(servers, MIXES[r.mix], r.connections, ABLATION_SLICES);
      for (const row of rows) console.log(`${row.mix.padEnd(9)} c=${String(row.connections).padStart(2)}  ${row.name.padEnd(32)} ${row.rps.toFixed(0).padStart(6)} req/s  CPU ${row.cpuUs.toFixed(1)} µs/req  errors ${row.errors}  non-2xx ${row.non2xx}`);
      results.push(rows);
    }
    return { results, checks, samples, wallSeconds: (Date.now() - t0) / 1000 };
  }

  /** The backend alone, for reference: the plain GET at each connection count. */
  async function direct(b) {
    const out = [];
    for (const c of CONNECTIONS) {
      const t = ticks(b.pid);
      const r = await runWrk({ url: `http://127.0.0.1:${b.port}`, connections: c, seconds: SLICE_SECONDS * 2, cycle: PLAIN, cpu: LOAD_CPU });
      out.push({ name: 'backend direct', mix: 'plain GET', connections: c, rps: r.rps, p50: r.p50, p99: r.p99, p99max: r.p99, cpuUs: (((ticks(b.pid) - t) / HZ) * 1e6) / r.requests, requests: r.requests, errors: r.errors, non2xx: r.non2xx, sliceRps: [r.rps], busyCores: NaN });
    }
    return out;
  }
}

// ---- the report ------------------------------------------------------------------------------

function fmtMs(ms) {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(2)} ms`;
}
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const pct = (x) => `${(x * 100).toFixed(0)} %`;
const passFail = (ok) => (ok ? '**pass**' : '**FAIL**');

/**
 * Time a server adds per request at one connection against a baseline, from the slices they ran
 * side by side (round i of each: A B …, then … B A): 1/(req/s) of each round's pair, the median
 * over the rounds and the range. One slow slice moves a difference of reciprocals of the totals far
 * more than it moves the median (the figure the budget reads).
 * @param {{ sliceRps: number[] }} server
 * @param {{ sliceRps: number[] }} base
 */
function addedPerRequest(server, base) {
  const added = server.sliceRps.map((x, i) => (1 / x - 1 / base.sliceRps[i]) * 1e6).sort((a, b) => a - b);
  const mid = added.length >> 1;
  const median = added.length % 2 === 1 ? added[mid] : (added[mid - 1] + added[mid]) / 2;
  return { median, lo: added[0], hi: added.at(-1) };
}
const find = (results, name, mix, c) => results.find((r) => r.name === name && r.mix === mix && r.connections === c);

function budgets(run) {
  const out = [];
  for (const gate of ['guard gate (uws)', 'guard gate (node)']) {
    for (const mix of MIXES.map((m) => m.name)) {
      for (const c of [16, 64]) {
        const g = find(run.results, gate, mix, c);
        const d = find(run.results, 'pass-through (dispatch)', mix, c);
        const slices = g.sliceRps.map((x, i) => x / d.sliceRps[i]).sort((a, b) => a - b);
        out.push({ gate, what: `${gate}, ${mix}: req/s ÷ the dispatch pass-through's at ${c} connections`, value: g.rps / d.rps, budget: `≥ ${pct(BUDGET.ratio)}`, ok: g.rps / d.rps >= BUDGET.ratio, fmt: pct, note: `slices ${pct(slices[0])}–${pct(slices.at(-1))}; CPU ${g.cpuUs.toFixed(1)} against ${d.cpuUs.toFixed(1)} µs per request` });
      }
      const g16 = find(run.results, gate, mix, 16);
      const d16 = find(run.results, 'pass-through (dispatch)', mix, 16);
      out.push({ gate, what: `${gate}, ${mix}: p99 added at 16 connections`, value: g16.p99 - d16.p99, budget: `≤ ${BUDGET.addedP99Ms} ms`, ok: g16.p99 - d16.p99 <= BUDGET.addedP99Ms, fmt: (v) => `${v < 0 ? '−' : '+'}${fmtMs(Math.abs(v))}`, note: `${fmtMs(g16.p99)} against ${fmtMs(d16.p99)} (medians of the slices; largest ${fmtMs(g16.p99max)})` });
      const g1 = find(run.results, gate, mix, 1);
      const d1 = find(run.results, 'pass-through (dispatch)', mix, 1);
      const added = addedPerRequest(g1, d1);
      out.push({ gate, what: `${gate}, ${mix}: time added per request at 1 connection`, value: added.median, budget: `≤ ${BUDGET.addedUs} µs`, ok: added.median <= BUDGET.addedUs, fmt: (v) => `${v.toFixed(1)} µs`, note: `rounds ${added.lo.toFixed(1)} to ${added.hi.toFixed(1)} µs; over all slices ${(1e6 / g1.rps).toFixed(1)} against ${(1e6 / d1.rps).toFixed(1)} µs a request; gate CPU +${(g1.cpuUs - d1.cpuUs).toFixed(1)} µs` });
    }
  }
  const last = run.rss.at(-1);
  out.push({ gate: 'guard gate (uws)', what: `guard gate (uws): RSS after ${SOAK_SECONDS} s at 64 connections (mix, block mode)`, value: last.rss, budget: `≤ ${mb(BUDGET.rssBytes)}`, ok: last.rss <= BUDGET.rssBytes, fmt: mb, note: `idle ${mb(run.idle)}; largest during the soak ${mb(Math.max(...run.rss.map((r) => r.rss)))}` });
  return out;
}

function report(run) {
  const cpu = os.cpus();
  const lines = [MARKERS.start, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:gate\` (bench/gate/run.js), ${Math.round(run.wallSeconds)} s.`);
  lines.push('');
  lines.push('Method:');
  lines.push('');
  lines.push(`* Load: Debian's \`wrk\` (one thread${LOAD_CPU !== null ? `, pinned to CPU ${LOAD_CPU}` : ''}), with a Lua script that replays the request cycle on every connection (bench/gate/wrk.js).`);
  lines.push(`  The servers${SERVER_CPU !== null ? ` share CPU ${SERVER_CPU}` : ''}: the backend (bench/gate/backend.js, a \`node:http\` server answering a small JSON); the`);
  lines.push('  pass-through (bench/gate/passthrough.js: a uWebSockets.js App and an undici Pool, bodies streamed both ways, nothing');
  lines.push("  else) on undici's `dispatch` API — the floor for a gate built on dispatch, as this one is, and the baseline of every");
  lines.push("  budget — and on undici's `request` API beside it; and `guard gate` (bin/guard.js, the process the image runs, with the");
  lines.push(`  deployment's \`NODE_OPTIONS=${GATE_NODE_FLAGS.join(' ')}\` and \`${Object.entries(GATE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\`) in block mode with body`);
  lines.push('  analysis on, once on the uws listener and once on the node listener.');
  lines.push(`* Mixes: the plain GET \`GET /api/items?id=42&name=alice\` with only \`Host\`; the shop's mix, a cycle of ${MIX_CYCLE.length} requests, item GETs with a query and one JSON cart POST in four, with browser headers (bench/gate/mix.js).`);
  lines.push(`* The Guardian: learned by guard-service from both mixes sent through both gates in learn mode (${run.samples} samples, synced as in production at 1000 samples held), then switched to block mode through the people API. Before measuring, each gate allowed every request of both mixes and blocked ${ATTACKS.length} attacks.`);
  lines.push(`* Each connection count of each mix: the four servers take turns in ${SLICES} slices of ${SLICE_SECONDS} s (A B C D, D C B A, …), so that the machine's drift falls on all alike. Req/s over all slices; p50 and p99 are the medians of the slices' (wrk's own percentiles); CPU per request is the server process's user + system time (/proc) over its requests. "Busy" is the whole machine's busy cores during the slices (2 = both full).`);
  lines.push(`* Time added per request at 1 connection: 1/(req/s) of the gate less the dispatch pass-through's, both closed-loop on one connection, for each round of slices (the two ran one after the other in it); the median over the ${SLICES} rounds, their range beside it.`);
  lines.push(`* Memory: the uws gate's RSS (/proc) every 5 s of a ${SOAK_SECONDS} s soak at 64 connections on the mix, block mode.`);
  lines.push('');
  lines.push('![Requests per second by server, mix and connections](bench-gate.svg)');
  lines.push('');
  lines.push('| Mix | Connections | Server | Req/s | ÷ dispatch | p50 | p99 | CPU per request | Requests | Errors | Non-2xx | Busy cores |');
  lines.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of run.results) {
    const d = find(run.results, 'pass-through (dispatch)', r.mix, r.connections);
    lines.push(`| ${r.mix} | ${r.connections} | ${r.name} | ${r.rps.toFixed(0)} | ${d && r.name !== 'backend direct' ? pct(r.rps / d.rps) : '—'} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.cpuUs.toFixed(1)} µs | ${r.requests} | ${r.errors} | ${r.non2xx} | ${Number.isNaN(r.busyCores) ? '—' : r.busyCores.toFixed(2)} |`);
  }
  lines.push('');
  lines.push('Budgets:');
  lines.push('');
  lines.push('| Budget | Measured | Limit | Result | Also |');
  lines.push('| --- | ---: | ---: | --- | --- |');
  for (const b of budgets(run)) lines.push(`| ${b.what} | ${b.fmt(b.value)} | ${b.budget} | ${passFail(b.ok)} | ${b.note} |`);
  lines.push('');
  lines.push(`Soak: ${run.soak.requests} requests, ${run.soak.rps.toFixed(0)} req/s, p99 ${fmtMs(run.soak.p99)}, errors ${run.soak.errors + run.soak.timeouts}, non-2xx ${run.soak.non2xx}. Gate RSS: ${run.rss.map((r) => `${r.s} s ${mb(r.rss)}`).join(', ')}.`);
  lines.push('');
  lines.push(MARKERS.end);
  return lines.join('\n');
}

/** The ablation run's block: each variant against the dispatch pass-through and the gate as shipped. */
function ablationReport(run) {
  const cpu = os.cpus();
  const lines = [ABLATION_MARKERS.start, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:gate:ablate\` (bench/gate/run.js with BENCH_GATE_ABLATE=1), ${Math.round(run.wallSeconds)} s.`);
  lines.push('');
  lines.push("* The setting of bench:gate (wrk pinned to one core, the servers to the other, the blocking Guardian learned by guard-service");
  lines.push(`  from ${run.samples} samples), the uws gate as shipped and the same gate with a part taken out by bench/gate/ablate-preload.js`);
  lines.push('  (loaded with `--import`; the gate\'s code unchanged): **the peer address** — uWS is asked for the client\'s address once, not');
  lines.push('  per request (a `getpeername` system call); every client here is 127.0.0.1, so no decision changes — and **the core** —');
  lines.push('  no call into it per exchange: nothing written into wasm memory, profiled, decided or piled, everything allowed; the');
  lines.push(`  gate's own JavaScript runs as it does. Five servers take turns in ${ABLATION_SLICES} slices of ${SLICE_SECONDS} s (A B C D E, E D C B A, …); CPU per request from /proc.`);
  lines.push(`* Checked first: every variant allowed the ${PLAIN.length + MIX.length} requests of both mixes; ${run.checks.filter((c) => c.blocked !== null).map((c) => `${c.name} blocked ${c.blocked} of ${ATTACKS.length} attacks`).join('; ')}; the variants without the core let them through (nothing decided).`);
  lines.push('');
  lines.push('| Mix | Connections | Server | Req/s | ÷ dispatch | ÷ dispatch, slices | CPU per request | CPU against the gate | Errors | Non-2xx |');
  lines.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rows of run.results) {
    const [d, g] = rows;
    for (const r of rows) {
      const slices = r.sliceRps.map((x, i) => x / d.sliceRps[i]).sort((a, b) => a - b);
      const range = r === d ? '—' : `${pct(slices[0])}–${pct(slices.at(-1))}`;
      lines.push(`| ${r.mix} | ${r.connections} | ${r.name} | ${r.rps.toFixed(0)} | ${pct(r.rps / d.rps)} | ${range} | ${r.cpuUs.toFixed(1)} µs | ${r === d ? '—' : r === g ? '0' : `${r.cpuUs - g.cpuUs < 0 ? '−' : '+'}${Math.abs(r.cpuUs - g.cpuUs).toFixed(1)} µs`} | ${r.errors} | ${r.non2xx} |`);
    }
  }
  lines.push('');
  lines.push("What the gate adds to the pass-through's CPU per request, and the share of each part (the CPU the gate saves without it):");
  lines.push('');
  lines.push('| Mix | Connections | gate − pass-through | the peer address | the core and its host | the rest (gate without either − pass-through) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const rows of run.results) {
    const [d, g, peer, core, both] = rows;
    const us = (v) => `${v < 0 ? '−' : ''}${Math.abs(v).toFixed(1)} µs`;
    lines.push(`| ${g.mix} | ${g.connections} | ${us(g.cpuUs - d.cpuUs)} | ${us(g.cpuUs - peer.cpuUs)} | ${us(g.cpuUs - core.cpuUs)} | ${us(both.cpuUs - d.cpuUs)} (${pct(both.rps / d.rps)} of the req/s) |`);
  }
  lines.push('');
  lines.push(ABLATION_MARKERS.end);
  return lines.join('\n');
}

/** The budget table for the README: what the gate costs, in one glance (the uws listener). */
function readmeBlock(run) {
  const cpu = os.cpus();
  const lines = [README_MARKERS.start];
  lines.push(`guard-gate on the uws listener, block mode, against the dispatch pass-through; ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores (wrk on one, the servers on the other); Node ${process.version}; ${new Date().toISOString().slice(0, 10)} (\`npm run bench:gate\`; the node listener and the method in [docs/performance.md](docs/performance.md)):`);
  lines.push('');
  lines.push('| Budget | Measured | Limit | Result |');
  lines.push('| --- | ---: | ---: | --- |');
  for (const b of budgets(run).filter((x) => x.gate === 'guard gate (uws)')) lines.push(`| ${b.what.replace('guard gate (uws), ', '').replace('guard gate (uws): ', '')} | ${b.fmt(b.value)} | ${b.budget} | ${passFail(b.ok)} |`);
  lines.push(README_MARKERS.end);
  return lines.join('\n');
}

function writeReadme(block) {
  const text = readFileSync(README, 'utf8');
  const a = text.indexOf(README_MARKERS.start);
  const b = text.indexOf(README_MARKERS.end);
  if (a < 0 || b < a) return;
  writeFileSync(README, text.slice(0, a) + block + text.slice(b + README_MARKERS.end.length));
}

// ---- the chart: grouped bars of req/s, one group per mix and connection count -----------------

const SERIES = [
  { name: 'pass-through (dispatch)', color: '#4e79a7' },
  { name: 'pass-through (request API)', color: '#a0cbe8' },
  { name: 'guard gate (uws)', color: '#e15759' },
  { name: 'guard gate (node)', color: '#f28e2b' },
];

function writeSvg(run) {
  const groups = MIXES.flatMap((m) => CONNECTIONS.map((c) => ({ mix: m.name, c })));
  const W = 860, H = 380, left = 64, right = 16, top = 40, bottom = 90;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = Math.max(...run.results.filter((r) => r.name !== 'backend direct').map((r) => r.rps));
  const step = niceStep(max / 5);
  const yMax = Math.ceil(max / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const groupW = plotW / groups.length;
  const barW = (groupW * 0.8) / SERIES.length;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">guard-gate, block mode: requests/s by mix and connections (wrk; servers on one core)</text>`,
  ];
  for (let v = 0; v <= yMax; v += step) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + groupW * 0.1;
    SERIES.forEach((s, si) => {
      const r = find(run.results, s.name, g.mix, g.c);
      if (!r) return;
      const x = x0 + si * barW;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(r.rps).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(r.rps)).toFixed(1)}" fill="${s.color}"><title>${esc(s.name)}, ${esc(g.mix)}, ${g.c} connections: ${r.rps.toFixed(0)} req/s, p99 ${esc(fmtMs(r.p99))}</title></rect>`);
    });
    parts.push(`<text x="${left + gi * groupW + groupW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(g.mix)}</text>`);
    parts.push(`<text x="${left + gi * groupW + groupW / 2}" y="${top + plotH + 30}" text-anchor="middle">${g.c} conn.</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#000"/>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#000"/>`);
  SERIES.forEach((s, i) => {
    const lx = left + (i % 2) * 300, ly = H - 34 + Math.floor(i / 2) * 18;
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
