// Pod monitoring, as the original's gate does it: every interval (POD_MONITOR_INTERVAL) the remote
// addresses of the pod's sockets are read from /proc/net/{tcp,udp,udplite,tcp6,udp6,udplite6}
// (asynchronously, bounded, with a timeout; a missing file is fine), profiled by the core (public
// peers only) and decided against the pod criteria of the Guardian in force. A non-zero decision is
// reported as a Gate-level alert; under control.block it also marks the pod compromised (for the
// sync client). The alert holds until a different (new) Guardian allows the pod's state. Nothing
// here runs on the request path: the request path only reads `current` (the latest profile) through
// onProfile.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock, type Timer } from '../clock/index.js';
import type { Logger } from '../log/index.js';
import { Section, type Core, type Guardian, type PodProfile, type ProcNetFiles, type Session } from '../core/index.js';

export const PROC_NET_FILES = ['tcp', 'udp', 'udplite', 'tcp6', 'udp6', 'udplite6'] as const;
export type ProcNetFile = (typeof PROC_NET_FILES)[number];

/** Largest /proc/net table read (bytes); the rest of a larger table is ignored. */
export const MAX_TABLE_BYTES = 16 << 20;

export interface PodAlert {
  /** The decision tree as wire JSON ({children, reasons, result}). */
  decision: unknown;
  /** Its sorted rendering. */
  decisionText: string;
  /** The Guardian's control.block was on: the pod is reported compromised. */
  block: boolean;
}

export interface PodMonitorOptions {
  core: Core;
  /** Seconds between samples (≥ 1). */
  interval: number;
  /** The Guardian in force, or null before the first one is loaded. */
  guardian: () => Guardian | null;
  procDir?: string;
  /** Timeout of one sample's reads (ms); default min(interval, 2 s). */
  readTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** A new profile: the latest snapshot for sessions (valid until the next call; do not dispose). */
  onProfile?: (pod: PodProfile) => void;
  /** A new pod alert (or a changed one): report it (level Gate). */
  onAlert?: (alert: PodAlert) => void;
  /** The pod alert cleared (a new Guardian allows the pod's state). */
  onClear?: () => void;
  /** The pod became compromised (once): the sync client should report it at once. */
  onCompromised?: () => void;
}

export class PodMonitor {
  private core: Core;
  private readonly intervalMs: number;
  private readonly guardianOf: () => Guardian | null;
  private readonly procDir: string;
  private readonly readTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly options: PodMonitorOptions;
  private readonly loggedErrors = new Set<string>();
  private session: Session | null = null;
  private latest: PodProfile | null = null;
  private timer: Timer | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private alert: PodAlert | null = null;
  /** The Guardian that raised the current alert. */
  private alertGuardian: Guardian | null = null;
  private compromisedFlag = false;
  private samplesTaken = 0;

  constructor(options: PodMonitorOptions) {
    if (!Number.isFinite(options.interval) || options.interval < 1) throw new RangeError(`pod monitor interval must be ≥ 1 s, got ${options.interval}`);
    this.options = options;
    this.core = options.core;
    this.intervalMs = options.interval * 1000;
    this.guardianOf = options.guardian;
    this.procDir = options.procDir ?? '/proc/net';
    this.readTimeoutMs = options.readTimeoutMs ?? Math.min(this.intervalMs, 2000);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  /** The latest profile, or null before the first sample. Owned by the monitor. */
  get current(): PodProfile | null {
    return this.latest;
  }

  /** The pod alert in force, or null. */
  get alerting(): PodAlert | null {
    return this.alert;
  }

  /** A pod alert was raised under control.block: guard-service should restart the pod. Latched. */
  get compromised(): boolean {
    return this.compromisedFlag;
  }

  get samples(): number {
    return this.samplesTaken;
  }

  /** Sample now, then every interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stop sampling; resolves after a sample in progress ended. Frees the core objects. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    this.latest?.dispose();
    this.latest = null;
    this.session?.dispose();
    this.session = null;
  }

  /**
   * After a core fault: use the new core instance. The latest profile and the session went with
   * the old one; the next sample (on schedule) profiles the pod again. The alert state is kept:
   * `rebound` names the Guardian in force loaded again into the new instance, so that an alert it
   * raised still holds under its new handle (it clears only under a different Guardian).
   */
  replaceCore(core: Core, rebound?: { from: Guardian; to: Guardian }): void {
    this.core = core;
    this.latest = null;
    this.session = null;
    if (rebound && this.alertGuardian === rebound.from) this.alertGuardian = rebound.to;
  }

  /** Take one sample now (single-flight: joins one in progress). Never throws. */
  sample(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.sampleOnce().finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  private schedule(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (!this.running) return;
      void this.sample().then(() => {
        if (this.running) this.schedule(this.intervalMs);
      });
    }, ms);
  }

