// What the guard-service benchmarks that run `guard service` as its own process share: a free
// port, the CPU a process spent, one metric read, starting the process with its environment, the
// Kubernetes stand-in it talks to, gates syncing at a steady pace, and the results block (its
// machine line, writing it).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { createServer as viteServer } from 'vite';
import { writeBlock } from '../gate/doc-block.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

export async function freePort() {
  const s = netServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
  await new Promise((r) => s.close(r));
  return port;
}

/** user + system CPU seconds of a process so far (Linux /proc). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One sample of a Prometheus metric (`name` is a regular expression: escape its braces), 0 when absent. */
export async function metric(url, name) {
  try {
    const r = await request(`${url}/metrics`);
    const text = await r.body.text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * `guard service` (bin/guard.js) as its own process on a free port of 127.0.0.1, plain HTTP, with
 * the environment `envOf` gives for its URL, besides PATH; resolves once /healthz answers.
 */
export async function startGuardService(name, envOf) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(ROOT, 'bin/guard.js'), 'service'], {
    env: { PATH: process.env.PATH, GUARD_SERVICE_PORT: String(port), GUARD_SERVICE_ADDRESS: '127.0.0.1', GUARD_SERVICE_TLS: 'false', ...envOf(url) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await request(`${url}/healthz`);
      await r.body.text();
      if (r.statusCode === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`guard service ${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The Kubernetes stand-in (test/kube, loaded through vite's module runner) in this process, and a
 * kubeconfig file that points at it for `guard service` processes; close() stops both.
 */
export async function startStandin(name) {
  const vite = await viteServer({ root: ROOT, configFile: false, logLevel: 'silent', server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom', optimizeDeps: { noDiscovery: true, include: [] } });
  const { startKubeStandin } = await vite.ssrLoadModule('/test/kube/standin.ts');
  const kube = await startKubeStandin();
  const dir = mkdtempSync(join(os.tmpdir(), `guard-bench-${name}-`));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  return {
    kube,
    kubeconfig,
    close: async () => {
      await kube.close();
      await vite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The machine, Node and date line of a results block. */
export function machineLine() {
  const cpus = os.cpus();
  return `${cpus[0].model.trim()}, ${cpus.length} cores, ${os.type()} ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * Every gate syncs once, one after the other (its Guardian created, its token reviewed and so known
 * to guard-service); a sync that is not answered 200 is an error.
 */
export async function warmUp(url, gates) {
  const pool = new Pool(url, { connections: 1 });
  try {
    for (const g of gates) {
      const res = await pool.request({ method: 'POST', path: '/sync', body: g.body, headers: { authorization: `Bearer ${g.token}` } });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`warm-up sync of ${g.pod} failed: ${res.statusCode}`);
    }
  } finally {
    await pool.close();
  }
}

/**
 * `run(service)` against a `guard service` process of its own (authentication on through the
 * stand-in at `kubeconfig`, the CRD store, errors-only log, alert Events off, then `env`) after every
 * one of `gates` synced once; the process is stopped after, however `run` ended.
 */
export async function withWarmService(name, kubeconfig, env, gates, run) {
  const service = await startGuardService(name, () => ({
    KUBECONFIG: kubeconfig,
    GUARD_STORE: 'kube-crd',
    GUARD_SERVICE_LOG_LEVEL: 'error',
    GUARD_SERVICE_ALERT_EVENTS: 'false',
    ...env,
  }));
  try {
    await warmUp(service.url, gates);
    await run(service);
  } finally {
    await service.stop();
  }
}

/**
 * Gates syncing at a steady pace, as Guard's gates do (with sync ids, `tag` in them): each every
 * `intervalMs`, staggered over the interval from `started`, until `end` (ms of nowMs). The times
 * of the syncs answered 200 (ms, to the last byte of the answer), and how many were not.
 */
export async function steadySyncs(pool, gates, { intervalMs, started, end, tag }) {
  const times = [];
  let failed = 0;
  await Promise.all(
    gates.map(async (g, i) => {
      let seq = 0;
      let next = started + (i * intervalMs) / gates.length;
      while (next < end) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - nowMs())));
        const t0 = nowMs();
        const res = await pool.request({ method: 'POST', path: '/sync', body: g.body, headers: { authorization: `Bearer ${g.token}`, 'x-guard-sync-id': `${g.pod}-${tag}:${++seq}` } });
        await res.body.text();
        if (res.statusCode === 200) times.push(nowMs() - t0);
        else failed++;
        next += intervalMs;
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { times, failed };
}

/** The p-quantile (0–1) of ascending `sorted`. */
export function quantile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Print a results block and write it between its markers in `doc` (with how long the run took). */
export function publishBlock(doc, markers, block, startedAt) {
  console.log(`\n${block}`);
  writeBlock(doc, markers, block);
  console.log(`\nwrote ${doc} (${((Date.now() - startedAt) / 1000).toFixed(0)} s)`);
}
