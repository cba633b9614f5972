// Sync with guard-service: POST /sync with {pile, alerts, compromised}, the original's wire format.
//
// Policy, evaluated whenever the pile or the alerts change and on a timer:
//   * ≥ 1000 samples or ≥ 1000 alerts held                              → sync now;
//   * the interval (+ this instance's jitter) has passed since the last successful sync, and the
//     pile holds ≥ 10 % of the samples learned so far (and is not empty), or any alert is held → sync;
//   * 5 intervals (+ jitter) have passed since the last successful sync                     → sync;
//   * never sooner than 5 s after the previous attempt; one sync at a time; after a failure the
//     next attempt waits an exponential back-off (capped) — the thresholds do not bypass it.
// A sync sends a unit: the pile and alerts are moved aside under a sync id
// (`X-Guard-Sync-Id: <instance>:<sequence>`), new ones collect meanwhile. After a 200 with a JSON
// answer the unit is dropped; a unit guard-service refused as such (400, 413) is dropped too
// (logged); any other outcome may have been learned all the same, so the unit is kept aside and
// sent again alone, under the same id, before anything newer — guard-service learns an id once.
// At most one unit waits so (alerts bounded by count, piles by the core's caps). Everything is
// asynchronous and never runs on a request path.
// The pile lives in the core: after a core fault replaceCore() starts an empty one in the new
// instance (the samples of the old one are lost; the alerts, held here, are not).
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { Core, Pile, Session } from '../core/index.js';
import { systemClock, type Clock, type Timer } from '../clock/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { SYNC_ID_HEADER } from '../store/index.js';
import type { AlertLevel } from './alerts.js';
import { ConfigError } from './config.js';
import type { GuardianSource } from './guardian-source.js';

export const PILE_LIMIT = 1000;
export const ALERTS_LIMIT = 1000;
export const MIN_TIME_BETWEEN_SYNCS_MS = 5000;
export const SKIP_INTERVALS = 5;
export const DEFAULT_SYNC_INTERVAL_MS = 60_000;
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/tokens/guard-service';

/** One alert as guard-service receives it: held here, de-duplicated, until a sync delivers it. */
export interface SyncAlert {
  decision: unknown;
  /** Unix seconds of the first occurrence. */
  time: number;
  level: AlertLevel;
  count: number;
}

export type SyncOutcome = 'ok' | 'transport' | 'status' | 'invalid' | 'skipped' | 'fault';

export interface SyncResult {
  outcome: SyncOutcome;
  /** Samples and alerts delivered (on 'ok'). */
  samples: number;
  alerts: number;
  status?: number;
  error?: string;
  /** guard-service's Retry-After on a refusal (429, 503), in ms: the back-off is at least this. */
  retryAfterMs?: number;
  ms: number;
}

export interface SyncClientOptions {
  core: Core;
  source: GuardianSource;
  /** GUARD_SERVICE_URL; without it no POST is made and the Guardian comes from the fallbacks. */
  url?: string;
  namespace: string;
  service: string;
  pod: string;
  /** USE_CRD (false adds cm=true to the query). */
  useCrd?: boolean;
  /** GUARD_SERVICE_TOKEN_FILE, read at every sync; missing: no Authorization header. */
  tokenFile?: string;
  /**
   * GUARD_SERVICE_CA_FILE (PEM): trusted in addition to the system roots. Read again before every
   * sync: a renewed or rotated CA is trusted from the next sync on, without a restart.
   */
  caFile?: string;
  /**
   * caFile was found, not configured (Knative's CA): one that cannot be used at start is a warning —
   * guard-service is not trusted until the file holds valid certificates (read again before every
   * sync) — rather than a configuration error that keeps the gate from serving.
   */
  caFileFound?: boolean;
  /** GUARD_SERVICE_CA: PEM text, trusted as caFile is. */
  ca?: string;
  /** GUARD_SERVICE_SERVER_NAME: SNI and the name verified in the certificate. */
  serverName?: string;
  /** GUARDIAN_SYNC_INTERVAL in ms (default 60 s). */
  intervalMs?: number;
  /** Upper bound of this instance's jitter, in ms (default 10 % of the interval, at most 30 s). */
  maxJitterMs?: number;
  /** First back-off after a failure (default 5 s), doubled per failure up to maxBackoffMs (default 5 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Bound of the final sync in close() (default 5 s). */
  closeTimeoutMs?: number;
  /** Distinct alerts kept (default 1000; beyond it the newest are dropped). */
  maxAlerts?: number;
  clock?: Clock;
  /** Wall clock for alert times (ms since the epoch). */
  wallNow?: () => number;
  random?: () => number;
  log?: Logger;
  /** Called after every attempt (metrics). */
  onResult?: (result: SyncResult) => void;
  /** Called for each distinct alert not held because maxAlerts were held already (metrics). */
  onAlertDropped?: () => void;
}

