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
//
// This file holds what is held and sent (the pile, the alerts, the unit aside); when a sync is due
// and the back-off are in sync-schedule.ts, what a sync carries and what its answer means in
// sync-wire.ts, the connection to guard-service in sync-transport.ts.
import { randomUUID } from 'node:crypto';
import type { Core, Pile, Session } from '../core/index.js';
import { systemClock, wallClock, type Clock, type WallClock } from '../clock/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import type { AlertLevel } from './alerts.js';
import type { GuardianSource } from './guardian-source.js';
import { DEFAULT_TOKEN_FILE } from './config.js';
import { ALERTS_LIMIT, SyncSchedule } from './sync-schedule.js';
import { SyncTransport } from './sync-transport.js';
import { messageOf, readAnswer, REFUSED, skipped, syncBody, type SyncAlert, type SyncResult, type SyncUnit } from './sync-wire.js';

export type { SyncAlert, SyncOutcome, SyncResult } from './sync-wire.js';

export { DEFAULT_TOKEN_FILE } from './config.js';
export { ALERTS_LIMIT, MIN_TIME_BETWEEN_SYNCS_MS, PILE_LIMIT, SKIP_INTERVALS } from './sync-schedule.js';
export const DEFAULT_SYNC_INTERVAL_MS = 60_000;

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
  /** Alert times are dates: the wall clock (default). */
  wallNow?: WallClock;
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
  /** The connection to guard-service; null without GUARD_SERVICE_URL. */
  private readonly transport: SyncTransport | null;
  private readonly clock: Clock;
  private readonly wallNow: WallClock;
  private readonly log: Logger;
  private readonly onResult: SyncClientOptions['onResult'];
  private readonly onAlertDropped: SyncClientOptions['onAlertDropped'];
  private readonly closeTimeoutMs: number;
  private readonly maxAlerts: number;
  private readonly schedule: SyncSchedule;
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

  private inFlight: Promise<SyncResult> | null = null;
  private closed = false;
  private readonly counters = { attempts: 0, successes: 0, failures: 0, consecutiveFailures: 0, lastError: null as string | null };

  constructor(options: SyncClientOptions) {
    this.core = options.core;
    this.source = options.source;
    this.url = options.url ? options.url.replace(/\/+$/, '') : undefined;
    this.clock = options.clock ?? systemClock;
    this.wallNow = options.wallNow ?? wallClock;
    this.log = options.log ?? silentLogger;
    this.onResult = options.onResult;
    this.onAlertDropped = options.onAlertDropped;
    const intervalMs = positive(options.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS, 'intervalMs');
    const backoffBaseMs = positive(options.backoffMs ?? 5000, 'backoffMs');
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.maxAlerts = options.maxAlerts ?? ALERTS_LIMIT;
    const random = options.random ?? Math.random;
    const maxJitter = options.maxJitterMs ?? Math.min(30_000, Math.floor(intervalMs / 10));
    this.jitterMs = Math.floor(random() * Math.max(0, maxJitter));
    this.pile = this.core.newPile();
    this.schedule = new SyncSchedule({
      clock: this.clock,
      intervalMs,
      jitterMs: this.jitterMs,
      backoffBaseMs,
      maxBackoffMs: Math.max(backoffBaseMs, options.maxBackoffMs ?? 300_000),
      random,
      held: {
        unanswered: () => this.unanswered !== null,
        samples: () => this.count(),
        alerts: () => this.alerts.length,
        learned: () => (this.source.ready && !this.core.faulted ? this.source.current().samples : 0),
      },
      mayArm: () => !this.closed && this.inFlight === null,
      due: () => void this.sync(false),
    });
    this.transport = this.url ? transportOf(this.url, options, this.log) : null;
  }

  /**
   * The first load: a forced sync (no 5 s rule), then the fallbacks when it gave no Guardian.
   * Resolves when a Guardian is in force. Starts the schedule.
   */
  async start(): Promise<SyncResult> {
    const result = await this.sync(true);
    this.schedule.arm();
    return result;
  }

  // ---- what the request path calls (synchronous, O(1) apart from the core's pile add) ---------

  /** Add a learned session to the pile. */
  addSession(session: Session): void {
    if (this.closed) return;
    this.pile.add(session);
    this.schedule.poke();
  }

  /** Merge a pile into the pile (it stays the caller's). */
  addPile(pile: Pile): void {
    if (this.closed) return;
    this.pile.merge(pile);
    this.schedule.poke();
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
    this.schedule.poke();
  }

  /** The pod's compromised state, sent with every sync; becoming compromised asks for a sync. */
  setCompromised(compromised: boolean): void {
    const rising = compromised && !this.compromised;
    this.compromised = compromised;
    if (rising && !this.closed) this.schedule.arm(true);
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
      backoffMs: this.schedule.backoffMs,
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
    return this.schedule.nextAt;
  }

  /**
   * Stop the schedule, wait for a sync in flight, then a final sync (no Guardian load) when
   * anything is held, bounded by closeTimeoutMs overall. Data not delivered then is lost.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.schedule.disarm();
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
      this.transport?.abort(new Error('final sync timed out'));
      this.log.warn({ timeoutMs: this.closeTimeoutMs }, 'sync: final sync did not finish in time - data dropped');
      await final.catch(() => {});
    }
    this.pile.dispose();
    if (this.unanswered?.core === this.core) this.unanswered.pile?.dispose();
    this.unanswered = null;
    this.held = 0;
    this.alerts = [];
    this.alertIndex.clear();
    await this.transport?.close();
  }

  /**
   * Sync now, ignoring the policy's triggers (the back-off and 5 s rule too when `force`).
   * Single-flight: a sync in flight is joined. Loads the answer's Guardian, or the fallbacks.
   */
  sync(force = false): Promise<SyncResult> {
    if (this.inFlight) return this.inFlight;
    if (this.closed) return Promise.resolve(skipped());
    const now = this.clock.now();
    if (!force && now < this.schedule.earliest()) {
      return Promise.resolve(skipped());
    }
    this.schedule.disarm();
    const flight = this.attempt(true).catch((err: unknown) => this.failed(err)).finally(() => {
      this.inFlight = null;
      this.schedule.arm();
    });
    this.inFlight = flight;
    return flight;
  }

  // ---- one attempt --------------------------------------------------------------------------

  private async attempt(load: boolean): Promise<SyncResult> {
    const started = this.clock.now();
    this.schedule.attempted(started);
    if (!this.url) {
      // No guard-service: nobody learns from the pile, so it is not kept; the Guardian is
      // refreshed from the fallbacks on the policy's schedule.
      const unit = this.takeUnit();
      unit.pile?.dispose();
      // Without guard-service nothing fails, so there is no back-off: only the interval restarts.
      this.schedule.succeeded();
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
      this.schedule.succeeded();
      this.counters.successes++;
      this.counters.consecutiveFailures = 0;
      this.log.debug({ samples: result.samples, alerts: result.alerts, ms: result.ms }, 'sync: accepted by guard-service');
    } else {
      this.counters.failures++;
      this.counters.consecutiveFailures++;
      this.counters.lastError = result.error ?? null;
      this.schedule.failed(this.counters.consecutiveFailures, result.retryAfterMs);
      this.log.info({ err: result.error, backoffMs: this.schedule.backoffMs, pile: this.pileCount, alerts: this.alerts.length }, 'sync: guard-service sync failed - pile and alerts kept');
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
      ({ result, guardian } = readAnswer(await this.transport!.post(syncBody(unit, this.compromised), unit.id), unit));
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
}

/** The connection to guard-service that the options describe (throws ConfigError for an unusable CA file). */
function transportOf(url: string, options: SyncClientOptions, log: Logger): SyncTransport {
  const q = new URLSearchParams();
  if (options.useCrd === false) q.set('cm', 'true');
  q.set('ns', options.namespace);
  q.set('pod', options.pod);
  q.set('sid', options.service);
  q.sort();
  return new SyncTransport({
    url,
    query: q.toString(),
    tokenFile: options.tokenFile ?? DEFAULT_TOKEN_FILE,
    ...(options.caFile ? { caFile: options.caFile, caFileFound: options.caFileFound === true } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.serverName ? { serverName: options.serverName } : {}),
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    log,
  });
}

function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`SyncClient: ${name} must be a positive number of ms, got ${v}`);
  return v;
}
