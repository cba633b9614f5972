// The request path of guard-gate (SPEC §5.1): uWS listener → profile + decide the request (and its
// body, from one private buffer) → undici pool to the protected service → profile + decide the
// response (buffered when analysable) → client. A blocked request never reaches the service; a
// blocked response never reaches the client. WebSocket upgrade requests are decided here the same
// way; websocket.ts opens the service's side and relays the messages.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Core, Guardian, HeaderLine, ResponseHeaderLine, Session } from '../core/index.js';
import { CoreError, Section } from '../core/index.js';
import { ClientResponse } from './client-response.js';
import { contentCodings, decodeForGate, FAULT_TOO_LARGE, type Decoded } from './decode.js';
import { hasActivePlugins, type ChainVerdict, type PluginRegistry, type RequestContext } from './plugins.js';
import { digitsValue, latin1, RecentText } from './recent-text.js';
import { createApp, peerAddress, listen, serveWebSockets, type CompleteUpgrade, type HttpRequest, type HttpResponse } from './uws.js';
import { openServiceSocket, WebSocketRelays, type RelayData, type WebSocketEvent } from './websocket.js';

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

export interface ProxyLog {
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

export interface ProxyOptions {
  port: number;
  host?: string;
  /** The protected service origin, e.g. http://127.0.0.1:8080 */
  upstream: string;
  getGuardian: () => Guardian;
  core: Core;
  /** Body analysis limit in bytes (request and response); default 1 MiB. */
  maxBody?: number;
  analyzeBody?: boolean;
  /** Status of block answers (default 403). */
  blockStatus?: number;
  /** A request body over maxBody: refuse with 413 (default) or stream it uninspected. */
  oversize?: 'refuse' | 'stream';
  /**
   * Called once per exchange whose request was profiled (blocked ones and upstream failures
   * included; `verdict.complete` tells whether the response was profiled too), synchronously.
   * Exchanges refused before profiling (400 framing, 413, 503 while closing, client gone before
   * the body was read) are not reported. The session is
   * reset and reused after the call returns: pile it (pile.add copies) inside the callback.
   */
  onSession?: (session: Session, verdict: Verdict) => void;
  /**
   * Called exactly once for every request the listener handed to the gate, when its exchange ended
   * (after onSession, when that is called), with how it ended and the stage blocked ('none' unless
   * the outcome is 'block'). Every request is counted here.
   */
  onEnd?: (outcome: ExchangeOutcome, blocked: Stage) => void;
  /**
   * Plugins consulted after the guard's own decision (SPEC §5.7): approveRequest before the
   * request is forwarded, approveResponse before the response is sent. Default: none.
   */
  plugins?: PluginRegistry;
  /** WebSocket upgrades completed and messages relayed (for metrics). */
  onWebSocket?: (event: WebSocketEvent) => void;
  log?: ProxyLog;
  /**
   * An exchange could not be evaluated (GUARD_CORE_FAULT): 'block' answers it with the block status
   * (a response is withheld), 'pass' lets it through — the callee raises the alert. Called once per
   * exchange, synchronously. Default: 'block'. Such exchanges are not reported to onSession.
   */
  onCoreFault?: (fault: CoreFault) => 'block' | 'pass';
  /**
   * Called for every request before anything else: a reason (text) answers it with the block status
   * and that reason, unevaluated (the gate failed closed); null lets it be evaluated.
   */
  failClosed?: () => string | null;
  /** Start on the uWS JavaScript fallback (slow); default false = refuse. */
  allowFallback?: boolean;
  /** undici pool settings. */
  connections?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface ProxyHandle {
  port: number;
  /** Number of exchanges in flight. */
  readonly inFlight: number;
  /** Requests the listener handed to the gate so far (each ends once, through onEnd). */
  readonly received: number;
  /** Resolves when no exchange is in flight (at once when none is), or false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean>;
  /** Stop listening, wait up to drainMs for in-flight exchanges, then close everything. */
  close(drainMs?: number): Promise<void>;
  /**
   * After a core fault: new exchanges use sessions of `core`; pooled sessions of the old instance are
   * dropped, and exchanges in flight on it are treated as not evaluated (onCoreFault).
   */
  replaceCore(core: Core): void;
}

const MiB = 1024 * 1024;
const DIGITS = /^\d+$/;
const NO_CODINGS: readonly string[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

function isCoreFault(err: unknown): boolean {
  return err instanceof CoreError && err.code === 'GUARD_CORE_FAULT';
}

// Response header names a service sends on most answers, found from their bytes (any case)
// without making a string; any other name is made and lower-cased.
const COMMON_RESPONSE_NAMES: (string[] | undefined)[] = [];
for (const name of [
  'content-type', 'content-length', 'date', 'connection', 'keep-alive', 'server', 'cache-control', 'etag',
  'last-modified', 'vary', 'set-cookie', 'transfer-encoding', 'content-encoding', 'expires', 'location',
  'access-control-allow-origin', 'x-content-type-options', 'strict-transport-security', 'x-frame-options',
  'accept-ranges', 'age', 'pragma', 'content-security-policy', 'x-powered-by', 'content-disposition',
  'content-language', 'x-request-id', 'referrer-policy', 'link', 'retry-after', 'www-authenticate', 'via',
]) (COMMON_RESPONSE_NAMES[name.length] ??= []).push(name);

export function responseHeaderName(b: Uint8Array): string {
  const candidates = COMMON_RESPONSE_NAMES[b.length];
  if (candidates !== undefined) {
    next: for (const name of candidates) {
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== name.charCodeAt(i)) continue next;
      }
      return name;
    }
  }
  return latin1(b).toLowerCase();
}

/** Header lines as the plugins see them: one frozen entry per name, repeated values joined with ", ". */
function headerRecord(lines: readonly ResponseHeaderLine[]): Readonly<Record<string, string>> {
  const byName: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, b] of lines) {
    const v = typeof b === 'string' ? b : latin1(b);
    byName[k] = k in byName ? `${byName[k]}, ${v}` : v;
  }
  return Object.freeze(byName);
}

