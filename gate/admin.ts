// guard-gate's admin listener on its own port (GUARD_ADMIN_PORT): /healthz (the process is up),
// /readyz (ready only once a Guardian is in force) and /metrics (Prometheus). GateMetrics is
// created once and handed to the request path, the sync client and the pod monitor, which update
// it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { listenServer } from './node-listener.js';
import type { GateStats } from './proxy.js';
import type { Readiness } from '../core/index.js';

/**
 * A label-less histogram for per-request timings. prom-client's Histogram hashes its (empty) label
 * set and looks up its bucket map on every observe, a few µs per request on the gate's hot path;
 * this one is a bounded loop over a Float64Array, and the registry reads it only when scraped.
 * Same exposition as prom-client's: cumulative `_bucket{le}`, `+Inf`, `_sum`, `_count`.
 */
export class RequestHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(config: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.bounds = Float64Array.from([...config.buckets].sort((a, b) => a - b));
    this.counts = new Float64Array(this.bounds.length + 1);
    for (const r of config.registers) r.registerMetric(this as unknown as Histogram);
  }

  observe(value: number): void {
    if (!(value >= 0) && !(value < 0)) return; // NaN
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const bucket = `${this.name}_bucket`;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i]!;
      values.push({ labels: { le: this.bounds[i]! }, value: acc, metricName: bucket });
    }
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucket });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

