// The request path of guard-gate (SPEC §5.1): uWS listener → profile + decide the request (and its
// body, from one private buffer) → undici pool to the protected service → profile + decide the
// response (buffered when analysable) → client. A blocked request never reaches the service; a
// blocked response never reaches the client.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Core, Guardian, HeaderLine, Session } from '../core/index.js';
import { CoreError, Section } from '../core/index.js';
import { hasActivePlugins, type ChainVerdict, type PluginRegistry, type RequestContext } from './plugins.js';
import { abText, createApp, listen, type HttpRequest, type HttpResponse } from './uws.js';

export type Stage = 'request' | 'response' | 'none';

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
 * An exchange the core could not evaluate: the core trapped while profiling or deciding it, or its
 * session belonged to a core instance that failed meanwhile. `stage` 'exchange': after the answer
 * was sent (envelope, learning), when there is nothing left to block.
 */
export interface CoreFault {
  requestId: string;
  method: string;
  path: string;
  remote: string;
  stage: 'request' | 'response' | 'exchange';
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
   * Plugins consulted after the guard's own decision (SPEC §5.7): approveRequest before the
   * request is forwarded, approveResponse before the response is sent. Default: none.
   */
  plugins?: PluginRegistry;
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
  /** Stop listening, wait up to drainMs for in-flight exchanges, then close everything. */
  close(drainMs?: number): Promise<void>;
  /**
   * After a core fault: new exchanges use sessions of `core`; pooled sessions of the old instance are
   * dropped, and exchanges in flight on it are treated as not evaluated (onCoreFault).
   */
  replaceCore(core: Core): void;
}

const MiB = 1024 * 1024;

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