// Status lines of the codes seen so far (a handful per service), made once each.
const statusLines: string[] = [];
function statusLine(code: number): string {
  if (code >= 100 && code <= 999) return (statusLines[code] ??= `${code} ${STATUS_CODES[code] ?? 'Status'}`);
  return `${code} ${STATUS_CODES[code] ?? 'Status'}`;
}

// The text of the last Content-Type of a response (a service answers with few).
const responseTypes = new RecentText();

// A service answers with a handful of distinct Content-Type values: remember the verdicts (bounded).
const analysableCache = new Map<string, boolean>();
const ANALYSABLE_CACHE_MAX = 256;

/** JSON, form and text media types are buffered for analysis; everything else streams. */
export function isAnalysable(contentType: string | undefined): boolean {
  if (!contentType) return false;
  let verdict = analysableCache.get(contentType);
  if (verdict === undefined) {
    verdict = analysableMediaType(contentType);
    if (analysableCache.size >= ANALYSABLE_CACHE_MAX) analysableCache.clear();
    analysableCache.set(contentType, verdict);
  }
  return verdict;
}

function analysableMediaType(contentType: string): boolean {
  const t = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return (
    t.startsWith('text/') ||
    t === 'application/json' ||
    t.endsWith('+json') ||
    t === 'application/x-www-form-urlencoded' ||
    t === 'application/xml' ||
    t.endsWith('+xml') ||
    t === 'multipart/form-data'
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
}

/**
 * The request path as it is decided and forwarded (one form for both, so the backend never receives
 * a different request than the one decided): percent-decoded once, then re-encoded canonically —
 * `%`, `?`, `#`, controls, space and non-ASCII bytes as %XX, everything else literal. An encoded
 * slash or dot becomes a real one: `/shop/..%2fadmin` is decided (and forwarded) as
 * `/shop/../admin`. Dot segments are kept, not resolved: they are evidence the Guardian decides on
 * (resolving them would let `/shop/../../etc/passwd` pass as an in-pattern `/etc/passwd`).
 * null when the target is not a valid origin-form path (an absolute-form or `*` target, an invalid
 * escape, a raw control or non-ASCII character). A path without `%` is returned as it is.
 */
export function canonicalPath(raw: string): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return null;
  if (!raw.includes('%')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return null;
    if (c === 0x25) {
      const h = hexValue(raw.charCodeAt(i + 1));
      const l = h < 0 ? -1 : hexValue(raw.charCodeAt(i + 2));
      if (l < 0) return null;
      c = h * 16 + l;
      i += 2;
    }
    out += c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x3f || c === 0x23 ? `%${c < 16 ? '0' : ''}${c.toString(16).toUpperCase()}` : String.fromCharCode(c);
  }
  return out;
}

/**
 * One growable private buffer: preallocated when the length is known, doubled otherwise. Made with
 * `borrow`, it keeps a first chunk as it is (chunks undici hands out are never reused), and copies
 * only when a second one comes: most answers arrive in one chunk.
 */
class BodyBuffer {
  private buf: Buffer | null = null;
  private first: Buffer | null = null;
  len = 0;
  constructor(
    private readonly initial: number,
    private readonly borrow = false,
  ) {
    if (!borrow) this.buf = Buffer.allocUnsafe(Math.max(initial, 0));
  }
  push(chunk: Uint8Array): void {
    let buf = this.buf;
    if (buf === null) {
      const first = this.first;
      if (first === null) {
        this.first = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.len = chunk.byteLength;
        return;
      }
      buf = Buffer.allocUnsafe(Math.max(this.initial, this.len + chunk.byteLength));
      buf.set(first, 0);
      this.first = null;
    } else if (this.len + chunk.byteLength > buf.length) {
      const next = Buffer.allocUnsafe(Math.max(buf.length * 2, this.len + chunk.byteLength, 4096));
      buf.copy(next, 0, 0, this.len);
      buf = next;
    }
    buf.set(chunk, this.len);
    this.buf = buf;
    this.len += chunk.byteLength;
  }
  view(): Buffer {
    return this.first ?? (this.buf === null ? EMPTY : this.buf.subarray(0, this.len));
  }
}

/** A small pool of reusable sessions of the current core instance. */
class SessionPool {
  private free: Session[] = [];
  private all = new Set<Session>();
  constructor(private core: Core, private readonly max = 64) {}
  get(): Session {
    const s = this.free.pop() ?? this.core.newSession();
    this.all.add(s);
    return s;
  }
  /** A session of a core instance replaced since (unusable: its instance failed). */
  stale(s: Session): boolean {
    return !this.all.has(s);
  }
  /** Sessions of the old instance are dropped (not freed: a faulted instance frees nothing). */
  replaceCore(core: Core): void {
    this.core = core;
    this.free = [];
    this.all = new Set();
  }
  put(s: Session): void {
    if (this.stale(s)) return;
    try {
      s.reset();
    } catch {
      // Only a faulted core refuses a reset: the session is gone with it.
      this.all.delete(s);
      return;
    }
    if (this.free.length < this.max) this.free.push(s);
    else {
      this.all.delete(s);
      s.dispose();
    }
  }
  dispose(): void {
    for (const s of this.all) s.dispose();
    this.all.clear();
    this.free = [];
  }
}

/**
 * One request/response exchange through the gate. Its request id is made on first use: only
 * exchanges that are answered by the gate, alerted or logged need one.
 */
