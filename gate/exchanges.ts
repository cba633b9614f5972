// The exchanges of one proxy, and what every stage of the request path shares: how an exchange is
// begun, decided by the core (request and response), answered by the gate, blocked, failed, and
// ended exactly once. The request path (request-path.ts), the response path (response-path.ts) and
// WebSocket upgrades (upgrade.ts) each hold this context; it holds no listener and no upstream.
import { performance } from 'node:perf_hooks';
import type { Core, Guardian, ResponseHeaderLine, Session } from '../core/index.js';
import { CoreError, Section } from '../core/index.js';
import type { Logger } from '../log/index.js';
import { ExchangeVerdict, type CoreFault, type Exchange, type ExchangeOutcome, type Stage, type Verdict } from './exchange.js';
import { headerRecord, statusLine } from './header-text.js';
import { InFlight } from './in-flight.js';
import type { ChainVerdict, PluginRegistry, RequestContext } from './plugins.js';
import { SessionPool } from './session-pool.js';

/** What the exchanges report and ask of the gate around them (gate/index.ts wires metrics, alerts, piles). */
export interface ExchangeHooks {
  getGuardian: () => Guardian;
  onSession?: (session: Session, verdict: Verdict) => void;
  onEnd?: (outcome: ExchangeOutcome, blocked: Stage) => void;
  onCoreFault?: (fault: CoreFault) => 'block' | 'pass';
  /**
   * The pod is compromised (its pod alert latched under block): every request is refused until the
   * pod restarts (the original's BlockOnPod). True blocks this request.
   */
  podBlocks?: () => boolean;
  log: Logger;
}

function isCoreFault(err: unknown): boolean {
  return err instanceof CoreError && err.code === 'GUARD_CORE_FAULT';
}

/** A plugin chain that threw (or rejected): its verdict is a block, never a silent pass. */
export function failedChain(err: unknown): ChainVerdict {
  return { action: 'block', blockedBy: 'plugins', reason: String(err), tags: [], addHeaders: [] };
}

/** Counts of what the gate refused or left out, read by the metrics when scraped. */
export interface ProxyStats {
  /** Query pieces dropped (a ';' or an invalid escape): never profiled, never forwarded. */
  queryPiecesDropped: number;
  /** Requests refused (400) for a repeated single-valued header line. */
  repeatedFieldRefusals: number;
  /** Requests refused (503) because the gate had its most exchanges in flight. */
  inFlightRefusals: number;
  /** Requests refused because the pod is compromised. */
  podBlocked: number;
  /** Request bodies over the limit, decided with the fault TooLargeBody (streamed uninspected when allowed). */
  oversizeBodies: number;
  /** Request bodies over the limit refused (413) under GUARD_OVERSIZE=refuse. */
  oversizeRefusals: number;
  /** Requests the node listener's parser refused (400, 408, 431) before they reached the gate. */
  malformedRefusals: number;
  /** Connections the node listener closed unanswered because GUARD_MAX_CONNECTIONS were open. */
  connectionsDropped: number;
  /** 1xx responses of the service the listener could not relay (uWS; HTTP/1.0 clients). */
  informationalDropped: number;
  /** Responses without a declared length relayed as streams (decided on their head). */
  streamedResponses: number;
}

export class Exchanges {
  readonly stats: ProxyStats = { queryPiecesDropped: 0, repeatedFieldRefusals: 0, inFlightRefusals: 0, oversizeBodies: 0, oversizeRefusals: 0, malformedRefusals: 0, connectionsDropped: 0, informationalDropped: 0, streamedResponses: 0, podBlocked: 0 };
  private readonly inFlight = new InFlight<Exchange>();
  private readonly sessions: SessionPool;
  private idleWaiters: (() => void)[] = [];
  /** Requests the listener handed to the gate. */
  received = 0;
  /** No new exchange is begun (503) once the proxy is closing. */
  closing = false;
  readonly log: Logger;

  constructor(
    core: Core,
    private readonly hooks: ExchangeHooks,
    readonly blockStatus: number,
    /** Plugins with something to do, or null (the guard's own entry alone is skipped). */
    readonly plugins: PluginRegistry | null,
    /** A reason (text) answers every request with the block status, unevaluated; null lets it be evaluated. */
    private readonly failClosed?: () => string | null,
  ) {
    this.sessions = new SessionPool(core);
    this.log = hooks.log;
  }

  get size(): number {
    return this.inFlight.size;
  }

