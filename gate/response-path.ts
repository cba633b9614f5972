// The response path: one exchange with the protected service, driven by undici's (legacy, unwrapped)
// dispatch handler calls. The response head, and an analysable body up to the limit, are profiled
// and decided before the first byte is written to the client; the rest streams with backpressure
// both ways (the service is read only as fast as the client takes it).
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { ResponseHeaderLine } from '../core/index.js';
import { BodyBuffer, type BodyBudget } from './body-buffer.js';
import type { WritableListener } from './client-response.js';
import { contentCodings, decodeForGate, type Decoded } from './decode.js';
import type { Exchange, UpstreamExchange } from './exchange.js';
import { failedChain, type Exchanges } from './exchanges.js';
import { STATUS_CODES } from 'node:http';
import { HOP_BY_HOP, responseHeaderName, responseTypes, safeReason, statusLine } from './header-text.js';
import { isAnalysable } from './media-type.js';
import type { ChainVerdict } from './plugins.js';
import { digitsValue, latin1 } from './recent-text.js';
import type { UpstreamProgress } from './upstream-progress.js';

const NO_CODINGS: readonly string[] = Object.freeze([]);

/** Trailer fields as undici hands them (name, value, … as bytes) as text lines. */
function trailerLines(raw: (Buffer | string)[]): [string, string][] {
  const text = (b: Buffer | string): string => (typeof b === 'string' ? b : latin1(b));
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([text(raw[i]!), text(raw[i + 1]!)]);
  return out;
}

/** The reason the gate gives when it cuts its exchanges at shutdown. */
export const SHUTTING_DOWN = 'gate shutting down';

/** What went wrong with the service, in words an operator can act on (logged, and in the 502's body). */
export function upstreamFailure(err: Error, maxHead: number): string {
  const code = (err as { code?: string }).code ?? '';
  switch (code) {
    case 'UND_ERR_HEADERS_OVERFLOW':
      return `the service's response head is over ${maxHead} bytes (GUARD_MAX_RESPONSE_HEAD_SIZE)`;
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return "the service's body does not match its Content-Length (or it sent Content-Length twice)";
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'the service sent no response head in time (GUARD_UPSTREAM_HEADERS_TIMEOUT)';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the service paused its body too long (GUARD_UPSTREAM_BODY_TIMEOUT)';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connecting to the service timed out (GUARD_UPSTREAM_CONNECT_TIMEOUT)';
    case 'ECONNREFUSED':
      return 'the service refused the connection (is it listening on PROTECTED_SERVICE?)';
    case 'EPIPE':
    case 'ECONNRESET':
      return 'the service closed the connection while the request was being sent (an answer it sent before reading the whole body is lost when it resets the connection)';
    case 'UND_ERR_SOCKET':
      return /bad response/i.test(err.message) ? 'the service sent a response that is not HTTP/1.1 (an unsolicited 100 Continue?)' : 'the service closed the connection';
    default:
      if (/Missing expected CR|HPE_/i.test(err.message)) return 'the service sent malformed HTTP/1.1 (bare LF line ends, invalid framing)';
      return err.message || code || 'unknown error';
  }
}

/** The limits the response path works within. */
export interface ResponseLimits {
  /** Largest body buffered for analysis (bytes). */
  maxBody: number;
  analyzeBody: boolean;
  /** The bytes all buffered bodies of the gate may hold together. */
  budget: BodyBudget;
  /** Largest response head the pool reads (for the error message). */
  maxResponseHead: number;
  /**
   * Milliseconds an analysable response without a declared length is held for analysis: one that
   * completes sooner is decided whole (and withheld when blocked); one still arriving is a stream —
   * decided on its head, then relayed as it comes, its body not profiled.
   */
  holdMs: number;
  /** Requests waiting for the service and its last answer (the readiness check of a wedged pool). */
  progress: UpstreamProgress;
}

/** Why the gate aborted an upstream exchange (never shown to a client). */
export class UpstreamAborted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UpstreamAborted';
  }
}