class Exchange {
  private rid: string | null = null;
  finished = false;
  session: Session | null = null;
  /** The upstream exchange once forwarded (aborted when the client goes away). */
  upstream: { abort(reason: string): void } | null = null;
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

  constructor(
    readonly client: ClientResponse,
    readonly method: string,
    readonly path: string,
    /** False when the request target is not a valid origin-form path (never forwarded). */
    readonly validTarget: boolean,
    readonly query: string,
    public headers: HeaderLine[],
    readonly remote: string,
    readonly start: number,
  ) {}

  get id(): string {
    return (this.rid ??= randomUUID());
  }

  /** The client went away before its response was complete. */
  get aborted(): boolean {
    return this.client.aborted;
  }
}

// uWS calls back once per header line; one callback for all requests, filling `collecting`.
const NO_HEADERS = Object.freeze([]) as unknown as HeaderLine[];
let collecting: HeaderLine[] = NO_HEADERS;
function collectHeader(name: string, value: string): void {
  collecting.push([name, value]);
}

function outcomeOf(ex: Exchange, result: number): ExchangeOutcome {
  if (ex.blocked !== 'none') return 'block';
  if (ex.unevaluated === 'pass' || (ex.profiled && result > 0)) return 'alert';
  if (ex.profiled) return 'allow';
  return ex.status > 0 ? 'refused' : 'aborted';
}

