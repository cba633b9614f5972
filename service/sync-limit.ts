// How often one pod may sync: a token bucket per authenticated pod (a burst, then a steady rate),
// so that one gate — compromised, or one of the original's, which syncs on every completion once
// its pile reaches 1,000 (its H2, docs/threat-model.md) — cannot take guard-service's CPU from the
// others: a sync's merge and learn cost milliseconds. Guard's gates sync every 5 s at most and never
// reach it. Buckets are bounded: beyond the bound the least recently used is forgotten, which only
// gives that pod a full burst again.
import type { Clock } from '../clock/index.js';

export interface SyncLimitOptions {
  /** Syncs a pod may make at once. */
  burst: number;
  /** Syncs a pod may make per minute, steadily. */
  perMinute: number;
  clock: Clock;
  /** Pods remembered at most (default 65,536). */
  maxPods?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SyncLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly msPerToken: number;
  private readonly maxPods: number;

  constructor(private readonly o: SyncLimitOptions) {
    this.msPerToken = 60_000 / o.perMinute;
    this.maxPods = o.maxPods ?? 65_536;
  }

  /** Takes a token for `pod` (namespace/pod): 0 when it may sync now, else the seconds until it may. */
  take(pod: string): number {
    const now = this.o.clock.now();
    let b = this.buckets.get(pod);
    if (b) {
      this.buckets.delete(pod);
      b.tokens = Math.min(this.o.burst, b.tokens + (now - b.at) / this.msPerToken);
      b.at = now;
    } else {
      b = { tokens: this.o.burst, at: now };
      if (this.buckets.size >= this.maxPods) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(pod, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) * this.msPerToken) / 1000));
  }
}
