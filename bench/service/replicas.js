// guard-service with 1, 2 and 3 replicas (npm run bench:service:replicas): each replica is a real
// `guard service` process dividing the services with Leases on the Kubernetes stand-in (test/kube,
// loaded through vite's module runner), gates authenticated with tokens, the CRD store; the load
// goes round-robin to the replicas as a Kubernetes Service spreads it, so most syncs are forwarded.
// Reports syncs/s, latency, the Kubernetes API calls per sync (by kind) and the CPU the replicas
// spent per sync, and writes them into docs/performance.md between the bench:service-replicas
// markers. On a machine with fewer cores than replicas they share the CPU: the CPU per sync, not
// the syncs/s, is what carries over to a cluster (docs/operations.md, Replicas).
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { loadCore } from '../../build/js/core/index.js';
import { buildGates } from './gates.js';
import { cpuSeconds, machineLine, metric, nowMs, publishBlock, startGuardService, startStandin } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(ROOT, 'docs/performance.md');
const START = '<!-- bench:service-replicas:start -->';
const END = '<!-- bench:service-replicas:end -->';
const GATES = 100;
const PODS_PER_SERVICE = 2;
const SESSIONS = 1000;
const SHARDS = Number(process.env.BENCH_REPLICAS_SHARDS ?? 16);
// The deployment's: a 10 s window between renewals, so a machine starved of CPU keeps its shards.
const LEASE_SECONDS = 15;
const CONCURRENCY = Number(process.env.BENCH_REPLICAS_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_REPLICAS_SECONDS ?? 15);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,3').split(',').map(Number);
const LEASE_NS = 'guard-system';

function startReplica(name, kubeconfig) {
  return startGuardService(name, (url) => ({
    KUBECONFIG: kubeconfig,
    GUARD_STORE: 'kube-crd',
    GUARD_SERVICE_LOG_LEVEL: 'error',
    GUARD_SERVICE_SHARDS: String(SHARDS),
    GUARD_SERVICE_LEASE_SECONDS: String(LEASE_SECONDS),
    GUARD_SERVICE_LEASE_NAMESPACE: LEASE_NS,
    GUARD_SERVICE_REPLICA_NAME: name,
    GUARD_SERVICE_PEER_URL: url,
    // Alerts are not part of this load.
    GUARD_SERVICE_ALERT_EVENTS: 'false',
  }));
}

