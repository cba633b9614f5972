// Soak of guard-gate with content it does not analyse (npm run bench:soak): `guard gate` — the
// process the image runs, with the deployment's Node flags and environment — in learn mode in front
// of the benchmark backend, syncing with guard-service, under wrk for a minute with a mix of JSON
// requests, images, 4 MiB downloads and chunked binary streams. Reports the gate's RSS over time
// and checks that every request was counted and none is left in flight. Writes its block of
// docs/performance.md.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { request } from 'undici';
import { serviceConfig, startService } from '../../build/js/service/index.js';
import { MIX_CYCLE } from './mix.js';
import { GATE_ENV, GATE_NODE_FLAGS } from './flags.js';
import { freePorts, until } from './gate-process.js';
import { ensureWrk, runWrk } from './wrk.js';
import { checkTable, writeBlock } from './doc-block.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOC = here('../../docs/performance.md');
const START = '<!-- bench:soak:start -->';
const END = '<!-- bench:soak:end -->';
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.BENCH_SOAK_CONNECTIONS ?? 16);
const SAMPLE_MS = 5_000;
const RSS_BUDGET = 100e6;

/** The soak's cycle per connection: 10 JSON requests of the gate mix, 4 images, a 4 MiB download, a 1 MiB chunked stream. */
export const STATIC_CYCLE = [
  ...MIX_CYCLE.slice(0, 10),
  ...[1, 2, 3, 4].map((n) => ({ method: 'GET', path: `/static/img/${n}.png`, headers: { accept: 'image/avif,image/webp,*/*' } })),
  { method: 'GET', path: '/static/download.bin', headers: { accept: '*/*' } },
  { method: 'GET', path: '/static/stream.bin', headers: { accept: '*/*' } },
];

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function metric(adminPort, name) {
  const r = await request(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await r.body.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function main() {
  ensureWrk();
  const bin = here('../../bin/guard.js');
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-soak-'));
  const service = await startService(serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }), { logger: pino({ level: 'silent' }) });
  const backend = fork(here('./backend.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const backendPort = await new Promise((resolve) => backend.once('message', (/** @type {{ port: number }} */ m) => resolve(m.port)));
  const [port, adminPort] = await freePorts(2);
  const gate = spawn(process.execPath, [bin, 'gate'], {
    env: {
      PATH: process.env.PATH,
      ...GATE_ENV,
      NODE_OPTIONS: GATE_NODE_FLAGS.join(' '),
      SERVICE_NAME: 'shop',
      NAMESPACE: 'bench',
      PROTECTED_SERVICE: `http://127.0.0.1:${backendPort}`,
      GUARD_SERVICE_URL: service.url,
      PORT: String(port),
      GUARD_ADMIN_PORT: String(adminPort),
      MONITOR_POD: 'false',
      USE_CRD: 'false',
      LOG_LEVEL: 'warn',
      HOSTNAME: 'shop-soak-1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The gate's log (pino JSON lines on stdout): every line at warn or above (normal traffic should produce none).
  const logged = [];
  let partial = '';
  gate.stdout.on('data', (d) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      let level = 0;
      try {
        level = JSON.parse(line).level;
      } catch {
        level = 50; // not a log line: a crash report or the like
      }
      if (level >= 40) logged.push(line);
    }
  });
  try {
    await until(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 200, 15_000, 'the gate to be ready');
    const idle = rssOf(gate.pid);
    const samples = [{ s: 0, rss: idle }];
    const t0 = Date.now();
    const sampler = setInterval(() => samples.push({ s: Math.round((Date.now() - t0) / 1000), rss: rssOf(gate.pid) }), SAMPLE_MS);
    console.log(`soak: ${SECONDS} s, ${CONNECTIONS} connections, wrk, cycle of ${STATIC_CYCLE.length} (JSON, images, 4 MiB downloads, chunked streams)…`);
    const load = await runWrk({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, seconds: SECONDS, cycle: STATIC_CYCLE });
    clearInterval(sampler);
    // Requests wrk had in flight when it stopped end as the client goes away: wait for every exchange to end.
    await until(async () => (await metric(adminPort, 'guard_gate_in_flight')) === 0, 10_000, 'no exchange in flight');
    samples.push({ s: Math.round((Date.now() - t0) / 1000), rss: rssOf(gate.pid) });
    const counted = await metric(adminPort, 'guard_gate_requests_total');
    const inFlight = await metric(adminPort, 'guard_gate_in_flight');
    const run = { load, idle, samples, counted, inFlight, logged: logged.length, firstLogged: logged.slice(0, 3) };
    const block = report(run);
    writeBlock(DOC, { start: START, end: END, heading: '## guard-gate soak with content it does not analyse' }, block);
    console.log(block);
    const failures = checks(run).filter((c) => !c.ok && !c.informative);
    if (failures.length) {
      console.error(`soak failed: ${failures.map((f) => f.what).join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    gate.kill('SIGTERM');
    await new Promise((r) => gate.once('exit', r));
    backend.kill();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

function checks(run) {
  const half = run.samples.filter((s) => s.s >= SECONDS / 2);
  const growth = half.length > 1 ? half[half.length - 1].rss - half[0].rss : 0;
  const max = Math.max(...run.samples.map((s) => s.rss));
  const cut = run.counted - run.load.requests;
  return [
    { what: 'every request completed by wrk was counted; at most one per connection more (those cut when wrk stopped)', ok: cut >= 0 && cut <= CONNECTIONS, value: `${run.counted} counted, ${run.load.requests} completed by wrk` },
    { what: 'no exchange in flight after the load', ok: run.inFlight === 0, value: String(run.inFlight) },
    { what: `RSS ≤ ${mb(RSS_BUDGET)} throughout (the JSON mix's budget, given for comparison)`, ok: max <= RSS_BUDGET, value: `max ${mb(max)}, idle ${mb(run.idle)}`, informative: true },
    { what: 'RSS flat over the second half (growth ≤ 5 MB)', ok: growth <= 5e6, value: `${growth >= 0 ? '+' : '−'}${mb(Math.abs(growth))}` },
    { what: 'no warn or error line logged', ok: run.logged === 0, value: run.logged === 0 ? 'none' : `${run.logged}, first: ${run.firstLogged.join(' | ')}` },
    { what: 'no socket error, timeout or non-2xx answer', ok: run.load.errors + run.load.timeouts + run.load.non2xx === 0, value: `${run.load.errors} errors, ${run.load.timeouts} timeouts, ${run.load.non2xx} non-2xx` },
  ];
}

function report(run) {
  const cpu = os.cpus();
  const l = run.load;
  const lines = [START, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:soak\` (bench/gate/soak.js).`);
  lines.push('');
  lines.push(`\`guard gate\` (bin/guard.js, as the image runs it; \`NODE_OPTIONS=${GATE_NODE_FLAGS.join(' ')}\`, \`${Object.entries(GATE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\`) in learn mode, body analysis on, syncing with guard-service, in front of bench/gate/backend.js; wrk (1 thread, ${CONNECTIONS} connections, ${SECONDS} s) replays a cycle of ${STATIC_CYCLE.length} requests per connection: 10 of the gate mix (JSON GETs and POSTs), 4 images (24 KiB, \`image/png\`, Content-Length), a 4 MiB download (\`application/octet-stream\`, Content-Length) and a 1 MiB chunked stream without Content-Type. RSS from /proc/<pid>/status every ${SAMPLE_MS / 1000} s.`);
  lines.push('');
  lines.push(`wrk: ${l.requests} requests in ${l.seconds.toFixed(1)} s (${l.rps.toFixed(0)} req/s, ${(l.bytes / l.seconds / 1e6).toFixed(0)} MB/s), p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms.`);
  lines.push('');
  lines.push(...checkTable(checks(run)));
  lines.push('');
  lines.push(`Gate RSS: ${run.samples.map((s) => `${s.s} s ${mb(s.rss)}`).join(', ')}.`);
  lines.push('');
  lines.push(END);
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
