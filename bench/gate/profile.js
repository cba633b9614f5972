// Where guard-gate's time goes (npm run bench:gate:profile): the dispatch pass-through and `guard gate`
// (as the image runs it, block mode, a Guardian learned for the request) under the same wrk load of
// the plain GET, taking turns in slices (A B, B A, …) so that the machine's drift falls on both
// alike, each with V8's CPU profiler sampling every 100 µs throughout; the samples taken during a
// server's own slices are summed by part of the request path and divided by the requests it served
// in them — microseconds of CPU per request, the gate's against the pass-through's. Writes its block
// of docs/performance.md.
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { writeBlock } from './doc-block.js';
import { deploymentEnv } from './flags.js';
import { freePorts, until } from './gate-process.js';
import { ensureWrk, runWrk } from './wrk.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOC = here('../../docs/performance.md');
const MARKERS = { start: '<!-- bench:gate-profile:start -->', end: '<!-- bench:gate-profile:end -->', heading: '## Where the gate\'s time goes' };
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
/** Turns each server takes under load; SECONDS are divided among them. */
const SLICES = Number(process.env.BENCH_PROFILE_SLICES ?? 5);
const CONNECTIONS = 16;
const HOST = 'shop.bench';
const PLAIN = { method: 'GET', path: '/api/items?id=42&name=alice', headers: { Host: HOST } };
const CORES = os.cpus().length;

/**
 * The part of the request path a profile node belongs to (null: idle). `undiciWasm`: the wasm
 * modules the pass-through ran too (undici's llhttp), told apart from the core's.
 */
function part(frame, undiciWasm) {
  const url = frame.url;
  const fn = frame.functionName;
  if (fn === '(idle)') return null;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8 and native code outside JavaScript';
  if (url.startsWith('wasm://')) return undiciWasm.has(url) ? 'undici (the upstream request and response)' : 'the core (wasm)';
  if (url.includes('undici')) return 'undici (the upstream request and response)';
  if (url.includes('/build/js/core/')) return 'the core\'s host (record writing, handles)';
  if (fn === 'writeLatin1String' || fn === 'writeUtf8String' || fn === 'writev' || fn === 'writeBuffer') return 'socket writes to the service';
  if (url.endsWith('client-response.js') && fn === 'cork') return 'uWS: the response written to the client (native, in cork)';
  if (url.endsWith('passthrough.js') && (fn === 'onData' || fn === 'onHeaders' || fn === 'onComplete')) return 'uWS: the response written to the client (native, in cork)';
  if (url.endsWith('uws.js') && fn === 'peerAddress') return 'uWS: the peer address';
  if (url.endsWith('uws-listener.js') || url.endsWith('listener.js')) return 'uWS: request head and header collection';
  if (url.endsWith('client-response.js')) return 'uWS: other calls';
  if (/gate\/(exchange|exchanges|session-pool|proxy)\.js$/.test(url)) return 'exchange state and its end';
  if (/gate\/(request-path|request-target|body-buffer|media-type)\.js$/.test(url)) return 'request path (framing, target, forwarding)';
  if (/gate\/(response-path|header-text|recent-text)\.js$/.test(url)) return 'response path';
  if (/gate\/(admin)\.js$/.test(url) || url.includes('prom-client')) return 'metrics';
  if (/gate\/(alerts|index)\.js$/.test(url) || url.includes('pino') || url.includes('sonic-boom')) return 'alerts, logging, sessions handed on';
  if (/gate\/sync\.js$/.test(url)) return 'sync pile';
  if (url.endsWith('passthrough.js')) return 'pass-through JavaScript';
  if (url.startsWith('node:') || url === '') return 'Node internals (streams, timers, buffers)';
  return 'other';
}

/** A .cpuprofile of a directory. */
function profileIn(dir) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

/** Per function and server (BENCH_PROFILE_DETAIL=N: the N largest, at least 60), for looking closer. */
const detail = new Map();
let profiled = '';