/** What onSession learns of an exchange (the request id, too, only made when read). */
class ExchangeVerdict implements Verdict {
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

export async function startProxy(opts: ProxyOptions): Promise<ProxyHandle> {
  const maxBody = opts.maxBody ?? MiB;
  const analyzeBody = opts.analyzeBody ?? true;
  const blockStatus = opts.blockStatus ?? 403;
  const oversize = opts.oversize ?? 'refuse';
  const log = opts.log ?? {};
  const { core } = opts;
  if (!Number.isInteger(maxBody) || maxBody < 0) throw new Error(`invalid maxBody: ${maxBody}`);
  if (!Number.isInteger(blockStatus) || blockStatus < 200 || blockStatus > 599) throw new Error(`invalid blockStatus: ${blockStatus}`);
  const upstream = new URL(opts.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error(`invalid upstream: ${opts.upstream}`);

  const pool = new Pool(upstream.origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: opts.headersTimeoutMs ?? 30_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 30_000,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
  });
  const sessions = new SessionPool(core);
  const inFlight = new Set<Exchange>();
  let closing = false;
  let received = 0;
  /** Waiting for the in-flight set to empty (drain, idle()). */
  let idleWaiters: (() => void)[] = [];

  const app = createApp({ allowFallback: opts.allowFallback, warn: (m) => log.warn?.({}, m) });

  // ---- helpers -------------------------------------------------------------------------------

  function finish(ex: Exchange): void {
    if (ex.finished) return;
    ex.finished = true;
    inFlight.delete(ex);
    const s = ex.session;
    ex.session = null;
    let result = 0;
    if (s && !ex.profiled) sessions.put(s);
    else if (s) {
      try {
        const t0 = performance.now();
        // The envelope (of a complete exchange) profiled and decided; the session's accumulated result.
        result = s.finish(opts.getGuardian(), ex.complete, ex.respMs, t0 - ex.start);
        ex.coreMs += performance.now() - t0;
        opts.onSession?.(s, new ExchangeVerdict(ex, result));
      } catch (err) {
        if (isCoreFault(err)) notEvaluated(ex, 'exchange', err);
        else log.error?.({ err: String(err), requestId: ex.id }, 'onSession failed');
      } finally {
        sessions.put(s);
      }
    }
    if (opts.onEnd) {
      try {
        opts.onEnd(outcomeOf(ex, result), ex.blocked);
      } catch (err) {
        log.error?.({ err: String(err), requestId: ex.id }, 'onEnd failed');
      }
    }
    if (inFlight.size === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function idle(timeoutMs: number): Promise<boolean> {
    if (inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** A short complete answer (block, 400, 413, 502). */
  function answer(ex: Exchange, status: number, body: string, closeConnection = false): void {
    ex.status = status;
    const client = ex.client;
    if (client.open) {
      client.cork(() => {
        client.writeStatus(statusLine(status));
        client.writeHeader('X-Guard-Request-Id', ex.id);
        client.writeHeader('Content-Type', 'text/plain; charset=utf-8');
        client.end(body, closeConnection);
      });
    }
    finish(ex);
  }

  function blockAnswer(ex: Exchange, stage: Stage, plugin?: { name: string; reason: string }): void {
    ex.blocked = stage;
    ex.blockedBy = plugin?.name;
    log.warn?.(
      plugin
        ? { requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, plugin: plugin.name, reason: plugin.reason }
        : {
            requestId: ex.id,
            method: ex.method,
            path: ex.path,
            remote: ex.remote,
            stage,
            decision: ex.session?.decisionString(),
            tree: ex.session?.decisionTree(),
          },
      'blocked',
    );
    answer(ex, blockStatus, `blocked by guard (request id ${ex.id})\n`);
  }

  /**
   * The core failed (GUARD_CORE_FAULT) on this exchange: it could not be evaluated. Its session is
   * gone with the failed instance (not reported to onSession). The gate decides block or pass (and
   * raises the alert), once per exchange. Returns true when the exchange may go on (pass); on block
   * it has been answered with the block status (stage 'exchange': already answered, nothing to do).
   */
  function notEvaluated(ex: Exchange, stage: CoreFault['stage'], err: unknown): boolean {
    ex.profiled = false;
    if (ex.unevaluated === null) {
      let action: 'block' | 'pass' = 'block';
      try {
        const cause = isCoreFault(err) ? 'core' : 'gate';
        action = opts.onCoreFault?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, cause, error: String(err) }) ?? 'block';
      } catch (cbErr) {
        log.error?.({ requestId: ex.id, err: String(cbErr) }, 'onCoreFault failed');
      }
      ex.unevaluated = action;
    }
    if (ex.unevaluated === 'pass' || stage === 'exchange') return !ex.finished;
    if (ex.finished) return false;
    ex.blocked = stage;
    log.warn?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, reason: `${isCoreFault(err) ? 'core fault' : 'gate error'}: could not be evaluated` }, 'blocked');
    answer(ex, blockStatus, `blocked by guard: could not be evaluated (request id ${ex.id})\n`);
    return false;
  }

  /**
   * The response-stage catch (responseVerdict): true when the response is withheld (answered with
   * the block status); a core fault otherwise passes with an alert, any other error is logged.
   */
  function responseFailed(ex: Exchange, err: unknown): boolean {
    if (!isCoreFault(err)) log.error?.({ requestId: ex.id, err: String(err) }, 'response profiling failed');
    return !notEvaluated(ex, 'response', err);
  }

  /** Outgoing headers: hop-by-hop (and those named in Connection) removed, XFF appended. */
  function forwardHeaders(ex: Exchange, contentLength: number | null): string[] {
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

  function profileAndDecideRequest(ex: Exchange, body: Uint8Array | undefined, bodyFault: string | undefined): boolean {
    const t0 = performance.now();
    try {
      // A session of an instance that failed since the request arrived: take one of the new one.
      if (ex.session && sessions.stale(ex.session)) ex.session = sessions.get();
      return decideRequest(ex, body, bodyFault);
    } catch (err) {
      if (isCoreFault(err)) return notEvaluated(ex, 'request', err);
      // Input the core refuses as malformed is refused here too: never forwarded undecided.
      if (err instanceof CoreError && err.code === 'GUARD_INVALID_REQUEST') {
        log.warn?.({ requestId: ex.id, err: err.message }, 'malformed request refused');
        if (!ex.finished) answer(ex, 400, 'guard-gate: malformed request\n', true);
        return false;
      }
      // Any other failure of the gate's code: not evaluated either (blocked under block, alerted
      // otherwise), never a silent pass.
      log.error?.({ requestId: ex.id, err: String(err) }, 'request profiling failed');
      return notEvaluated(ex, 'request', err);
    } finally {
      ex.coreMs += performance.now() - t0;
    }
  }

  /**
   * Profile and decide the response: 'block' when the Guardian blocks it (the caller answers),
   * 'answered' when a core fault withheld it (already answered with the block status), 'pass'
   * otherwise — a core fault in alert mode, or a failure of the host code, passes (logged, alerted).
   */
  function responseVerdict(ex: Exchange, resp: Parameters<Session['profileResponse']>[0]): 'pass' | 'block' | 'answered' {
    const s = ex.session!;
    const t0 = performance.now();
    try {
      s.profileResponse(resp);
      ex.complete = true;
      const g = opts.getGuardian();
      return s.decide(g, Section.Resp | Section.RespBody) !== 0 && g.blocks ? 'block' : 'pass';
    } catch (err) {
      return responseFailed(ex, err) ? 'answered' : 'pass';
    } finally {
      ex.coreMs += performance.now() - t0;
    }
  }

  function decideRequest(ex: Exchange, body: Uint8Array | undefined, bodyFault: string | undefined): boolean {
    const s = ex.session!;
    s.profileRequest({
      method: ex.method,
      path: ex.path,
      query: ex.query,
      headers: ex.headers,
      remote: ex.remote,
      body,
      bodyFault,
    });
    ex.profiled = true;
    const g = opts.getGuardian();
    const result = s.decide(g, Section.Req | Section.ReqBody);
    if (result !== 0 && g.blocks) {
      blockAnswer(ex, 'request');
      return false;
    }
    return true;
  }

  // ---- plugins -------------------------------------------------------------------------------

  // The guard's own listing entry does nothing: with only it, the chain is skipped entirely.
  const plugins = hasActivePlugins(opts.plugins) ? opts.plugins! : null;

  function pluginContext(ex: Exchange): RequestContext {
    if (ex.pluginCtx) return ex.pluginCtx;
    ex.pluginCtx = Object.freeze({ requestId: ex.id, method: ex.method, path: ex.path, query: ex.query, headers: headerRecord(ex.headers), clientAddress: ex.remote });
    return ex.pluginCtx;
  }

  /** Fold an allowing request verdict in: tags kept, added headers forwarded (names lower-cased). */
  function applyRequestVerdict(ex: Exchange, v: ChainVerdict): boolean {
    if (ex.finished) return false;
    if (v.action === 'block') {
      blockAnswer(ex, 'request', { name: v.blockedBy ?? 'plugin', reason: v.reason ?? '' });
      return false;
    }
    for (const t of v.tags) ex.tags.push(t);
    for (const [k, val] of v.addHeaders) ex.headers.push([k.toLowerCase(), val]);
    return true;
  }

  /**
   * Run the request plugins (after the guard allowed the request), then `go` when they allow it.
   * Synchronous plugins answer synchronously; an asynchronous chain resumes later (or never, when
   * it blocks or the client went away meanwhile).
   */
  function approveRequest(ex: Exchange, go: () => void, onBlock?: () => void): void {
    if (!plugins) return go();
    let v: ChainVerdict | Promise<ChainVerdict>;
    try {
      v = plugins.approveRequest(pluginContext(ex));
    } catch (err) {
      // The registry contains plugin failures; this is a bug in it: fail closed.
      v = { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] };
    }
    if (v instanceof Promise) {
      v.then(
        (r) => {
          if (applyRequestVerdict(ex, r)) go();
          else onBlock?.();
        },
        (err: unknown) => {
          applyRequestVerdict(ex, { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] });
          onBlock?.();
        },
      ).catch((err: unknown) => failExchange(ex, err));
      return;
    }
    if (applyRequestVerdict(ex, v)) go();
    else onBlock?.();
  }

