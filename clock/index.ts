// Time for every schedule of gate and service (sync, pod samples, core restarts, learn and persist
// timers): one monotonic clock shape with timers, real in production and fake in tests so that
// every threshold can be hit exactly; and the wall clock, for times that are dates.

/** An opaque timer handle, only good for the clock that made it. */
export type Timer = object;

export interface Clock {
  /** Milliseconds on a monotonic scale (never goes back; unrelated to the wall clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

/**
 * The process's monotonic clock. Its timers are unref'd: a pending schedule must not keep the
 * process alive (shutdown runs an explicit flush or final sync instead).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(timer) {
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

/**
 * Milliseconds since the epoch, for times that are dates: an alert's time, a token's expiry. A
 * single function rather than a Clock: nothing is scheduled on it (it may jump when the system time
 * is set), and the monotonic Clock cannot give a date. Tests pass a fake.
 */
export type WallClock = () => number;

export const wallClock: WallClock = () => Date.now();

interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. advance(ms) runs every timer that falls due on the way, in
 * order of due time (then of creation), with now() equal to that timer's due time while it runs;
 * timers set by a timer run too if they fall due before the end.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { due: this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: Timer): void {
    this.timers.delete(timer as FakeTimer);
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be a non-negative number, got ${ms}`);
    const end = this.time + ms;
    for (let next = this.nextDue(end); next; next = this.nextDue(end)) {
      this.timers.delete(next);
      this.time = next.due;
      next.fn();
    }
    this.time = end;
  }

  private nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.due > end) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
