// One pod syncing as fast as it is answered — a compromised gate, or one of the original's in its
// sync storm (it syncs on every completed request once its pile holds 1,000 samples) — against
// guard-service while other gates sync at a steady pace (npm run bench:service:storm): the other
// gates' sync latency and guard-service's CPU, with the per-pod sync rate limit as deployed and
// without it (GUARD_SERVICE_SYNCS_PER_MINUTE=0), against the same gates without the storm. Each
// guard-service is a real `guard service` process, gates authenticated with tokens on the
// Kubernetes stand-in (test/kube), the CRD store. Writes its block of docs/performance.md.
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadCore } from '../../build/js/core/index.js';
import { buildGates } from './gates.js';
import { cpuSeconds, machineLine, metric, nowMs, publishBlock, quantile, startStandin, steadySyncs, withWarmService } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(ROOT, 'docs/performance.md');
const START = '<!-- bench:service-storm:start -->';
const END = '<!-- bench:service-storm:end -->';
const QUIET_GATES = 20;
const SESSIONS = 1000;
/** Each quiet gate syncs this often: far more often than a gate does (every 5 s at most), for samples. */
const QUIET_INTERVAL_MS = 1000;
/** Syncs the storming pod keeps in flight. */
const STORM_IN_FLIGHT = 4;
const SECONDS = Number(process.env.BENCH_STORM_SECONDS ?? 15);

/**
 * The quiet gates sync every QUIET_INTERVAL_MS each (staggered), as Guard's gates do (with sync
 * ids); the storming pod, when there is one, syncs STORM_IN_FLIGHT at a time as fast as it is
 * answered, as the original's gates do (no sync id). For SECONDS.
 */
async function phase(service, quiet, storm) {
  const pool = new Pool(service.url, { connections: QUIET_GATES + STORM_IN_FLIGHT, keepAliveTimeout: 60_000 });
  const stormAnswers = {};
  const end = nowMs() + SECONDS * 1000;
  const cpu0 = cpuSeconds(service.pid);
  const unlearned0 = await metric(service.url, 'guard_service_syncs_rate_limited_total\\{answer="unlearned"\\}');
  const started = nowMs();
  async function stormLoop() {
    while (nowMs() < end) {
      const res = await pool.request({ method: 'POST', path: '/sync', body: storm.body, headers: { authorization: `Bearer ${storm.token}` } });
      await res.body.text();
      stormAnswers[res.statusCode] = (stormAnswers[res.statusCode] ?? 0) + 1;
    }
  }
  const [{ times, failed }] = await Promise.all([
    steadySyncs(pool, quiet, { intervalMs: QUIET_INTERVAL_MS, started, end, tag: 'bench' }),
    ...(storm ? Array.from({ length: STORM_IN_FLIGHT }, stormLoop) : []),
  ]);
  const elapsed = (nowMs() - started) / 1000;
  const cores = (cpuSeconds(service.pid) - cpu0) / elapsed;
  const unlearned = (await metric(service.url, 'guard_service_syncs_rate_limited_total\\{answer="unlearned"\\}')) - unlearned0;
  await pool.close();
  const stormTotal = Object.values(stormAnswers).reduce((a, b) => a + b, 0);
  return { quiet: times.length, quietFailed: failed, p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1), cores, stormPerSecond: stormTotal / elapsed, stormAnswers, unlearned, load: os.loadavg()[0] };
}

const started = Date.now();
const standin = await startStandin('storm');
const { kube, kubeconfig } = standin;

console.log(`building ${QUIET_GATES + 1} piles of ${SESSIONS} sessions…`);
const gates = buildGates(loadCore(), { gates: QUIET_GATES + 1, podsPerService: 1, namespaces: 1, sessions: SESSIONS });
for (const g of gates) {
  kube.state.addPod({ namespace: g.ns, name: g.pod, labels: { app: g.sid } });
  g.token = kube.state.mintServiceAccountToken({ namespace: g.ns, serviceAccount: 'default', podName: g.pod, audiences: ['guard-service'] });
}
const [storm, ...quiet] = gates;