/** Until every shard is held and every replica holds some. */
async function settled(replicas) {
  if (SHARDS === 0) return [0];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const held = await Promise.all(replicas.map((r) => metric(r.url, 'guard_service_shards_held')));
    if (held.every((h) => h > 0) && held.reduce((a, b) => a + b, 0) === SHARDS) return held;
    if (Date.now() > deadline) throw new Error(`shards did not settle: ${held}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function load(replicas, gates, seconds) {
  const pools = replicas.map((r) => new Pool(r.url, { connections: CONCURRENCY, keepAliveTimeout: 60_000 }));
  const times = [];
  let failures = 0;
  let firstFailure = null;
  let next = 0;
  const start = nowMs();
  const end = start + seconds * 1000;
  async function worker() {
    while (nowMs() < end) {
      const i = next++;
      const gate = gates[i % gates.length];
      const t0 = nowMs();
      const res = await pools[i % pools.length].request({ method: 'POST', path: '/sync', body: gate.body, headers: { authorization: `Bearer ${gate.token}` } });
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        failures++;
        firstFailure ??= `${res.statusCode} ${text.slice(0, 160)}`;
        continue;
      }
      times.push(nowMs() - t0);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (nowMs() - start) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.max(0, Math.ceil(p * times.length) - 1))];
  return { n: times.length, failures, firstFailure, elapsed, mean: times.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

/** One sync per gate (every Guardian created, every token reviewed), CONCURRENCY at a time. */
async function warmUp(replicas, gates) {
  let next = 0;
  async function worker() {
    for (let i = next++; i < gates.length; i = next++) {
      for (let attempt = 0; ; attempt++) {
        const res = await request(`${replicas[i % replicas.length].url}/sync`, { method: 'POST', body: gates[i].body, headers: { authorization: `Bearer ${gates[i].token}` } });
        const text = await res.body.text();
        if (res.statusCode === 200) break;
        if (attempt > 50) throw new Error(`warm-up sync failed: ${res.statusCode} ${text.slice(0, 300)}`);
        // A gate resends later, not at once: resending in a loop would starve the replicas' Lease rounds.
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * (attempt + 1))));
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function kindOf(path) {
  if (path.includes('/leases')) return 'leases';
  if (path.includes('/guardians')) return 'guardians';
  if (path.includes('tokenreviews')) return 'tokenreviews';
  if (path.includes('/pods')) return 'pods';
  return 'other';
}

const started = Date.now();
const standin = await startStandin('replicas');
const { kube, kubeconfig } = standin;

console.log(`building ${GATES} piles of ${SESSIONS} sessions…`);
const gates = buildGates(loadCore(), { gates: GATES, podsPerService: PODS_PER_SERVICE, namespaces: 5, sessions: SESSIONS });
for (const g of gates) {
  kube.state.addPod({ namespace: g.ns, name: g.pod, labels: { app: g.sid } });
  g.token = kube.state.mintServiceAccountToken({ namespace: g.ns, serviceAccount: 'default', podName: g.pod, audiences: ['guard-service'] });
}

const rows = [];
try {
  for (const count of REPLICAS) {
    const replicas = [];
    for (let i = 1; i <= count; i++) replicas.push(await startReplica(`r${count}-${i}`, kubeconfig));
    try {
      const held = await settled(replicas);
      console.log(`${count} replica(s): shards held ${held.join('/')}; warm-up (one sync per gate)…`);
      await warmUp(replicas, gates);
      const from = kube.state.requests.length;
      const cpu0 = replicas.map((r) => cpuSeconds(r.pid));
      const own0 = process.cpuUsage();
      const forwarded0 = await Promise.all(replicas.map((r) => metric(r.url, 'guard_service_syncs_forwarded_total\\{outcome="ok"\\}')));
      console.log(`  ${CONCURRENCY} syncs in flight for ${SECONDS} s…`);
      const result = await load(replicas, gates, SECONDS);
      const cpu = replicas.reduce((n, r, i) => n + cpuSeconds(r.pid) - cpu0[i], 0);
      const own = process.cpuUsage(own0);
      // The benchmark's own process: the stand-in API server and the load generator.
      const apiCpuSeconds = (own.user + own.system) / 1e6;
      const forwarded = (await Promise.all(replicas.map((r) => metric(r.url, 'guard_service_syncs_forwarded_total\\{outcome="ok"\\}')))).reduce((a, b, i) => a + b - forwarded0[i], 0);
      const calls = kube.state.requests.slice(from);
      const byKind = {};
      for (const c of calls) byKind[kindOf(c.path)] = (byKind[kindOf(c.path)] ?? 0) + 1;
      const statuses = {};
      for (const c of calls) statuses[`${c.method} ${kindOf(c.path)} ${c.status}`] = (statuses[`${c.method} ${kindOf(c.path)} ${c.status}`] ?? 0) + 1;
      console.log(`  API calls by method, kind and status: ${JSON.stringify(statuses)}`);
      const row = { count, load: os.loadavg()[0], ...result, cpuMsPerSync: (1000 * cpu) / Math.max(1, result.n), apiCalls: calls.length, byKind, forwarded, benchCpu: apiCpuSeconds / result.elapsed };
      rows.push(row);
      console.log(
        `  ${result.mean.toFixed(1)} syncs/s, p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, ${result.failures} failed${result.firstFailure ? ` (${result.firstFailure})` : ''}; ` +
          `${(calls.length / result.n).toFixed(2)} API calls/sync ${JSON.stringify(byKind)}; ${row.cpuMsPerSync.toFixed(1)} ms CPU/sync; ${forwarded} forwarded; stand-in + client process ${(100 * row.benchCpu).toFixed(0)}% of a core`,
      );
    } finally {
      for (const r of replicas) await r.stop();
    }
  }
} finally {
  await standin.close();
}

publishBlock(DOC, { start: START, end: END, heading: '## guard-service replicas' }, report(rows), started);
if (rows.some((r) => r.failures > 0)) process.exitCode = 1;

function report(rows) {
  const machine = machineLine();
  const per = (r, k) => ((r.byKind[k] ?? 0) / r.n).toFixed(2);
  const lines = [
    START,
    'Method:',
    '',
    '* `npm run bench:service:replicas` builds, then runs bench/service/replicas.js and rewrites this block.',
    `* ${GATES} gates of ${GATES / PODS_PER_SERVICE} services, each sync a pile of ${SESSIONS} sessions of the realistic mix (bench/service/gates.js), authenticated`,
    '  with a projected token (TokenReview, cached 5 min); the CRD store; each replica a `guard service` process with',
    `  \`GUARD_SERVICE_SHARDS=${SHARDS}\`, \`GUARD_SERVICE_LEASE_SECONDS=${LEASE_SECONDS}\`, plain HTTP; the Kubernetes API is the stand-in (test/kube) in the`,
    '  benchmark\'s process. Syncs go round-robin to the replicas (a Service), so with R replicas about (R−1)/R are',
    '  forwarded to the replica that learns their service.',
    `* A warm-up (every Guardian created, every token reviewed), then ${CONCURRENCY} syncs in flight for ${SECONDS} s. API calls: every request the stand-in`,
    '  served during the timed run, by kind. CPU: user + system time of the replica processes over the run.',
    '* With several replicas every sync is written before it is answered (durable syncs, docs/operations.md "Replicas"):',
    '  writes to one Guardian are grouped, so the Guardian calls per sync fall as the load on a service grows.',
    '',
    `Machine: ${machine}.`,
    '',
    'The machine is shared: its load average (1 min) at the end of each run is in the last column. Syncs/s and latency',
    'move with it; the API calls per sync and the CPU per sync do not.',
    '',
    '| Replicas | Syncs/s | p50 | p99 | Failed | Forwarded | API calls/sync | Guardians | Leases | TokenReviews + pods | Replica CPU per sync | Stand-in + client CPU | Load |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.count} | ${r.mean.toFixed(1)} | ${r.p50.toFixed(0)} ms | ${r.p99.toFixed(0)} ms | ${r.failures} | ${((100 * r.forwarded) / Math.max(1, r.n)).toFixed(0)}% | ${(r.apiCalls / r.n).toFixed(2)} | ${per(r, 'guardians')} | ${per(r, 'leases')} | ` +
        `${(((r.byKind.tokenreviews ?? 0) + (r.byKind.pods ?? 0)) / r.n).toFixed(2)} | ${r.cpuMsPerSync.toFixed(1)} ms | ${(100 * r.benchCpu).toFixed(0)}% | ${r.load.toFixed(1)} |`,
    );
  }
  const one = rows[0];
  lines.push(
    '',
    `Scaling model: a replica on its own core serves about 1000 ÷ (CPU per sync) syncs/s — ${(1000 / one.cpuMsPerSync).toFixed(0)} with one replica here; a forwarded sync costs the`,
    'forwarding replica its read and relay on top (the CPU per sync of the rows with more replicas). Leases cost (shards + replicas) ÷ (lease seconds ÷ 3) writes/s',
    `plus one list per replica per round, whatever the load: ${((SHARDS + 3) / (LEASE_SECONDS / 3) + 3 / (LEASE_SECONDS / 3)).toFixed(1)} calls/s for 3 replicas with ${LEASE_SECONDS} s Leases (the deployment's).`,
    END,
  );
  return lines.join('\n');
}

