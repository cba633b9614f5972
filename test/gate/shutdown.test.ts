// SIGTERM mid-load: `guard gate` as a real child process (bin/guard.js, the compiled CLI) in front of
// a slow backend, syncing with an in-process guard-service. Requests in flight when SIGTERM arrives
// all complete with 200, the process exits 0, and the final sync delivers every sample.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { start } from '../service/api-support.js';
import { listenLocal } from '../support/servers.js';
import { freePorts } from '../support/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = `${root}bin/guard.js`;
const built = existsSync(`${root}build/js/cli/index.js`);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});


/** A backend that answers after `latencyMs`; counts arrivals (requests in flight at it). */
async function slowBackend(latencyMs: number): Promise<{ url: string; arrived: () => number }> {
  let arrived = 0;
  const server: Server = createServer((req, res) => {
    arrived++;
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, url: req.url }));
      }, latencyMs);
    });
  });
  const listening = await listenLocal(server);
  cleanups.push(() => listening.close());
  return { url: listening.url, arrived: () => arrived };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `guard gate` as a child process in front of `upstream`; resolves once /readyz answers 200. */
async function startGateProcess(upstream: string, extraEnv: Record<string, string> = {}) {
  const [port, adminPort] = await freePorts(2);
  const child: ChildProcess = spawn(process.execPath, [bin, 'gate'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      SERVICE_NAME: 'shop',
      NAMESPACE: 'default',
      PROTECTED_SERVICE: upstream,
      PORT: String(port),
      GUARD_ADMIN_PORT: String(adminPort),
      MONITOR_POD: 'false',
      GUARDIAN_SYNC_INTERVAL: '3600',
      LOG_LEVEL: 'warn',
      HOSTNAME: 'shop-1',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  // Ready: /readyz answers 200 once a Guardian is in force.
  await until(
    async () => {
      try {
        const r = await request(`http://127.0.0.1:${adminPort}/readyz`);
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    },
    15_000,
    `the gate to be ready`,
  );

  return { child, port, adminPort, exited, stderr: () => stderr };
}

describe.skipIf(!built)('guard gate under SIGTERM (needs `npm run build`)', () => {
  it('drains every in-flight request with 200, exits 0, and the final sync carries every sample', async () => {
    const N = 24;
    const app = await slowBackend(700);
    const svc = await start(null);
    const { child, port, exited, stderr } = await startGateProcess(app.url, { GUARD_SERVICE_URL: svc.url });

    const inFlight = Array.from({ length: N }, (_, i) =>
      request(`http://127.0.0.1:${port}/items/${i % 5}?id=${i}`, { headers: { accept: 'application/json' } }).then(async (r) => ({
        status: r.statusCode,
        body: await r.body.text(),
      })),
    );
    // Every request reached the backend (so all are in flight at the gate), then SIGTERM.
    await until(() => app.arrived() === N, 10_000, 'all requests to reach the backend');
    child.kill('SIGTERM');

    const results = await Promise.all(inFlight);
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ ok: true, url: `/items/${i % 5}?id=${i}` });
    }
    expect(await exited).toBe(0);
    expect(stderr()).toContain('SIGTERM: draining, final sync');
    expect(stderr()).toContain('stopped');

    // New connections are refused once the gate stopped.
    await expect(request(`http://127.0.0.1:${port}/items/1`)).rejects.toThrow();

    await svc.service.close();
    const stored = await svc.disk.get('default', 'shop');
    expect(stored?.spec.samples).toBe(N);
  });

  it('exits at once on SIGTERM when nothing is in flight, after serving images and downloads', async () => {
    const image = Buffer.alloc(200_000, 7);
    const server: Server = createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', req.url!.startsWith('/download') ? 'application/octet-stream' : 'image/png');
      res.setHeader('content-length', image.length);
      res.end(image);
    });
    const listening = await listenLocal(server);
    cleanups.push(() => listening.close());
    const { child, port, adminPort, exited } = await startGateProcess(listening.url);
    const N = 60;
    for (let i = 0; i < N; i++) {
      const r = await request(`http://127.0.0.1:${port}/${i % 2 ? 'download' : 'img'}/${i}`);
      expect((await r.body.arrayBuffer()).byteLength).toBe(image.length);
    }
    // Every exchange ended and was counted before the signal.
    const metrics = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text();
    expect(metrics).toMatch(new RegExp(`^guard_gate_requests_total ${N}$`, 'm'));
    expect(metrics).toMatch(/^guard_gate_in_flight 0$/m);
    const t0 = performance.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const ms = performance.now() - t0;
    // The drain allows 10 s; with nothing in flight nothing is waited for. Measured from the signal to
    // the exit on a 2-core machine: 28-129 ms in six runs, 96-221 ms in four runs with both cores
    // kept busy by other processes. 1 s leaves room for a loaded CI runner and still fails a gate
    // that waits out its drain, or an idle keep-alive connection (10 s each).
    expect(ms).toBeLessThan(1_000);
  });
});
