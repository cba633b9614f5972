// The request path: a request's framing checked, its body read into one private buffer (or streamed
// uninspected when it is not analysed or over the limit), profiled and decided with the core, the
// plugins asked, and only then forwarded to the protected service — the exact bytes decided.
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HeaderLine } from '../core/index.js';
import { BodyBuffer } from './body-buffer.js';
import { StreamedBody } from './streamed-body.js';
import { contentCodings, decodeForGate, FAULT_TOO_LARGE, type Decoded } from './decode.js';
import type { Exchange } from './exchange.js';
import type { Exchanges } from './exchanges.js';
import { HOP_BY_HOP } from './header-text.js';
import { UpstreamHandler, type ResponseLimits } from './response-path.js';

const DIGITS = /^\d+$/;

/**
 * Fields with one value (RFC 9110: a sender must not repeat them) that common parsers read from
 * different lines when repeated — Node keeps the first, the core joins them all — and those the gate
 * itself reads: a request with two lines of one of them is refused (400), except Content-Encoding, a
 * list the gate, the core and Node all join. A bit each, to find a repetition without a set per request.
 */
const SINGLE_VALUED = new Map<string, number>(
  [
    'content-length', 'transfer-encoding', 'content-type', 'content-encoding', 'host', 'authorization', 'proxy-authorization',
    'user-agent', 'referer', 'from', 'if-modified-since', 'if-unmodified-since', 'max-forwards', 'content-range', 'origin',
  ].map((name, i) => [name, 1 << i]),
);
const NO_CODINGS: readonly string[] = Object.freeze([]);
const NO_HEADERS = Object.freeze([]) as unknown as HeaderLine[];

export interface RequestLimits extends ResponseLimits {
  /** A request body over maxBody: decided with the fault TooLargeBody (streamed uninspected when allowed), or refused with 413. */
  oversize: 'decide' | 'refuse';
  /** Exchanges in flight at once; beyond, a request is answered 503 with Retry-After. */
  maxInFlight: number;
}

/** Outgoing headers: hop-by-hop (and those named in Connection) removed, X-Forwarded-For appended. */
export function forwardHeaders(ex: Exchange, contentLength: number | null): string[] {
  const lines = ex.headers;
  let named: Set<string> | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line[0] === 'connection') for (const n of line[1].split(',')) (named ??= new Set()).add(n.trim().toLowerCase());
  }
  const out: string[] = [];
  let xff: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const k = lines[i]![0];
    const v = lines[i]![1];
    if (HOP_BY_HOP.has(k) || named?.has(k) || k === 'content-length' || k === 'expect') continue;
    if (k === 'x-forwarded-for') {
      xff = xff === null ? v : `${xff}, ${v}`;
      continue;
    }
    out.push(k, v);
  }
  out.push('x-forwarded-for', xff === null ? ex.remote : `${xff}, ${ex.remote}`);
  if (contentLength !== null) out.push('content-length', String(contentLength));
  return out;
}

/** What the gate reads of a request head's framing fields, read once by readFraming. */
export interface Framing {
  /** The Content-Length line's value, or null without one. */
  contentLength: string | null;
  /** A Transfer-Encoding line is present. */
  chunked: boolean;
  /** The Content-Encoding lines' values (a list: joined, never refused as repeated). */
  encodings: string[];
  /** The first field of SINGLE_VALUED (Content-Encoding excepted) that came on two lines, or null. */
  repeated: string | null;
}

/** A Framing to fill again and again (readFraming runs to completion before the next request's). */
export function newFraming(): Framing {
  return { contentLength: null, chunked: false, encodings: [], repeated: null };
}

/**
 * The framing fields of `headers`, and the first single-valued field repeated, in one pass and into
 * `out` (no allocation per request unless the request carries Content-Encoding). Every path a request
 * head takes — plain requests and both listeners' upgrades — reads it here, so none of them forwards
 * a head whose repeated lines parsers read differently.
 */
export function readFraming(headers: readonly HeaderLine[], out: Framing): Framing {
  out.contentLength = null;
  out.chunked = false;
  out.repeated = null;
  if (out.encodings.length > 0) out.encodings = [];
  let seen = 0;
  for (let i = 0; i < headers.length; i++) {
    const k = headers[i]![0];
    const bit = SINGLE_VALUED.get(k);
    if (bit === undefined) continue;
    if ((seen & bit) !== 0 && k !== 'content-encoding') out.repeated ??= k;
    seen |= bit;
    const v = headers[i]![1];
    if (k === 'content-length') out.contentLength = v;
    else if (k === 'transfer-encoding') out.chunked = true;
    else if (k === 'content-encoding') out.encodings.push(v);
  }
  return out;
}