export class UpstreamHandler implements UpstreamExchange, WritableListener {
  private abortFn: ((err: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private status = 0;
  private respHeaders: ResponseHeaderLine[] = [];
  /** Content-Encoding values of the response, null when it has none. */
  private encodings: string[] | null = null;
  /** Declared content-length of the response, null when unknown (chunked / close-delimited). */
  private declared: number | null = null;
  private noBody = false;
  /** Set while an analysable body is collected for the decision. */
  private collect: BodyBuffer | null = null;
  /** Body bytes that arrived before the (streamed) response was approved. */
  private held: BodyBuffer | null = null;
  /** A collected body, decided with the response, written once it is approved. */
  private pending: Uint8Array | null = null;
  private fault: string | undefined = undefined;
  /** The response was decided and approved: bytes may go to the client. */
  private approved = false;
  /** Waiting for an asynchronous plugin verdict or decoder (the upstream is paused). */
  private waiting = false;
  private headWritten = false;
  /** Waiting for the client to drain before reading more from the upstream. */
  private draining = false;
  private upstreamDone = false;
  /** The reason phrase the service sent (kept unless it is not fit to forward). */
  private reason = '';
  /** Trailer fields the service sent after its body. */
  private trailerLines: [string, string][] | null = null;
  /** Ends the hold of a response without a declared length (stream()). */
  private holdTimer: NodeJS.Timeout | null = null;

  /** Counted as waiting in limits.progress until the response head (or a failure) arrives. */
  private awaiting = true;

  constructor(
    private readonly exchanges: Exchanges,
    private readonly limits: ResponseLimits,
    private readonly ex: Exchange,
    private readonly body: Buffer | Readable | null,
  ) {
    limits.progress.sent();
  }

  /** The service answered: no longer waiting for its head. Returns when (performance.now()). */
  private answered(): number {
    const at = performance.now();
    if (this.awaiting) {
      this.awaiting = false;
      this.limits.progress.headArrived(at);
    }
    return at;
  }

  /** Abort the upstream exchange (client gone, response blocked, shutdown). */
  abort(reason: string): void {
    const fn = this.abortFn;
    this.abortFn = null;
    if (this.body instanceof Readable) this.body.destroy();
    fn?.(new UpstreamAborted(reason));
  }

  // undici's handler calls. An exception in any of them is the gate's own failure: the exchange is
  // ended (500, or the started response cut short) and the upstream aborted, never left hanging.

  onConnect(abort: (err: Error) => void): void {
    if (this.ex.finished) abort(new UpstreamAborted('exchange already finished'));
    else this.abortFn = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText?: string): boolean {
    const at = this.answered();
    try {
      if (statusCode < 200) return this.informational(statusCode, raw, statusText ?? '');
      return this.head(statusCode, raw, resume, statusText ?? '', at);
    } catch (err) {
      this.exchanges.fail(this.ex, err);
      return false;
    }
  }

  onData(chunk: Buffer): boolean {
    try {
      return this.data(chunk);
    } catch (err) {
      this.exchanges.fail(this.ex, err);
      return false;
    }
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    this.upstreamDone = true;
    this.limits.progress.completed();
    if (trailers && trailers.length > 1) this.trailerLines = trailerLines(trailers);
    try {
      this.complete();
    } catch (err) {
      this.exchanges.fail(this.ex, err);
    }
  }

  onError(err: Error): void {
    // Not progress: a headers timeout fires at the stall threshold itself.
    if (this.awaiting) {
      this.awaiting = false;
      this.limits.progress.gaveUp();
    }
    try {
      this.failed(err);
    } catch (err2) {
      this.exchanges.fail(this.ex, err2);
    }
  }

  /** The client can take more: read the upstream on, or end once it is done. */
  onWritable(): void {
    this.draining = false;
    try {
      if (this.upstreamDone) this.endIfIdle();
      else this.resumeFn?.();
    } catch (err) {
      // called from the listener's writable callback: an exception here would escape the exchange
      this.exchanges.fail(this.ex, err);
    }
  }

  /**
   * A 1xx before the final response (103 Early Hints, 102 Processing): relayed where the listener
   * can, dropped otherwise; not the exchange's response, never profiled. Reading goes on.
   */
  private informational(statusCode: number, raw: Buffer[], statusText: string): boolean {
    const ex = this.ex;
    if (ex.finished) return true;
    const lines: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) lines.push([latin1(raw[i]!), latin1(raw[i + 1]!)]);
    if (!ex.client.informational(statusCode, safeReason(statusText) ?? STATUS_CODES[statusCode] ?? 'Informational', lines)) this.exchanges.stats.informationalDropped++;
    return true;
  }

  /** The final response's head, which arrived at `at` (performance.now()). */
  private head(statusCode: number, raw: Buffer[], resume: () => void, statusText: string, at: number): boolean {
    const ex = this.ex;
    if (ex.finished) return false;
    ex.respMs = at - ex.start;
    this.resumeFn = resume;
    this.status = statusCode;
    this.reason = statusText;
    let ctype: string | undefined;
    let clen: Buffer | undefined;
    const headers = this.respHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      // Values stay the bytes the service sent: profiled as they are (as the original's Go
      // strings) and written to the client unchanged. Only those the gate reads become text.
      const k = responseHeaderName(raw[i]!);
      const v = raw[i + 1]!;
      headers.push([k, v]);
      if (k === 'content-type') ctype ??= responseTypes.of(v);
      else if (k === 'content-length') clen ??= v;
      else if (k === 'content-encoding') (this.encodings ??= []).push(v.toString('latin1'));
    }
    this.declared = clen !== undefined ? digitsValue(clen) : null;
    this.noBody = ex.method === 'HEAD' || statusCode === 204 || statusCode === 304 || statusCode < 200;
    const { maxBody, analyzeBody } = this.limits;
    const analysable = !this.noBody && analyzeBody && isAnalysable(ctype);
    if (analysable && (this.declared === null || this.declared <= maxBody)) {
      // Decided once the body is complete (or over the limit), unless it turns out to be a stream.
      this.collect = ex.responseBody = BodyBuffer.open(this.declared ?? 16384, this.limits.budget, true)!;
      if (this.declared === null) {
        if (this.limits.holdMs === 0) return this.stream();
        this.holdTimer = setTimeout(() => this.stream(), this.limits.holdMs);
        this.holdTimer.unref();
      }
      return true;
    }
    if (analysable) this.fault = 'TooLargeBody';
    return this.decide(undefined);
  }

