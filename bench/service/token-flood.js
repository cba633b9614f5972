// Made-up tokens against guard-service while gates sync at a steady pace (npm run
// bench:service:flood): how many TokenReviews reach the API server, what the flood is answered, and
// what the gates wait — with the limits on authentication as deployed (service/auth-attempts.ts),
// with the flood spread over many client addresses, and with the limits off. guard-service is a
// real `guard service` process, gates authenticated with tokens on the Kubernetes stand-in
// (test/kube, in this process: its request log counts the reviews). Writes its block of
// docs/performance.md.
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Pool } from 'undici';
import { loadCore } from '../../build/js/core/index.js';
import { buildGates } from './gates.js';
import { cpuSeconds, machineLine, nowMs, publishBlock, quantile, startStandin, steadySyncs, withWarmService } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(ROOT, 'docs/performance.md');
const START = '<!-- bench:service-flood:start -->';
const END = '<!-- bench:service-flood:end -->';
const QUIET_GATES = 20;
const SESSIONS = 200;
const QUIET_INTERVAL_MS = 1000;
/** Made-up tokens the flood keeps in flight. */
const FLOOD_IN_FLIGHT = 16;
/** Client addresses of the spread flood (127.0.0.2 and on; loopback answers them all). */
const SPREAD = 32;
const SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 15);