function statusLine(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? 'Status'}`;
}

/** JSON, form and text media types are buffered for analysis; everything else streams. */
export function isAnalysable(contentType: string | undefined): boolean {
  if (!contentType) return false;
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

/** One growable private buffer: preallocated when the length is known, doubled otherwise. */
class BodyBuffer {
  buf: Buffer;
  len = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 0));
  }
  push(chunk: Uint8Array): void {
    if (this.len + chunk.byteLength > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + chunk.byteLength, 4096));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.byteLength;
  }
  view(): Buffer {
    return this.buf.subarray(0, this.len);
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

interface Exchange {
  id: string;
  res: HttpResponse;
  method: string;
  path: string;
  query: string;
  headers: HeaderLine[];
  remote: string;
  start: number;
  aborted: boolean;
  finished: boolean;
  session: Session | null;
  abort: AbortController;
  status: number;
  blocked: Stage;
  complete: boolean;
  respMs: number;
  coreMs: number;
  /** The request body is paused (backpressure towards the upstream). */
  paused: boolean;
  /** The request was profiled (only such exchanges reach onSession). */
  profiled: boolean;
  /** The core could not evaluate the exchange (a fault); the action taken, reported once. */
  unevaluated: 'block' | 'pass' | null;
  blockedBy: string | undefined;
  tags: string[];
  /** What the plugins saw of the request (built once, when there are plugins). */
  pluginCtx: RequestContext | null;
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
  let drained: (() => void) | null = null;

  const app = createApp({ allowFallback: opts.allowFallback, warn: (m) => log.warn?.({}, m) });

  // ---- helpers -------------------------------------------------------------------------------

  function finish(ex: Exchange): void {
    if (ex.finished) return;
    ex.finished = true;
    inFlight.delete(ex);
    const s = ex.session;
    ex.session = null;
    if (s && !ex.profiled) sessions.put(s);
    else if (s) {
      try {
        const t0 = performance.now();
        if (ex.complete) {
          s.profileEnvelop(ex.respMs, t0 - ex.start);
          s.decide(opts.getGuardian(), Section.Envelop);
        }
        const result = s.decide(opts.getGuardian(), 0);
        ex.coreMs += performance.now() - t0;
        opts.onSession?.(s, {
          requestId: ex.id,
          method: ex.method,
          path: ex.path,
          remote: ex.remote,
          result,
          blocked: ex.blocked,
          status: ex.status,
          complete: ex.complete,
          coreMs: ex.coreMs,
          upstreamMs: ex.respMs,
          blockedBy: ex.blockedBy,
          tags: ex.tags,
        });
      } catch (err) {
        if (isCoreFault(err)) notEvaluated(ex, 'exchange', err);
        else log.error?.({ err: String(err), requestId: ex.id }, 'onSession failed');
      } finally {
        sessions.put(s);
      }
    }
    if (closing && inFlight.size === 0) drained?.();
  }

  /** Call inside cork right before the response ends: a paused socket would stay paused for keep-alive. */
  function unpause(ex: Exchange): void {
    if (ex.paused && !ex.aborted) {
      ex.paused = false;
      ex.res.resume();
    }
  }

  /** A short complete answer (block, 400, 413, 502). */
  function answer(ex: Exchange, status: number, body: string, closeConnection = false): void {
    ex.status = status;
    if (!ex.aborted) {
      ex.res.cork(() => {
        ex.res.writeStatus(statusLine(status));
        ex.res.writeHeader('X-Guard-Request-Id', ex.id);
        ex.res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
        unpause(ex);
        ex.res.end(body, closeConnection);
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
        action = opts.onCoreFault?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, error: String(err) }) ?? 'block';
      } catch (cbErr) {
        log.error?.({ requestId: ex.id, err: String(cbErr) }, 'onCoreFault failed');
      }
      ex.unevaluated = action;
    }
    if (ex.unevaluated === 'pass' || stage === 'exchange') return !ex.finished;
    if (ex.finished) return false;
    ex.blocked = stage;
    log.warn?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, reason: 'core fault: could not be evaluated' }, 'blocked');
    answer(ex, blockStatus, `blocked by guard: could not be evaluated (request id ${ex.id})\n`);
    return false;
  }

  /**
   * The response-stage catch (forwardExchange): true when the response is withheld (answered with
   * the block status); a core fault otherwise passes with an alert, any other error is logged.
   */
  function responseFailed(ex: Exchange, err: unknown): boolean {
    if (isCoreFault(err)) return !notEvaluated(ex, 'response', err);
    log.error?.({ requestId: ex.id, err: String(err) }, 'response profiling failed');
    return false;
  }

  /** Outgoing headers: hop-by-hop (and those named in Connection) removed, XFF appended. */
  function forwardHeaders(ex: Exchange, contentLength: number | null): string[] {
    const named = new Set<string>();
    for (const [k, v] of ex.headers) {
      if (k === 'connection') for (const n of v.split(',')) named.add(n.trim().toLowerCase());
    }
    const out: string[] = [];
    let xff: string | null = null;
    for (const [k, v] of ex.headers) {
      if (HOP_BY_HOP.has(k) || named.has(k) || k === 'content-length' || k === 'expect') continue;
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
      // Any other failure of the host code never takes the service down: logged, the request passes.
      log.error?.({ requestId: ex.id, err: String(err) }, 'request profiling failed');
      return !ex.finished;
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
    if (result !== 0 && g.control.block) {
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
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of ex.headers) headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    ex.pluginCtx = Object.freeze({ requestId: ex.id, method: ex.method, path: ex.path, query: ex.query, headers: Object.freeze(headers), clientAddress: ex.remote });
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
      );
      return;
    }
    if (applyRequestVerdict(ex, v)) go();
    else onBlock?.();
  }

  // ---- upstream ------------------------------------------------------------------------------

  function forward(ex: Exchange, body: Buffer | Readable | null, contentLength: number | null): Promise<void> {
    return forwardExchange(ex, body, contentLength).catch((err) => {
      log.error?.({ requestId: ex.id, err: String(err) }, 'exchange failed');
      if (body instanceof Readable) body.destroy();
      if (!ex.finished) {
        if (ex.status === 0) answer(ex, 502, 'guard-gate: exchange failed\n');
        else {
          if (!ex.aborted) ex.res.close();
          finish(ex);
        }
      }
    });
  }

  async function forwardExchange(ex: Exchange, body: Buffer | Readable | null, contentLength: number | null): Promise<void> {
    let up;
    try {
      up = await pool.request({
        method: ex.method as never,
        path: ex.path + (ex.query ? `?${ex.query}` : ''),
        headers: forwardHeaders(ex, contentLength),
        body: body ?? undefined,
        signal: ex.abort.signal,
      });
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      if (ex.aborted) return finish(ex);
      log.warn?.({ requestId: ex.id, err: String((err as Error).message ?? err) }, 'upstream unavailable');
      return answer(ex, 502, 'guard-gate: upstream unavailable\n');
    }
    ex.respMs = performance.now() - ex.start;
    if (ex.aborted) {
      up.body.destroy();
      return finish(ex);
    }
    const respHeaders: HeaderLine[] = [];
    for (const [k, v] of Object.entries(up.headers)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) respHeaders.push([k, x]);
      else respHeaders.push([k, v]);
    }
    const ctype = up.headers['content-type'];
    const clHeader = up.headers['content-length'];
    const declared = typeof clHeader === 'string' && /^\d+$/.test(clHeader) ? Number(clHeader) : null;
    const cenc = up.headers['content-encoding'];
    const respEncoded = typeof cenc === 'string' && cenc.trim().toLowerCase() !== 'identity';
    const noBody = ex.method === 'HEAD' || up.statusCode === 204 || up.statusCode === 304 || (up.statusCode >= 100 && up.statusCode < 200);

    const it = up.body[Symbol.asyncIterator]();
    let prefix: Buffer | null = null;
    let respBody: Uint8Array | undefined;
    let respFault: string | undefined;
    let ended = false;
    try {
      if (!noBody && analyzeBody && !respEncoded && isAnalysable(typeof ctype === 'string' ? ctype : undefined) && (declared === null || declared <= maxBody)) {
        const bb = new BodyBuffer(declared ?? 16384);
        for (;;) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          bb.push(r.value as Buffer);
          if (bb.len > maxBody) break;
        }
        prefix = bb.view();
        if (ended) respBody = prefix;
        else respFault = 'TooLargeBody';
      } else if (!noBody && analyzeBody && !respEncoded && declared !== null && declared > maxBody && isAnalysable(typeof ctype === 'string' ? ctype : undefined)) {
        respFault = 'TooLargeBody';
      }
    } catch (err) {
      if (ex.aborted) return finish(ex);
      log.warn?.({ requestId: ex.id, err: String(err) }, 'upstream body failed');
      return answer(ex, 502, 'guard-gate: upstream response failed\n');
    }
    if (ex.aborted) {
      up.body.destroy();
      return finish(ex);
    }

    const s = ex.session!;
    let respBlocked = false;
    const t0 = performance.now();
    try {
      s.profileResponse({ status: up.statusCode, headers: respHeaders, body: respBody, bodyFault: respFault });
      ex.complete = true;
      const g = opts.getGuardian();
      respBlocked = s.decide(g, Section.Resp | Section.RespBody) !== 0 && g.control.block;
    } catch (err) {
      if (responseFailed(ex, err)) {
        up.body.destroy();
        return;
      }
    }
    ex.coreMs += performance.now() - t0;
    if (respBlocked) {
      up.body.destroy();
      return blockAnswer(ex, 'response');
    }
    if (plugins) {
      const headers: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, v] of respHeaders) headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
      let v: ChainVerdict;
      try {
        v = await plugins.approveResponse({ request: pluginContext(ex), status: up.statusCode, headers: Object.freeze(headers) });
      } catch (err) {
        v = { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] };
      }
      if (ex.aborted) {
        up.body.destroy();
        return finish(ex);
      }
      if (v.action === 'block') {
        up.body.destroy();
        return blockAnswer(ex, 'response', { name: v.blockedBy ?? 'plugin', reason: v.reason ?? '' });
      }
      for (const t of v.tags) ex.tags.push(t);
      for (const [k, val] of v.addHeaders) respHeaders.push([k.toLowerCase(), val]);
    }

    ex.status = up.statusCode;
    const writeHead = (): void => {
      ex.res.writeStatus(statusLine(up.statusCode));
      for (const [k, v] of respHeaders) {
        if (HOP_BY_HOP.has(k) || k === 'content-length' || k === 'date') continue;
        ex.res.writeHeader(k, v);
      }
    };

    if (noBody) {
      up.body.dump().catch(() => {});
      ex.res.cork(() => {
        writeHead();
        unpause(ex);
        ex.res.endWithoutBody(declared ?? 0);
      });
      return finish(ex);
    }
    if (ended) {
      ex.res.cork(() => {
        writeHead();
        unpause(ex);
        ex.res.end(prefix!);
      });
      return finish(ex);
    }
    await streamOut(ex, writeHead, prefix, it, declared);
  }

  /** Stream the rest of the response with backpressure (tryEnd when the length is known). */
  async function streamOut(
    ex: Exchange,
    writeHead: () => void,
    prefix: Buffer | null,
    it: AsyncIterator<unknown>,
    total: number | null,
  ): Promise<void> {
    const res = ex.res;
    let writable: (() => void) | null = null;
    res.onWritable(() => {
      const w = writable;
      writable = null;
      w?.();
      return true;
    });
    const waitWritable = (): Promise<void> =>
      new Promise((resolve) => {
        writable = resolve;
      });
    let headDone = false;
    let ended = false;
    // Send one chunk; returns once uWS took it all (or the client went away).
    const send = async (chunk: Buffer): Promise<void> => {
      if (total !== null) {
        let off = 0;
        for (;;) {
          let ok = false;
          let done = false;
          res.cork(() => {
            if (!headDone) {
              writeHead();
              headDone = true;
            }
            unpause(ex);
            const before = res.getWriteOffset();
            [ok, done] = res.tryEnd(chunk.subarray(off), total);
            if (done) ended = true;
            else if (!ok) off += res.getWriteOffset() - before;
          });
          if (ok || done) return;
          await waitWritable();
          if (ex.aborted) return;
        }
      } else {
        let ok = true;
        res.cork(() => {
          if (!headDone) {
            writeHead();
            headDone = true;
          }
          ok = res.write(chunk);
        });
        if (!ok) await waitWritable();
      }
    };
    try {
      if (prefix && prefix.length > 0) await send(prefix);
      for (;;) {
        if (ex.aborted) break;
        const r = await it.next();
        if (r.done) break;
        if (ex.aborted) break;
        await send(r.value as Buffer);
      }
      if (!ex.aborted && !ended) {
        res.cork(() => {
          if (!headDone) {
            writeHead();
            headDone = true;
          }
          unpause(ex);
          if (total === null) res.end();
          else if (total === 0) res.end();
          else res.close(); // upstream sent less than declared
        });
      }
    } catch (err) {
      log.warn?.({ requestId: ex.id, err: String(err) }, 'upstream stream failed');
      if (!ex.aborted && !ended) {
        if (!headDone) return answer(ex, 502, 'guard-gate: upstream response failed\n');
        unpause(ex);
        res.close();
      }
      await it.return?.();
    }
    finish(ex);
  }

  // ---- request handler -----------------------------------------------------------------------

  function handle(res: HttpResponse, req: HttpRequest): void {
    // Everything from req must be copied now: it is invalid after this function returns.
    const method = req.getCaseSensitiveMethod();
    const rawPath = req.getUrl();
    const canonical = canonicalPath(rawPath);
    const path = canonical ?? rawPath;
    const query = req.getQuery() ?? '';
    const headers: HeaderLine[] = [];
    req.forEach((k, v) => headers.push([k, v]));
    const remote = abText(res.getRemoteAddressAsText());
    const ex: Exchange = {
      id: randomUUID(),
      res,
      method,
      path,
      query,
      headers,
      remote,
      start: performance.now(),
      aborted: false,
      finished: false,
      session: null,
      abort: new AbortController(),
      status: 0,
      blocked: 'none',
      complete: false,
      respMs: 0,
      coreMs: 0,
      paused: false,
      profiled: false,
      unevaluated: null,
      blockedBy: undefined,
      tags: [],
      pluginCtx: null,
    };
    res.onAborted(() => {
      ex.aborted = true;
      ex.abort.abort();
      stream?.destroy();
      finish(ex);
    });
    let stream: Readable | null = null;
    const resume = (): void => {
      if (ex.paused && !ex.aborted && !ex.finished) {
        ex.paused = false;
        res.resume();
      }
    };
    const pause = (): void => {
      if (!ex.paused && !ex.aborted && !ex.finished) {
        ex.paused = true;
        res.pause();
      }
    };

    if (closing) {
      res.onData(() => {});
      answer(ex, 503, 'guard-gate: shutting down\n', true);
      return;
    }
    const refused = opts.failClosed?.() ?? null;
    if (refused !== null) {
      res.onData(() => {});
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
    let encoded = false;
    for (const [k, v] of headers) {
      if (k === 'content-length') {
        if (cl !== null) dupCl = true;
        cl = v;
      } else if (k === 'transfer-encoding') te = true;
      else if (k === 'content-type') ctype = v;
      else if (k === 'content-encoding' && v.trim().toLowerCase() !== 'identity') encoded = true;
    }
    if (dupCl || (cl !== null && te) || (cl !== null && !/^\d+$/.test(cl.trim()))) {
      res.onData(() => {});
      return answer(ex, 400, 'guard-gate: ambiguous request framing\n', true);
    }
    if (canonical === null) {
      // Never forwarded: the core could not profile it, and the backend might read it otherwise.
      res.onData(() => {});
      return answer(ex, 400, 'guard-gate: invalid request target\n', true);
    }
    const length = cl !== null ? Number(cl.trim()) : te ? null : 0;
    // Compressed bodies stream uninspected (bounded decompression for analysis is not done yet).
    const analyse = analyzeBody && length !== 0 && !encoded && isAnalysable(ctype);

    if (length === 0) {
      // No body: decide at once; uWS still delivers one empty last chunk, which we ignore.
      res.onData(() => {});
      if (!profileAndDecideRequest(ex, undefined, undefined)) return;
      approveRequest(ex, () => void forward(ex, null, 0));
      return;
    }

    if (analyse && length !== null && length > maxBody && oversize === 'refuse') {
      res.onData(() => {});
      return answer(ex, 413, 'guard-gate: request body too large\n', true);
    }

    if (!analyse || (length !== null && length > maxBody)) {
      // Uninspected body (or a declared one over the limit, in stream mode): the handler is
      // registered first (uWS lifetime), the head is decided, then the body streams through
      // with backpressure. A blocked request's body is discarded.
      const body = new Readable({ read: resume });
      stream = body;
      res.onData((ab, last) => {
        if (ex.finished) return;
        // Never pause on the last chunk: nothing would resume the (keep-alive) socket.
        if (!body.push(Buffer.from(new Uint8Array(ab))) && !last) pause();
        if (last) body.push(null);
      });
      if (!profileAndDecideRequest(ex, undefined, analyse ? 'TooLargeBody' : undefined)) {
        body.destroy();
        return;
      }
      approveRequest(ex, () => void forward(ex, body, length), () => body.destroy());
      return;
    }

    // Analysed body: read into one private buffer, then decide, then forward those exact bytes.
    const bb = new BodyBuffer(length ?? 16384);
    let over = false;
    res.onData((ab, last) => {
      if (ex.finished) return;
      const chunk = new Uint8Array(ab);
      if (over) {
        if (!stream!.push(Buffer.from(chunk)) && !last) pause();
        if (last) stream!.push(null);
        return;
      }
      bb.push(chunk);
      if (bb.len > maxBody) {
        // Chunked body over the limit (a declared one was handled above).
        if (oversize === 'refuse') return answer(ex, 413, 'guard-gate: request body too large\n', true);
        over = true;
        if (!profileAndDecideRequest(ex, undefined, 'TooLargeBody')) return;
        const s = new Readable({ read: resume });
        stream = s;
        s.push(Buffer.from(bb.view()));
        if (last) s.push(null);
        approveRequest(ex, () => void forward(ex, s, null), () => s.destroy());
        return;
      }
      if (last) {
        const body = bb.view();
        if (!profileAndDecideRequest(ex, body, undefined)) return;
        approveRequest(ex, () => void forward(ex, body, body.length));
      }
    });
  }

  app.any('/*', (res, req) => {
    try {
      handle(res, req);
    } catch (err) {
      log.error?.({ err: String(err) }, 'request handler failed');
      try {
        res.cork(() => res.writeStatus(statusLine(500)).end('guard-gate: internal error\n', true));
      } catch {
        /* already answered or aborted */
      }
    }
  });

  const listening = await listen(app, opts.port, opts.host ?? '0.0.0.0');

  return {
    port: listening.port,
    get inFlight() {
      return inFlight.size;
    },
    async close(drainMs = 5_000): Promise<void> {
      if (closing) return;
      closing = true;
      listening.stopListening();
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, drainMs);
          drained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      for (const ex of inFlight) ex.abort.abort();
      listening.close();
      await pool.close().catch(() => pool.destroy());
      sessions.dispose();
    },
    replaceCore(next: Core): void {
      sessions.replaceCore(next);
    },
  };
}
