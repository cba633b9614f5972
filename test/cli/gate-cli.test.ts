// `guard gate` refusing to start, as an operator sees it (the compiled command, a real process):
// a port in use, either the gate's or the admin one, is exit 1 with a named error (docs/errors.md);
// an invalid variable is exit 2 naming it. Neither listens on anything.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = `${root}bin/guard.js`;
const built = existsSync(`${root}build/js/cli/index.js`);

let taken: net.Server;
let takenPort = 0;
beforeAll(async () => {
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '0.0.0.0', () => r()));
  takenPort = (taken.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => taken.close(() => r())));

function gate(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'gate'],
      { cwd: root, env: { PATH: process.env.PATH, SERVICE_NAME: 'shop', NAMESPACE: 'default', MONITOR_POD: 'false', LOG_LEVEL: 'silent', ...env }, timeout: 30_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
}

describe.skipIf(!built)('guard gate that cannot start (needs `npm run build`)', () => {
  it('exits 1 naming the gate port in use', async () => {
    const r = await gate({ PORT: String(takenPort), GUARD_ADMIN_PORT: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`guard gate: cannot listen on .*:${takenPort}`));
  });

  it('exits 1 naming the admin port in use', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const r = await gate({ PORT: String(port), GUARD_ADMIN_PORT: String(takenPort) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`guard gate: cannot listen on .*:${takenPort}`));
  });

  it('exits 2 naming an invalid variable', async () => {
    const r = await gate({ GUARDIAN_SYNC_INTERVAL: 'soon' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('guard gate: invalid configuration: GUARDIAN_SYNC_INTERVAL: expected whole seconds');
  });

  it('exits 2 naming GUARD_SERVICE_CA_FILE when the CA file cannot be read', async () => {
    const r = await gate({ GUARD_SERVICE_URL: 'https://guard-service.example', GUARD_SERVICE_CA_FILE: '/nonexistent/ca.crt' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('guard gate: invalid configuration: GUARD_SERVICE_CA_FILE: cannot read /nonexistent/ca.crt');
  });

  it('exits 2 naming GUARD_SERVICE_CA_FILE when the file holds no valid certificate', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'guard-ca-'));
    try {
      const file = join(dir, 'ca.crt');
      writeFileSync(file, 'not a certificate\n');
      const r = await gate({ GUARD_SERVICE_URL: 'https://guard-service.example', GUARD_SERVICE_CA_FILE: file });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`guard gate: invalid configuration: GUARD_SERVICE_CA_FILE: ${file}: no PEM certificate in it`);
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      const broken = await gate({ GUARD_SERVICE_URL: 'https://guard-service.example', GUARD_SERVICE_CA_FILE: file });
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain('certificate 1 of 1 is not valid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