export interface SyncStats {
  attempts: number;
  successes: number;
  failures: number;
  consecutiveFailures: number;
  lastError: string | null;
  pileCount: number;
  alerts: number;
  backoffMs: number;
  jitterMs: number;
}

export class SyncClient {
  private core: Core;
  private readonly source: GuardianSource;
  private readonly url: string | undefined;
  private readonly query: string;
  private readonly tokenFile: string;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly log: Logger;
  private readonly onResult: SyncClientOptions['onResult'];
  private readonly onAlertDropped: SyncClientOptions['onAlertDropped'];
  private readonly intervalMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly closeTimeoutMs: number;
  private readonly maxAlerts: number;
  private readonly random: () => number;
  private agent: Agent | null;
  private readonly agentOptions: { connectTimeoutMs: number; serverName?: string; headersTimeoutMs: number; bodyTimeoutMs: number };
  private readonly caFile: string | undefined;
  private readonly caText: string | undefined;
  /** The CA file's text the agent trusts now (null: none read). */
  private caFileText: string | null = null;
  /** The last problem with the CA file, logged once until it changes. */
  private caProblem: string | null = null;
  /** This instance's fixed offset added to the interval deadlines. */
  readonly jitterMs: number;

  private pile: Pile;
  /** A unit sent whose answer never came after it may have arrived: sent again first, with its id. */
  private unanswered: SyncUnit | null = null;
  /** Sync ids are `<instance>:<sequence>`: this gate process's own random name, and a count of its units. */
  private readonly instance = randomUUID();
  private sequence = 0;
  /** The pile's count when last read: what a faulted core can no longer tell. */
  private held = 0;
  private alerts: SyncAlert[] = [];
  private alertIndex = new Map<string, SyncAlert>();
  private compromised = false;

  private lastAttempt = -Infinity;
  private lastSuccess: number;
  private backoffUntil = -Infinity;
  private currentBackoff = 0;
  private inFlight: Promise<SyncResult> | null = null;
  private abort: AbortController | null = null;
  private timer: Timer | null = null;
  private armedAt = Infinity;
  private closed = false;
  private readonly counters = { attempts: 0, successes: 0, failures: 0, consecutiveFailures: 0, lastError: null as string | null };

