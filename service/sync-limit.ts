// How often one pod may sync: a token bucket per authenticated pod (a burst, then a steady rate),
// so that one gate — compromised, or one of the original's, which syncs on every completion once
// its pile reaches 1,000 (its H2, docs/threat-model.md) — cannot take guard-service's CPU from the
// others: a sync's merge and learn cost milliseconds. Guard's gates sync every 5 s at most and never
// reach it.
import type { Clock } from '../clock/index.js';
import { TokenBuckets } from './token-buckets.js';

export interface SyncLimitOptions {
  /** Syncs a pod may make at once. */
  burst: number;
  /** Syncs a pod may make per minute, steadily. */
  perMinute: number;
  clock: Clock;
  /** Pods remembered at most (default 65,536); one forgotten gets a full burst again. */
  maxPods?: number;
}

export class SyncLimit {
  private readonly buckets: TokenBuckets;

  constructor(o: SyncLimitOptions) {
    this.buckets = new TokenBuckets({ burst: o.burst, msPerToken: 60_000 / o.perMinute, clock: o.clock, maxKeys: o.maxPods ?? 65_536 });
  }

  /** Takes a token for `pod` (namespace/pod): 0 when it may sync now, else the whole seconds until it may. */
  take(pod: string): number {
    const waitMs = this.buckets.take(pod);
    return waitMs === 0 ? 0 : Math.max(1, Math.ceil(waitMs / 1000));
  }
}
