// Whether the protected service still answers, for /readyz: a pool whose requests have waited longer
// than the threshold (the upstream headers timeout) without the service answering any of them is
// wedged. Only an answer is progress: a request that fails or times out stops waiting, but says
// nothing about the service — counting it as progress would reset the clock at each headers
// timeout, which fires at that same threshold, and a dead service would never be reported.
import { performance } from 'node:perf_hooks';

export class UpstreamProgress {
  /** Requests sent whose response head has not arrived (nor failed). */
  private waiting = 0;
  /** performance.now() when `waiting` last rose from 0: nothing waited before, so nothing was late. */
  private waitingSince = 0;
  /** performance.now() of the service's last answer (a response head or a completed response). */
  private answeredAt = performance.now();

  constructor(private readonly thresholdMs: number) {}

  /** A request was sent; it waits for its response head. */
  sent(): void {
    if (this.waiting++ === 0) this.waitingSince = performance.now();
  }

  /** A request's response head arrived at `at` (performance.now()): it waits no more, the service answers. */
  headArrived(at: number): void {
    this.waiting--;
    this.answeredAt = at;
  }

  /** A request stopped waiting without an answer (error, timeout, abort): no sign of life. */
  gaveUp(): void {
    this.waiting--;
  }

  /** A response ended complete: the service answers (a long response shows it is alive at its end). */
  completed(): void {
    this.answeredAt = performance.now();
  }

  /** Why the pool is wedged — requests wait and the service answered none for over the threshold — else null. */
  stalled(): string | null {
    if (this.waiting <= 0) return null;
    const quiet = performance.now() - Math.max(this.answeredAt, this.waitingSince);
    if (quiet <= this.thresholdMs) return null;
    return `${this.waiting} requests wait for the service, which has answered nothing for ${Math.round(quiet / 1000)} s (over GUARD_UPSTREAM_HEADERS_TIMEOUT)`;
  }
}