  constructor(options: SyncClientOptions) {
    this.core = options.core;
    this.source = options.source;
    this.url = options.url ? options.url.replace(/\/+$/, '') : undefined;
    const q = new URLSearchParams();
    if (options.useCrd === false) q.set('cm', 'true');
    q.set('ns', options.namespace);
    q.set('pod', options.pod);
    q.set('sid', options.service);
    q.sort();
    this.query = q.toString();
    this.tokenFile = options.tokenFile ?? DEFAULT_TOKEN_FILE;
    this.clock = options.clock ?? systemClock;
    this.wallNow = options.wallNow ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.onResult = options.onResult;
    this.onAlertDropped = options.onAlertDropped;
    this.intervalMs = positive(options.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS, 'intervalMs');
    this.backoffBaseMs = positive(options.backoffMs ?? 5000, 'backoffMs');
    this.maxBackoffMs = Math.max(this.backoffBaseMs, options.maxBackoffMs ?? 300_000);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.maxAlerts = options.maxAlerts ?? ALERTS_LIMIT;
    this.random = options.random ?? Math.random;
    const maxJitter = options.maxJitterMs ?? Math.min(30_000, Math.floor(this.intervalMs / 10));
    this.jitterMs = Math.floor(this.random() * Math.max(0, maxJitter));
    this.pile = this.core.newPile();
    this.lastSuccess = this.clock.now();
    this.caFile = options.caFile;
    this.caText = options.ca;
    this.agentOptions = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      ...(options.serverName ? { serverName: options.serverName } : {}),
      headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
      bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    };
    if (this.url) {
      this.caFileText = options.caFile ? this.firstCa(options.caFile, options.caFileFound === true) : null;
      this.agent = this.makeAgent();
    } else {
      this.agent = null;
    }
  }

  /**
   * The first load: a forced sync (no 5 s rule), then the fallbacks when it gave no Guardian.
   * Resolves when a Guardian is in force. Starts the schedule.
   */
  async start(): Promise<SyncResult> {
    const result = await this.sync(true);
    this.arm();
    return result;
  }

  // ---- what the request path calls (synchronous, O(1) apart from the core's pile add) ---------

  /** Add a learned session to the pile. */
  addSession(session: Session): void {
    if (this.closed) return;
    this.pile.add(session);
    this.poke();
  }

  /** Merge a pile into the pile (it stays the caller's). */
  addPile(pile: Pile): void {
    if (this.closed) return;
    this.pile.merge(pile);
    this.poke();
  }

  /**
   * Record an alert; `key` is the decision's sorted string (duplicates of the same level only
   * count up). Beyond maxAlerts distinct alerts the newest are dropped (and counted).
   */
  addAlert(decision: unknown, key: string, level: AlertLevel = 'Session'): void {
    if (this.closed) return;
    const k = `${level}${key}`;
    const seen = this.alertIndex.get(k);
    if (seen) {
      seen.count++;
      return;
    }
    if (this.alerts.length >= this.maxAlerts) {
      this.onAlertDropped?.();
      return;
    }
    const alert: SyncAlert = { decision, time: Math.floor(this.wallNow() / 1000), level, count: 1 };
    this.alerts.push(alert);
    this.alertIndex.set(k, alert);
    this.poke();
  }

  /** The pod's compromised state, sent with every sync; becoming compromised asks for a sync. */
  setCompromised(compromised: boolean): void {
    const rising = compromised && !this.compromised;
    this.compromised = compromised;
    if (rising && !this.closed) this.arm(true);
  }

  /** Samples held: the pile, and a pile sent whose answer never came. */
  get pileCount(): number {
    return this.count() + (this.unanswered?.samples ?? 0);
  }

  /**
   * After a core fault: an empty pile in the new core instance. Returns the samples lost with the
   * old one (as last counted); held alerts are kept.
   */
  replaceCore(core: Core): number {
    const lost = this.count();
    this.core = core;
    this.pile = core.newPile();
    this.held = 0;
    return lost;
  }

  private count(): number {
    if (!this.core.faulted) this.held = this.pile.count;
    return this.held;
  }

  get alertCount(): number {
    return this.alerts.length + (this.unanswered?.alerts.length ?? 0);
  }

  get stats(): SyncStats {
    return {
      ...this.counters,
      pileCount: this.pileCount,
      alerts: this.alerts.length + (this.unanswered?.alerts.length ?? 0),
      backoffMs: this.currentBackoff,
      jitterMs: this.jitterMs,
    };
  }

  /**
   * Whether guard-service answers: null before the first attempt and without GUARD_SERVICE_URL;
   * otherwise whether the last attempt succeeded, and its error.
   */
  get service(): { url: string | null; reachable: boolean | null; lastError: string | null } {
    const c = this.counters;
    const tried = this.url !== undefined && c.attempts > 0;
    return { url: this.url ?? null, reachable: tried ? c.consecutiveFailures === 0 : null, lastError: tried && c.consecutiveFailures > 0 ? c.lastError : null };
  }

  /** The time (clock ms) of the next scheduled sync, Infinity when none. */
  get nextSyncAt(): number {
    return this.armedAt;
  }

  /**
   * Stop the schedule, wait for a sync in flight, then a final sync (no Guardian load) when
   * anything is held, bounded by closeTimeoutMs overall. Data not delivered then is lost.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    const deadline = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), this.closeTimeoutMs);
      t.unref();
    });
    const final = (async () => {
      if (this.inFlight) await this.inFlight;
      if (this.url && (this.count() > 0 || this.alerts.length > 0 || this.compromised || this.unanswered !== null)) {
        this.log.info({}, 'guard Shutdown - performing final Sync!');
        await this.attempt(false).catch((err: unknown) => this.failed(err));
      }
    })();
    const r = await Promise.race([final.then(() => 'done' as const), deadline]);
    if (r === 'timeout') {
      this.abort?.abort(new Error('final sync timed out'));
      this.log.warn({ timeoutMs: this.closeTimeoutMs }, 'sync: final sync did not finish in time - data dropped');
      await final.catch(() => {});
    }
    this.pile.dispose();
    if (this.unanswered?.core === this.core) this.unanswered.pile?.dispose();
    this.unanswered = null;
    this.held = 0;
    this.alerts = [];
    this.alertIndex.clear();
    await this.agent?.close().catch(() => {});
  }

  /**
   * Sync now, ignoring the policy's triggers (the back-off and 5 s rule too when `force`).
   * Single-flight: a sync in flight is joined. Loads the answer's Guardian, or the fallbacks.
   */
  sync(force = false): Promise<SyncResult> {
    if (this.inFlight) return this.inFlight;
    if (this.closed) return Promise.resolve(skipped());
    const now = this.clock.now();
    if (!force && now < this.earliest()) {
      return Promise.resolve(skipped());
    }
    this.disarm();
    const flight = this.attempt(true).catch((err: unknown) => this.failed(err)).finally(() => {
      this.inFlight = null;
      this.arm();
    });
    this.inFlight = flight;
    return flight;
  }

  // ---- policy -------------------------------------------------------------------------------

  /** The earliest time (clock ms) any sync may start: 5 s after the last attempt, and not in a back-off. */
  private earliest(): number {
    return Math.max(this.lastAttempt + MIN_TIME_BETWEEN_SYNCS_MS, this.backoffUntil);
  }

  /** The earliest time (clock ms) a sync is due under the policy. */
  private dueAt(): number {
    const earliest = this.earliest();
    // A sync whose answer never came goes again as soon as the back-off allows.
    if (this.unanswered !== null) return earliest;
    const count = this.count();
    if (count >= PILE_LIMIT || this.alerts.length >= ALERTS_LIMIT) return earliest;
    const samples = this.source.ready && !this.core.faulted ? this.source.current().samples : 0;
    const interval = this.lastSuccess + this.intervalMs + this.jitterMs;
    if ((count > 0 && count * 10 >= samples) || this.alerts.length > 0) return Math.max(earliest, interval);
    return Math.max(earliest, this.lastSuccess + SKIP_INTERVALS * this.intervalMs + this.jitterMs);
  }

  /** After a change on the request path: re-arm only if it brings the next sync forward. */
  private poke(): void {
    if (this.inFlight || this.closed) return;
    // dueAt() is never before earliest(): armed for that, there is nothing to bring
    // forward (and no need to ask the core for the pile's count on every exchange).
    if (this.armedAt <= this.earliest()) return;
    if (this.dueAt() < this.armedAt) this.arm();
  }

  private arm(now = false): void {
    if (this.closed || this.inFlight) return;
    this.disarm();
    const at = now ? Math.max(this.earliest(), this.clock.now()) : this.dueAt();
    if (!Number.isFinite(at)) return;
    this.armedAt = Math.max(at, this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.armedAt = Infinity;
      // Timers count whole milliseconds of a coarser clock: one can fire a fraction of a
      // millisecond before `at`. The sync is then not due yet, and the schedule is armed again —
      // never dropped (a pile would otherwise wait for the next request to be sent).
      if (this.clock.now() < this.earliest()) this.arm();
      else void this.sync(false);
    }, Math.max(0, Math.ceil(at - this.clock.now())));
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.armedAt = Infinity;
  }

  // ---- one attempt --------------------------------------------------------------------------

  private async attempt(load: boolean): Promise<SyncResult> {
    const started = this.clock.now();
    this.lastAttempt = started;
    if (!this.url) {
      // No guard-service: nobody learns from the pile, so it is not kept; the Guardian is
      // refreshed from the fallbacks on the policy's schedule.
      const unit = this.takeUnit();
      unit.pile?.dispose();
      this.lastSuccess = this.clock.now();
      const result: SyncResult = { outcome: 'skipped', samples: 0, alerts: 0, ms: 0, error: 'no GUARD_SERVICE_URL' };
      if (load && !this.closed) await this.source.fallback();
      this.onResult?.(result);
      return result;
    }
    // A pile whose answer never came goes again first, alone and with its id; once it is taken,
    // what was piled meanwhile follows in the same attempt.
    const resend = this.unanswered !== null;
    let { result, guardian } = await this.deliver(this.takeUnit());
    if (resend && result.outcome === 'ok' && (this.count() > 0 || this.alerts.length > 0)) {
      const first = result;
      const next = await this.deliver(this.takeUnit());
      result = next.result.outcome === 'ok' ? { ...next.result, samples: first.samples + next.result.samples, alerts: first.alerts + next.result.alerts } : next.result;
      if (next.result.outcome === 'ok') guardian = next.guardian;
    }
    result.ms = this.clock.now() - started;

    if (result.outcome === 'ok') {
      this.lastSuccess = this.clock.now();
      this.backoffUntil = -Infinity;
      this.currentBackoff = 0;
      this.counters.successes++;
      this.counters.consecutiveFailures = 0;
      this.log.debug({ samples: result.samples, alerts: result.alerts, ms: result.ms }, 'sync: accepted by guard-service');
    } else {
      this.counters.failures++;
      this.counters.consecutiveFailures++;
      this.counters.lastError = result.error ?? null;
      const exp = this.backoffBaseMs * 2 ** Math.min(30, this.counters.consecutiveFailures - 1);
      // guard-service may say how long to wait (its sync rate limit, an outage): never sooner.
      this.currentBackoff = Math.min(this.maxBackoffMs, Math.max(exp, result.retryAfterMs ?? 0));
      // Jitter the back-off too (up to +10 %) so that gates do not retry together.
      this.backoffUntil = this.clock.now() + this.currentBackoff + Math.floor(this.random() * this.currentBackoff * 0.1);
      this.log.info({ err: result.error, backoffMs: this.currentBackoff, pile: this.pileCount, alerts: this.alerts.length }, 'sync: guard-service sync failed - pile and alerts kept');
    }

    if (load && !this.closed) {
      let loaded = false;
      if (result.outcome === 'ok' && guardian !== null) {
        loaded = this.source.offerFromService(guardian);
        if (!loaded) this.log.warn({}, 'sync: guard-service answered an invalid Guardian - keeping the Guardian in force');
      }
      // No Guardian from guard-service: Kubernetes, GUARDIAN_FILE, default (fail-static inside).
      if (!loaded && (guardian === null || !this.source.ready)) await this.source.fallback();
    }
    this.onResult?.(result);
    return result;
  }

  /**
   * What the next sync sends: the unit whose answer never came, or a snapshot — what is held is
   * moved aside and new data collects in fresh containers. A core that failed for good (the gate
   * failed closed) holds no usable pile: the alerts still go, pile null.
   */
  private takeUnit(): SyncUnit {
    const unanswered = this.unanswered;
    if (unanswered !== null) {
      this.unanswered = null;
      // Its pile went with a core instance that failed since: its alerts still go, under its id.
      if (unanswered.core !== this.core) return { ...unanswered, pile: null, samples: 0, core: this.core };
      return unanswered;
    }
    const coreAlive = !this.core.faulted;
    const unit: SyncUnit = {
      id: `${this.instance}:${++this.sequence}`,
      pile: coreAlive ? this.pile : null,
      core: this.core,
      alerts: this.alerts,
      samples: coreAlive ? this.count() : 0,
    };
    if (coreAlive) {
      this.pile = this.core.newPile();
      this.held = 0;
    }
    this.alerts = [];
    this.alertIndex = new Map();
    return unit;
  }

  /**
   * Send one unit and settle it: taken (its pile disposed), or not answered with 200 — then it may
   * have been learned all the same (a connection lost after the request went out, a replica that
   * died after writing it, a write that landed although it reported a failure), so it is kept
   * aside with its id and sent again alone, before anything newer, until it is answered:
   * guard-service learns a sync id once (X-Guard-Sync-Id). An empty unit is simply dropped.
   */
  private async deliver(unit: SyncUnit): Promise<{ result: SyncResult; guardian: unknown }> {
    this.counters.attempts++;
    let result: SyncResult;
    let guardian: unknown = null;
    try {
      const body = `{"pile":${unit.pile ? unit.pile.toWire() : 'null'},"alerts":${unit.alerts.length > 0 ? JSON.stringify(unit.alerts) : 'null'},"compromised":${this.compromised}}`;
      const answer = await this.post(body, unit.id);
      if (answer.status !== 200) {
        const why = refusalText(answer.text);
        result = { outcome: 'status', samples: 0, alerts: 0, status: answer.status, error: `guard-service did not respond with 200 OK (${answer.status})${why ? `: ${why}` : ''}`, ms: 0 };
        if (answer.retryAfterMs !== undefined) result.retryAfterMs = answer.retryAfterMs;
      } else {
        let parsed: unknown;
        try {
          parsed = answer.text.trim() === '' ? undefined : JSON.parse(answer.text);
        } catch {
          parsed = undefined;
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          result = { outcome: 'invalid', samples: 0, alerts: 0, status: 200, error: 'guard-service did not accept sync - the response is not a JSON object', ms: 0 };
        } else {
          guardian = (parsed as { guardian?: unknown }).guardian ?? null;
          result = { outcome: 'ok', samples: unit.samples, alerts: unit.alerts.length, status: 200, ms: 0 };
        }
      }
    } catch (err) {
      result = { outcome: 'transport', samples: 0, alerts: 0, error: `guard-service request failed: ${messageOf(err)}`, ms: 0 };
    }
    if (result.outcome === 'ok') {
      if (unit.core === this.core) unit.pile?.dispose();
    } else if (result.status !== undefined && REFUSED.has(result.status)) {
      // guard-service refused the message itself (400: invalid, 413: too large): the same bytes
      // would be refused again, and held first they would keep everything newer from going. Dropped.
      if (unit.core === this.core) unit.pile?.dispose();
      if (unit.samples > 0 || unit.alerts.length > 0) {
        this.log.error(
          { status: result.status, syncId: unit.id, samples: unit.samples, alerts: unit.alerts.length, answer: result.error },
          'sync: guard-service refused the sync message - its samples and alerts are dropped (the alerts are in this log)',
        );
      }
      for (let i = 0; i < unit.alerts.length; i++) this.onAlertDropped?.();
    } else {
      let kept = unit;
      if (unit.core !== this.core) {
        // The core failed during the attempt: the unit's pile went with it; its alerts are kept
        // (under the same id: if the attempt was learned after all, they are not taken twice).
        if (unit.samples > 0) this.log.warn({ lostSamples: unit.samples }, 'sync: the core failed during the sync - the samples sent are lost, alerts kept');
        kept = { ...unit, pile: null, samples: 0, core: this.core };
      }
      if (kept.samples > 0 || kept.alerts.length > 0) this.unanswered = kept;
    }
    return { result, guardian };
  }

  /** An attempt that threw (a core fault while moving the pile): reported, never a rejection. */
  private failed(err: unknown): SyncResult {
    const result: SyncResult = { outcome: 'fault', samples: 0, alerts: 0, error: `sync failed: ${messageOf(err)}`, ms: 0 };
    this.log.warn({ err: result.error }, 'sync: attempt failed');
    try {
      this.onResult?.(result);
    } catch {
      // metrics only
    }
    return result;
  }

  /** An agent to guard-service trusting the CA file's text in use and GUARD_SERVICE_CA. */
  private makeAgent(): Agent {
    const o = this.agentOptions;
    const pems = [this.caFileText, this.caText ?? null].filter((p): p is string => p !== null);
    const ca = pems.length > 0 ? pems.join('\n') : undefined;
    return new Agent({
      connect: {
        timeout: o.connectTimeoutMs,
        ...(ca ? { ca } : {}),
        ...(o.serverName ? { servername: o.serverName } : {}),
        rejectUnauthorized: true,
      },
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      connections: 2,
    });
  }

  /** The CA file's text at start; null when a found (not configured) file cannot be used yet. */
  private firstCa(file: string, found: boolean): string | null {
    if (!found) return readCa(file);
    let text = '';
    let problem: string | null;
    try {
      text = readFileSync(file, 'utf8');
      problem = pemProblem(text);
    } catch (err) {
      problem = `cannot read it: ${messageOf(err)}`;
    }
    if (problem === null) return text;
    // Said once: refreshCa says it again only when the problem changes.
    this.caProblem = problem;
    this.log.warn(
      { caFile: file, problem },
      "sync: Knative's CA file cannot be used - guard-service's certificate cannot be verified, so syncs fail until the file holds valid certificates (it is read again before every sync); the gate serves with the Guardians it can load meanwhile",
    );
    return null;
  }

  /**
   * GUARD_SERVICE_CA_FILE read again (a mounted Secret or ConfigMap is replaced when cert-manager or
   * an operator renews it): new text that holds only valid certificates is trusted from this sync
   * on; a file that cannot be read or holds something else keeps the CA in use (fail-static), logged
   * once until it changes.
   */
  private async refreshCa(): Promise<void> {
    const file = this.caFile;
    if (!file || !this.agent) return;
    let text: string;
    let problem: string | null;
    try {
      text = await readFile(file, 'utf8');
      if (text === this.caFileText) return;
      problem = pemProblem(text);
    } catch (err) {
      text = '';
      problem = `cannot read it: ${messageOf(err)}`;
    }
    if (problem !== null) {
      if (problem !== this.caProblem) this.log.warn({ caFile: file, problem }, 'sync: GUARD_SERVICE_CA_FILE changed but cannot be used - the CA read before stays trusted');
      this.caProblem = problem;
      return;
    }
    this.caProblem = null;
    this.caFileText = text;
    const old = this.agent;
    this.agent = this.makeAgent();
    this.log.info({ caFile: file }, 'sync: GUARD_SERVICE_CA_FILE changed - guard-service is verified with the new CA from now on');
    void old.close().catch(() => {});
  }

  private async post(body: string, syncId: string): Promise<{ status: number; text: string; retryAfterMs?: number }> {
    await this.refreshCa();
    // The original's gates send no Content-Type; guard-service (ours and the original) reads the body whatever it says.
    const headers: Record<string, string> = { 'content-type': 'application/json', [SYNC_ID_HEADER]: syncId };
    const token = await readToken(this.tokenFile);
    if (token) headers.authorization = `Bearer ${token}`;
    const abort = new AbortController();
    this.abort = abort;
    try {
      const res = await request(`${this.url}/sync?${this.query}`, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent!,
        signal: abort.signal,
      });
      const text = await res.body.text();
      const retryAfterMs = retryAfterOf(res.headers['retry-after']);
      return retryAfterMs === undefined ? { status: res.statusCode, text } : { status: res.statusCode, text, retryAfterMs };
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }
}