  private data(chunk: Buffer): boolean {
    const ex = this.ex;
    if (ex.finished) return true;
    const collect = this.collect;
    if (collect !== null) {
      // Over the limit, or over what the gate may hold: decided without the body (fault), then the
      // collected part streams.
      if (!collect.push(chunk)) {
        this.collect = null;
        this.fault = 'TooLargeBody';
        this.pending = collect.view();
        (this.held = BodyBuffer.open(chunk.byteLength, null, true)!).push(chunk);
        return this.decide(undefined);
      }
      if (collect.len <= this.limits.maxBody) return true;
      this.collect = null;
      this.fault = 'TooLargeBody';
      this.pending = collect.view();
      return this.decide(undefined);
    }
    if (!this.approved) {
      // Not decided yet (undici normally pauses before any body arrives): kept, sent once approved.
      (this.held ??= BodyBuffer.open(chunk.byteLength, null, true)!).push(chunk);
      return false;
    }
    return this.send(chunk);
  }

  /**
   * A response without a declared length still arriving after the hold: a stream (server-sent
   * events, a long report). Decided on its head now; what was collected and the rest are relayed as
   * they come, so its first byte is not delayed until its end. Returns whether undici reads on.
   */
  private stream(): boolean {
    this.holdTimer = null;
    const collect = this.collect;
    if (collect === null || this.ex.finished) return true;
    this.collect = null;
    this.exchanges.stats.streamedResponses++;
    if (collect.len > 0) this.pending = collect.view();
    return this.decide(undefined);
  }

