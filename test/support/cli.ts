// The guard command run in-process as a user runs it from a shell — `guard ARGS` on the real core,
// its output captured — or as a child process of the built bin/guard.js, and a temporary directory
// for the files it reads and writes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterAll } from 'vitest';
import { main, type CommandContext } from '../../cli/index.js';
import { loadCore } from '../../core/index.js';

/** A stream that keeps what is written to it. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** `guard ARGS` on the real core: its exit status and what it wrote. */
export async function runGuard(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const ctx: CommandContext = { stdout, stderr, stats: false, core: () => loadCore() };
  const status = await main(args, ctx);
  return { status, stdout: stdout.text, stderr: stderr.text };
}

const BIN = fileURLToPath(new URL('../../bin/guard.js', import.meta.url));

/** `guard ARGS` as a child process of the built command, `stdin` written to it: its exit code and output. */
export function spawnGuard(args: string[], options: { cwd: string; stdin?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A temporary directory, removed after the calling file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