  /**
   * Admit a new exchange: answered at once when the proxy is closing (503) or the gate failed
   * closed (the block status, unevaluated); otherwise in flight with a session of the current core
   * instance. False when it was answered.
   */
  admit(ex: Exchange): boolean {
    if (this.closing) {
      ex.client.discardBody();
      this.answer(ex, 503, 'guard-gate: shutting down\n', true, 1);
      return false;
    }
    const refused = this.failClosed?.() ?? null;
    if (refused !== null) {
      ex.client.discardBody();
      ex.blocked = 'request';
      this.answer(ex, this.blockStatus, `blocked by guard: ${refused} (request id ${ex.id})\n`, true);
      return false;
    }
    this.begin(ex);
    return true;
  }

  /** The exchange is in flight, with a session of the current core instance. */
  begin(ex: Exchange): void {
    this.inFlight.add(ex);
    ex.session = this.sessions.get();
  }

  /** Exchanges cancelled in flight (over the learned service time). */
  cancelledInFlight = 0;

  /**
   * The in-flight check (the original's session tick): each exchange still waiting for the
   * service's response head has its envelope profiled with the time so far and decided. Over the
   * learned service time under a blocking Guardian: cancelled — answered with the block status —
   * and the upstream aborted. As in the original, whose tick stops moving the envelope once the
   * response was seen, a response already streaming (a long download) is not cut; its envelope is
   * judged when it ends. Under alert only nothing is cancelled. Returns how many were cancelled.
   */
  checkInFlight(now: number): number {
    const g = this.hooks.getGuardian();
    if (!g.blocks) return 0;
    let cancelled = 0;
    for (const ex of this.inFlight.snapshot()) {
      const s = ex.session;
      const elapsed = now - ex.start;
      // Envelope times are whole seconds: nothing under one can be over a learned limit.
      if (!s || !ex.profiled || ex.finished || ex.respMs > 0 || ex.client.started || elapsed < 1000 || this.sessions.stale(s)) continue;
      try {
        s.profileEnvelop(elapsed, elapsed);
        if (s.decide(g, Section.Envelop) === 0) continue;
      } catch {
        continue;
      }
      cancelled++;
      this.cancelledInFlight++;
      this.blockAnswer(ex, 'response');
      ex.upstream?.abort('over the learned service time');
      ex.stream?.destroy();
    }
    return cancelled;
  }

  /** Every exchange still in flight (shutdown aborts them). */
  each(fn: (ex: Exchange) => void): void {
    for (const ex of this.inFlight.snapshot()) fn(ex);
  }

