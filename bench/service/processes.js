// What the guard-service benchmarks that run `guard service` as its own process share: a free
// port, the CPU a process spent, one metric read, starting the process with its environment, the
// Kubernetes stand-in it talks to, and the machine line of a results block.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { createServer as viteServer } from 'vite';

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