/** A token shaped like a service account's (a JWT) that Kubernetes never issued. */
const madeUp = (i) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmbG9vZC${i}.c2lnbmF0dXJl${i}`;

/** Made-up tokens sent so far, in every run: each is new (a refusal is remembered for a minute). */
let madeUpCount = 0;

const reviewsSoFar = (kube) => kube.state.requests.filter((r) => r.path.endsWith('/tokenreviews')).length;

/**
 * The quiet gates sync every QUIET_INTERVAL_MS each (staggered), with sync ids as Guard's gates do;
 * the flood, when there is one, sends a new made-up token per request, FLOOD_IN_FLIGHT at a time,
 * from `addresses` client addresses. For SECONDS.
 */
async function phase(service, kube, quiet, addresses) {
  const pool = new Pool(service.url, { connections: QUIET_GATES, keepAliveTimeout: 60_000 });
  const agents = Array.from({ length: addresses }, (_, i) => new Agent({ localAddress: `127.0.0.${2 + i}`, keepAliveTimeout: 60_000 }));
  const floodAnswers = {};
  let sent = 0;
  const end = nowMs() + SECONDS * 1000;
  const cpu0 = cpuSeconds(service.pid);
  const reviews0 = reviewsSoFar(kube);
  const started = nowMs();
  async function floodLoop(k) {
    while (nowMs() < end) {
      const agent = agents[(k + sent++) % agents.length];
      const res = await agent.request({ origin: service.url, method: 'POST', path: '/sync', body: '{}', headers: { authorization: `Bearer ${madeUp(madeUpCount++)}` } });
      await res.body.text();
      floodAnswers[res.statusCode] = (floodAnswers[res.statusCode] ?? 0) + 1;
    }
  }
  const [{ times, failed }] = await Promise.all([
    steadySyncs(pool, quiet, { intervalMs: QUIET_INTERVAL_MS, started, end, tag: 'flood' }),
    ...(addresses > 0 ? Array.from({ length: FLOOD_IN_FLIGHT }, (_, k) => floodLoop(k)) : []),
  ]);
  const elapsed = (nowMs() - started) / 1000;
  const cores = (cpuSeconds(service.pid) - cpu0) / elapsed;
  const reviews = reviewsSoFar(kube) - reviews0;
  await pool.close();
  await Promise.all(agents.map((a) => a.close()));
  return { quiet: times.length, quietFailed: failed, p50: quantile(times, 0.5), p99: quantile(times, 0.99), cores, sent, floodPerSecond: sent / elapsed, floodAnswers, reviews, reviewsPerSecond: reviews / elapsed, load: os.loadavg()[0] };
}

const started = Date.now();
const standin = await startStandin('flood');
const { kube, kubeconfig } = standin;

console.log(`building ${QUIET_GATES} piles of ${SESSIONS} sessions…`);
const quiet = buildGates(loadCore(), { gates: QUIET_GATES, podsPerService: 1, namespaces: 1, sessions: SESSIONS });
for (const g of quiet) {
  kube.state.addPod({ namespace: g.ns, name: g.pod, labels: { app: g.sid } });
  g.token = kube.state.mintServiceAccountToken({ namespace: g.ns, serviceAccount: 'default', podName: g.pod, audiences: ['guard-service'] });
}

const configs = [
  { name: 'limited', what: 'limits as deployed', env: {}, phases: [['none', 0], ['one address', 1], [`${SPREAD} addresses`, SPREAD]] },
  {
    name: 'unlimited',
    what: 'no limits (`GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE=0`, `GUARD_SERVICE_MAX_TOKEN_REVIEWS=10000`)',
    env: { GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE: '0', GUARD_SERVICE_MAX_TOKEN_REVIEWS: '10000' },
    phases: [['one address', 1]],
  },
];
const rows = [];
try {
  for (const config of configs) {
    // Every gate synced once before: its Guardian created, its token reviewed (and so spared by the limits).
    await withWarmService(config.name, kubeconfig, config.env, quiet, async (service) => {
      for (const [flood, addresses] of config.phases) {
        console.log(`${config.name}, flood: ${flood}: ${SECONDS} s…`);
        const r = await phase(service, kube, quiet, addresses);
        rows.push({ config, flood, addresses, ...r });
        console.log(
          `  quiet gates: ${r.quiet} syncs, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.quietFailed} failed; flood ${r.floodPerSecond.toFixed(0)}/s ${JSON.stringify(r.floodAnswers)}; TokenReviews ${r.reviews} (${r.reviewsPerSecond.toFixed(1)}/s); guard-service ${r.cores.toFixed(2)} cores`,
        );
      }
    });
  }
} finally {
  await standin.close();
}

publishBlock(DOC, { start: START, end: END, heading: '## guard-service under a flood of made-up tokens' }, report(rows), started);
if (rows.some((r) => r.quietFailed > 0)) process.exitCode = 1;

function report(rows) {
  const ms = (v) => `${v.toFixed(1)} ms`;
  const lines = [
    START,
    'Method:',
    '',
    '* `npm run bench:service:flood` builds, then runs bench/service/token-flood.js and rewrites this block.',
    `* ${QUIET_GATES} gates of ${QUIET_GATES} services sync a pile of ${SESSIONS} sessions (bench/service/gates.js) every ${QUIET_INTERVAL_MS / 1000} s each, staggered, with`,
    `  sync ids; each synced once before (its token reviewed). The flood sends \`POST /sync\` with a new made-up token shaped like a`,
    `  service account's (a JWT) every time, ${FLOOD_IN_FLIGHT} at a time as fast as it is answered, from one client address or spread over ${SPREAD}`,
    '  (127.0.0.2 and on).',
    '* guard-service is a `guard service` process (authentication on through the Kubernetes stand-in, test/kube, in the',
    "  benchmark's process, whose request log counts the TokenReviews; the CRD store; one replica), with the limits on",
    `  authentication as deployed (20 failures per address at once, then 10 a minute; 32 reviews at once) and without them; runs of ${SECONDS} s.`,
    '',
    `Machine: ${machineLine()}. The stand-in and the load share the machine's two cores with guard-service.`,
    '',
    "| guard-service | Flood | Made-up tokens sent | TokenReviews made | Flood answered | Gates' syncs | p50 | p99 | Failed | guard-service CPU | Load |",
    '| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const answers = Object.entries(r.floodAnswers)
      .map(([status, n]) => `${n} × ${status}`)
      .join(', ');
    lines.push(
      `| ${r.config.what} | ${r.flood} | ${r.addresses > 0 ? `${r.sent} (${r.floodPerSecond.toFixed(0)}/s)` : '—'} | ${r.reviews} (${r.reviewsPerSecond.toFixed(1)}/s) | ${answers || '—'} | ${r.quiet} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.quietFailed} | ${r.cores.toFixed(2)} cores | ${r.load.toFixed(1)} |`,
    );
  }
  const one = rows.find((r) => r.config.name === 'limited' && r.addresses === 1);
  const spread = rows.find((r) => r.config.name === 'limited' && r.addresses === SPREAD);
  const open = rows.find((r) => r.config.name === 'unlimited');
  const base = rows.find((r) => r.addresses === 0);
  if (one && spread && open && base) {
    lines.push(
      '',
      `Without the limits every made-up token is a TokenReview: ${open.reviews} in ${SECONDS} s (${open.reviewsPerSecond.toFixed(0)}/s), the API server's load set by whoever reaches the port. ` +
        `With them, one address gets its burst of 20 reviews and then 10 a minute: ${one.reviews} reviews for ${one.sent} tokens. ` +
        `Spread over ${SPREAD} addresses the bound is per address: ${spread.reviews} reviews (${SPREAD} bursts of 20, then ${SPREAD} × 10 a minute) — what an attacker with many addresses still gets. ` +
        `The gates that had synced before are never refused; their p50 and p99 are ${ms(one.p50)} and ${ms(one.p99)} under the flood from one address, ${ms(open.p50)} and ${ms(open.p99)} without the limits, ${ms(base.p50)} and ${ms(base.p99)} without a flood ` +
        `(the flood's requests still cost guard-service a little each: ${one.cores.toFixed(2)} cores against ${base.cores.toFixed(2)}).`,
    );
  }
  lines.push(END);
  return lines.join('\n');
}
