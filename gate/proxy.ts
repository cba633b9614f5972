// guard-gate's proxy assembled: the listener (uWebSockets.js, or Node's HTTP parser), the undici
// pool to the protected service, and the stages of an exchange — request path (request-path.ts), response path
// (response-path.ts), WebSocket upgrades (upgrade.ts) — around one Exchanges context (exchanges.ts).
// A blocked request never reaches the service; a blocked response never reaches the client.
// docs/architecture.md follows a request through these files.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Core, Guardian, HeaderLine, Session } from '../core/index.js';
import { BodyBudget } from './body-buffer.js';
import type { ClientResponse, UwsClientResponse } from './client-response.js';
import { Exchange, type CoreFault, type ExchangeOutcome, type Stage, type Verdict } from './exchange.js';
import { silentLogger, type Logger } from '../log/index.js';
import { Exchanges, type ProxyStats } from './exchanges.js';
import { hasActivePlugins, type PluginRegistry } from './plugins.js';
import { RequestPath } from './request-path.js';
import { SHUTTING_DOWN } from './response-path.js';
import { canonicalPath, canonicalQuery, type QueryForm } from './request-target.js';
import { UpgradePath } from './upgrade.js';
import { UpstreamProgress } from './upstream-progress.js';
import type { Listening } from './listener.js';
import { headerLines, listenNode, peerOf } from './node-listener.js';
import { NodeUpgradePath, SocketClientResponse } from './node-upgrade.js';
import type { CompleteUpgrade } from './uws.js';
import { listenUws } from './uws-listener.js';
import { WebSocketRelays, type RelayData, type WebSocketEvent } from './websocket.js';

export type { CoreFault, ExchangeOutcome, Stage, Verdict };

export interface GateStats extends ProxyStats {
  /** Request bodies refused (503) because the gate held its most body bytes. */
  bodyBudgetRefusals: number;
  /** Bytes held by buffered bodies now. */
  bodyBytesHeld: number;
}
export { canonicalPath };

export interface ProxyOptions {
  port: number;
  host?: string;
  /** uws (default): uWebSockets.js; node: Node's HTTP parser (HTTP/1.0, every method, larger heads). */
  listener?: 'uws' | 'node';
  /** The node listener's limits: request head bytes (default 16 KiB), idle keep-alive, connections. */
  maxHeaderSize?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
  /** Time for a client to send a request head (node listener; default 60 s). */
  clientHeadersTimeoutMs?: number;
  /** The protected service origin, e.g. http://127.0.0.1:8080 */
  upstream: string;
  getGuardian: () => Guardian;
  core: Core;
  /** Body analysis limit in bytes (request and response); default 1 MiB. */
  maxBody?: number;
  analyzeBody?: boolean;
  /** Status of block answers (default 403). */
  blockStatus?: number;
  /**
   * A request body over maxBody: 'decide' (default) profiles the fault TooLargeBody and decides it
   * as the Guardian says — blocked (403) when it blocks that, streamed uninspected otherwise (an
   * alert when out of pattern) — or 'refuse': 413, whatever the Guardian.
   */
  oversize?: 'decide' | 'refuse';
  /** Exchanges in flight at once (default 4096); beyond, 503 with Retry-After. */
  maxInFlight?: number;
  /** Bytes all buffered bodies may hold together (default 64 MiB); beyond, 503 with Retry-After. */
  bodyBudget?: number;
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
   * Plugins consulted after the guard's own decision (gate/plugins.ts): approveRequest before the
   * request is forwarded, approveResponse before the response is sent. Default: none.
   */
  plugins?: PluginRegistry;
  /** WebSocket upgrades completed and messages relayed (for metrics). */
  onWebSocket?: (event: WebSocketEvent) => void;
  log?: Logger;
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
  /** The pod is compromised and requests are refused until it restarts (ExchangeHooks.podBlocks). */
  podBlocks?: () => boolean;
  /** Seconds between in-flight checks against the learned service time; 0 = none (default 1). */
  inFlightTickSeconds?: number;
  /** Exchanges cancelled by an in-flight check. */
  onCancelledInFlight?: (n: number) => void;
  /** Start on the uWS JavaScript fallback (slow); default false = refuse. */
  allowFallback?: boolean;
  /** Connections to the service at most (default: maxInFlight). */
  connections?: number;
  /** Largest response head read from the service (default 64 KiB); beyond, 502 with the reason. */
  maxResponseHeadSize?: number;
  /** How long an analysable response without a declared length is held before it is streamed (default 100 ms). */
  responseHoldMs?: number;
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
  /** What the gate refused or left out so far, and the body bytes it holds now (read when scraped). */
  stats(): GateStats;
  /**
   * Requests wait for the service and it answered none of them (nor any other) for longer than the
   * upstream headers timeout — failures and timeouts are no answer: the pool is wedged (a reason
   * for /readyz), else null. Ready again once the service answers, or nothing waits.
   */
  upstreamStalled(): string | null;
  /** Stop listening, wait up to drainMs for in-flight exchanges, then close everything. */
  close(drainMs?: number): Promise<void>;
  /**
   * After a core fault: new exchanges use sessions of `core`; pooled sessions of the old instance are
   * dropped, and exchanges in flight on it are treated as not evaluated (onCoreFault).
   */
  replaceCore(core: Core): void;
}

