// When the gate syncs: the policy at the top of gate/sync.ts as times on the clock — the earliest a
// sync may start (5 s after the last attempt, not in a back-off), when one is due given what is
// held, the one timer armed for it — and the back-off after failures.
import type { Clock, Timer } from '../clock/index.js';

export const PILE_LIMIT = 1000;
export const ALERTS_LIMIT = 1000;
export const MIN_TIME_BETWEEN_SYNCS_MS = 5000;
export const SKIP_INTERVALS = 5;

/** What the policy weighs, read only when the answer depends on it (the pile's count asks the core). */
export interface HeldForSync {
  /** A unit sent whose answer never came is waiting. */
  unanswered(): boolean;
  samples(): number;
  alerts(): number;
  /** Samples learned so far by the Guardian in force (0 when unknown). */
  learned(): number;
}

export interface SyncScheduleOptions {
  clock: Clock;
  intervalMs: number;
  /** This instance's fixed offset added to the interval deadlines. */
  jitterMs: number;
  backoffBaseMs: number;
  maxBackoffMs: number;
  random: () => number;
  held: HeldForSync;
  /** Whether a timer may be armed now: false while a sync is in flight and once closed. */
  mayArm: () => boolean;
  /** The armed time came and a sync may start. */
  due: () => void;
}

export class SyncSchedule {
  private readonly o: SyncScheduleOptions;
  private lastAttempt = -Infinity;
  private lastSuccess: number;
  private backoffUntil = -Infinity;
  private backoff = 0;
  private timer: Timer | null = null;
  private armedAt = Infinity;

  constructor(options: SyncScheduleOptions) {
    this.o = options;
    this.lastSuccess = options.clock.now();
  }

  /** The back-off in force after the last failure (0 after a success). */
  get backoffMs(): number {
    return this.backoff;
  }

  /** The time (clock ms) of the next scheduled sync, Infinity when none. */
  get nextAt(): number {
    return this.armedAt;
  }

  /** The earliest time (clock ms) any sync may start: 5 s after the last attempt, and not in a back-off. */
  earliest(): number {
    return Math.max(this.lastAttempt + MIN_TIME_BETWEEN_SYNCS_MS, this.backoffUntil);
  }

  attempted(at: number): void {
    this.lastAttempt = at;
  }

  succeeded(): void {
    this.lastSuccess = this.o.clock.now();
    this.backoffUntil = -Infinity;
    this.backoff = 0;
  }

  /** The `failures`th failure in a row: back off exponentially, never sooner than guard-service asked. */
  failed(failures: number, retryAfterMs: number | undefined): void {
    const exp = this.o.backoffBaseMs * 2 ** Math.min(30, failures - 1);
    // guard-service may say how long to wait (its sync rate limit, an outage): never sooner.
    this.backoff = Math.min(this.o.maxBackoffMs, Math.max(exp, retryAfterMs ?? 0));
    // Jitter the back-off too (up to +10 %) so that gates do not retry together.
    this.backoffUntil = this.o.clock.now() + this.backoff + Math.floor(this.o.random() * this.backoff * 0.1);
  }

  /** The earliest time (clock ms) a sync is due under the policy. */
  private dueAt(): number {
    const { held, intervalMs, jitterMs } = this.o;
    const earliest = this.earliest();
    // A sync whose answer never came goes again as soon as the back-off allows.
    if (held.unanswered()) return earliest;
    const count = held.samples();
    const alerts = held.alerts();
    if (count >= PILE_LIMIT || alerts >= ALERTS_LIMIT) return earliest;
    const interval = this.lastSuccess + intervalMs + jitterMs;
    if ((count > 0 && count * 10 >= held.learned()) || alerts > 0) return Math.max(earliest, interval);
    return Math.max(earliest, this.lastSuccess + SKIP_INTERVALS * intervalMs + jitterMs);
  }

  /** After a change on the request path: re-arm only if it brings the next sync forward. */
  poke(): void {
    if (!this.o.mayArm()) return;
    // dueAt() is never before earliest(): armed for that, there is nothing to bring
    // forward (and no need to ask the core for the pile's count on every exchange).
    if (this.armedAt <= this.earliest()) return;
    if (this.dueAt() < this.armedAt) this.arm();
  }

  /** Arm the timer for when the next sync is due (`now`: as soon as the 5 s rule and back-off allow). */
  arm(now = false): void {
    if (!this.o.mayArm()) return;
    const clock = this.o.clock;
    this.disarm();
    const at = now ? Math.max(this.earliest(), clock.now()) : this.dueAt();
    if (!Number.isFinite(at)) return;
    this.armedAt = Math.max(at, clock.now());
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      this.armedAt = Infinity;
      // Timers count whole milliseconds of a coarser clock: one can fire a fraction of a
      // millisecond before `at`. The sync is then not due yet, and the schedule is armed again —
      // never dropped (a pile would otherwise wait for the next request to be sent).
      if (clock.now() < this.earliest()) this.arm();
      else this.o.due();
    }, Math.max(0, Math.ceil(at - clock.now())));
  }

  disarm(): void {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    this.armedAt = Infinity;
  }
}