  private async sampleOnce(): Promise<void> {
    let files: ProcNetFiles;
    try {
      files = await this.readTables();
    } catch (err) {
      this.logOnce(`error while reading ${this.procDir}: ${(err as Error).message}`);
      return;
    }
    let pod: PodProfile;
    try {
      pod = this.core.profilePod(files);
    } catch (err) {
      this.logOnce(`error while profiling the pod: ${(err as Error).message}`);
      return;
    }
    const previous = this.latest;
    this.latest = pod;
    this.samplesTaken++;
    try {
      this.options.onProfile?.(pod);
    } catch (err) {
      this.logOnce(`pod onProfile failed: ${(err as Error).message}`);
    }
    previous?.dispose();
    this.decide(pod);
  }

  private decide(pod: PodProfile): void {
    const guardian = this.guardianOf();
    if (!guardian) return;
    let result: number;
    let decision: unknown = null;
    let decisionText = '';
    let block = false;
    try {
      const session = (this.session ??= this.core.newSession());
      session.reset();
      session.setPod(pod);
      result = session.decide(guardian, Section.Pod);
      if (result > 0) {
        decision = session.decisionTree();
        decisionText = session.decisionString();
        block = guardian.control.block;
      }
      session.reset();
    } catch (err) {
      this.logOnce(`error while deciding the pod: ${(err as Error).message}`);
      return;
    }
    if (result <= 0) {
      // An alert holds under the Guardian that raised it (peers that went away may come back);
      // it clears when a new Guardian allows the pod's state.
      if (this.alert && guardian !== this.alertGuardian) {
        this.alert = null;
        this.alertGuardian = null;
        this.options.onClear?.();
      }
      return;
    }
    const changed = this.alert?.decisionText !== decisionText;
    this.alert = { decision, decisionText, block };
    this.alertGuardian = guardian;
    if (block && !this.compromisedFlag) {
      this.compromisedFlag = true;
      try {
        this.options.onCompromised?.();
      } catch (err) {
        this.logOnce(`pod onCompromised failed: ${(err as Error).message}`);
      }
    }
    if (changed) {
      try {
        this.options.onAlert?.(this.alert);
      } catch (err) {
        this.logOnce(`pod onAlert failed: ${(err as Error).message}`);
      }
    }
  }

  private async readTables(): Promise<ProcNetFiles> {
    // The timeout ends the sample even when a read hangs (the read is abandoned, its handle closed
    // when it ends); between chunks a read also stops once the time is up.
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new Error(`timed out after ${this.readTimeoutMs} ms`));
      }, this.readTimeoutMs);
      timer.unref();
    });
    try {
      const entries = await Promise.race([
        Promise.all(PROC_NET_FILES.map(async (f) => [f, await this.readTable(f, ac.signal)] as const)),
        timeout,
      ]);
      const files: ProcNetFiles = {};
      for (const [f, text] of entries) if (text !== undefined) files[f] = text;
      return files;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One table, bounded; undefined when it does not exist or cannot be read (logged once). */
  private async readTable(name: ProcNetFile, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const path = join(this.procDir, name);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logOnce(`error while reading ${path}: ${(err as Error).message}`);
      return undefined;
    }
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      while (total < MAX_TABLE_BYTES) {
        if (signal.aborted) throw new Error(`timed out after ${this.readTimeoutMs} ms`);
        const buf = Buffer.allocUnsafe(Math.min(256 << 10, MAX_TABLE_BYTES - total));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
        total += bytesRead;
      }
      const all = Buffer.concat(chunks, total);
      // A truncated table: keep whole lines only.
      const end = total >= MAX_TABLE_BYTES ? all.lastIndexOf(0x0a) + 1 : total;
      return all.subarray(0, end);
    } catch (err) {
      this.logOnce(`error while reading ${path}: ${(err as Error).message}`);
      return undefined;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  private logOnce(message: string): void {
    if (this.loggedErrors.has(message)) return;
    if (this.loggedErrors.size < 100) this.loggedErrors.add(message);
    this.logger?.warn({ component: 'pod-monitor' }, message);
  }
}
