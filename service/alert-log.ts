// Alerts kept with the file store: an append-only log of JSON lines, `alerts.log` in the store's
// directory, rotated by size (alerts.log → alerts.log.1 → … → alerts.log.<keep>, the oldest
// deleted), and read back into the alert store when guard-service starts.
//
// What can go wrong: a crash in the middle of an append leaves a partial last line — it is skipped
// when read back, and the next append starts on a new line. A write that fails is logged and the
// alert stays in memory; alerts are never a reason to refuse a sync.
import { appendFile, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import type { AlertStore, RestoredAlert, SyncAlert } from './alerts.js';

export interface AlertLogOptions {
  dir: string;
  /** Rotate when the current file reaches this many bytes (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 3). */
  keep?: number;
  log: Logger;
}

interface LogLine {
  ns: string;
  svc: string;
  pod: string;
  at: number;
  alert: SyncAlert;
}

export class AlertLog {
  private readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly log: Logger;
  private size = -1;
  /** Appends one after another: lines never interleave, rotation never races an append. */
  private chain: Promise<void> = Promise.resolve();
  /** Lines appended, and appends that failed (metrics). */
  readonly counts = { written: 0, failed: 0, rotations: 0 };

  constructor(options: AlertLogOptions) {
    this.file = join(options.dir, 'alerts.log');
    this.maxBytes = options.maxBytes ?? 10 << 20;
    this.keep = options.keep ?? 3;
    this.log = options.log;
  }

  record(namespace: string, service: string, pod: string, alerts: readonly SyncAlert[], at = Date.now()): void {
    if (alerts.length === 0) return;
    const text = alerts.map((alert) => `${JSON.stringify({ ns: namespace, svc: service, pod, at, alert } satisfies LogLine)}\n`).join('');
    this.chain = this.chain.then(() => this.append(text));
  }

  /** Resolves when every alert recorded so far is in the file (or its write failed). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Read the log, oldest file first, into `alerts`; returns the alerts read. */
  async restore(alerts: AlertStore): Promise<number> {
    let restored = 0;
    for (let i = this.keep; i >= 0; i--) {
      let text: string;
      try {
        text = await readFile(i === 0 ? this.file : `${this.file}.${i}`, 'utf8');
      } catch {
        continue;
      }
      // One file at a time: what is held at once stays within one file's entries.
      const entries: RestoredAlert[] = [];
      for (const line of text.split('\n')) {
        const entry = parseLine(line);
        if (entry) entries.push({ namespace: entry.ns, service: entry.svc, pod: entry.pod, alert: entry.alert, receivedAt: entry.at });
      }
      restored += alerts.restoreAll(entries);
    }
    return restored;
  }

  private async append(text: string): Promise<void> {
    try {
      if (this.size < 0) this.size = await this.currentSize();
      if (this.size > 0 && this.size + Buffer.byteLength(text) > this.maxBytes) await this.rotate();
      await appendFile(this.file, text, { mode: 0o600 });
      this.size += Buffer.byteLength(text);
      this.counts.written += text.split('\n').length - 1;
    } catch (err) {
      this.counts.failed++;
      this.size = -1;
      this.log.warn({ err, file: this.file }, 'could not append alerts to the alert log; they are kept in memory only');
    }
  }

  /** The size of the current file; a partial last line (a crash mid-append) is ended first. */
  private async currentSize(): Promise<number> {
    const st = await stat(this.file).catch(() => null);
    if (!st || st.size === 0) return 0;
    const fd = await open(this.file, 'r');
    try {
      const last = Buffer.alloc(1);
      await fd.read(last, 0, 1, st.size - 1);
      if (last[0] === 0x0a) return st.size;
    } finally {
      await fd.close();
    }
    await appendFile(this.file, '\n');
    return st.size + 1;
  }

  private async rotate(): Promise<void> {
    await unlink(`${this.file}.${this.keep}`).catch(() => {});
    for (let i = this.keep - 1; i >= 1; i--) await rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch(() => {});
    await rename(this.file, `${this.file}.1`);
    this.size = 0;
    this.counts.rotations++;
  }
}

function parseLine(line: string): LogLine | null {
  if (line.trim() === '') return null;
  try {
    const v = JSON.parse(line) as LogLine;
    if (typeof v.ns !== 'string' || typeof v.svc !== 'string' || typeof v.pod !== 'string' || typeof v.at !== 'number' || typeof v.alert !== 'object' || v.alert === null) return null;
    return v;
  } catch {
    return null;
  }
}