const rows = [];
const configs = [
  { name: 'limited', what: 'per-pod sync limit as deployed (10 at once, 60 a minute)', env: {} },
  { name: 'unlimited', what: 'no limit (`GUARD_SERVICE_SYNCS_PER_MINUTE=0`)', env: { GUARD_SERVICE_SYNCS_PER_MINUTE: '0' } },
];
try {
  for (const config of configs) {
    await withWarmService(config.name, kubeconfig, config.env, gates, async (service) => {
      for (const withStorm of [false, true]) {
        if (!withStorm && config.name === 'unlimited') continue;
        console.log(`${config.name}, ${withStorm ? 'with' : 'without'} the storm: ${SECONDS} s…`);
        const r = await phase(service, quiet, withStorm ? storm : null);
        rows.push({ config, withStorm, ...r });
        console.log(
          `  quiet gates: ${r.quiet} syncs, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms, ${r.quietFailed} failed; storm ${r.stormPerSecond.toFixed(1)}/s ${JSON.stringify(r.stormAnswers)}, ${r.unlearned} unlearned; guard-service ${r.cores.toFixed(2)} cores`,
        );
      }
    });
  }
} finally {
  await standin.close();
}

publishBlock(DOC, { start: START, end: END, heading: '## guard-service under a sync storm' }, report(rows), started);
if (rows.some((r) => r.quietFailed > 0)) process.exitCode = 1;

function report(rows) {
  const machine = machineLine();
  const ms = (v) => `${v.toFixed(1)} ms`;
  const lines = [
    START,
    'Method:',
    '',
    '* `npm run bench:service:storm` builds, then runs bench/service/storm.js and rewrites this block.',
    `* ${QUIET_GATES} gates of ${QUIET_GATES} services sync a pile of ${SESSIONS} sessions of the realistic mix (bench/service/gates.js) every`,
    `  ${QUIET_INTERVAL_MS / 1000} s each, staggered, with sync ids as Guard's gates do (a gate syncs every 5 s at most; this is five times that, for`,
    `  samples). One more pod, of its own service, sends the same kind of pile ${STORM_IN_FLIGHT} at a time as fast as it is answered, without`,
    "  sync ids, as the original's gates do in their sync storm (or a compromised gate would).",
    '* guard-service is a `guard service` process (authentication on through the Kubernetes stand-in, test/kube, in the',
    "  benchmark's process; the CRD store; one replica; alert Events off), once with the sync rate limit as deployed and once",
    `  without; every gate synced once before the timed runs of ${SECONDS} s. Latency is the quiet gates' own, to the last byte`,
    "  of the answer; guard-service's CPU is its process's user + system time over the run; a storm sync's cost is that CPU less",
    "  the quiet gates' own (the row without the storm), divided by the storm's syncs.",
    '',
    `Machine: ${machine}. The stand-in and the load share the machine's two cores with guard-service (load average in the last column).`,
    '',
    "| guard-service | Storm | Quiet gates' syncs | p50 | p99 | max | Failed | Storm syncs answered | of which not learned (over the limit) | guard-service CPU | Load |",
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.config.what} | ${r.withStorm ? `${STORM_IN_FLIGHT} in flight` : 'none'} | ${r.quiet} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.quietFailed} | ${r.withStorm ? `${r.stormPerSecond.toFixed(1)}/s` : '—'} | ${r.withStorm ? r.unlearned : '—'} | ${r.cores.toFixed(2)} cores | ${r.load.toFixed(1)} |`,
    );
  }
  const base = rows.find((r) => !r.withStorm);
  const limited = rows.find((r) => r.withStorm && r.config.name === 'limited');
  const unlimited = rows.find((r) => r.withStorm && r.config.name === 'unlimited');
  if (base && limited && unlimited) {
    // The storm's share: guard-service's CPU beyond what the quiet gates alone took, per storm sync.
    const perSync = (r) => `${((1000 * Math.max(0, r.cores - base.cores)) / r.stormPerSecond).toFixed(2)} ms`;
    lines.push(
      '',
      `A pod that syncs as fast as it is answered takes what CPU there is either way (${unlimited.cores.toFixed(2)} cores without the limit, ${limited.cores.toFixed(2)} with it, against ${base.cores.toFixed(2)} for the quiet gates alone). ` +
        `What the limit changes is what each of its syncs costs — about ${perSync(unlimited)} of guard-service's CPU when it is parsed, merged and learned, ${perSync(limited)} over the limit (answered, its pile not even parsed) — ` +
        `and so what the other gates wait: their p50 ${ms(unlimited.p50)} and p99 ${ms(unlimited.p99)} under the storm without the limit, ${ms(limited.p50)} and ${ms(limited.p99)} with it, ${ms(base.p50)} and ${ms(base.p99)} without the storm ` +
        '(a guard-service that idles between syncs answers no faster than one kept busy by cheap ones: compare the two storm rows).',
    );
  }
  lines.push(END);
  return lines.join('\n');
}