const MiB = 1024 * 1024;
const queryForm: QueryForm = { query: '', dropped: 0 };

export async function startProxy(opts: ProxyOptions): Promise<ProxyHandle> {
  const maxBody = opts.maxBody ?? MiB;
  const blockStatus = opts.blockStatus ?? 403;
  const log = opts.log ?? silentLogger;
  if (!Number.isInteger(maxBody) || maxBody < 0) throw new Error(`invalid maxBody: ${maxBody}`);
  if (!Number.isInteger(blockStatus) || blockStatus < 200 || blockStatus > 599) throw new Error(`invalid blockStatus: ${blockStatus}`);
  const upstream = new URL(opts.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error(`invalid upstream: ${opts.upstream}`);

  const pool = new Pool(upstream.origin, {
    // An exchange in flight may hold a connection for as long as it streams (server-sent events):
    // as many as the exchanges let in, so that long streams never starve short requests.
    connections: opts.connections ?? opts.maxInFlight ?? 4096,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: opts.headersTimeoutMs ?? 30_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 30_000,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    maxHeaderSize: opts.maxResponseHeadSize ?? 64 * 1024,
  });
  // The guard's own listing entry does nothing: with only it, the chain is skipped entirely.
  const plugins = hasActivePlugins(opts.plugins) ? opts.plugins! : null;
  const exchanges = new Exchanges(
    opts.core,
    { getGuardian: opts.getGuardian, onSession: opts.onSession, onEnd: opts.onEnd, onCoreFault: opts.onCoreFault, podBlocks: opts.podBlocks, log },
    blockStatus,
    plugins,
    opts.failClosed,
  );
  // The in-flight check runs off the request path, on its own timer (unref'd).
  const tickMs = (opts.inFlightTickSeconds ?? 1) * 1000;
  const inFlightTimer =
    tickMs > 0
      ? setInterval(() => {
          try {
            const n = exchanges.checkInFlight(performance.now());
            if (n > 0) opts.onCancelledInFlight?.(n);
          } catch (err) {
            log.error?.({ err: String(err) }, 'in-flight check failed');
          }
        }, tickMs).unref()
      : null;
  const limits = {
    maxBody,
    analyzeBody: opts.analyzeBody ?? true,
    oversize: opts.oversize ?? 'decide',
    maxInFlight: opts.maxInFlight ?? 4096,
    budget: new BodyBudget(opts.bodyBudget ?? 64 * MiB),
    maxResponseHead: opts.maxResponseHeadSize ?? 64 * 1024,
    holdMs: opts.responseHoldMs ?? 100,
    // No answer from the service for longer than a response head may take while requests wait: wedged.
    progress: new UpstreamProgress(opts.headersTimeoutMs ?? 30_000),
  } as const;
  const requests = new RequestPath(exchanges, pool, limits);
  const upgrades = new UpgradePath(exchanges, {
    upstream,
    maxMessage: maxBody,
    connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
    handshakeTimeoutMs: opts.headersTimeoutMs ?? 30_000,
  });
  const relays = new WebSocketRelays({ maxMessage: maxBody, onEvent: opts.onWebSocket, log });
  const nodeUpgrades = new NodeUpgradePath(exchanges, {
    upstream,
    connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
    handshakeTimeoutMs: opts.headersTimeoutMs ?? 30_000,
    onUpgraded: () => opts.onWebSocket?.('upgrade'),
  });

  /** The exchange of a request head, as any listener delivers it. */
  function exchangeOf(client: ClientResponse, method: string, rawPath: string, rawQuery: string, headers: HeaderLine[], remote: string): Exchange {
    exchanges.received++;
    const canonical = canonicalPath(rawPath);
    const query = canonicalQuery(rawQuery, queryForm);
    if (query.dropped > 0) exchanges.stats.queryPiecesDropped += query.dropped;
    return new Exchange(exchanges, client, method, canonical ?? rawPath, rawPath, canonical !== null, query.query, headers, remote, performance.now());
  }

  const gateway = {
    request(client: ClientResponse, method: string, rawPath: string, rawQuery: string, headers: HeaderLine[], remote: string): void {
      const ex = exchangeOf(client, method, rawPath, rawQuery, headers, remote);
      try {
        requests.handle(ex);
      } catch (err) {
        exchanges.fail(ex, err);
      }
    },
  };
  const host = opts.host ?? '0.0.0.0';
  const listening: Listening =
    opts.listener === 'node'
      ? await listenNode(gateway, {
          port: opts.port,
          host,
          maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
          headersTimeoutMs: opts.clientHeadersTimeoutMs ?? 60_000,
          requestTimeoutMs: 0,
          keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 10_000,
          maxConnections: opts.maxConnections ?? 10_000,
          log,
          onMalformed: () => {
            exchanges.stats.malformedRefusals++;
          },
          onDropped: () => {
            exchanges.stats.connectionsDropped++;
          },
          onUpgrade: (req, socket, head) => {
            const url = req.url ?? '';
            const q = url.indexOf('?');
            const client = new SocketClientResponse(socket);
            const ex = exchangeOf(client, req.method ?? '', q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1), headerLines(req), peerOf(req.socket));
            try {
              nodeUpgrades.handle(ex, client, head);
            } catch (err) {
              exchanges.fail(ex, err);
            }
          },
        })
      : await listenUws(gateway, {
          port: opts.port,
          host,
          allowFallback: opts.allowFallback,
          warn: (m) => log.warn?.({}, m),
          relays,
          upgrade(client: UwsClientResponse, method, rawPath, rawQuery, headers, remote, key: string, protocols: string, complete: CompleteUpgrade<RelayData>): void {
            const ex = exchangeOf(client, method, rawPath, rawQuery, headers, remote);
            try {
              upgrades.handle(ex, client, key, protocols, complete);
            } catch (err) {
              exchanges.fail(ex, err);
            }
          },
        });

  return {
    port: listening.port,
    get inFlight() {
      return exchanges.size;
    },
    get received() {
      return exchanges.received;
    },
    idle: (timeoutMs) => exchanges.idle(timeoutMs),
    stats: () => ({ ...exchanges.stats, bodyBudgetRefusals: limits.budget.refusals, bodyBytesHeld: limits.budget.held }),
    upstreamStalled: () => limits.progress.stalled(),
    async close(drainMs = 5_000): Promise<void> {
      if (exchanges.closing) return;
      exchanges.closing = true;
      if (inFlightTimer) clearInterval(inFlightTimer);
      listening.stopListening();
      await exchanges.idle(drainMs);
      exchanges.each((ex) => ex.upstream?.abort(SHUTTING_DOWN));
      relays.closeAll();
      nodeUpgrades.closeAll();
      listening.close();
      await pool.close().catch(() => pool.destroy());
      exchanges.dispose();
    },
    replaceCore(next: Core): void {
      exchanges.replaceCore(next);
    },
  };
}