  // ---- upstream ------------------------------------------------------------------------------

  /**
   * Forward a decided request. undici's dispatch API with one handler object per exchange: no
   * promise, no stream and no AbortController per request (the upstream's abort function arrives
   * in onConnect). The response head, and an analysable body up to the limit, are profiled and
   * decided before the first byte is written to the client; the rest streams with backpressure.
   */
  function forward(ex: Exchange, body: Buffer | Readable | null, contentLength: number | null): void {
    if (ex.finished) {
      if (body instanceof Readable) body.destroy();
      return;
    }
    const handler = new UpstreamHandler(ex, body);
    ex.upstream = handler;
    pool.dispatch(
      {
        method: ex.method as never,
        path: ex.query ? `${ex.path}?${ex.query}` : ex.path,
        headers: forwardHeaders(ex, contentLength),
        body: body ?? undefined,
      },
      handler,
    );
    // Only the plugins read the request's header lines after this: without them, they may die
    // young instead of being copied by the garbage collector for as long as the exchange lasts.
    if (!plugins) ex.headers = NO_HEADERS;
  }

  /** Why the gate aborted an upstream exchange (never shown to a client). */
  class UpstreamAborted extends Error {
    constructor(reason: string) {
      super(reason);
      this.name = 'UpstreamAborted';
    }
  }

  /** One exchange with the protected service, driven by undici's (legacy, unwrapped) handler calls. */
  class UpstreamHandler {
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
    private fault: string | undefined = undefined;
    /** The response was decided and approved: bytes may go to the client. */
    private approved = false;
    /** Waiting for an asynchronous plugin verdict (the upstream is paused). */
    private waiting = false;
    private headWritten = false;
    /** A chunk uWS could not take at once (known-length responses), and how much of it went. */
    private pending: Uint8Array | null = null;
    private pendingAt = 0;
    /** Waiting for uWS to drain (chunked responses) before reading more from the upstream. */
    private draining = false;
    private upstreamDone = false;

    constructor(
      private readonly ex: Exchange,
      private readonly body: Buffer | Readable | null,
    ) {}

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

    onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
      try {
        return this.head(statusCode, raw, resume);
      } catch (err) {
        failExchange(this.ex, err);
        return false;
      }
    }

    onData(chunk: Buffer): boolean {
      try {
        return this.data(chunk);
      } catch (err) {
        failExchange(this.ex, err);
        return false;
      }
    }

    onComplete(): void {
      this.upstreamDone = true;
      try {
        this.complete();
      } catch (err) {
        failExchange(this.ex, err);
      }
    }

    onError(err: Error): void {
      try {
        this.failed(err);
      } catch (err2) {
        failExchange(this.ex, err2);
      }
    }

    private head(statusCode: number, raw: Buffer[], resume: () => void): boolean {
      const ex = this.ex;
      if (ex.finished) return false;
      ex.respMs = performance.now() - ex.start;
      this.resumeFn = resume;
      this.status = statusCode;
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
      const analysable = !this.noBody && analyzeBody && isAnalysable(ctype);
      if (analysable && (this.declared === null || this.declared <= maxBody)) {
        // Decided once the body is complete (or over the limit).
        this.collect = new BodyBuffer(this.declared ?? 16384, true);
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
        collect.push(chunk);
        if (collect.len <= maxBody) return true;
        // Over the limit: decided without the body (fault), then the collected part streams.
        this.collect = null;
        this.fault = 'TooLargeBody';
        this.pending = collect.view();
        this.pendingAt = 0;
        return this.decide(undefined);
      }
      if (!this.approved) {
        // Not decided yet (undici normally pauses before any body arrives): kept, sent once approved.
        (this.held ??= new BodyBuffer(chunk.byteLength, true)).push(chunk);
        return false;
      }
      return this.send(chunk);
    }

    private complete(): void {
      const ex = this.ex;
      if (ex.finished) return;
      const collect = this.collect;
      if (collect !== null) {
        this.collect = null;
        const body = collect.view();
        this.pending = body;
        this.pendingAt = 0;
        const codings = this.encodings === null ? NO_CODINGS : contentCodings(this.encodings);
        if (codings.length === 0) {
          this.decide(body);
          return;
        }
        // Compressed: the decoded bytes (or the fault) are decided; the original bytes are sent.
        const decoded = decodeForGate(codings, body, maxBody);
        if (decoded instanceof Promise) {
          this.waiting = true;
          decoded
            .then((d) => {
              this.waiting = false;
              if (!ex.finished) this.decideDecoded(d);
            })
            .catch((err: unknown) => failExchange(ex, err));
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
      this.abortFn = null;
      if (this.body instanceof Readable) this.body.destroy();
      if (ex.finished) return;
      if (ex.aborted) return finish(ex);
      if (!this.headWritten) {
        if (this.status === 0) {
          log.warn?.({ requestId: ex.id, err: String(err.message ?? err) }, 'upstream unavailable');
          return answer(ex, 502, 'guard-gate: upstream unavailable\n');
        }
        log.warn?.({ requestId: ex.id, err: String(err.message ?? err) }, 'upstream response failed');
        return answer(ex, 502, 'guard-gate: upstream response failed\n');
      }
      log.warn?.({ requestId: ex.id, err: String(err.message ?? err) }, 'upstream stream failed');
      // The head is out: the client sees a truncated response, never a complete-looking one.
      ex.client.close();
      finish(ex);
    }

    /**
     * Profile and decide the response (with its collected body, if any), then ask the plugins.
     * Returns whether undici may go on reading the upstream.
     */
    private decide(body: Uint8Array | undefined): boolean {
      const ex = this.ex;
      const verdict = responseVerdict(ex, { status: this.status, headers: this.respHeaders, body, bodyFault: this.fault });
      if (verdict === 'answered') {
        this.abortIfReading('response not evaluated');
        return false;
      }
      if (verdict === 'block') {
        // The answer first: aborting may call onError at once, which must find the exchange finished.
        blockAnswer(ex, 'response');
        this.abortIfReading('response blocked');
        return false;
      }
      if (!plugins) return this.approve();
      let v: ChainVerdict | Promise<ChainVerdict>;
      try {
        v = plugins.approveResponse({ request: pluginContext(ex), status: this.status, headers: headerRecord(this.respHeaders) });
      } catch (err) {
        v = { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] };
      }
      if (!(v instanceof Promise)) return this.applyVerdict(v);
      this.waiting = true;
      v.then(
        (r) => this.resumeAfter(r),
        (err: unknown) => this.resumeAfter({ action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] }),
      ).catch((err: unknown) => failExchange(ex, err));
      return false;
    }

