// How much of Kubernetes a caller that is not authenticated can make guard-service ask for
// (docs/threat-model.md, "Denial of service"). A token guard-service has not seen costs a
// TokenReview, and a gate's also a pod read: unbounded, anyone who reaches the port could make
// guard-service flood the API server with reviews of made-up tokens. So:
// * one review per token: asks of a token under review wait for that review, an accepted token is
//   kept for its time (the authenticator's), a refused one is answered from memory for a minute
//   (a misconfigured gate that retries costs nothing);
// * each client address may fail to authenticate a burst of times, then at a steady rate; beyond
//   that, the new tokens it sends are refused (429) without asking Kubernetes. Tokens accepted
//   before are never refused so: people behind one ingress share its address;
// * at most so many reviews run at once; beyond that, 503 with Retry-After.
import { createHash } from 'node:crypto';
import type { Clock, WallClock } from '../clock/index.js';
import { ApiError, type ApiErrorCode } from './api-errors.js';
import { TtlCache } from './ttl-cache.js';
import { TokenBuckets } from './token-buckets.js';

export interface AuthAttemptsOptions {
  /** Failed authentications a client address may make at once. */
  failureBurst: number;
  /** ... and per minute, steadily; 0: no limit per address. */
  failuresPerMinute: number;
  /** Reviews (TokenReview and what follows it) running at once, at most. */
  maxReviews: number;
  clock: Clock;
  /** Client addresses remembered at most (one forgotten gets a full burst again). */
  maxClients?: number;
  /** Tokens remembered as once accepted, at most. */
  maxAccepted?: number;
}

/** How long a token once accepted is spared the limit per address (it is still reviewed as usual). */
const ACCEPTED_MEMORY_MS = 60 * 60_000;
/** How long a refused token is answered from memory. */
export const REFUSED_TTL_MS = 60_000;

/** The limits shared by the gates' and people's authentication. */
export class AuthAttempts {
  private readonly failures: TokenBuckets | null;
  private readonly accepted: TtlCache<true>;
  private running = 0;

  constructor(private readonly o: AuthAttemptsOptions) {
    this.failures =
      o.failuresPerMinute > 0
        ? new TokenBuckets({ burst: o.failureBurst, msPerToken: 60_000 / o.failuresPerMinute, clock: o.clock, maxKeys: o.maxClients ?? 65_536 })
        : null;
    this.accepted = new TtlCache(o.maxAccepted ?? 100_000, () => o.clock.now());
  }

  /**
   * A review of the token with digest `key` may start for `client` (its address): otherwise an
   * ApiError (429 for an address over its failures, 503 when too many reviews run). A review of a
   * token not accepted before holds one of its address's failures while it runs, so that reviews
   * started together cannot overrun the limit; end() gives it back unless the token was refused.
   * Returns whether it holds one (to hand to end()).
   */
  begin(key: string, client: string | undefined): boolean {
    if (this.running >= this.o.maxReviews) {
      throw new ApiError('GUARD_API_UNAVAILABLE', `too many tokens are being reviewed at once (${this.o.maxReviews}); retry in a second`, { reason: 'reviews_busy', retryAfterSeconds: 1 });
    }
    let holds = false;
    if (this.failures !== null && client !== undefined && this.accepted.get(key) === undefined) {
      const waitMs = this.failures.take(client);
      if (waitMs > 0) {
        throw new ApiError('GUARD_API_RATE_LIMITED', `too many failed authentications from ${client}; a new token is reviewed again in ${Math.ceil(waitMs / 1000)} s`, {
          reason: 'auth_failures',
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        });
      }
      holds = true;
    }
    this.running++;
    return holds;
  }

  /** The review begun for `key` ended: accepted or not (a failure of Kubernetes is neither). */
  end(key: string, client: string | undefined, outcome: 'accepted' | 'refused' | 'unavailable', holds: boolean): void {
    this.running--;
    if (outcome === 'accepted') this.accepted.set(key, true, ACCEPTED_MEMORY_MS);
    if (holds && outcome !== 'refused' && client !== undefined) this.failures?.give(client);
  }
}

/** What a review established, and for how long it may be believed. */
export interface Reviewed<T> {
  value: T;
  ttlMs: number;
}

export type ReviewOutcome = 'accepted' | 'refused' | 'unavailable';

interface Refusal {
  code: ApiErrorCode;
  message: string;
  reason: string;
}

/** One authenticator's reviews of tokens: each token reviewed once, its answer kept (module comment). */
export class TokenReviews<T> {
  private readonly accepted: TtlCache<T>;
  private readonly refused: TtlCache<Refusal>;
  private readonly pending = new Map<string, Promise<T>>();
  private readonly onReview: ((outcome: ReviewOutcome) => void) | null;

  constructor(
    private readonly attempts: AuthAttempts | null,
    /** now: the clock of the answers' ttl (the wall clock where it is cut to a token's expiry). */
    options: { maxEntries: number; now: WallClock | Clock['now']; onReview?: (outcome: ReviewOutcome) => void },
  ) {
    this.accepted = new TtlCache(options.maxEntries, options.now);
    this.refused = new TtlCache(options.maxEntries, options.now);
    this.onReview = options.onReview ?? null;
  }

  /** What `token` was found to be; `review` runs only when nothing is known or pending for it. */
  async get(token: string, client: string | undefined, review: () => Promise<Reviewed<T>>): Promise<T> {
    const key = createHash('sha256').update(token).digest('base64url');
    const known = this.accepted.get(key);
    if (known !== undefined) return known;
    const refusal = this.refused.get(key);
    if (refusal !== undefined) throw new ApiError(refusal.code, refusal.message, { reason: refusal.reason });
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending;
    const holds = this.attempts?.begin(key, client) ?? false;
    const run = this.run(key, client, holds, review);
    this.pending.set(key, run);
    try {
      return await run;
    } finally {
      this.pending.delete(key);
    }
  }

  private async run(key: string, client: string | undefined, holds: boolean, review: () => Promise<Reviewed<T>>): Promise<T> {
    let outcome: ReviewOutcome = 'unavailable';
    try {
      const { value, ttlMs } = await review();
      outcome = 'accepted';
      this.accepted.set(key, value, ttlMs);
      return value;
    } catch (err) {
      // 401 and 403 are answers about the token; anything else (Kubernetes unavailable) is not kept.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        outcome = 'refused';
        this.refused.set(key, { code: err.code, message: err.message, reason: err.reason }, REFUSED_TTL_MS);
      }
      throw err;
    } finally {
      this.attempts?.end(key, client, outcome, holds);
      this.onReview?.(outcome);
    }
  }
}
