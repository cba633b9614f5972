// The gate's core instance and its recovery (fail static, never silently open). A trap of the
// core (an internal bug) leaves its instance unusable: every later call throws GUARD_CORE_FAULT.
// CoreHost owns the instance: told of a trap synchronously (Core.onFault), before the failing caller
// sees the error, it puts a fresh instance of the same compiled module in place and has the gate
// re-wire into it (Guardian loaded again, empty pile, pod session, proxy sessions). Bounded: more
// than `maxRestarts` restarts within `windowMs` and it stops restarting — the gate fails closed.
import { systemClock, type Clock } from '../clock/index.js';
import type { Core } from '../core/index.js';
import type { Logger } from '../log/index.js';

export interface CoreHostOptions {
  core: Core;
  log: Logger;
  /**
   * Move the gate's state into the new instance; returns what the restart log line should carry
   * (e.g. the lost sample count). A throw fails this restart (another one is tried, bounded).
   */
  rewire: (next: Core) => Record<string, unknown>;
  /** Called after each successful restart (metrics). */
  onRestart?: () => void;
  /** Called once when the gate gives up and fails closed. */
  onFailClosed?: (reason: string) => void;
  /** Restarts allowed within windowMs (default 5); one more fault fails closed. */
  maxRestarts?: number;
  windowMs?: number;
  /** Default: the process's monotonic clock. */
  clock?: Clock;
}

export const DEFAULT_MAX_RESTARTS = 5;
export const DEFAULT_RESTART_WINDOW_MS = 60_000;

export class CoreHost {
  private currentCore: Core;
  private readonly options: CoreHostOptions;
  private readonly maxRestarts: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** Times of the recent restarts (within the window). */
  private recent: number[] = [];
  private total = 0;
  private failure: string | null = null;
  private restarting = false;
  /** A fault of the new instance while it was being wired (handled by the restart loop). */
  private faultDuringRestart: Error | null = null;

  constructor(options: CoreHostOptions) {
    this.options = options;
    this.maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    this.windowMs = options.windowMs ?? DEFAULT_RESTART_WINDOW_MS;
    this.clock = options.clock ?? systemClock;
    this.currentCore = options.core;
    this.watch(this.currentCore);
  }

  /** The core instance in use. After a fault it is a new one: do not keep it across a failure. */
  get core(): Core {
    return this.currentCore;
  }

  /** Restarts since the start. */
  get restarts(): number {
    return this.total;
  }

  /** Why the gate failed closed (the core kept failing), or null while it runs. */
  get failedClosed(): string | null {
    return this.failure;
  }

  /** Stop watching the instance (the gate closed): a later trap is left to its caller. */
  close(): void {
    this.currentCore.onFault = null;
  }

  private watch(core: Core): void {
    core.onFault = (err) => this.fault(core, err);
  }

  private fault(core: Core, err: Error): void {
    if (core !== this.currentCore || this.failure !== null) return;
    if (this.restarting) {
      this.faultDuringRestart = err;
      return;
    }
    this.restarting = true;
    try {
      this.restart(err);
    } finally {
      this.restarting = false;
    }
  }

  private restart(first: Error): void {
    let cause = first;
    for (;;) {
      this.currentCore.onFault = null;
      const at = this.clock.now();
      this.recent = this.recent.filter((t) => at - t < this.windowMs);
      if (this.recent.length >= this.maxRestarts) {
        this.failClosed(cause);
        return;
      }
      this.recent.push(at);
      this.faultDuringRestart = null;
      let details: Record<string, unknown> = {};
      let failed: Error | null = null;
      try {
        const next = this.currentCore.fresh();
        this.currentCore = next;
        this.watch(next);
        details = this.options.rewire(next);
      } catch (err) {
        failed = err instanceof Error ? err : new Error(String(err));
      }
      failed = this.faultDuringRestart ?? failed;
      if (failed === null) {
        this.total++;
        this.options.log.error(
          { err: cause.message, restarts: this.total, recentRestarts: this.recent.length, ...details },
          'core: the core failed (trap) - restarted with a fresh instance and the same Guardian',
        );
        try {
          this.options.onRestart?.();
        } catch {
          // metrics only
        }
        return;
      }
      this.options.log.error({ err: failed.message }, 'core: the fresh instance failed while it was set up');
      cause = failed;
    }
  }

  private failClosed(cause: Error): void {
    this.failure = `the core failed ${this.recent.length + 1} times within ${Math.round(this.windowMs / 1000)} s; fail closed`;
    this.options.log.error(
      { err: cause.message, restarts: this.total, maxRestarts: this.maxRestarts, windowMs: this.windowMs },
      `core: ${this.failure} - every request is refused and the gate is not ready; restart the pod after reading the log`,
    );
    try {
      this.options.onFailClosed?.(this.failure);
    } catch {
      // metrics only
    }
  }
}
