// Progress of a long run on stderr: records done and records per second, redrawn on one line at
// most a few times a second, and only when stderr is a terminal (never into a log or a pipe).

export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

const INTERVAL_MS = 250;

export class Progress {
  private readonly sink: ProgressSink | undefined;
  private readonly verb: string;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;
  private label = '';
  /** Records done so far, all files together. */
  done = 0;

  constructor(sink: ProgressSink, verb: string, now: () => number = () => performance.now()) {
    this.sink = sink.isTTY ? sink : undefined;
    this.verb = verb;
    this.now = now;
    this.started = now();
    this.lastDraw = this.started; // a run shorter than one interval shows no progress at all
  }

  file(path: string): void {
    this.label = path;
  }

  /** Count one record; cheap enough to call per record. */
  tick(): void {
    this.done++;
    if (!this.sink || (this.done & 255) !== 0) return;
    const now = this.now();
    if (now - this.lastDraw < INTERVAL_MS) return;
    this.lastDraw = now;
    const rate = Math.round((this.done * 1000) / Math.max(1, now - this.started));
    this.sink.write(`\r\x1b[K${this.verb} ${this.label}: ${this.done.toLocaleString('en')} records (${rate.toLocaleString('en')}/s)`);
    this.drawn = true;
  }

  /** Clear the progress line before other output goes to the same terminal. */
  clear(): void {
    if (this.sink && this.drawn) this.sink.write('\r\x1b[K');
    this.drawn = false;
  }

  get seconds(): number {
    return (this.now() - this.started) / 1000;
  }
}