/**
 * Refuse (400, the connection closed) an exchange whose head `framing` found a repeated single-valued
 * field in; true when it was refused. The request body, if any, is not read.
 */
export function refusedRepeated(ex: Exchange, framing: Framing, exchanges: Exchanges): boolean {
  if (framing.repeated === null) return false;
  ex.client.discardBody();
  exchanges.stats.repeatedFieldRefusals++;
  exchanges.answer(ex, 400, `guard-gate: repeated ${framing.repeated} header\n`, true);
  return true;
}

export class RequestPath {
  /** The framing of the request being checked (filled by readFraming, read before the next one). */
  private readonly framing = newFraming();

  constructor(
    private readonly exchanges: Exchanges,
    private readonly upstream: Dispatcher,
    private readonly limits: RequestLimits,
  ) {}

  /** A new request: checked, read, decided, forwarded (or answered by the gate). */
  handle(ex: Exchange): void {
    const exchanges = this.exchanges;
    const client = ex.client;
    client.onAbort(ex);
    if (exchanges.size >= this.limits.maxInFlight && !exchanges.closing) {
      client.discardBody();
      exchanges.stats.inFlightRefusals++;
      return exchanges.answer(ex, 503, 'guard-gate: too many requests in flight; retry shortly\n', true, 1);
    }
    if (!exchanges.admit(ex)) return;

    // Framing: never forward a request whose length is ambiguous (uWS itself drops CL+TE), nor one
    // with two lines of a field that has one value: parsers disagree on which line counts.
    const { contentLength: cl, chunked: te, encodings } = readFraming(ex.headers, this.framing);
    if (refusedRepeated(ex, this.framing, exchanges)) return;
    if ((cl !== null && te) || (cl !== null && !DIGITS.test(cl.trim()))) {
      client.discardBody();
      return exchanges.answer(ex, 400, 'guard-gate: ambiguous request framing\n', true);
    }
    if (!ex.validTarget) {
      // Never forwarded: the core could not profile it, and the backend might read it otherwise.
      client.discardBody();
      return exchanges.answer(ex, 400, 'guard-gate: invalid request target\n', true);
    }
    const length = cl !== null ? Number(cl.trim()) : te ? null : 0;
    const { maxBody, oversize } = this.limits;
    // Every body is analysed, whatever its declared type: a missing or unknown media type is profiled
    // as text (many services parse JSON whatever Content-Type says).
    const analyse = this.limits.analyzeBody && length !== 0;

    if (length === 0) {
      // No body: decide at once (no data handler: the listener has nothing to deliver).
      if (exchanges.decideRequest(ex, undefined, undefined)) this.approveAndForward(ex, null, 0);
      return;
    }
    if (analyse && length !== null && length > maxBody && oversize === 'refuse') {
      client.discardBody();
      return this.refuseOversize(ex, true);
    }
    if (!analyse || (length !== null && length > maxBody)) return this.streamUninspected(ex, length, analyse);
    // A compressed body is buffered as it came (the limit applies to those bytes), decoded for
    // analysis only, and forwarded as it came.
    this.readAnalysed(ex, length, encodings.length === 0 ? NO_CODINGS : contentCodings(encodings));
  }

  /**
   * An uninspected body (not analysed, or a declared one over the limit): the data
   * handler is registered first (the listener's lifetime rule), the head is decided, then the body
   * streams through with backpressure. A blocked request's body is discarded.
   */
  private streamUninspected(ex: Exchange, length: number | null, analysed: boolean): void {
    if (analysed) this.exchanges.stats.oversizeBodies++;
    const client = ex.client;
    const body = new StreamedBody(client);
    ex.stream = body;
    // As in readAnalysed: an exception here is the gate's own failure, thrown into the listener's read
    // (uWS or a stream event, where nothing would end the exchange): it ends the exchange once, here.
    client.onData((chunk, last) => {
      if (ex.finished) return;
      try {
        body.offer(chunk, last);
      } catch (err) {
        this.exchanges.fail(ex, err);
      }
    });
    if (!this.exchanges.decideRequest(ex, undefined, analysed ? 'TooLargeBody' : undefined)) {
      body.destroy();
      return;
    }
    this.exchanges.approveRequest(ex, () => this.forward(ex, body, length), () => body.destroy());
  }

