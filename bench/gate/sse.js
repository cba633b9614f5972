// Server-Sent Events through guard-gate (npm run bench:sse): `guard gate` — the process the image
// runs, with the deployment's Node flags — on each listener in front of an SSE service, and 1,000
// streams opened through it at once. Reports how many streams got their first event and how soon,
// the gate's RSS idle and with every stream open (per stream), and that every exchange ends once the
// clients go. Writes its block of docs/performance.md. BENCH_SSE_STREAMS changes the count.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { request } from 'undici';
import { serviceConfig, startService } from '../../build/js/service/index.js';
import { GATE_ENV, GATE_NODE_FLAGS } from './flags.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOC = here('../../docs/performance.md');
const START = '<!-- bench:sse:start -->';
const END = '<!-- bench:sse:end -->';
const STREAMS = Number(process.env.BENCH_SSE_STREAMS ?? 1000);
/** How long the streams stay open (events every TICK_MS) before RSS is read. */
const OPEN_MS = 10_000;
const TICK_MS = 1_000;
/** How long a stream may wait for its first event. */
const FIRST_EVENT_MS = 10_000;
/** The budget: bytes of gate RSS per open stream over the idle gate, and the gate's RSS with all of them open. */
const BUDGET = { perStream: 32 * 1024, rss: 200e6 };
const LISTENERS = ['uws', 'node'];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function metric(adminPort, name) {
  const r = await request(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await r.body.text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** The SSE service: the first event at once, then one every TICK_MS, until the client goes. */
async function startSseService() {
  const open = new Set();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('retry: 1000\nid: 1\ndata: hello\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  let n = 1;
  const ticker = setInterval(() => {
    n++;
    for (const res of open) res.write(`id: ${n}\ndata: tick ${n}\n\n`);
  }, TICK_MS);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return {
    port: /** @type {net.AddressInfo} */ (server.address()).port,
    open: () => open.size,
    close: () => {
      clearInterval(ticker);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/** One stream: a raw socket sending the request; resolves with ms to its first event (null: none in time). */
function openStream(port, i, sockets) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /events?i=${i} HTTP/1.1\r\nHost: shop\r\nAccept: text/event-stream\r\n\r\n`));
    sockets.push(socket);
    let seen = '';
    const timer = setTimeout(() => resolve(null), FIRST_EVENT_MS);
    const onData = (d) => {
      seen += d.toString('latin1');
      if (!seen.includes('data: hello')) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.on('data', () => {});
      resolve(performance.now() - t0);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN);

async function runListener(listener, service, sse) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const gate = spawn(process.execPath, [here('../../bin/guard.js'), 'gate'], {
    env: {
      PATH: process.env.PATH,
      ...GATE_ENV,
      NODE_OPTIONS: GATE_NODE_FLAGS.join(' '),
      SERVICE_NAME: 'shop',
      NAMESPACE: 'bench',
      PROTECTED_SERVICE: `http://127.0.0.1:${sse.port}`,
      GUARD_SERVICE_URL: service.url,
      GUARD_LISTENER: listener,
      PORT: String(port),
      GUARD_ADMIN_PORT: String(adminPort),
      MONITOR_POD: 'false',
      USE_CRD: 'false',
      LOG_LEVEL: 'warn',
      GUARD_SHUTDOWN_DELAY: '0',
      HOSTNAME: `shop-sse-${listener}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logged = [];
  gate.stdout.on('data', (d) => {
    for (const line of d.toString().split('\n')) if (line.trim()) logged.push(line);
  });
  const sockets = [];
  try {
    await until(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 200, 15_000, 'the gate to be ready');
    const idle = rssOf(gate.pid);
    const firsts = await Promise.all(Array.from({ length: STREAMS }, (_, i) => openStream(port, i, sockets)));
    const got = firsts.filter((ms) => ms !== null).sort((a, b) => a - b);
    await new Promise((r) => setTimeout(r, OPEN_MS));
    const open = rssOf(gate.pid);
    const atService = sse.open();
    const inFlightOpen = await metric(adminPort, 'guard_gate_in_flight');
    for (const s of sockets) s.destroy();
    await until(async () => (await metric(adminPort, 'guard_gate_in_flight')) === 0, 15_000, 'no exchange in flight once the clients went').catch(() => {});
    const inFlightAfter = await metric(adminPort, 'guard_gate_in_flight');
    // Security alerts are the gate's verdicts, not faults: a stream open longer than the Guardian's
    // CompletionTime envelope is out of pattern (counted apart); any other warn or error line is a fault.
    const warned = logged.filter((l) => /"level":(4|5)\d/.test(l));
    const alerts = warned.filter((l) => l.includes('"alert":true'));
    return { listener, idle, open, got: got.length, p50: pct(got, 50), p99: pct(got, 99), atService, inFlightOpen, inFlightAfter, alerts: alerts.length, firstAlert: alerts[0] ?? '', logged: warned.filter((l) => !l.includes('"alert":true')) };
  } finally {
    for (const s of sockets) s.destroy();
    gate.kill('SIGTERM');
    await new Promise((r) => gate.once('exit', r));
  }
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;

function checks(r) {
  const perStream = (r.open - r.idle) / STREAMS;
  return [
    { what: `every stream got its first event within ${FIRST_EVENT_MS / 1000} s`, ok: r.got === STREAMS, value: `${r.got} of ${STREAMS}${r.got ? `, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms from connect` : ''}` },
    { what: 'every stream open at the service', ok: r.atService === STREAMS, value: `${r.atService} (gate: ${r.inFlightOpen} in flight)` },
    { what: `RSS per open stream ≤ ${kib(BUDGET.perStream)} over the idle gate`, ok: perStream <= BUDGET.perStream, value: `${kib(perStream)} (idle ${mb(r.idle)}, ${STREAMS} open ${mb(r.open)})` },
    { what: `RSS with every stream open ≤ ${mb(BUDGET.rss)}`, ok: r.open <= BUDGET.rss, value: mb(r.open) },
    { what: 'no exchange in flight once the clients went', ok: r.inFlightAfter === 0, value: String(r.inFlightAfter) },
    { what: 'no warn or error line logged but security alerts', ok: r.logged.length === 0, value: r.logged.length === 0 ? 'none' : `${r.logged.length}, first: ${r.logged[0].slice(0, 200)}` },
    { what: 'security alerts', informative: true, ok: true, value: r.alerts === 0 ? 'none' : `${r.alerts}, first: ${/"decisionText":"([^"]*)"/.exec(r.firstAlert)?.[1] ?? r.firstAlert.slice(0, 120)}` },
  ];
}

function report(runs) {
  const cpu = os.cpus();
  const lines = [START, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:sse\` (bench/gate/sse.js).`);
  lines.push('');
  lines.push(
    `\`guard gate\` (bin/guard.js, \`NODE_OPTIONS=${GATE_NODE_FLAGS.join(' ')}\`, \`${Object.entries(GATE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\`) in learn mode, syncing with guard-service, in front of a node:http SSE service (\`text/event-stream\`, the first event at once, then one a second). ${STREAMS} clients (raw sockets) open a stream each at once; after ${OPEN_MS / 1000} s the gate's RSS (/proc/<pid>/status) is read, then the clients go. The budget: at most ${kib(BUDGET.perStream)} of RSS per open stream, ${mb(BUDGET.rss)} in all.`,
  );
  for (const r of runs) {
    lines.push('');
    lines.push(`**${r.listener} listener** (GUARD_LISTENER=${r.listener})`);
    lines.push('');
    lines.push('| Check | Measured | Result |');
    lines.push('| --- | --- | --- |');
    for (const c of checks(r)) lines.push(`| ${c.what} | ${c.value} | ${c.informative ? '(informative)' : c.ok ? '**pass**' : '**FAIL**'} |`);
  }
  lines.push('');
  lines.push(END);
  return lines.join('\n');
}

function writeDoc(block) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Performance\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n### Server-Sent Events: open streams\n\n${block}\n`;
  writeFileSync(DOC, out);
}

async function main() {
  if (!existsSync(here('../../build/js/cli/index.js'))) throw new Error('build first: npm run build');
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-sse-'));
  const service = await startService(serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }), { logger: pino({ level: 'silent' }) });
  const sse = await startSseService();
  const runs = [];
  try {
    for (const listener of LISTENERS) {
      console.log(`sse: ${STREAMS} streams through the ${listener} listener, ${OPEN_MS / 1000} s open…`);
      runs.push(await runListener(listener, service, sse));
    }
  } finally {
    await sse.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const block = report(runs);
  writeDoc(block);
  console.log(block);
  const failures = runs.flatMap((r) => checks(r).filter((c) => !c.ok).map((c) => `${r.listener}: ${c.what}`));
  if (failures.length) {
    console.error(`sse failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
