// `guard demo` end to end as a person runs it: the real command, a real shop, guard-service and
// gate on loopback; it must learn, block every attack it shows and serve normal requests.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/guard.js', import.meta.url));

describe('guard demo', () => {
  it('learns, then blocks the attacks and serves normal requests', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, 'demo'], { timeout: 60_000 }, (err, out) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out }));
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/learned the shop's Guardian from [1-9]\d* samples/);
    expect(stdout).toMatch(/10 of 10 normal requests served, 5 of 5 attacks blocked/);
    expect(stdout).toMatch(/[1-9]\d* recent alerts/);
    // The UI's address on guard-service and the token to sign in with.
    expect(stdout).toMatch(/guard-ui: http:\/\/127\.0\.0\.1:\d+\/ui\//);
    expect(stdout).toMatch(/token: [A-Za-z0-9_-]{40,}/);
  });
});