  /**
   * End the exchange, once: its envelope decided and its session reported (onSession) when it was
   * profiled, then onEnd with how it ended, whatever path it took.
   */
  finish(ex: Exchange): void {
    if (ex.finished) return;
    ex.finished = true;
    this.inFlight.delete(ex);
    ex.requestBody?.release();
    ex.responseBody?.release();
    const s = ex.session;
    ex.session = null;
    let result = 0;
    if (s && !ex.profiled) this.sessions.put(s);
    else if (s) {
      try {
        const t0 = performance.now();
        // The envelope (of a complete exchange) profiled and decided; the session's accumulated result.
        result = s.finish(this.hooks.getGuardian(), ex.complete, ex.respMs, t0 - ex.start);
        ex.coreMs += performance.now() - t0;
        this.hooks.onSession?.(s, new ExchangeVerdict(ex, result));
      } catch (err) {
        if (isCoreFault(err)) this.notEvaluated(ex, 'exchange', err);
        else this.log.error?.({ err: String(err), requestId: ex.id }, 'onSession failed');
      } finally {
        this.sessions.put(s);
      }
    }
    const onEnd = this.hooks.onEnd;
    if (onEnd) {
      try {
        onEnd(ex.outcome(result), ex.blocked);
      } catch (err) {
        this.log.error?.({ err: String(err), requestId: ex.id }, 'onEnd failed');
      }
    }
    if (this.inFlight.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves true when no exchange is in flight (at once when none is), false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** New exchanges use sessions of `core`; sessions of the failed instance are dropped. */
  replaceCore(core: Core): void {
    this.sessions.replaceCore(core);
  }

  dispose(): void {
    this.sessions.dispose();
  }

  /**
   * A short complete answer of the gate's own (block, 400, 413, 500, 502, 503), then the end;
   * `retryAfter` (seconds) tells the client when to try again (503).
   */
  answer(ex: Exchange, status: number, body: string, closeConnection = false, retryAfter = 0): void {
    ex.status = status;
    const client = ex.client;
    if (client.open) {
      client.cork(() => {
        client.writeStatus(statusLine(status));
        client.writeHeader('X-Guard-Request-Id', ex.id);
        client.writeHeader('Content-Type', 'text/plain; charset=utf-8');
        if (retryAfter > 0) client.writeHeader('Retry-After', String(retryAfter));
        client.end(body, closeConnection);
      });
    }
    this.finish(ex);
  }

  /** Answer with the block status, logged with the decision (or the plugin that blocked). */
  blockAnswer(ex: Exchange, stage: Stage, plugin?: { name: string; reason: string }): void {
    ex.blocked = stage;
    ex.blockedBy = plugin?.name;
    const where = { requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage };
    this.log.warn?.(
      plugin
        ? { ...where, plugin: plugin.name, reason: plugin.reason }
        : { ...where, decision: ex.session?.decisionString(), tree: ex.session?.decisionTree() },
      'blocked',
    );
    this.answer(ex, this.blockStatus, `blocked by guard (request id ${ex.id})\n`);
  }

  /**
   * A failure of the gate itself in the middle of an exchange: logged, the exchange ended (500, or a
   * started response cut short — the client never sees it complete), the upstream aborted.
   */
  fail(ex: Exchange, err: unknown): void {
    this.log.error?.({ requestId: ex.id, err: String(err) }, 'exchange failed');
    if (!ex.finished) {
      if (ex.client.started) {
        ex.client.close();
        this.finish(ex);
      } else this.answer(ex, 500, 'guard-gate: internal error\n', true);
    }
    ex.upstream?.abort('gate error');
    ex.stream?.destroy();
  }

  /**
   * The core failed (GUARD_CORE_FAULT) on this exchange: it could not be evaluated. Its session is
   * gone with the failed instance (not reported to onSession). The gate decides block or pass (and
   * raises the alert), once per exchange. Returns true when the exchange may go on (pass); on block
   * it has been answered with the block status (stage 'exchange': already answered, nothing to do).
   */
  notEvaluated(ex: Exchange, stage: CoreFault['stage'], err: unknown): boolean {
    ex.profiled = false;
    if (ex.unevaluated === null) {
      let action: 'block' | 'pass' = 'block';
      try {
        const cause = isCoreFault(err) ? 'core' : 'gate';
        action = this.hooks.onCoreFault?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, cause, error: String(err) }) ?? 'block';
      } catch (cbErr) {
        this.log.error?.({ requestId: ex.id, err: String(cbErr) }, 'onCoreFault failed');
      }
      ex.unevaluated = action;
    }
    if (ex.unevaluated === 'pass' || stage === 'exchange') return !ex.finished;
    if (ex.finished) return false;
    ex.blocked = stage;
    this.log.warn?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage, reason: `${isCoreFault(err) ? 'core fault' : 'gate error'}: could not be evaluated` }, 'blocked');
    this.answer(ex, this.blockStatus, `blocked by guard: could not be evaluated (request id ${ex.id})\n`);
    return false;
  }

  /**
   * Profile and decide the request (with its body, or the fault that stands for it). False when the
   * exchange was answered: blocked, refused as malformed, or not evaluated under block.
   */
  decideRequest(ex: Exchange, body: Uint8Array | undefined, bodyFault: string | undefined): boolean {
    const t0 = performance.now();
    try {
      // A session of an instance that failed since the request arrived: take one of the new one.
      if (ex.session && this.sessions.stale(ex.session)) ex.session = this.sessions.get();
      const s = ex.session!;
      s.profileRequest({ method: ex.method, path: ex.path, query: ex.query, headers: ex.headers, remote: ex.remote, body, bodyFault });
      ex.profiled = true;
      const g = this.hooks.getGuardian();
      if (s.decide(g, Section.Req | Section.ReqBody) !== 0 && g.blocks) {
        this.blockAnswer(ex, 'request');
        return false;
      }
      if (this.hooks.podBlocks?.()) {
        ex.blocked = 'request';
        this.stats.podBlocked++;
        this.log.warn?.({ requestId: ex.id, method: ex.method, path: ex.path, remote: ex.remote, stage: 'pod' }, 'blocked: the pod is compromised');
        this.answer(ex, this.blockStatus, `blocked by guard: this pod is compromised until it restarts (request id ${ex.id})\n`);
        return false;
      }
      return true;
    } catch (err) {
      if (isCoreFault(err)) return this.notEvaluated(ex, 'request', err);
      // Input the core refuses as malformed is refused here too: never forwarded undecided.
      if (err instanceof CoreError && err.code === 'GUARD_INVALID_REQUEST') {
        this.log.warn?.({ requestId: ex.id, err: err.message, field: err.field }, 'malformed request refused');
        if (!ex.finished) this.answer(ex, 400, err.field === 'host' ? 'guard-gate: malformed or repeated Host\n' : 'guard-gate: malformed request\n', true);
        return false;
      }
      // Any other failure of the gate's code: not evaluated either (blocked under block, alerted
      // otherwise), never a silent pass.
      this.log.error?.({ requestId: ex.id, err: String(err) }, 'request profiling failed');
      return this.notEvaluated(ex, 'request', err);
    } finally {
      ex.coreMs += performance.now() - t0;
    }
  }

  /**
   * Profile and decide the response: 'block' when the Guardian blocks it (the caller answers),
   * 'answered' when a core fault withheld it (already answered with the block status), 'pass'
   * otherwise — a core fault in alert mode, or a failure of the host code, passes (logged, alerted).
   */
  decideResponse(ex: Exchange, resp: Parameters<Session['profileResponse']>[0]): 'pass' | 'block' | 'answered' {
    const s = ex.session!;
    const t0 = performance.now();
    try {
      s.profileResponse(resp);
      ex.complete = true;
      const g = this.hooks.getGuardian();
      return s.decide(g, Section.Resp | Section.RespBody) !== 0 && g.blocks ? 'block' : 'pass';
    } catch (err) {
      if (!isCoreFault(err)) this.log.error?.({ requestId: ex.id, err: String(err) }, 'response profiling failed');
      return this.notEvaluated(ex, 'response', err) ? 'pass' : 'answered';
    } finally {
      ex.coreMs += performance.now() - t0;
    }
  }

  /** What the plugins see of the request (made once per exchange). */
  pluginContext(ex: Exchange): RequestContext {
    return (ex.pluginCtx ??= Object.freeze({ requestId: ex.id, method: ex.method, path: ex.path, query: ex.query, headers: headerRecord(ex.headers), clientAddress: ex.remote }));
  }

  /**
   * Fold a plugin stage's verdict into the exchange: a block is answered (false); otherwise its tags
   * are kept and the headers it adds appended to `headers` (names lower-cased), and true.
   */
  applyVerdict(ex: Exchange, v: ChainVerdict, stage: 'request' | 'response', headers: ResponseHeaderLine[]): boolean {
    if (ex.finished) return false;
    if (v.action === 'block') {
      this.blockAnswer(ex, stage, { name: v.blockedBy ?? 'plugin', reason: v.reason ?? '' });
      return false;
    }
    for (const t of v.tags) ex.tags.push(t);
    for (const [k, val] of v.addHeaders) headers.push([k.toLowerCase(), val]);
    return true;
  }

  /**
   * The request stage of the plugins (after the guard allowed the request), then `go` when they
   * allow it. Synchronous plugins answer synchronously; an asynchronous chain resumes later (or
   * never, when it blocks or the client went away meanwhile: then `onBlock`).
   */
  approveRequest(ex: Exchange, go: () => void, onBlock?: () => void): void {
    const plugins = this.plugins;
    if (!plugins) return go();
    let v: ChainVerdict | Promise<ChainVerdict>;
    try {
      v = plugins.approveRequest(this.pluginContext(ex));
    } catch (err) {
      // The registry contains plugin failures; this is a bug in it: fail closed.
      v = failedChain(err);
    }
    const settle = (r: ChainVerdict): void => {
      if (this.applyVerdict(ex, r, 'request', ex.headers)) go();
      else onBlock?.();
    };
    if (v instanceof Promise) v.then(settle, (err: unknown) => settle(failedChain(err))).catch((err: unknown) => this.fail(ex, err));
    else settle(v);
  }

  /** The response stage of the plugins: the verdict, or a block when the chain itself failed. */
  responseChain(ex: Exchange, status: number, headers: readonly ResponseHeaderLine[]): ChainVerdict | Promise<ChainVerdict> {
    try {
      return this.plugins!.approveResponse({ request: this.pluginContext(ex), status, headers: headerRecord(headers) });
    } catch (err) {
      return failedChain(err);
    }
  }
}