  /** An analysed body: read into one private buffer, then decided, then those exact bytes forwarded. */
  private readAnalysed(ex: Exchange, length: number | null, codings: readonly string[]): void {
    const exchanges = this.exchanges;
    const client = ex.client;
    const maxBody = this.limits.maxBody;
    const bb = BodyBuffer.open(length ?? 16384, this.limits.budget);
    if (bb === null) {
      client.discardBody();
      return this.overBudget(ex);
    }
    ex.requestBody = bb;
    let over: StreamedBody | null = null;
    const chunkArrived = (chunk: Uint8Array, last: boolean): void => {
      if (over !== null) return over.offer(chunk, last);
      if (!bb.push(chunk)) return this.overBudget(ex);
      if (bb.len > maxBody) {
        // A chunked body over the limit (a declared one was handled before reading).
        if (this.limits.oversize === 'refuse') return this.refuseOversize(ex, true);
        exchanges.stats.oversizeBodies++;
        if (!exchanges.decideRequest(ex, undefined, 'TooLargeBody')) return;
        const s = new StreamedBody(client);
        over = s;
        ex.stream = s;
        s.offer(bb.view(), last);
        return exchanges.approveRequest(ex, () => this.forward(ex, s, null), () => s.destroy());
      }
      if (!last) return;
      const body = bb.view();
      if (codings.length === 0) return this.decideAnalysed(ex, { body }, body);
      // A compressed body: the decoded bytes (or the fault) are decided, the original bytes sent.
      const decoded = decodeForGate(codings, body, maxBody);
      if (decoded instanceof Promise) decoded.then((d) => this.decideAnalysed(ex, d, body)).catch((err: unknown) => exchanges.fail(ex, err));
      else this.decideAnalysed(ex, decoded, body);
    };
    client.onData((chunk, last) => {
      if (ex.finished) return;
      try {
        chunkArrived(chunk, last);
      } catch (err) {
        exchanges.fail(ex, err);
      }
    });
  }

  /** A body over GUARD_MAX_BODY under GUARD_OVERSIZE=refuse: 413, logged and counted, since the Guardian never saw it. */
  private refuseOversize(ex: Exchange, closeConnection: boolean): void {
    this.exchanges.stats.oversizeRefusals++;
    this.exchanges.log.info?.({ requestId: ex.id, method: ex.method, path: ex.path, maxBody: this.limits.maxBody }, 'request body over GUARD_MAX_BODY refused (GUARD_OVERSIZE=refuse)');
    this.exchanges.answer(ex, 413, 'guard-gate: request body too large\n', closeConnection);
  }

  /** The gate holds as many body bytes as it may: the client is told to come back (the body is not read on). */
  private overBudget(ex: Exchange): void {
    this.exchanges.answer(ex, 503, 'guard-gate: too many request bodies held at once; retry shortly\n', true, 1);
  }

  /** Decide an analysed request body (decoded for analysis when compressed), then forward `original`. */
  private decideAnalysed(ex: Exchange, analysed: Decoded, original: Buffer): void {
    if (ex.finished) return;
    // Decoded over the limit: as a plain body over the limit (the whole body was read, so the
    // connection stays usable).
    if (analysed.fault === FAULT_TOO_LARGE && this.limits.oversize === 'refuse') return this.refuseOversize(ex, false);
    if (this.exchanges.decideRequest(ex, analysed.body, analysed.fault)) this.approveAndForward(ex, original, original.length);
  }

  private approveAndForward(ex: Exchange, body: Buffer | null, contentLength: number | null): void {
    if (this.exchanges.plugins) this.exchanges.approveRequest(ex, () => this.forward(ex, body, contentLength));
    else this.forward(ex, body, contentLength);
  }

  /**
   * Forward a decided request with undici's dispatch API: one handler object per exchange, no
   * promise, no stream and no AbortController per request (the upstream's abort function arrives in
   * onConnect).
   */
  private forward(ex: Exchange, body: Buffer | Readable | null, contentLength: number | null): void {
    if (ex.finished) {
      if (body instanceof Readable) body.destroy();
      return;
    }
    const handler = new UpstreamHandler(this.exchanges, this.limits, ex, body);
    ex.upstream = handler;
    this.upstream.dispatch(
      {
        method: ex.method as never,
        path: ex.query ? `${ex.target}?${ex.query}` : ex.target,
        headers: forwardHeaders(ex, contentLength),
        body: body ?? undefined,
      },
      handler,
    );
    // Only the plugins read the request's header lines after this: without them, they may die
    // young instead of being copied by the garbage collector for as long as the exchange lasts.
    if (!this.exchanges.plugins) ex.headers = NO_HEADERS;
  }
}