    private resumeAfter(v: ChainVerdict): void {
      this.waiting = false;
      if (this.ex.finished) return;
      if (this.applyVerdict(v)) this.resumeFn?.();
    }

    private applyVerdict(v: ChainVerdict): boolean {
      const ex = this.ex;
      if (v.action === 'block') {
        blockAnswer(ex, 'response', { name: v.blockedBy ?? 'plugin', reason: v.reason ?? '' });
        this.abortIfReading('response blocked by a plugin');
        return false;
      }
      for (const t of v.tags) ex.tags.push(t);
      for (const [k, val] of v.addHeaders) this.respHeaders.push([k.toLowerCase(), val]);
      return this.approve();
    }

    /** The response may go out: head, whatever was collected, and the end when the upstream is done. */
    private approve(): boolean {
      const ex = this.ex;
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
        finish(ex);
        return true;
      }
      const pending = this.pending;
      if (pending !== null && this.upstreamDone) {
        // The whole (analysed) body is here: one corked write with the head.
        this.pending = null;
        client.cork(() => {
          this.writeHead();
          if (this.declared === null || this.declared === pending.length) client.end(pending);
          else client.close(); // the upstream sent a different length than it declared
        });
        finish(ex);
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
      client.writeStatus(statusLine(this.status));
      const lines = this.respHeaders;
      for (let i = 0; i < lines.length; i++) {
        const k = lines[i]![0];
        if (HOP_BY_HOP.has(k) || k === 'content-length' || k === 'date') continue;
        client.writeHeader(k, lines[i]![1]);
      }
    }

    /** Write one chunk to the client; false = pause the upstream until uWS drains. */
    private send(chunk: Uint8Array): boolean {
      const client = this.ex.client;
      if (!client.open) return true;
      const total = this.declared;
      if (total !== null) {
        let taken = 0;
        client.cork(() => {
          this.writeHead();
          taken = client.writeSized(chunk, total);
        });
        if (taken === chunk.byteLength) return true;
        this.pending = chunk;
        this.pendingAt = taken;
        client.onWritable(this);
        return false;
      }
      let ok = true;
      client.cork(() => {
        this.writeHead();
        ok = client.write(chunk);
      });
      if (ok) return true;
      this.draining = true;
      client.onWritable(this);
      return false;
    }

    /** uWS can take more: the rest of a pending chunk, then the upstream is read on. */
    onWritable(): boolean {
      const ex = this.ex;
      if (ex.finished) return true;
      const pending = this.pending;
      if (pending !== null) {
        const rest = pending.subarray(this.pendingAt);
        const taken = ex.client.writeSized(rest, this.declared!);
        if (taken < rest.byteLength) {
          this.pendingAt += taken;
          return false;
        }
        this.pending = null;
      }
      this.draining = false;
      if (this.upstreamDone) this.endIfIdle();
      else this.resumeFn?.();
      return true;
    }

    /** The upstream is done: end the client response once nothing waits for uWS. */
    private endIfIdle(): void {
      const ex = this.ex;
      if (ex.finished || this.waiting || this.pending !== null || this.draining) return;
      const client = ex.client;
      if (client.open) {
        client.cork(() => {
          this.writeHead();
          if (this.declared === null || this.declared === 0) client.end();
          else client.close(); // the upstream sent less than it declared
        });
      }
      finish(ex);
    }

