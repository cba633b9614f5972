// Streaming readers of traffic files (the format is in README.md): JSON Lines, optionally
// gzip-compressed, and HAR. Records come out one at a time; a malformed record is an item with an
// error and the stream goes on. Only a file that cannot be read (missing, not gzip, corrupt, not
// HAR) stops the stream.
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CliError, describeSystemError } from './errors.js';
import { DEFAULT_MAX_LINE_BYTES, splitLines } from './lines.js';
import type { HarOmissions } from './har-omissions.js';
import { harEntries, harEntryToRecord, HarSyntaxError } from './traffic-har.js';
import { RecordError, toTrafficRecord, type TrafficRecord } from './traffic-record.js';

export type { TrafficRecord, TrafficResponse } from './traffic-record.js';

export type TrafficFormat = 'jsonl' | 'har';

export interface TrafficItem {
  /** Line number (JSON Lines) or 1-based entry number (HAR). */
  line: number;
  record?: TrafficRecord;
  error?: string;
}

export interface TrafficOptions {
  /** Longest JSON Lines line accepted, in bytes; longer lines are error items. */
  maxLineBytes?: number;
  /** HAR files: add what browsers send but exports leave out (har-omissions.ts); one per learning run. */
  harOmissions?: HarOmissions;
}


const GZIP_MAGIC = [0x1f, 0x8b];

export class TrafficFile {
  readonly path: string;
  readonly format: TrafficFormat;
  readonly compressed: boolean;
  private handle: FileHandle | undefined;
  private readonly maxLineBytes: number;
  private readonly harOmissions: HarOmissions | undefined;

  private constructor(path: string, format: TrafficFormat, compressed: boolean, handle: FileHandle, options: TrafficOptions) {
    this.path = path;
    this.format = format;
    this.compressed = compressed;
    this.handle = handle;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.harOmissions = options.harOmissions;
  }

  /**
   * Open a traffic file and tell its format: `.har` / `.har.gz` is HAR, anything else JSON Lines;
   * gzip is recognised by its magic bytes, and a `.gz` name without them is an error.
   */
  static async open(path: string, options: TrafficOptions = {}): Promise<TrafficFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw unreadable(path, err);
    }
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw unreadable(path, Object.assign(new Error(), { code: 'EISDIR' }));
      const head = Buffer.alloc(2);
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      const gzip = bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
      const lower = path.toLowerCase();
      if (lower.endsWith('.gz') && !gzip) {
        throw new CliError('GUARD_TRAFFIC_UNREADABLE', `cannot read ${path}: the name ends in .gz but the file is not gzip-compressed`);
      }
      const format: TrafficFormat = lower.endsWith('.har') || lower.endsWith('.har.gz') ? 'har' : 'jsonl';
      return new TrafficFile(path, format, gzip, handle, options);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err instanceof CliError ? err : unreadable(path, err);
    }
  }

  /** Where an item is, for messages: `file:line` or `file entry N`. */
  where(line: number): string {
    return this.format === 'har' ? `${this.path} entry ${line}` : `${this.path}:${line}`;
  }

  /** The records, in file order. Can be iterated once; the file is closed when it ends. */
  async *items(): AsyncGenerator<TrafficItem> {
    const handle = this.handle;
    if (!handle) throw new Error(`${this.path} was already read`);
    this.handle = undefined;
    const raw = handle.createReadStream({ start: 0, highWaterMark: 256 * 1024, autoClose: true });
    let source: Readable = raw;
    if (this.compressed) {
      const gunzip = createGunzip();
      raw.on('error', (err) => gunzip.destroy(err));
      source = raw.pipe(gunzip);
    }
    try {
      if (this.format === 'har') yield* this.harItems(source);
      else yield* this.jsonlItems(source);
    } catch (err) {
      if (err instanceof HarSyntaxError) throw new CliError('GUARD_TRAFFIC_UNREADABLE', `cannot read ${this.path}: ${err.message}`);
      throw unreadable(this.path, err);
    } finally {
      source.destroy();
      raw.destroy();
      await handle.close().catch(() => {});
    }
  }

  /** Release the file when its items will not be read. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.close().catch(() => {});
  }

  private async *jsonlItems(source: Readable): AsyncGenerator<TrafficItem> {
    for await (const line of splitLines(source, this.maxLineBytes)) {
      if (line.error !== undefined) {
        yield { line: line.number, error: line.error };
        continue;
      }
      const text = line.text as string;
      if (isBlank(text)) continue; // blank lines separate nothing and are not records
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        yield { line: line.number, error: `not valid JSON: ${(err as Error).message}` };
        continue;
      }
      yield toItem(line.number, value, toTrafficRecord);
    }
  }

  private async *harItems(source: Readable): AsyncGenerator<TrafficItem> {
    for await (const entry of harEntries(source)) {
      const item = toItem(entry.number, entry.value, harEntryToRecord);
      if (!this.harOmissions || !item.record) {
        yield item;
        continue;
      }
      const { before, after } = this.harOmissions.of(entry.value, item.record);
      for (const record of before) yield { line: entry.number, record };
      yield item;
      for (const record of after) yield { line: entry.number, record };
    }
  }
}

function toItem(line: number, value: unknown, map: (v: unknown) => TrafficRecord): TrafficItem {
  try {
    return { line, record: map(value) };
  } catch (err) {
    if (err instanceof RecordError) return { line, error: err.message };
    throw err;
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) return false;
  }
  return true;
}

function unreadable(path: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  return new CliError('GUARD_TRAFFIC_UNREADABLE', `cannot read ${path}: ${describeSystemError(err)}`);
}

/** Open every file first, so that a missing one is reported before any work is done. */
export async function openTrafficFiles(paths: string[], options: TrafficOptions = {}): Promise<TrafficFile[]> {
  const files: TrafficFile[] = [];
  try {
    for (const p of paths) files.push(await TrafficFile.open(p, options));
  } catch (err) {
    await Promise.all(files.map((f) => f.close()));
    throw err;
  }
  return files;
}

/** Read one traffic file: open it (errors are CliErrors) and yield its items. */
export async function* readTraffic(path: string, options: TrafficOptions = {}): AsyncGenerator<TrafficItem> {
  const file = await TrafficFile.open(path, options);
  yield* file.items();
}