const FAST = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
const SLOW = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class GateMetrics {
  readonly registry = new Registry();
  /** Requests received on the proxy listener. */
  readonly requests: Counter;
  /** Counts of the request path, flushed into `requests` and `decisions` when they are read. */
  private readonly tally = { requests: 0, allow: 0, alert: 0, block: 0, refused: 0, aborted: 0 };

  /**
   * One exchange ended: counted in guard_gate_requests_total, and in decisions_total{outcome} when
   * the guard decided it, or in undecided_total{reason} when it ended before a decision.
   */
  countExchange(outcome: 'allow' | 'alert' | 'block' | 'refused' | 'aborted'): void {
    this.tally.requests++;
    this.tally[outcome]++;
  }

  /** Requests that ended before a decision: refused by the gate (framing, size, shutdown), or the client gone. */
  readonly undecided: Counter<'reason'>;

  /** Decisions of the guard, by outcome. */
  readonly decisions: Counter<'outcome'>;
  /** Alerts reported, by level (Session, Gate). */
  readonly alerts: Counter<'level'>;
  /** Distinct alerts not held for guard-service because 1000 were held already. */
  readonly alertsDropped: Counter;
  /** Blocked exchanges, by stage (request, response, pod). */
  readonly blocks: Counter<'stage'>;
  readonly syncs: Counter<'result'>;
  readonly syncSeconds: Histogram;
  /** Samples held in the pile, not yet synced. */
  readonly pileSize: Gauge;
  /** Time spent in the core (profiling and deciding) per request. */
  readonly coreSeconds: RequestHistogram;
  /** Time to the protected service's response headers. */
  readonly upstreamSeconds: RequestHistogram;
  /** Plugin failures (throw, timeout, invalid verdict), by plugin and kind. */
  readonly pluginFailures: Counter<'plugin' | 'kind'>;
  /** 1 while the pod is reported compromised. */
  readonly podCompromised: Gauge;
  /** Exchanges cancelled in flight: over the learned service time under block. */
  readonly cancelledInFlight: Counter;
  /** Requests that alerted because the pod is compromised (its Guardian does not block). */
  readonly podAlertedRequests: Counter;
  /** WebSocket upgrades completed (the service accepted, the client was upgraded). */
  readonly websocketUpgrades: Counter;
  /** WebSocket messages relayed, by direction (to_service, to_client). */
  readonly websocketMessages: Counter<'direction'>;
  /** Fresh core instances put in place after a core fault (trap). */
  readonly coreRestarts: Counter;
  /** Exchanges the core could not evaluate (a fault), by stage and the action taken. */
  readonly coreUnevaluated: Counter<'stage' | 'action'>;
  /** 1 once the core kept failing and the gate failed closed (every request refused). */
  readonly coreFailedClosed: Gauge;

  /** Exchanges in flight (a figure that only grows means exchanges that never end). */
  readonly inFlight: Gauge;

  private pileSource: (() => number) | null = null;
  private inFlightSource: (() => number) | null = null;
  private readinessSource: (() => Readiness | null | undefined) | null = null;
  private statsSource: (() => GateStats) | null = null;
  /** Requests refused by a limit of the gate, by reason. */
  readonly refusals: Counter<'reason'>;
  /** Query pieces dropped (never profiled, never forwarded). */
  readonly queryPiecesDropped: Counter;
  /** Request bodies over GUARD_MAX_BODY (decided with the fault TooLargeBody). */
  readonly oversizeBodies: Counter;
  /** Bytes held by buffered bodies. */
  readonly bodyBytesHeld: Gauge;
  /** Responses without a declared length relayed as streams, decided on their head. */
  readonly streamedResponses: Counter;
  /** The service's 1xx responses the listener could not relay. */
  readonly informationalDropped: Counter;

  /** The pile size gauge reads `samples` whenever the metrics are scraped. */
  watchPile(samples: () => number): void {
    this.pileSource = samples;
  }

  /** The limits' counters read `stats` whenever the metrics are scraped. */
  watchProxy(stats: () => GateStats): void {
    this.statsSource = stats;
  }

  /** The readiness gauges read the Guardian in force whenever the metrics are scraped. */
  watchReadiness(readiness: () => Readiness | null | undefined): void {
    this.readinessSource = readiness;
  }

  /** The in-flight gauge reads `exchanges` whenever the metrics are scraped. */
  watchInFlight(exchanges: () => number): void {
    this.inFlightSource = exchanges;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // The per-request counts are plain numbers (countExchange), added to the counters when they are
    // read: a prom-client inc() per request costs more than the rest of the bookkeeping together.
    const tally = this.tally;
    const flushed = { requests: 0, allow: 0, alert: 0, block: 0, refused: 0, aborted: 0 };
    this.requests = new Counter({
      name: 'guard_gate_requests_total',
      help: 'Requests received by the gate',
      registers,
      collect(this: Counter) {
        if (tally.requests > flushed.requests) this.inc(tally.requests - flushed.requests);
        flushed.requests = tally.requests;
      },
    });
    this.decisions = new Counter({
      name: 'guard_gate_decisions_total',
      help: 'Guard decisions, by outcome',
      labelNames: ['outcome'],
      registers,
      collect(this: Counter<'outcome'>) {
        for (const outcome of ['allow', 'alert', 'block'] as const) {
          if (tally[outcome] > flushed[outcome]) this.inc({ outcome }, tally[outcome] - flushed[outcome]);
          flushed[outcome] = tally[outcome];
        }
      },
    });
    this.undecided = new Counter({
      name: 'guard_gate_undecided_total',
      help: 'Requests that ended before a guard decision, by reason (refused: answered by the gate; client_gone)',
      labelNames: ['reason'],
      registers,
      collect(this: Counter<'reason'>) {
        for (const [outcome, reason] of [['refused', 'refused'], ['aborted', 'client_gone']] as const) {
          if (tally[outcome] > flushed[outcome]) this.inc({ reason }, tally[outcome] - flushed[outcome]);
          flushed[outcome] = tally[outcome];
        }
      },
    });
    this.alerts = new Counter({ name: 'guard_gate_alerts_total', help: 'Security alerts, by level', labelNames: ['level'], registers });
    this.alertsDropped = new Counter({ name: 'guard_gate_alerts_dropped_total', help: 'Distinct alerts not sent to guard-service: the sync client held its limit already, or guard-service refused the sync that carried them (still logged)', registers });
    this.blocks = new Counter({ name: 'guard_gate_blocks_total', help: 'Blocked exchanges, by stage', labelNames: ['stage'], registers });
    this.syncs = new Counter({ name: 'guard_gate_syncs_total', help: 'Syncs with guard-service, by result', labelNames: ['result'], registers });
    this.syncSeconds = new Histogram({ name: 'guard_gate_sync_duration_seconds', help: 'Duration of a sync with guard-service', buckets: SLOW, registers });
    // Read from the pile when scraped (watchPile), not set on every exchange.
    const self = this;
    this.pileSize = new Gauge({
      name: 'guard_gate_pile_samples',
      help: 'Samples held in the pile, not yet synced',
      registers,
      collect(this: Gauge) {
        if (self.pileSource) this.set(self.pileSource());
      },
    });
    // The proxy's own counts, turned into counter increments when scraped.
    const seen = { repeated: 0, inFlight: 0, budget: 0, malformed: 0, tooLarge: 0, connections: 0, dropped: 0, oversize: 0, streamed: 0, informational: 0 };
    const grow = (counter: Counter<string>, key: keyof typeof seen, now: number, labels?: Record<string, string>): void => {
      if (now > seen[key]) {
        if (labels) counter.inc(labels, now - seen[key]);
        else counter.inc(now - seen[key]);
      }
      seen[key] = now;
    };
    this.refusals = new Counter({
      name: 'guard_gate_refusals_total',
      help: 'Requests refused by a limit of the gate, by reason (repeated_header 400, too_many_in_flight 503, body_budget 503, body_too_large 413 under GUARD_OVERSIZE=refuse, malformed 400/408/431 on the node listener, too_many_connections: a connection closed unanswered over GUARD_MAX_CONNECTIONS on the node listener)',
      labelNames: ['reason'],
      registers,
      collect(this: Counter<'reason'>) {
        const s = self.statsSource?.();
        if (!s) return;
        grow(this, 'repeated', s.repeatedFieldRefusals, { reason: 'repeated_header' });
        grow(this, 'inFlight', s.inFlightRefusals, { reason: 'too_many_in_flight' });
        grow(this, 'budget', s.bodyBudgetRefusals, { reason: 'body_budget' });
        grow(this, 'malformed', s.malformedRefusals, { reason: 'malformed' });
        grow(this, 'tooLarge', s.oversizeRefusals, { reason: 'body_too_large' });
        grow(this, 'connections', s.connectionsDropped, { reason: 'too_many_connections' });
      },
    });
    this.queryPiecesDropped = new Counter({
      name: 'guard_gate_query_pieces_dropped_total',
      help: 'Query pieces with a ";" or an invalid escape, dropped: never profiled, never forwarded',
      registers,
      collect(this: Counter) {
        const s = self.statsSource?.();
        if (s) grow(this, 'dropped', s.queryPiecesDropped);
      },
    });
    this.oversizeBodies = new Counter({
      name: 'guard_gate_oversize_bodies_total',
      help: 'Request bodies over GUARD_MAX_BODY, decided with the fault TooLargeBody',
      registers,
      collect(this: Counter) {
        const s = self.statsSource?.();
        if (s) grow(this, 'oversize', s.oversizeBodies);
      },
    });
    this.streamedResponses = new Counter({
      name: 'guard_gate_responses_streamed_total',
      help: 'Responses without a declared length still arriving after GUARD_RESPONSE_HOLD_MS (or server-sent events): decided on their head, body not profiled',
      registers,
      collect(this: Counter) {
        const s = self.statsSource?.();
        if (s) grow(this, 'streamed', s.streamedResponses);
      },
    });
    this.informationalDropped = new Counter({
      name: 'guard_gate_informational_dropped_total',
      help: "The service's 1xx responses (103 Early Hints, 102 Processing) the listener could not relay (uws listener; HTTP/1.0 clients)",
      registers,
      collect(this: Counter) {
        const s = self.statsSource?.();
        if (s) grow(this, 'informational', s.informationalDropped);
      },
    });
    this.bodyBytesHeld = new Gauge({
      name: 'guard_gate_body_bytes_held',
      help: 'Bytes held by bodies buffered for analysis',
      registers,
      collect(this: Gauge) {
        const s = self.statsSource?.();
        if (s) this.set(s.bodyBytesHeld);
      },
    });
    this.inFlight = new Gauge({
      name: 'guard_gate_in_flight',
      help: 'Exchanges in flight',
      registers,
      collect(this: Gauge) {
        if (self.inFlightSource) this.set(self.inFlightSource());
      },
    });
    this.coreSeconds = new RequestHistogram({ name: 'guard_gate_core_duration_seconds', help: 'Time in the core (profile and decide) per request', buckets: FAST, registers });
    this.upstreamSeconds = new RequestHistogram({ name: 'guard_gate_upstream_duration_seconds', help: 'Time to the protected service\'s response headers', buckets: SLOW, registers });
    this.pluginFailures = new Counter({ name: 'guard_gate_plugin_failures_total', help: 'Plugin calls that failed: threw (kind throw), gave no verdict in time (timeout) or not a verdict (invalid)', labelNames: ['plugin', 'kind'], registers });
    this.podCompromised = new Gauge({ name: 'guard_gate_pod_compromised', help: '1 while the pod is reported compromised', registers });
    this.cancelledInFlight = new Counter({ name: 'guard_gate_cancelled_in_flight_total', help: 'Exchanges cancelled in flight because they ran over the learned service time (block)', registers });
    this.podAlertedRequests = new Counter({ name: 'guard_gate_pod_alerted_requests_total', help: 'Requests that alerted because the pod is compromised and its Guardian only alerts', registers });
    const statsOf = () => self.statsSource?.();
    new Counter({
      name: 'guard_gate_pod_blocks_total',
      help: 'Requests refused because the pod is compromised (until it restarts)',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(statsOf()?.podBlocked ?? 0);
      },
    });
    this.websocketUpgrades = new Counter({ name: 'guard_gate_websocket_upgrades_total', help: 'WebSocket upgrades passed through to the service', registers });
    this.websocketMessages = new Counter({ name: 'guard_gate_websocket_messages_total', help: 'WebSocket messages relayed, by direction', labelNames: ['direction'], registers });
    this.coreRestarts = new Counter({ name: 'guard_gate_core_restarts_total', help: 'Core instances replaced after a core fault (trap)', registers });
    this.coreUnevaluated = new Counter({ name: 'guard_gate_core_unevaluated_total', help: 'Exchanges the core could not evaluate (core fault), by stage and action', labelNames: ['stage', 'action'], registers });
    // Readiness of the learned rules in force (docs/tokens.md): -1 when they do not track it.
    const readinessGauge = (name: string, help: string, read: (r: Readiness) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect(this: Gauge) {
          if (!self.readinessSource) return;
          let r: Readiness | null | undefined;
          try {
            r = self.readinessSource();
          } catch {
            // A core that failed cannot be asked; the gauge keeps its last value.
            return;
          }
          if (r !== undefined) this.set(r === null ? -1 : read(r));
        },
      });
    readinessGauge('guard_gate_guardian_ready', '1 when the learned rules in force are ready (auto blocks only then), 0 before, -1 when not tracked', (r) => (r.ready ? 1 : 0));
    readinessGauge('guard_gate_guardian_stable_samples', 'Samples learned since the learned rules in force last widened (-1: not tracked)', (r) => r.stable);
    this.coreFailedClosed = new Gauge({ name: 'guard_gate_core_failed_closed', help: '1 once the core kept failing and the gate refuses every request', registers });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'guard_gate_' });
  }
}

