// `guard gate` configured as a manifest of the original gate configures it (the compiled command,
// a real process, a real backend): PROTECTED_SERVICE=:<port>, Go durations, the original's default
// guard-service URL — which it cannot reach here, and says so at start and in /readyz, never
// silently — and the test-gate plugin switched on from the environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../support/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = `${root}bin/guard.js`;
const built = existsSync(`${root}build/js/cli/index.js`);

describe.skipIf(!built)('guard gate as a drop-in for the original (needs `npm run build`)', () => {
  let backend: Server;
  let child: ChildProcess;
  let stderr = '';
  let stdout = '';
  let port = 0;
  let admin = 0;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`seen ${req.url}`));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    [port, admin] = await freePorts(2);
    child = spawn(process.execPath, [bin, 'gate'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        SERVICE_NAME: 'shop',
        NAMESPACE: 'default',
        // The original's forms: a port alone, Go durations, switches as its README writes them.
        PROTECTED_SERVICE: `:${(backend.address() as AddressInfo).port}`,
        GUARDIAN_SYNC_INTERVAL: '1m30s',
        POD_MONITOR_INTERVAL: '5s',
        MONITOR_POD: 'False',
        USE_CRD: 'true',
        PORT: String(port),
        GUARD_ADMIN_PORT: String(admin),
        LOG_LEVEL: 'warn',
        // No GUARD_SERVICE_URL: the original's default, https://guard-service.knative-serving,
        // which does not resolve here.
        GUARD_PLUGINS: 'testgate',
        GUARD_TESTGATE_ACTION: 'block',
        GUARD_TESTGATE_PATH: '/testgate/',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', () => stderr.includes('listening on port') && resolve());
      child.once('exit', (code) => reject(new Error(`guard gate exited ${code}:\n${stderr}`)));
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => backend.close(r));
  });

  it('forwards to 127.0.0.1:<port> for PROTECTED_SERVICE=:<port>', async () => {
    const r = await request(`http://127.0.0.1:${port}/items/1?lang=en`, { headers: { accept: 'text/plain' } });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe('seen /items/1?lang=en');
  });

  it('says at start and in /readyz that guard-service cannot be reached, and serves with the Guardian it has', async () => {
    expect(stderr).toMatch(/guard gate: guard-service https:\/\/guard-service\.knative-serving unreachable \(guard-service request failed: .+\): nothing is learned until it answers/);
    const warned = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; guardServiceUrl?: string });
    expect(warned).toContainEqual(expect.objectContaining({ level: 40, guardServiceUrl: 'https://guard-service.knative-serving', msg: expect.stringContaining('guard-service unreachable at start') }));
    const r = await request(`http://127.0.0.1:${admin}/readyz`);
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toMatch(/^ready\nguard-service https:\/\/guard-service\.knative-serving unreachable \(.+\): not learning; Guardian from default\n$/);
  });

  it('runs the test-gate plugin the environment switched on: what it matches (path or header) is refused, the rest passes', async () => {
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const r = await request(`http://127.0.0.1:${port}${path}`, { headers });
      await r.body.text();
      return r.statusCode;
    };
    expect(await status('/testgate/x')).toBe(403);
    expect(await status('/items/2', { 'x-testgate-hi': '' })).toBe(403);
    expect(await status('/items/2')).toBe(200);
  });
});
