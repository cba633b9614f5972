// `guard service` as a child process (the compiled command, bin/guard.js): it listens, prints its
// address and people token, flushes learning on SIGTERM and exits 0; bad configuration exits 2
// and a port in use exits 1, each with a clear message.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileGuardianStore } from '../../store/file.js';
import { call, methods, sync, syncBody, tempDir } from './api-support.js';

const BIN = fileURLToPath(new URL('../../bin/guard.js', import.meta.url));
const BUILT = existsSync(fileURLToPath(new URL('../../build/js/cli/service.js', import.meta.url)));
if (!BUILT) console.warn('skipping the guard service process tests: run `npm run build` first');

interface Child {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Child {
  const base = { ...process.env };
  delete base.KUBERNETES_SERVICE_HOST;
  const child = spawn(process.execPath, [BIN, 'service'], { env: { ...base, GUARD_SERVICE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => text, exited };
}

/** Resolves with the first match of `re` in the child's stderr, or rejects if it exits first. */
function waitForLine(c: Child, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(c.stderr());
      if (m) {
        c.child.stderr!.off('data', check);
        resolve(m);
      }
    };
    c.child.stderr!.on('data', check);
    void c.exited.then((code) => reject(new Error(`guard service exited (${code}) before printing ${re}: ${c.stderr()}`)));
    check();
  });
}

describe.skipIf(!BUILT)('guard service (process)', () => {
  it('flushes learning to the file store on SIGTERM and exits 0', async () => {
    const dir = await tempDir();
    const tokenFile = join(dir, 'people-token');
    const c = run({ GUARD_SERVICE_PORT: '0', GUARD_SERVICE_ADDRESS: '127.0.0.1', GUARD_SERVICE_AUTH: 'false', GUARD_STORE: 'file', GUARD_STORE_DIR: join(dir, 'guardians'), GUARD_SERVICE_PEOPLE_TOKEN_FILE: tokenFile });
    const url = (await waitForLine(c, /listening on \S+ \((http:\/\/\S+)\)/))[1]!;
    const token = (await waitForLine(c, /people API token: (\S+)/))[1]!;
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(token);

    const q = '?ns=shop&sid=cart&pod=cart-1';
    expect((await sync(url, undefined, syncBody(2), q)).status).toBe(200);
    // Learned (within 10 %), but not persisted: later persists wait 5 minutes.
    const last = await sync(url, undefined, syncBody(3, { method: 'POST' }), q);
    expect(last.json.guardian.samples).toBe(5);
    expect((await call(`${url}/api/v1/guardians?namespace=shop`, { token })).status).toBe(200);

    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(c.stderr()).toMatch(/SIGTERM: stopping/);
    const file = JSON.parse(await readFile(join(dir, 'guardians', 'shop.cart.json'), 'utf8'));
    expect(file.spec.samples).toBe(5);
    expect(methods(file.spec)).toEqual(['GET', 'POST']);
    const store = new FileGuardianStore(join(dir, 'guardians'));
    expect((await store.get('shop', 'cart'))!.spec.samples).toBe(5);
    await store.close();
  });

  it('exits 2 with a clear message on bad configuration', async () => {
    for (const [env, message] of [
      [{ GUARD_SERVICE_PORT: 'eighty' }, /invalid configuration: GUARD_SERVICE_PORT: expected an integer from 0 to 65535, got "eighty"/],
      [{ GUARD_SERVICE_AUTH: 'false', GUARD_STORE: 'kube-crd' }, /GUARD_SERVICE_AUTH: false is allowed only with GUARD_STORE=file/],
      [{ GUARD_SERVICE_AUTH: 'maybe' }, /GUARD_SERVICE_AUTH: expected true or false/],
      [{ GUARD_STORE: 'sql' }, /GUARD_STORE: expected one of file, kube-crd, kube-configmap/],
      [{ GUARD_SERVICE_AUTH: 'false', GUARD_SERVICE_ADDRESS: '0.0.0.0' }, /GUARD_SERVICE_ADDRESS: 0\.0\.0\.0 is not a loopback address, and with GUARD_SERVICE_AUTH=false anyone who reaches it writes any Guardian/],
    ] as const) {
      const c = run({ GUARD_STORE_DIR: await tempDir(), ...env });
      expect(await c.exited).toBe(2);
      expect(c.stderr()).toMatch(message);
    }
  });

  it('with authentication off, listens on loopback only and logs the address it really bound', async () => {
    const c = run({ GUARD_SERVICE_PORT: '0', GUARD_SERVICE_AUTH: 'false', GUARD_STORE_DIR: await tempDir() });
    const [, bound, url] = await waitForLine(c, /listening on (\S+) \((http:\/\/\S+)\)/);
    expect(bound).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(url).toBe(`http://${bound}`);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    // Open to the network only when a person says so in so many words.
    const open = run({ GUARD_SERVICE_PORT: '0', GUARD_SERVICE_AUTH: 'false', GUARD_SERVICE_ADDRESS: '0.0.0.0', GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK: 'true', GUARD_STORE_DIR: await tempDir() });
    const [, everywhere] = await waitForLine(open, /listening on (\S+) \(/);
    expect(everywhere).toMatch(/^0\.0\.0\.0:\d+$/);
    open.child.kill('SIGTERM');
    expect(await open.exited).toBe(0);
  });

  it('exits 1 with a clear message when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const c = run({ GUARD_SERVICE_PORT: String(port), GUARD_SERVICE_ADDRESS: '127.0.0.1', GUARD_SERVICE_AUTH: 'false', GUARD_STORE_DIR: await tempDir() });
      expect(await c.exited).toBe(1);
      expect(c.stderr()).toMatch(new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    } finally {
      blocker.close();
    }
  });
});
