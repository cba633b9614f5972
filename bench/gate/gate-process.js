// guard-gate for the benchmark as the image runs it: `node bin/guard.js gate`, configured by the
// environment, with the Node flags and process settings of the deployment's gate container
// (flags.js) and local addresses (the benchmark's backend and guard-service, free ports). Nothing
// is added to the process: its memory is read from /proc, its syncs are counted from /metrics.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { deploymentEnv } from './flags.js';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const BIN = here('../../bin/guard.js');

/**
 * `n` distinct ports nothing listens on (free a moment ago; `guard gate` takes PORT, not port 0):
 * all held at once before any is let go, since the kernel may hand a port just closed out again.
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  const servers = Array.from({ length: n }, () => net.createServer());
  await Promise.all(servers.map((s) => new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(undefined));
  })));
  const ports = servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))));
  return ports;
}

/**
 * Resolves once `check` holds (a check that throws does not hold yet), polling every 50 ms; rejects
 * after `timeoutMs`, naming `what`.
 * @param {() => Promise<boolean>} check
 * @param {number} timeoutMs
 * @param {string} what
 */
export async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Start the gate in front of `upstream`, syncing with `serviceUrl`; resolves once it listens (the
 * command says so on stderr once a Guardian is in force and both listeners are up). `extraEnv`
 * adds settings (GUARD_LISTENER…); `nodeArgs`, Node options before the script (the ablation run's
 * `--import`).
 * @param {string} upstream
 * @param {string} serviceUrl
 * @param {Record<string, string>} [extraEnv]
 * @param {string[]} [nodeArgs]
 */
export async function startGateProcess(upstream, serviceUrl, extraEnv = {}, nodeArgs = []) {
  const [port, adminPort] = await freePorts(2);
  const env = {
    PATH: process.env.PATH,
    ...deploymentEnv(),
    SERVICE_NAME: 'shop',
    NAMESPACE: 'bench',
    // Kubernetes sets HOSTNAME to the pod's name: the gate names itself by it in its syncs.
    HOSTNAME: 'shop-bench-1',
    PROTECTED_SERVICE: upstream,
    GUARD_SERVICE_URL: serviceUrl,
    PORT: String(port),
    GUARD_ADMIN_PORT: String(adminPort),
    ...extraEnv,
  };
  // BENCH_GATE_V8_FLAGS (space-separated): V8 flags that NODE_OPTIONS does not take, on the command line.
  const v8Flags = (process.env.BENCH_GATE_V8_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...v8Flags, ...nodeArgs, BIN, 'gate'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // The log (pino JSON lines on stdout): the lines at warn or above are kept.
  /** @type {string[]} */
  const warned = [];
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (/"level":(4|5|6)\d/.test(line) || (line.trim() && !line.startsWith('{'))) warned.push(line);
  });
  let stderr = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      stderr += chunk;
      if (stderr.includes('listening on port')) {
        child.stderr.off('data', onData);
        child.stderr.pipe(process.stderr);
        child.off('exit', onExit);
        resolve(undefined);
      }
    };
    const onExit = (code) => reject(new Error(`guard gate exited (${code}) before listening:\n${stderr}`));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });
  const metric = async (name) => {
    const r = await request(`http://127.0.0.1:${adminPort}/metrics`);
    const text = await r.body.text();
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return {
    child,
    port,
    adminPort,
    env,
    metric,
    /** Log lines at warn or above so far (and anything on stdout that is not a log line). */
    warned: () => warned,
    /** The process's resident memory, as the kernel counts it (VmRSS). */
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return { rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024 };
    },
    /** Syncs guard-service accepted so far. */
    syncs: () => metric('guard_gate_syncs_total{result="ok"}'),
    /** SIGTERM, as Kubernetes stops a pod: the gate drains and sends its final sync. */
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve(undefined));
        child.kill('SIGTERM');
      });
    },
  };
}
