// Where the command's results go: a file written atomically (temp file, fsync, rename) for a
// Guardian, and a line stream that respects the backpressure of its destination for decisions.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { CliError, describeSystemError } from './errors.js';

/** Replace `path` with `text` so that readers see the old file or the new one, never a part. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new CliError('GUARD_OUTPUT_UNWRITABLE', `cannot write ${path}: ${describeSystemError(err)}`);
  }
}

/** Raised when the reader of our output went away (EPIPE): not a failure of the command. */
export class OutputClosed extends Error {
  constructor() {
    super('output closed by its reader');
    this.name = 'OutputClosed';
  }
}

const BATCH_CHARS = 64 * 1024;

/**
 * Writes lines to a stream in batches, waiting for 'drain' whenever the stream's buffer is full,
 * so that a slow reader slows the command down instead of growing its memory.
 */
export class LineWriter {
  private readonly stream: Writable;
  private readonly name: string;
  private readonly owned: boolean;
  private batch = '';
  private failure: Error | undefined;

  private constructor(stream: Writable, name: string, owned: boolean) {
    this.stream = stream;
    this.name = name;
    this.owned = owned;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.failure = err.code === 'EPIPE' ? new OutputClosed() : this.unwritable(err);
    });
  }

  /** Lines to standard output (left open when done). */
  static toStream(stream: Writable, name = 'standard output'): LineWriter {
    return new LineWriter(stream, name, false);
  }

  /** Lines to a new file (created or truncated), opened before any line is written. */
  static async toFile(path: string): Promise<LineWriter> {
    const stream = createWriteStream(path, { flags: 'w' });
    try {
      await Promise.race([once(stream, 'ready'), once(stream, 'error').then(([e]) => Promise.reject(e))]);
    } catch (err) {
      throw new CliError('GUARD_OUTPUT_UNWRITABLE', `cannot write ${path}: ${describeSystemError(err)}`);
    }
    return new LineWriter(stream, path, true);
  }

  async write(line: string): Promise<void> {
    this.batch += line + '\n';
    if (this.batch.length >= BATCH_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.batch.length === 0) return;
    const text = this.batch;
    this.batch = '';
    if (!this.stream.write(text)) await this.drained();
    if (this.failure) throw this.failure;
  }

  /** Flush, and for a file: close it and wait until its data is written. */
  async end(): Promise<void> {
    await this.flush();
    if (!this.owned) return;
    const finished = once(this.stream, 'finish');
    this.stream.end();
    try {
      await finished;
    } catch (err) {
      throw this.unwritable(err);
    }
    if (this.failure) throw this.failure;
  }

  /** Stop writing after a failure elsewhere; keeps what was written. */
  destroy(): void {
    if (this.owned) this.stream.end();
  }

  private async drained(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }

  private unwritable(err: unknown): CliError {
    return new CliError('GUARD_OUTPUT_UNWRITABLE', `cannot write ${this.name}: ${describeSystemError(err)}`);
  }
}