/**
 * What a refusal says, for the log: guard-service's `{"error":{"code","message"}}` as `CODE: message`
 * (whole: its messages name the fix), anything else (the original's text, a proxy's page) cut short.
 */
function refusalText(text: string): string {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const e = (JSON.parse(t) as { error?: { code?: unknown; message?: unknown } }).error;
      if (e && typeof e.code === 'string' && typeof e.message === 'string') return `${e.code}: ${e.message.slice(0, 1000)}`;
    } catch {
      // not guard-service's JSON: shown as text
    }
  }
  return t.slice(0, 300);
}

/** A Retry-After of delay-seconds (what guard-service sends) in ms; a date or anything else is not used. */
function retryAfterOf(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/**
 * Why PEM text cannot be trusted as a CA bundle, or null: it must hold at least one certificate, and
 * every certificate in it must parse.
 */
function pemProblem(text: string): string | null {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) return 'no PEM certificate in it';
  for (let i = 0; i < blocks.length; i++) {
    try {
      new X509Certificate(blocks[i]!);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} is not valid: ${messageOf(err)}`;
    }
  }
  return null;
}

/**
 * GUARD_SERVICE_CA_FILE at start: a file that cannot be read, or that holds anything but valid
 * certificates, is a configuration error.
 */
function readCa(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('GUARD_SERVICE_CA_FILE', `cannot read ${file}: ${messageOf(err)}`);
  }
  const problem = pemProblem(text);
  if (problem !== null) throw new ConfigError('GUARD_SERVICE_CA_FILE', `${file}: ${problem}`);
  return text;
}

/** The projected token, re-read at every sync (it rotates); null when missing or empty. */
async function readToken(file: string): Promise<string | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

/**
 * What one sync sends: a pile (null when its core failed) and alerts under one id, kept when the
 * same unit is sent again (guard-service learns a repeated id once: X-Guard-Sync-Id).
 */
interface SyncUnit {
  id: string;
  pile: Pile | null;
  /** The core instance the pile belongs to. */
  core: Core;
  alerts: SyncAlert[];
  samples: number;
}

/** Answers that refuse the sync message itself: sending it again cannot succeed. */
const REFUSED = new Set([400, 413]);

function skipped(): SyncResult {
  return { outcome: 'skipped', samples: 0, alerts: 0, ms: 0 };
}

function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`SyncClient: ${name} must be a positive number of ms, got ${v}`);
  return v;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
