// Server-Sent Events through guard-gate (npm run bench:sse): `guard gate` — the process the image
// runs, with the deployment's Node flags (gate-process.js) — on each listener in front of an SSE
// service, and 1,000 streams opened through it at once. Reports how many streams got their first
// event and how soon, the gate's RSS idle (warm) and with every stream open (per stream), and that
// every exchange ends once the clients go. Writes its block of docs/performance.md. BENCH_SSE_STREAMS
// changes the count.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { serviceConfig, startService } from '../../build/js/service/index.js';
import { checkTable, writeBlock } from './doc-block.js';
import { GATE_ENV, GATE_NODE_FLAGS } from './flags.js';
import { startGateProcess, until } from './gate-process.js';

const DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));
const MARKERS = { start: '<!-- bench:sse:start -->', end: '<!-- bench:sse:end -->', heading: '### Server-Sent Events: open streams' };
const STREAMS = Number(process.env.BENCH_SSE_STREAMS ?? 1000);
/** How long the streams stay open (an event every TICK_MS) before RSS is read. */
const OPEN_MS = 10_000;
const TICK_MS = 1_000;
/** How long a stream may wait for its first event. */
const FIRST_EVENT_MS = 10_000;
/** The budget: bytes of gate RSS per open stream over the idle gate, and the gate's RSS with all of them open. */
const BUDGET = { perStream: 32 * 1024, rss: 200e6 };
const LISTENERS = ['uws', 'node'];

/** The SSE service: the first event at once, then one every TICK_MS, until the client goes. */
async function startSseService() {
  const open = new Set();
  const server = createServer((_req, res) => {
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
    url: `http://127.0.0.1:${/** @type {net.AddressInfo} */ (server.address()).port}`,
    open: () => open.size,
    close: () => {
      clearInterval(ticker);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/** One stream on a raw socket; resolves with ms to its first event (null: none in time). */
function openStream(port, sockets) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /events HTTP/1.1\r\nHost: shop\r\nAccept: text/event-stream\r\n\r\n'));
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

async function runListener(listener, serviceUrl, sse) {
  const gate = await startGateProcess(sse.url, serviceUrl, { GUARD_LISTENER: listener, GUARD_SHUTDOWN_DELAY: '0', HOSTNAME: `shop-sse-${listener}` });
  const sockets = [];
  try {
    // Idle, once warm: a few streams opened and closed, then a pause for the collector.
    const warm = [];
    await Promise.all(Array.from({ length: 16 }, () => openStream(gate.port, warm)));
    for (const s of warm) s.destroy();
    await new Promise((r) => setTimeout(r, 3_000));
    const idle = gate.memory().rss;
    const firsts = await Promise.all(Array.from({ length: STREAMS }, () => openStream(gate.port, sockets)));
    const got = firsts.filter((ms) => ms !== null).sort((a, b) => a - b);
    await new Promise((r) => setTimeout(r, OPEN_MS));
    const open = gate.memory().rss;
    const atService = sse.open();
    const inFlightOpen = await gate.metric('guard_gate_in_flight');
    for (const s of sockets) s.destroy();
    await until(async () => (await gate.metric('guard_gate_in_flight')) === 0, 15_000, 'no exchange in flight once the clients went').catch(() => {});
    const inFlightAfter = await gate.metric('guard_gate_in_flight');
    // Security alerts are the gate's verdicts, not faults: a stream open longer than the Guardian's
    // CompletionTime envelope is out of pattern (counted apart); any other warn or error line is a fault.
    const alerts = gate.warned().filter((l) => l.includes('"alert":true'));
    const logged = gate.warned().filter((l) => !l.includes('"alert":true'));
    return { listener, idle, open, got: got.length, p50: pct(got, 50), p99: pct(got, 99), atService, inFlightOpen, inFlightAfter, alerts: alerts.length, firstAlert: alerts[0] ?? '', logged };
  } finally {
    for (const s of sockets) s.destroy();
    await gate.close();
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
    { what: 'security alerts (informative)', informative: true, ok: r.alerts === 0, value: r.alerts === 0 ? 'none' : `${r.alerts}, first: ${/"decisionText":"([^"]*)"/.exec(r.firstAlert)?.[1] ?? r.firstAlert.slice(0, 120)}` },
  ];
}

function report(runs) {
  const cpu = os.cpus();
  const lines = [MARKERS.start, ''];
  lines.push(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Linux ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. \`npm run bench:sse\` (bench/gate/sse.js).`);
  lines.push('');
  lines.push(
    `\`guard gate\` (bin/guard.js, \`NODE_OPTIONS=${GATE_NODE_FLAGS.join(' ')}\`, \`${Object.entries(GATE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\`) in learn mode, syncing with guard-service, in front of a node:http SSE service (\`text/event-stream\`, the first event at once, then one a second). ${STREAMS} clients (raw sockets) open a stream each at once; after ${OPEN_MS / 1000} s the gate's RSS (/proc/<pid>/status) is read — against its RSS idle, read once 16 streams were opened and closed and 3 s passed — then the clients go. The budget: at most ${kib(BUDGET.perStream)} of RSS per open stream, ${mb(BUDGET.rss)} in all.`,
  );
  for (const r of runs) {
    lines.push('', `**${r.listener} listener** (GUARD_LISTENER=${r.listener})`, '');
    lines.push(...checkTable(checks(r), 'seen'));
  }
  lines.push('', MARKERS.end);
  return lines.join('\n');
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-sse-'));
  const service = await startService(serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }), { logger: pino({ level: 'silent' }) });
  const sse = await startSseService();
  const runs = [];
  try {
    for (const listener of LISTENERS) {
      console.log(`sse: ${STREAMS} streams through the ${listener} listener, ${OPEN_MS / 1000} s open…`);
      runs.push(await runListener(listener, service.url, sse));
    }
  } finally {
    await sse.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const block = report(runs);
  writeBlock(DOC, MARKERS, block);
  console.log(block);
  const failures = runs.flatMap((r) => checks(r).filter((c) => !c.ok && !c.informative).map((c) => `${r.listener}: ${c.what}`));
  if (failures.length) {
    console.error(`sse failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
