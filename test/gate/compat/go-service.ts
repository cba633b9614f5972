// The Go net/http service of the compatibility suite (go/main.go): built into a temporary directory
// with the `go` on PATH and run as its own process. Absent toolchain: goToolchain() is null and the
// Go cases are skipped (their names say so).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GoService {
  origin: string;
  close(): Promise<void>;
}

const SOURCE = fileURLToPath(new URL('./go/main.go', import.meta.url));

/** `go version`, or null when no Go toolchain is on PATH. */
export function goToolchain(): string | null {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function startGoService(): Promise<GoService> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-compat-go-'));
  const binary = join(dir, 'service');
  // Go's own build cache, or one under the temporary directory when there is no HOME to hold it.
  const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: 'off', GOFLAGS: '' };
  if (!env.GOCACHE && !env.HOME && !env.XDG_CACHE_HOME) env.GOCACHE = join(tmpdir(), 'guard-compat-gocache');
  execFileSync('go', ['build', '-o', binary, SOURCE], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const child: ChildProcess = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the Go service exited (${code}): ${out}`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
