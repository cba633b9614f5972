// What `guard gate` loads: the image runs `bin/guard.js gate`, and the sidecar must carry only the
// gate. A real process (the compiled command, preloaded with test/support/module-recorder.mjs)
// starts, serves one request through a real backend, stops on SIGTERM, and the modules it really
// loaded are checked: none of guard-service, fastify, stream-json, and (outside a cluster) none of
// the Kubernetes client. Help texts load nothing of the subcommands.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCore } from '../../core/index.js';
import { freePorts } from '../support/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'guard.js');
const recorder = join(root, 'test', 'support', 'module-recorder.mjs');
const built = existsSync(join(root, 'build', 'js', 'cli', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'guard-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packages and build folders the gate process must not load. */
const NOT_IN_THE_GATE: Array<[what: string, pattern: RegExp]> = [
  ['guard-service', /\/build\/js\/service\//],
  ['fastify', /\/node_modules\/fastify\//],
  ['stream-json', /\/node_modules\/stream-json\//],
  ['the Kubernetes client', /\/node_modules\/@kubernetes\/client-node\//],
  ['the traffic readers and learn/check/demo', /\/build\/js\/cli\/(learn|check|demo|service|traffic[^/]*)\.js$/],
  ['guard inject and guard-webhook', /\/build\/js\/(inject|webhook)\/|\/build\/js\/cli\/(inject|webhook)\.js$/],
  ['the YAML reader', /\/node_modules\/yaml\//],
];

/** A minimal environment: what a local run of the sidecar needs, nothing from this process. */
function baseEnv(log: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, NODE_OPTIONS: `--import=${recorder}`, GUARD_TEST_MODULE_LOG: log };
}

function loaded(log: string): string[] {
  return [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))];
}

function offending(modules: string[]): string[] {
  return modules.flatMap((url) => NOT_IN_THE_GATE.filter(([, p]) => p.test(url)).map(([what]) => `${what}: ${url}`));
}

describe.skipIf(!built)('the modules `guard gate` loads (needs `npm run build`)', () => {
  it('a started gate serving a request loads neither guard-service, fastify, stream-json nor the Kubernetes client', async () => {
    const backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    const guardianFile = join(dir, 'guardian.json');
    const core = loadCore();
    const guardian = core.defaultGuardian();
    writeFileSync(guardianFile, guardian.toWire());
    guardian.dispose();
    const [port, adminPort] = await freePorts(2);
    const log = join(dir, 'gate-modules.txt');
    const child = spawn(process.execPath, [bin, 'gate'], {
      cwd: root,
      env: {
        ...baseEnv(log),
        SERVICE_NAME: 'shop',
        NAMESPACE: 'default',
        PROTECTED_SERVICE: `http://127.0.0.1:${(backend.address() as AddressInfo).port}`,
        PORT: String(port),
        GUARD_ADMIN_PORT: String(adminPort),
        GUARDIAN_FILE: guardianFile,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Listening: the command says so on stderr once both listeners are up and a Guardian is in
      // force.
      await new Promise<void>((resolve, reject) => {
        const onData = () => stderr.includes('listening on port') && resolve();
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`guard gate exited ${code} before listening:\n${stderr}`)));
      });
      const client = new Client(`http://127.0.0.1:${port}`);
      const res = await client.request({ path: '/items/1?id=1', method: 'GET', headers: { accept: 'application/json' } });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('{"ok":true}');
      await client.close();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      backend.close();
    }

    const modules = loaded(log);
    // The recorder saw the gate itself and what it needs: otherwise the check below proves nothing.
    for (const needed of [/\/build\/js\/gate\/index\.js$/, /\/build\/js\/core\/index\.js$/, /\/node_modules\/undici\//, /\/node_modules\/uWebSockets\.js\//, /\/node_modules\/pino\//]) {
      expect(modules.some((m) => needed.test(m)), `${needed} among the loaded modules`).toBe(true);
    }
    expect(offending(modules)).toEqual([]);
  });

  it('help texts load no subcommand and no package', async () => {
    for (const args of [['--help'], ['gate', '--help'], ['service', '--help'], ['help', 'learn']]) {
      const log = join(dir, `help-${args.join('-')}.txt`);
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args], { cwd: root, env: baseEnv(log) }, (err, out) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out }),
        );
      });
      expect(code, args.join(' ')).toBe(0);
      expect(stdout).toMatch(/^Usage: guard/);
      const modules = loaded(log);
      expect(modules.some((m) => m.endsWith('/build/js/cli/help.js'))).toBe(true);
      expect(modules.filter((m) => m.includes('/node_modules/') || /\/build\/js\/(gate|service)\/(?!config\.js)/.test(m) || /\/build\/js\/cli\/(gate|service|learn|check|demo)\.js$/.test(m)), args.join(' ')).toEqual([]);
    }
  });
});