/** CLOCK_MONOTONIC in microseconds: the clock V8's profiles are stamped with on Linux. */
function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Microseconds of CPU per request by part, from a profile and the requests served in `windows`
 * ([from, to] µs of the monotonic clock: the server's own turns under load; its start, its warm-up
 * and the other server's turns are left out).
 */
function breakdown(p, requests, windows, undiciWasm) {
  if (windows[0][0] < p.startTime || windows.at(-1)[1] > p.endTime) {
    throw new Error(`the profile (${p.startTime}–${p.endTime} µs) does not cover the measured turns (${windows[0][0]}–${windows.at(-1)[1]} µs): its clock is not CLOCK_MONOTONIC`);
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  /** Per window: its samples' counts by node, then each sample weighted by the window's time per sample. */
  const counts = new Map();
  let t = p.startTime;
  let w = 0;
  let inWindow = new Map();
  let taken = 0;
  const close = () => {
    if (taken === 0) return;
    const dt = (windows[w][1] - windows[w][0]) / taken;
    for (const [id, c] of inWindow) counts.set(id, (counts.get(id) ?? 0) + c * dt);
    inWindow = new Map();
    taken = 0;
  };
  for (let i = 0; i < p.samples.length && w < windows.length; i++) {
    t += p.timeDeltas[i];
    while (w < windows.length && t > windows[w][1]) {
      close();
      w++;
    }
    if (w === windows.length || t < windows[w][0]) continue;
    inWindow.set(p.samples[i], (inWindow.get(p.samples[i]) ?? 0) + 1);
    taken++;
  }
  if (w < windows.length) close();
  /** @type {Map<string, number>} */
  const parts = new Map();
  for (const [id, us] of counts) {
    const frame = byId.get(id).callFrame;
    const k = part(frame, undiciWasm);
    if (process.env.BENCH_PROFILE_DETAIL && k !== null) {
      const f = `${profiled} :: ${k} :: ${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}`;
      detail.set(f, (detail.get(f) ?? 0) + us / requests);
    }
    if (k !== null) parts.set(k, (parts.get(k) ?? 0) + us / requests);
  }
  return parts;
}

async function main() {
  ensureWrk();
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-profile-'));
  const children = [];
  const pin = (pid) => CORES > 1 && execFileSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
  try {
    const backend = fork(here('./backend.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(backend);
    const backendPort = await new Promise((r) => backend.once('message', (/** @type {any} */ m) => r(m.port)));
    pin(backend.pid);
    const upstream = `http://127.0.0.1:${backendPort}`;

    // A Guardian learned for the request and the backend's real answer, in block mode.
    const answer = await request(`${upstream}${PLAIN.path}`, { headers: PLAIN.headers });
    const body = await answer.body.text();
    const headers = Object.entries(answer.headers).map(([k, v]) => [k, String(v)]);
    const records = Array.from({ length: 100 }, () => JSON.stringify({ method: 'GET', path: '/api/items', query: 'id=42&name=alice', headers: [['Host', HOST]], remote: '127.0.0.1', response: { status: 200, headers, body } }));
    writeFileSync(join(dir, 'traffic.jsonl'), `${records.join('\n')}\n`);
    execFileSync(process.execPath, [here('../../bin/guard.js'), 'learn', '--in', join(dir, 'traffic.jsonl'), '--out', join(dir, 'learned.json')], { stdio: 'ignore' });
    const spec = JSON.parse(readFileSync(join(dir, 'learned.json'), 'utf8'));
    // The learned rules pinned as configured ones (auto would wait until they are ready).
    spec.configured = spec.learned;
    spec.control = { ...spec.control, alert: true, block: true, learn: false, force: false, auto: false };
    writeFileSync(join(dir, 'guardian.json'), JSON.stringify(spec));

    const servers = [];
    for (const who of ['pass-through (dispatch)', 'guard gate (uws)']) {
      const profDir = join(dir, who.replace(/\W+/g, '-'));
      const [port, adminPort] = await freePorts(2);
      // --trace-gc-nvp: one line per collection on stdout, read during the server's turns (gcStats).
      const flags = [...deploymentEnv().NODE_OPTIONS.split(' '), '--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=100', '--trace-gc', '--trace-gc-nvp'];
      const child =
        who === 'guard gate (uws)'
          ? spawn(process.execPath, [...flags, here('../../bin/guard.js'), 'gate'], {
              env: { PATH: process.env.PATH, MALLOC_TRIM_THRESHOLD_: '131072', SERVICE_NAME: 'shop', NAMESPACE: 'bench', PROTECTED_SERVICE: upstream, PORT: String(port), GUARD_ADMIN_PORT: String(adminPort), GUARD_LISTEN_ADDRESS: '127.0.0.1', GUARDIAN_FILE: join(dir, 'guardian.json'), MONITOR_POD: 'false', USE_CRD: 'false', LOG_LEVEL: 'warn' },
              stdio: ['ignore', 'pipe', 'inherit'],
            })
          : spawn(process.execPath, [...flags, '--input-type=module', '-e', `import { startPassthrough } from ${JSON.stringify(here('./passthrough.js'))}; await startPassthrough(${JSON.stringify(upstream)}, ${port}, 'dispatch'); process.on('SIGINT', () => process.exit(0));`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const server = { who, child, port, profDir, gcTrace: '', tracing: false, windows: [], requests: 0, seconds: 0 };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        if (server.tracing) server.gcTrace += d;
      });
      await until(async () => (await request(`http://127.0.0.1:${port}${PLAIN.path}`, { headers: PLAIN.headers })).statusCode === 200, 20_000, `${who} to answer 200`);
      pin(child.pid);
      servers.push(server);
    }
    for (const s of servers) await runWrk({ url: `http://127.0.0.1:${s.port}`, connections: CONNECTIONS, seconds: 2, cycle: [PLAIN], cpu: CORES > 1 ? 1 : null });
    // The measured turns: A B, B A, … so that a slower or faster machine falls on both alike.
    const sliceSeconds = Math.max(1, Math.round(SECONDS / SLICES));
    for (let i = 0; i < SLICES; i++) {
      for (const s of i % 2 === 0 ? servers : [...servers].reverse()) {
        s.tracing = true;
        const from = nowUs();
        const load = await runWrk({ url: `http://127.0.0.1:${s.port}`, connections: CONNECTIONS, seconds: sliceSeconds, cycle: [PLAIN], cpu: CORES > 1 ? 1 : null });
        s.windows.push([from, nowUs()]);
        s.tracing = false;
        if (load.non2xx > 0) throw new Error(`${s.who}: ${load.non2xx} answers were not 2xx: the Guardian does not fit the request`);
        s.requests += load.requests;
        s.seconds += load.seconds;
      }
    }
    for (const s of servers) {
      await new Promise((resolve) => {
        s.child.once('exit', resolve);
        s.child.kill('SIGINT');
      });
    }
    const results = [];
    /** @type {Set<string>} */
    const undiciWasm = new Set();
    for (const s of servers) {
      const profile = profileIn(s.profDir);
      // BENCH_PROFILE_KEEP=<dir>: the raw profiles kept (Chrome DevTools opens them).
      if (process.env.BENCH_PROFILE_KEEP) writeFileSync(join(process.env.BENCH_PROFILE_KEEP, `${s.who.replace(/\W+/g, '-')}.cpuprofile`), JSON.stringify(profile));
      // The pass-through comes first: the wasm it runs is undici's parser.
      if (s.who.startsWith('pass-through')) for (const n of profile.nodes) if (n.callFrame.url.startsWith('wasm://')) undiciWasm.add(n.callFrame.url);
      const gc = gcStats(s.gcTrace, s.requests);
      profiled = s.who;
      const rps = s.requests / s.seconds;
      results.push({ who: s.who, rps, parts: breakdown(profile, s.requests, s.windows, undiciWasm), gc });
      console.log(`${s.who}: ${rps.toFixed(0)} req/s, ${gc.promotedPerRequest.toFixed(0)} B promoted per request, ${gc.fullCollections} full collections`);
    }
    if (process.env.BENCH_PROFILE_DETAIL) for (const [k, v] of [...detail].sort((a, b) => b[1] - a[1]).slice(0, Math.max(60, Number(process.env.BENCH_PROFILE_DETAIL) || 0))) console.log(`${v.toFixed(2).padStart(7)} µs  ${k}`);
    const block = report(results);
    writeBlock(DOC, MARKERS, block);
    console.log(block);
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What V8's collector did during the measured run, from --trace-gc-nvp lines: bytes promoted to the
 * old generation by minor collections (per request), full collections, and the longest pause.
 */
function gcStats(trace, requests) {
  let promoted = 0;
  let minor = 0;
  let full = 0;
  let longest = 0;
  for (const line of trace.split('\n')) {
    const kind = /\bgc=(\w+)/.exec(line)?.[1];
    if (!kind) continue;
    const pause = Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0);
    longest = Math.max(longest, pause);
    if (kind === 's') {
      minor++;
      promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
    } else full++;
  }
  return { promotedPerRequest: requests > 0 ? promoted / requests : 0, minorCollections: minor, fullCollections: full, longestPauseMs: longest };
}

function report(results) {
  const cpu = os.cpus();
  const [pt, gate] = results;
  const names = [...new Set([...gate.parts.keys(), ...pt.parts.keys()])].sort((a, b) => (gate.parts.get(b) ?? 0) - (gate.parts.get(a) ?? 0));
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const lines = [MARKERS.start, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:gate:profile\` (bench/gate/profile.js).`);
  lines.push('');
  lines.push(`Both servers under wrk in turns (${CONNECTIONS} connections, the plain GET, ${SLICES} turns of ${Math.max(1, Math.round(SECONDS / SLICES))} s each, A B, B A, … after a 2 s warm-up each), with V8's CPU profiler sampling every 100 µs throughout; the samples of a server's own turns summed by part of the request path and divided by the requests it answered in them. The gate is \`guard gate\` in block mode with a Guardian learned for the request and the backend's answer; the pass-through is bench/gate/passthrough.js on undici's dispatch API. Native time is counted where JavaScript called into it: the client's response is written by uWS inside \`cork\`.`);
  lines.push('');
  lines.push(`| Part | guard gate, µs per request | pass-through, µs per request |`);
  lines.push('| --- | ---: | ---: |');
  for (const n of names) lines.push(`| ${n} | ${(gate.parts.get(n) ?? 0).toFixed(2)} | ${(pt.parts.get(n) ?? 0).toFixed(2)} |`);
  lines.push(`| **all** | **${sum(gate.parts).toFixed(1)}** | **${sum(pt.parts).toFixed(1)}** |`);
  lines.push('');
  lines.push(`Req/s while profiled: guard gate ${gate.rps.toFixed(0)}, pass-through ${pt.rps.toFixed(0)} (the profiler slows both).`);
  lines.push('');
  lines.push(`The garbage collector in the same runs (\`--trace-gc-nvp\`): what minor collections promote to the old generation decides how often a full collection (mark-compact) pauses the loop, and those pauses set the p99.`);
  lines.push('');
  lines.push('| Collector | guard gate | pass-through |');
  lines.push('| --- | ---: | ---: |');
  lines.push(`| promoted to the old generation, bytes per request | ${gate.gc.promotedPerRequest.toFixed(0)} | ${pt.gc.promotedPerRequest.toFixed(0)} |`);
  lines.push(`| minor collections (scavenges) | ${gate.gc.minorCollections} | ${pt.gc.minorCollections} |`);
  lines.push(`| full collections (mark-compact) | ${gate.gc.fullCollections} | ${pt.gc.fullCollections} |`);
  lines.push(`| longest pause | ${gate.gc.longestPauseMs.toFixed(1)} ms | ${pt.gc.longestPauseMs.toFixed(1)} ms |`);
  lines.push('');
  // The gate keeps nothing per request beyond the exchange: promoting much more than the
  // pass-through means something holds dead exchanges (gate/in-flight.ts tells the story once).
  const ratio = pt.gc.promotedPerRequest > 0 ? gate.gc.promotedPerRequest / pt.gc.promotedPerRequest : 0;
  lines.push(`Promotion check: the gate promotes ${ratio.toFixed(2)}× the pass-through's bytes per request — ${ratio <= 2 ? '**pass** (≤ 2×)' : '**FAIL** (over 2×: something keeps finished exchanges alive through minor collections)'}.`);
  lines.push('');
  lines.push(MARKERS.end);
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