export interface AdminServerOptions {
  metrics: GateMetrics;
  /** True once a Guardian is in force (and the gate did not fail closed). */
  ready: () => boolean;
  /** Why the gate is not ready although it was (it failed closed), for the /readyz body. */
  notReadyReason?: () => string | null;
  /** What a ready gate still lacks (guard-service unreachable), added to the /readyz body. */
  readyNote?: () => string | null;
  port: number;
  host?: string;
}

export interface AdminServer {
  readonly server: Server;
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Start the admin listener; resolves once listening, rejects with GUARD_LISTEN_FAILED otherwise. */
export async function startAdmin(options: AdminServerOptions): Promise<AdminServer> {
  const { metrics, ready } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const text = (status: number, body: string) =>
      void res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    switch (path) {
      case '/healthz':
        text(200, 'ok\n');
        return;
      case '/readyz': {
        let isReady = false;
        try {
          isReady = ready();
        } catch {
          isReady = false;
        }
        let reason: string | null = null;
        try {
          reason = isReady ? null : options.notReadyReason?.() ?? null;
        } catch {
          reason = null;
        }
        let note: string | null = null;
        try {
          note = isReady ? (options.readyNote?.() ?? null) : null;
        } catch {
          note = null;
        }
        text(isReady ? 200 : 503, isReady ? (note ? `ready\n${note}\n` : 'ready\n') : reason ? `not ready: ${reason}\n` : 'no Guardian in force yet\n');
        return;
      }
      case '/metrics':
        metrics.registry.metrics().then(
          (body) => void res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
          () => text(500, 'metrics unavailable\n'),
        );
        return;
      default:
        text(404, 'not found\n');
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await listenServer(server, options.port, options.host ?? '0.0.0.0');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