  private complete(): void {
    const ex = this.ex;
    if (this.holdTimer !== null) {
      clearTimeout(this.holdTimer);
      this.holdTimer = null;
    }
    if (ex.finished) return;
    const collect = this.collect;
    if (collect !== null) {
      this.collect = null;
      const body = collect.view();
      this.pending = body;
      const codings = this.encodings === null ? NO_CODINGS : contentCodings(this.encodings);
      if (codings.length === 0) {
        this.decide(body);
        return;
      }
      // Compressed: the decoded bytes (or the fault) are decided; the original bytes are sent.
      const decoded = decodeForGate(codings, body, this.limits.maxBody);
      if (decoded instanceof Promise) {
        this.waiting = true;
        decoded
          .then((d) => {
            this.waiting = false;
            if (!ex.finished) this.decideDecoded(d);
          })
          .catch((err: unknown) => this.exchanges.fail(ex, err));
      } else this.decideDecoded(decoded);
      return;
    }
    if (this.approved) this.endIfIdle();
  }

  private decideDecoded(d: Decoded): void {
    this.fault = d.fault;
    this.decide(d.body);
  }

  private failed(err: Error): void {
    const ex = this.ex;
    const exchanges = this.exchanges;
    this.abortFn = null;
    if (this.holdTimer !== null) {
      clearTimeout(this.holdTimer);
      this.holdTimer = null;
    }
    if (this.body instanceof Readable) this.body.destroy();
    if (ex.finished) return;
    if (ex.aborted) return exchanges.finish(ex);
    const log = exchanges.log;
    const why = { requestId: ex.id, err: String(err.message ?? err), code: (err as { code?: string }).code, reason: upstreamFailure(err, this.limits.maxResponseHead) };
    if (!this.headWritten) {
      // The gate is closing and cut this exchange: the client may retry elsewhere at once.
      if (err instanceof UpstreamAborted && err.message === SHUTTING_DOWN) return exchanges.answer(ex, 503, 'guard-gate: shutting down\n', true, 1);
      if (this.status === 0) {
        log.warn?.(why, 'upstream unavailable');
        return exchanges.answer(ex, 502, `guard-gate: upstream unavailable (${why.reason})\n`);
      }
      log.warn?.(why, 'upstream response failed');
      return exchanges.answer(ex, 502, `guard-gate: upstream response failed (${why.reason})\n`);
    }
    log.warn?.(why, 'upstream stream failed');
    // The head is out: the client sees a truncated response, never a complete-looking one.
    ex.client.close();
    exchanges.finish(ex);
  }

  /**
   * Profile and decide the response (with its collected body, if any), then ask the plugins.
   * Returns whether undici may go on reading the upstream.
   */
  private decide(body: Uint8Array | undefined): boolean {
    const ex = this.ex;
    const exchanges = this.exchanges;
    const verdict = exchanges.decideResponse(ex, { status: this.status, headers: this.respHeaders, body, bodyFault: this.fault });
    if (verdict === 'answered') {
      this.abortIfReading('response not evaluated');
      return false;
    }
    if (verdict === 'block') {
      // The answer first: aborting may call onError at once, which must find the exchange finished.
      exchanges.blockAnswer(ex, 'response');
      this.abortIfReading('response blocked');
      return false;
    }
    if (!exchanges.plugins) return this.approve();
    const v = exchanges.responseChain(ex, this.status, this.respHeaders);
    if (!(v instanceof Promise)) return this.applyVerdict(v);
    this.waiting = true;
    v.then(
      (r) => this.resumeAfter(r),
      (err: unknown) => this.resumeAfter(failedChain(err)),
    ).catch((err: unknown) => exchanges.fail(ex, err));
    return false;
  }

