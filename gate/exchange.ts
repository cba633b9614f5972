// The state of one request/response exchange through the gate, and what the rest of the gate learns
// of it when it ends (Verdict for onSession, ExchangeOutcome for onEnd). Created by the listener for
// every request; ended once by Exchanges.finish (exchanges.ts).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { HeaderLine, Session } from '../core/index.js';
import type { BodyBuffer } from './body-buffer.js';
import type { Slotted } from './in-flight.js';
import type { AbortListener, ClientResponse } from './client-response.js';
import type { RequestContext } from './plugins.js';

export type Stage = 'request' | 'response' | 'none';

/**
 * How an exchange ended: decided (`allow`; `alert` — out of pattern, or not evaluated, and let
 * through; `block`), `refused` by the gate before any decision (malformed framing or target, body
 * over the limit, shutting down, the gate's own failure), or `aborted` — the client went away first.
 */
export type ExchangeOutcome = 'allow' | 'alert' | 'block' | 'refused' | 'aborted';

/** The outcome of one exchange, handed to onSession with the session. */
export interface Verdict {
  requestId: string;
  method: string;
  path: string;
  remote: string;
  /** Accumulated core result (0 = allowed). */
  result: number;
  /** The stage that was blocked, 'none' when nothing was blocked. */
  blocked: Stage;
  /** Status sent to the client (0 when the client went away first). */
  status: number;
  /** Whether the exchange reached the point where it was profiled entirely (request and response). */
  complete: boolean;
  /** Milliseconds spent in the core (profiling and deciding) for this exchange. */
  coreMs: number;
  /** Milliseconds from the request's arrival to the upstream's response head (0 if none). */
  upstreamMs: number;
  /** The plugin that blocked the exchange (absent when the guard blocked it, or nothing did). */
  blockedBy?: string;
  /** Tags the plugins gave the exchange (request and response stages). */
  tags: string[];
}

/**
 * An exchange the core could not evaluate: the core trapped while profiling or deciding it, its
 * session belonged to a core instance that failed meanwhile (`cause` 'core'), or the gate's own
 * code failed around the core (`cause` 'gate': a bug, never a reason to let traffic through
 * undecided). `stage` 'exchange': after the answer was sent (envelope, learning), when there is
 * nothing left to block.
 */
export interface CoreFault {
  requestId: string;
  method: string;
  path: string;
  remote: string;
  stage: 'request' | 'response' | 'exchange';
  cause: 'core' | 'gate';
  error: string;
}

/** The upstream side of an exchange once forwarded (aborted when the client goes away). */
export interface UpstreamExchange {
  abort(reason: string): void;
}

/**
 * One request/response exchange through the gate. Its request id is made on first use: only
 * exchanges that are answered by the gate, alerted or logged need one.
 */
export class Exchange implements AbortListener, Slotted {
  private rid: string | null = null;
  /** Its slot in the proxy's exchanges in flight (in-flight.ts), -1 when not in flight. */
  inFlightSlot = -1;
  finished = false;
  session: Session | null = null;
  upstream: UpstreamExchange | null = null;
  status = 0;
  blocked: Stage = 'none';
  complete = false;
  respMs = 0;
  coreMs = 0;
  /** The request was profiled (only such exchanges reach onSession). */
  profiled = false;
  /** The core could not evaluate the exchange (a fault); the action taken, reported once. */
  unevaluated: 'block' | 'pass' | null = null;
  blockedBy: string | undefined = undefined;
  tags: string[] = [];
  /** What the plugins saw of the request (built once, when there are plugins). */
  pluginCtx: RequestContext | null = null;
  /** A request body streamed to the upstream uninspected (destroyed when the client goes away). */
  stream: Readable | null = null;
  /** Bodies held for analysis, given back to the budget when the exchange ends. */
  requestBody: BodyBuffer | null = null;
  responseBody: BodyBuffer | null = null;

  constructor(
    /** Ends the exchange (Exchanges.finish). */
    private readonly owner: { finish(ex: Exchange): void },
    readonly client: ClientResponse,
    readonly method: string,
    /** The path as the core profiles it and logs show it (canonical), or as received when `validTarget` is false. */
    readonly path: string,
    /** The path as the client sent it, forwarded when valid (it decodes to the same bytes as `path`). */
    readonly target: string,
    /** False when the request target is not a valid origin-form path (never forwarded). */
    readonly validTarget: boolean,
    /** The query as decided and forwarded (canonicalQuery: only the pieces the core parses). */
    readonly query: string,
    /** Header lines as received (names lower-case); let go once forwarded when no plugin reads them. */
    public headers: HeaderLine[],
    readonly remote: string,
    /** performance.now() at arrival. */
    readonly start: number,
  ) {}

  get id(): string {
    return (this.rid ??= randomUUID());
  }

  /** The client went away before its response was complete. */
  get aborted(): boolean {
    return this.client.aborted;
  }

  /** The client went away: nothing more is read from or sent to the service, and the exchange ends. */
  onClientAborted(): void {
    this.upstream?.abort('client gone');
    this.stream?.destroy();
    this.owner.finish(this);
  }

  /** How the exchange ended, once it did (`result`: the core's accumulated result). */
  outcome(result: number): ExchangeOutcome {
    if (this.blocked !== 'none') return 'block';
    if (this.unevaluated === 'pass' || (this.profiled && result > 0)) return 'alert';
    if (this.profiled) return 'allow';
    return this.status > 0 ? 'refused' : 'aborted';
  }
}

/** What onSession learns of an exchange (the request id, too, only made when read). */
export class ExchangeVerdict implements Verdict {
  readonly method: string;
  readonly path: string;
  readonly remote: string;
  readonly blocked: Stage;
  readonly status: number;
  readonly complete: boolean;
  readonly coreMs: number;
  readonly upstreamMs: number;
  readonly blockedBy?: string;
  readonly tags: string[];

  constructor(
    private readonly ex: Exchange,
    readonly result: number,
  ) {
    this.method = ex.method;
    this.path = ex.path;
    this.remote = ex.remote;
    this.blocked = ex.blocked;
    this.status = ex.status;
    this.complete = ex.complete;
    this.coreMs = ex.coreMs;
    this.upstreamMs = ex.respMs;
    if (ex.blockedBy !== undefined) this.blockedBy = ex.blockedBy;
    this.tags = ex.tags;
  }

  get requestId(): string {
    return this.ex.id;
  }
}