    private abortIfReading(reason: string): void {
      if (!this.upstreamDone) this.abort(reason);
    }
  }

  /** Decide an analysed request body (decoded for analysis when compressed), then forward `original`. */
  function decideAnalysed(ex: Exchange, analysed: Decoded, original: Buffer): void {
    if (ex.finished) return;
    // Decoded over the limit: as a plain body over the limit (the whole body was read, so the
    // connection stays usable).
    if (analysed.fault === FAULT_TOO_LARGE && oversize === 'refuse') return answer(ex, 413, 'guard-gate: request body too large\n');
    if (!profileAndDecideRequest(ex, analysed.body, analysed.fault)) return;
    if (plugins) approveRequest(ex, () => forward(ex, original, original.length));
    else forward(ex, original, original.length);
  }

  /** A failure of the gate itself in the middle of an exchange: logged, answered 500, never forwarded. */
  function failExchange(ex: Exchange, err: unknown): void {
    log.error?.({ requestId: ex.id, err: String(err) }, 'exchange failed');
    if (!ex.finished) {
      // A response already started can only be cut short: the client never sees it complete.
      if (ex.client.started) {
        ex.client.close();
        finish(ex);
      } else answer(ex, 500, 'guard-gate: internal error\n', true);
    }
    ex.upstream?.abort('gate error');
    ex.stream?.destroy();
  }

  // ---- request handler -----------------------------------------------------------------------

  /** The exchange of a new request; `validTarget` false when its path is not a valid origin-form path. */
  function newExchange(res: HttpResponse, req: HttpRequest): Exchange {
    // Everything from req must be copied now: it is invalid after the handler returns.
    const rawPath = req.getUrl();
    const canonical = canonicalPath(rawPath);
    const headers: HeaderLine[] = [];
    collecting = headers;
    req.forEach(collectHeader);
    collecting = NO_HEADERS;
    return new Exchange(
      new ClientResponse(res),
      req.getCaseSensitiveMethod(),
      canonical ?? rawPath,
      canonical !== null,
      req.getQuery() ?? '',
      headers,
      peerAddress(res),
      performance.now(),
    );
  }

  function handle(ex: Exchange): void {
    const validTarget = ex.validTarget;
    const headers = ex.headers;
    const client = ex.client;
    client.onAbort(() => {
      ex.upstream?.abort('client gone');
      ex.stream?.destroy();
      finish(ex);
    });

    if (closing) {
      client.discardBody();
      answer(ex, 503, 'guard-gate: shutting down\n', true);
      return;
    }
    const refused = opts.failClosed?.() ?? null;
    if (refused !== null) {
      client.discardBody();
      ex.blocked = 'request';
      answer(ex, blockStatus, `blocked by guard: ${refused} (request id ${ex.id})\n`, true);
      return;
    }
    inFlight.add(ex);
    ex.session = sessions.get();

    // Framing: never forward a request whose length is ambiguous (uWS itself drops CL+TE).
    let cl: string | null = null;
    let dupCl = false;
    let te = false;
    let ctype: string | undefined;
    let encodings: string[] | null = null;
    for (let i = 0; i < headers.length; i++) {
      const k = headers[i]![0];
      const v = headers[i]![1];
      if (k === 'content-length') {
        if (cl !== null) dupCl = true;
        cl = v;
      } else if (k === 'transfer-encoding') te = true;
      else if (k === 'content-type') ctype = v;
      else if (k === 'content-encoding') (encodings ??= []).push(v);
    }
    if (dupCl || (cl !== null && te) || (cl !== null && !DIGITS.test(cl.trim()))) {
      client.discardBody();
      return answer(ex, 400, 'guard-gate: ambiguous request framing\n', true);
    }
    if (!validTarget) {
      // Never forwarded: the core could not profile it, and the backend might read it otherwise.
      client.discardBody();
      return answer(ex, 400, 'guard-gate: invalid request target\n', true);
    }
    const length = cl !== null ? Number(cl.trim()) : te ? null : 0;
    // A compressed body is buffered as it came (the limit applies to those bytes), decoded for
    // analysis only, and forwarded as it came.
    const codings = encodings === null ? NO_CODINGS : contentCodings(encodings);
    const analyse = analyzeBody && length !== 0 && isAnalysable(ctype);

    if (length === 0) {
      // No body: decide at once (no data handler: uWS has nothing to deliver).
      if (!profileAndDecideRequest(ex, undefined, undefined)) return;
      if (plugins) approveRequest(ex, () => forward(ex, null, 0));
      else forward(ex, null, 0);
      return;
    }

    if (analyse && length !== null && length > maxBody && oversize === 'refuse') {
      client.discardBody();
      return answer(ex, 413, 'guard-gate: request body too large\n', true);
    }

    if (!analyse || (length !== null && length > maxBody)) {
      // Uninspected body (or a declared one over the limit, in stream mode): the handler is
      // registered first (uWS lifetime), the head is decided, then the body streams through
      // with backpressure. A blocked request's body is discarded.
      const body = new Readable({ read: () => client.resume() });
      ex.stream = body;
      client.onData((ab, last) => {
        if (ex.finished) return;
        // Never pause on the last chunk: nothing would resume the (keep-alive) socket.
        if (!body.push(Buffer.from(new Uint8Array(ab))) && !last) client.pause();
        if (last) body.push(null);
      });
      if (!profileAndDecideRequest(ex, undefined, analyse ? 'TooLargeBody' : undefined)) {
        body.destroy();
        return;
      }
      approveRequest(ex, () => forward(ex, body, length), () => body.destroy());
      return;
    }

    // Analysed body: read into one private buffer, then decide, then forward those exact bytes.
    const bb = new BodyBuffer(length ?? 16384);
    let over = false;
    client.onData((ab, last) => {
      if (ex.finished) return;
      try {
        analysedChunk(new Uint8Array(ab), last);
      } catch (err) {
        failExchange(ex, err);
      }
    });
    const analysedChunk = (chunk: Uint8Array, last: boolean): void => {
      if (over) {
        if (!ex.stream!.push(Buffer.from(chunk)) && !last) client.pause();
        if (last) ex.stream!.push(null);
        return;
      }
      bb.push(chunk);
      if (bb.len > maxBody) {
        // Chunked body over the limit (a declared one was handled above).
        if (oversize === 'refuse') return answer(ex, 413, 'guard-gate: request body too large\n', true);
        over = true;
        if (!profileAndDecideRequest(ex, undefined, 'TooLargeBody')) return;
        const s = new Readable({ read: () => client.resume() });
        ex.stream = s;
        s.push(Buffer.from(bb.view()));
        if (last) s.push(null);
        approveRequest(ex, () => forward(ex, s, null), () => s.destroy());
        return;
      }
      if (last) {
        const body = bb.view();
        if (codings.length === 0) return decideAnalysed(ex, { body }, body);
        // A compressed body: the decoded bytes (or the fault) are decided, the original bytes sent.
        const decoded = decodeForGate(codings, body, maxBody);
        if (decoded instanceof Promise) decoded.then((d) => decideAnalysed(ex, d, body)).catch((err: unknown) => failExchange(ex, err));
        else decideAnalysed(ex, decoded, body);
      }
    };
  }

  // ---- WebSocket upgrades (SPEC §5.1: profiled and decided at the upgrade request only) -------

  const relays = new WebSocketRelays({ maxMessage: maxBody, onEvent: opts.onWebSocket, log });

  /**
   * The upgrade request goes through the same decision as any request (guard, then plugins); once
   * allowed, the service's side is opened, and only when the service accepted is the client's
   * upgrade completed (with the subprotocol the service chose). Refused: its status, else 502.
   */
  function handleUpgrade(ex: Exchange, key: string, protocols: string, complete: CompleteUpgrade<RelayData>): void {
    const validTarget = ex.validTarget;
    // Upgrades are rare: an AbortController for the service's handshake is fine here.
    const handshake = new AbortController();
    ex.upstream = { abort: () => handshake.abort() };
    ex.client.onAbort(() => {
      handshake.abort();
      finish(ex);
    });
    if (closing) return answer(ex, 503, 'guard-gate: shutting down\n', true);
    inFlight.add(ex);
    ex.session = sessions.get();
    const bodyFraming = ex.headers.some(([k, v]) => (k === 'content-length' && v.trim() !== '0') || k === 'transfer-encoding');
    if (bodyFraming) return answer(ex, 400, 'guard-gate: an upgrade request has no body\n', true);
    if (!validTarget) return answer(ex, 400, 'guard-gate: invalid request target\n', true);
    if (!profileAndDecideRequest(ex, undefined, undefined)) return;
    approveRequest(ex, () => {
      openUpstream(ex, key, protocols, complete, handshake.signal).catch((err: unknown) => failExchange(ex, err));
    });
  }

  async function openUpstream(ex: Exchange, key: string, protocols: string, complete: CompleteUpgrade<RelayData>, signal: AbortSignal): Promise<void> {
    const r = await openServiceSocket({
      upstream,
      target: ex.path + (ex.query ? `?${ex.query}` : ''),
      headers: forwardHeaders(ex, null),
      protocols,
      maxMessage: Math.max(1, maxBody),
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      handshakeTimeoutMs: opts.headersTimeoutMs ?? 30_000,
      signal,
    });
    if (ex.aborted || ex.finished) {
      if (r.ok) r.socket.destroy();
      return finish(ex);
    }
    if (!r.ok) {
      log.warn?.({ requestId: ex.id, path: ex.path, reason: r.reason }, 'websocket refused or unavailable');
      const status = r.status >= 400 && r.status <= 599 ? r.status : 502;
      return answer(ex, status, status === 502 ? 'guard-gate: upstream unavailable\n' : 'guard-gate: websocket refused by the service\n');
    }
    ex.respMs = performance.now() - ex.start;
    // The 101 is profiled and decided as the response of the exchange (no body), then the plugins'.
    const verdict = responseVerdict(ex, { status: 101, headers: r.headers });
    if (verdict !== 'pass') {
      r.socket.destroy();
      return verdict === 'block' ? blockAnswer(ex, 'response') : undefined;
    }
    // The service's own 101 headers (Set-Cookie…) reach the client; uWS writes the handshake's.
    const headers = r.headers.filter(([k]) => !HOP_BY_HOP.has(k) && k !== 'sec-websocket-protocol' && k !== 'content-length' && k !== 'date');
    if (plugins && !(await responseApproved(ex, 101, headers))) return r.socket.destroy();
    if (ex.aborted || ex.finished) {
      r.socket.destroy();
      return finish(ex);
    }
    ex.status = 101;
    ex.client.upgrade(() => complete({ id: ex.id, service: r.socket, client: null }, key, r.protocol, '', headers));
    finish(ex);
  }

  /**
   * The plugins' response stage: false when one blocked it (then answered). Tags are kept and the
   * headers they add appended to `headers`. (The WebSocket path's; UpstreamHandler applies the
   * verdict itself, synchronously when the plugins answer synchronously.)
   */
  async function responseApproved(ex: Exchange, status: number, headers: HeaderLine[]): Promise<boolean> {
    let v: ChainVerdict;
    try {
      v = await plugins!.approveResponse({ request: pluginContext(ex), status, headers: headerRecord(headers) });
    } catch (err) {
      v = { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] };
    }
    if (ex.aborted || ex.finished) {
      finish(ex);
      return false;
    }
    if (v.action === 'block') {
      blockAnswer(ex, 'response', { name: v.blockedBy ?? 'plugin', reason: v.reason ?? '' });
      return false;
    }
    for (const t of v.tags) ex.tags.push(t);
    for (const [k, val] of v.addHeaders) headers.push([k.toLowerCase(), val]);
    return true;
  }

  serveWebSockets(
    app,
    '/*',
    relays.route((res, req, complete) => {
      received++;
      const ex = newExchange(res, req);
      try {
        handleUpgrade(ex, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), complete);
      } catch (err) {
        failExchange(ex, err);
      }
    }),
  );

  app.any('/*', (res, req) => {
    received++;
    const ex = newExchange(res, req);
    try {
      handle(ex);
    } catch (err) {
      failExchange(ex, err);
    }
  });

  const listening = await listen(app, opts.port, opts.host ?? '0.0.0.0');

  return {
    port: listening.port,
    get inFlight() {
      return inFlight.size;
    },
    get received() {
      return received;
    },
    idle,
    async close(drainMs = 5_000): Promise<void> {
      if (closing) return;
      closing = true;
      listening.stopListening();
      await idle(drainMs);
      for (const ex of inFlight) ex.upstream?.abort('gate shutting down');
      relays.closeAll();
      listening.close();
      await pool.close().catch(() => pool.destroy());
      sessions.dispose();
    },
    replaceCore(next: Core): void {
      sessions.replaceCore(next);
    },
  };
}