  private resumeAfter(v: ChainVerdict): void {
    this.waiting = false;
    if (this.ex.finished) return;
    if (this.applyVerdict(v)) this.resumeFn?.();
  }

  private applyVerdict(v: ChainVerdict): boolean {
    if (!this.exchanges.applyVerdict(this.ex, v, 'response', this.respHeaders)) {
      this.abortIfReading('response blocked by a plugin');
      return false;
    }
    return this.approve();
  }

  /** The response may go out: head, whatever was collected, and the end when the upstream is done. */
  private approve(): boolean {
    const ex = this.ex;
    const exchanges = this.exchanges;
    this.approved = true;
    ex.status = this.status;
    const client = ex.client;
    if (ex.aborted) return false;
    if (this.noBody) {
      client.cork(() => {
        this.writeHead();
        // uWS's endWithoutBody(n > 0) leaves a keep-alive connection hung after the answer; the
        // declared length of a HEAD or 304 answer is written as a header instead. A 204 has none.
        if (this.declared !== null && this.status !== 204) client.writeHeader('content-length', String(this.declared));
        client.endWithoutBody();
      });
      // Whatever the upstream still sends (nothing, normally) is ignored. Reading goes on (true):
      // a paused bodiless answer would never complete and its connection never return to the pool.
      exchanges.finish(ex);
      return true;
    }
    const pending = this.pending;
    if (pending !== null && this.upstreamDone) {
      // The whole (analysed) body is here: one corked write with the head.
      this.pending = null;
      client.cork(() => {
        this.writeHead();
        if (this.declared === null && this.trailerLines !== null && client.trailersRelayed) {
          // Trailers follow a body without a length only: it goes out chunked, as the service sent it.
          client.write(pending);
          client.trailers(this.trailerLines);
          client.end();
        } else if (this.declared === null || this.declared === pending.length) client.end(pending);
        else client.close(); // the upstream sent a different length than it declared
      });
      exchanges.finish(ex);
      return false;
    }
    if (pending !== null) {
      this.pending = null;
      if (!this.send(pending)) return false;
    }
    const held = this.held;
    if (held !== null) {
      this.held = null;
      if (!this.send(held.view())) return false;
    }
    if (this.upstreamDone) this.endIfIdle();
    return true;
  }

  private writeHead(): void {
    if (this.headWritten) return;
    this.headWritten = true;
    const client = this.ex.client;
    client.writeStatus(statusLine(this.status, this.reason));
    const lines = this.respHeaders;
    const trailer = client.trailersRelayed && this.declared === null;
    for (let i = 0; i < lines.length; i++) {
      const k = lines[i]![0];
      if ((HOP_BY_HOP.has(k) && !(trailer && k === 'trailer')) || k === 'content-length' || k === 'date') continue;
      client.writeHeader(k, lines[i]![1]);
    }
  }

  /** Write one chunk to the client; false = pause the upstream until the client drains. */
  private send(chunk: Uint8Array): boolean {
    const client = this.ex.client;
    if (!client.open) return true;
    const total = this.declared;
    let ok = true;
    client.cork(() => {
      this.writeHead();
      ok = total !== null ? client.writeSized(chunk, total) : client.write(chunk);
    });
    if (ok) return true;
    this.draining = true;
    client.onWritable(this);
    return false;
  }

  /** The upstream is done: end the client response once nothing waits for the client. */
  private endIfIdle(): void {
    const ex = this.ex;
    if (ex.finished || this.waiting || this.pending !== null || this.draining) return;
    const client = ex.client;
    if (client.open) {
      client.cork(() => {
        this.writeHead();
        if (this.declared === null || this.declared === 0) {
          if (this.trailerLines !== null && this.declared === null) client.trailers(this.trailerLines);
          client.end();
        } else client.close(); // the upstream sent less than it declared
      });
    }
    this.exchanges.finish(ex);
  }

  private abortIfReading(reason: string): void {
    if (!this.upstreamDone) this.abort(reason);
  }
}
