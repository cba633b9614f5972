// Token buckets by key — a burst, then one token per interval — as the kubelet's event spam filter
// and API rate limits work: what bounds how often one Guardian is written to (alert Events) and how
// often one pod may sync. Bounded: beyond `maxKeys` the least recently used key is forgotten, which
// only gives it a full burst again.
import type { Clock } from '../clock/index.js';

export interface TokenBucketsOptions {
  /** Tokens a key holds at most, and starts with. */
  burst: number;
  /** One token comes back per this many ms. */
  msPerToken: number;
  clock: Clock;
  /** Keys remembered at most. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly o: TokenBucketsOptions) {}

  /** The ms until `key` has a token (0: it has one now); takes none and leaves the key's recency as it was. */
  wait(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.o.burst, b.tokens + (this.o.clock.now() - b.at) / this.o.msPerToken);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * this.o.msPerToken);
  }

  /** Gives back a token taken from `key` (up to its burst): what it was taken for did not happen. */
  give(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.o.burst, b.tokens + 1);
  }

  /** Takes a token for `key`: 0 when there was one, else the ms until there will be (none taken). */
  take(key: string): number {
    const now = this.o.clock.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.o.burst, b.tokens + (now - b.at) / this.o.msPerToken);
      b.at = now;
    } else {
      b = { tokens: this.o.burst, at: now };
      if (this.buckets.size >= this.o.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) * this.o.msPerToken);
  }
}
