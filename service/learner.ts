// guard-service's learner: merges the piles the gates of a service send, learns them into the
// service's Guardian on the policy below, and persists learned + samples to the store.
//
// The policy, as the original's README states it (where its wording and its code differ, the
// code's reading):
// * Learn a service's pile, when it is non-empty, as soon as ANY of these holds (the README's
//   "and" before "≥30 s" is read as "or", as the original's code has it):
//   - the pile holds ≥ learnSamples (1000) samples ("more than 1000" means ≥ 1000, as in its code);
//   - the pile is more than 10 % of the samples learned so far: samples < pile × 10 (integer
//     form, as the original; with pile 1 this fires at samples ≤ 9);
//   - ≥ learnIntervalMs (30 s) passed since this service's last learn (never learned here yet:
//     at once, as the original whose timestamps start at the epoch);
//   - the pile holds ≥ maxPileSamples (20,000): memory per service stays bounded.
//   Sync checks its own service at once; the tick checks every service with a pending pile, so
//   the 30 s timer is honoured within a tick (the original waited for the next sync or sweep).
// * Persist (only learned + samples) when something was learned since the last persist, and:
//   - the Guardian had no learned part when loaded (a new service) and this is its first learn:
//     at once, from the sync that learned it;
//   - otherwise when ≥ persistIntervalMs (5 min) passed since the last persist (a Guardian loaded
//     with learned rules counts as persisted at load, so a restart does not cause a write storm).
//   A failed persist keeps everything and is retried with back-off (5 s doubling to 5 min), not
//   only after the next learn (docs/threat-model.md, B-7). Later persists go through the tick, at
//   most persistsPerTick per tick (a thundering herd of writes after a restart is spread out).
//   `samples` is capped at 1,000,000 by the core's learn.
// * flush() learns every pending pile and persists every service learned since its last persist,
//   whatever the timers say, and awaits the store (docs/threat-model.md, B-6, B-7).
// * configured and control belong to people: the learner takes them from the store (load, the
//   answer of its own writes, watch events) and never writes them. A learned part written
//   elsewhere (a reset, another replica) is adopted, and what was learned here since the last
//   persist is learned into it again, so nothing is lost (docs/threat-model.md, B-8).
//
// The parts, one file each: the record of one service (learner-record.ts), reading and writing
// the store (learner-persistence.ts), the sync ids that tell a repeat (sync-ids.ts), the errors
// (learner-error.ts). This file holds the policy: when to learn, when to persist, what a tick does.
import { DEFAULT_LEARNING_CAPS, type Core, type LearningCaps, type Pile, type Readiness } from '../core/index.js';
import type { Clock, Timer } from '../clock/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { checkNames, type GuardianStore, type GuardianWatchEvent } from '../store/index.js';
import { CoreShards } from './core-shards.js';
import { LearnerError } from './learner-error.js';
import { LearnerPersistence } from './learner-persistence.js';
import { keyOf, needsTick, newRecord, unpersisted, type LearnerTotals, type ServiceRecord } from './learner-record.js';
import { rememberSync, repeatGen } from './sync-ids.js';

export { LearnerError, type LearnerErrorCode } from './learner-error.js';
export { MAX_INSTANCES_PER_POD, parseSyncId } from './sync-ids.js';

export interface LearnerLimits {
  /** Learn when the pile holds at least this many samples. */
  learnSamples: number;
  /** Learn when samples learned so far < pile × this (the "10 %" rule: 10). */
  newSamplesRatio: number;
  /** Learn a non-empty pile when this long passed since the last learn. */
  learnIntervalMs: number;
  /** Persist at most this often (after the first learn of a new service). */
  persistIntervalMs: number;
  /** A pile this large is learned at once, whatever the other rules say. */
  maxPileSamples: number;
  /** Learns and persists the tick may start, each (bounded work per tick). */
  learnsPerTick: number;
  persistsPerTick: number;
  /** Back-off after a failed persist: first delay, doubled per failure up to the maximum. */
  retryMinMs: number;
  retryMaxMs: number;
  /** Persist attempts per service in flush() before it gives up on that service. */
  flushAttempts: number;
  /** Store writes in flight at once during flush(). */
  flushConcurrency: number;
  /** Watch events kept per service while its load or persist is in flight (oldest dropped). */
  maxDeferredEvents: number;
  /**
   * A service with nothing pending — no pile, nothing unwritten, no read or write in flight — and no
   * sync for this long is forgotten: its memory (its Guardian, its piles) is freed, and its next
   * sync reads the store again, as after a restart. 0: never.
   */
  idleMs: number;
}

export const DEFAULT_LEARNER_LIMITS: Readonly<LearnerLimits> = Object.freeze({
  learnSamples: 1000,
  newSamplesRatio: 10,
  learnIntervalMs: 30_000,
  persistIntervalMs: 5 * 60_000,
  maxPileSamples: 20_000,
  learnsPerTick: 100,
  persistsPerTick: 10,
  retryMinMs: 5_000,
  retryMaxMs: 5 * 60_000,
  flushAttempts: 3,
  flushConcurrency: 8,
  maxDeferredEvents: 16,
  idleMs: 60 * 60_000,
});

export interface LearnerOptions {
  core: Core;
  /**
   * How many core instances hold the services (service/core-shards.ts): `core` and fresh ones of
   * it. 1 by default; guard-service takes GUARD_SERVICE_CORES.
   */
  cores?: number;
  store: GuardianStore;
  clock: Clock;
  log?: Logger;
  limits?: Partial<LearnerLimits>;
  /** Key caps and route bound learning uses (GUARD_LEARN_*); the defaults when absent. */
  caps?: LearningCaps;
  /**
   * Durable syncs (several replicas): every sync is learned and written to the store before it is
   * answered, so a replica that dies has acknowledged nothing it had not written. A failed write
   * answers the syncs it carried with GUARD_LEARNER_STORE_UNAVAILABLE and drops what they taught
   * (the Guardian is read again): the gates resend, and nothing is learned twice.
   */
  durable?: boolean;
  /** Asked before each store write: false refuses it (this replica no longer serves the service). */
  mayWrite?: (namespace: string, service: string) => boolean;
}

/** What the learner holds for one service, for the API, metrics and tests. */
export interface ServiceLearningStatus {
  namespace: string;
  service: string;
  /** Samples merged and not learned yet. */
  pileSamples: number;
  /** samples of the Guardian in force (learned so far, capped). */
  samples: number;
  /** Something was learned that the store does not hold yet. */
  unpersisted: boolean;
  persisting: boolean;
  /** clock.now() of the last learn / successful persist; null when none. */
  lastLearnAt: number | null;
  /**
   * When the rules in force were learned (RFC 3339): by this learner, or as the store holds it
   * (a learn before this process started, or by another replica); null when unknown.
   */
  learnedAt: string | null;
  lastPersistAt: number | null;
  merges: number;
  learns: number;
  persists: number;
  persistFailures: number;
  /** Readiness of the learned rules (docs/tokens.md); null when they do not track it. */
  readiness: Readiness | null;
}

export interface LearnerStats extends LearnerTotals {
  services: number;
  pileSamples: number;
  /** Services whose learned rules are ready / track readiness and are not ready yet. */
  ready: number;
  notReady: number;
}

/** How often the tick looks for idle services to forget. */
const IDLE_CHECK_MS = 60_000;

export class Learner {
  private readonly shards: CoreShards;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly limits: Readonly<LearnerLimits>;
  private readonly caps: Readonly<LearningCaps>;
  private readonly records = new Map<string, ServiceRecord>();
  /** Services with a pending pile or unpersisted learning, in round-robin order for the tick. */
  private readonly active = new Set<ServiceRecord>();
  private readonly totals: LearnerTotals = { merges: 0, repeats: 0, learns: 0, persists: 0, persistFailures: 0, forgotten: 0 };
  private readonly persistence: LearnerPersistence;
  private nextIdleCheckAt = -Infinity;
  private timer: Timer | null = null;
  private closed = false;
  private readonly durable: boolean;
  private readonly mayWrite: (namespace: string, service: string) => boolean;

  constructor(options: LearnerOptions) {
    this.shards = new CoreShards(options.core, options.cores ?? 1);
    this.clock = options.clock;
    this.log = options.log ?? silentLogger;
    this.limits = Object.freeze({ ...DEFAULT_LEARNER_LIMITS, ...options.limits });
    this.caps = Object.freeze({ ...DEFAULT_LEARNING_CAPS, ...options.caps });
    this.durable = options.durable ?? false;
    this.mayWrite = options.mayWrite ?? (() => true);
    this.persistence = new LearnerPersistence({
      store: options.store,
      clock: this.clock,
      log: this.log,
      limits: this.limits,
      caps: this.caps,
      durable: this.durable,
      mayWrite: this.mayWrite,
      totals: this.totals,
      active: this.active,
      closed: () => this.closed,
    });
  }

  /**
   * The core instance a sync's pile for this service must be parsed in: the one that holds the
   * service's piles (a pile of another instance is refused by the merge).
   */
  coreFor(namespace: string, service: string): Core {
    return this.shards.coreFor(namespace, service);
  }

  /**
   * One gate's sync: merge its pile (which the learner now owns and disposes), learn and persist
   * as the policy says, and answer the GuardianSpec wire JSON the gate must use. Rejects (the
   * pile disposed, nothing merged) when the service's Guardian cannot be read: the gate keeps
   * its pile and resends it.
   */
  async sync(namespace: string, service: string, pile: Pile | null, syncId?: string): Promise<string> {
    return (await this.syncOnce(namespace, service, pile, syncId)).answer;
  }

  /**
   * sync(), telling a repeat apart: a sync whose id this service already merged (a gate resending
   * a pile whose answer never came) merges nothing and gets the answer the first one got once it
   * is written (`repeated`: its alerts were recorded then too). Sync ids are kept with the learned
   * rules in the store in durable mode, so the replica that takes a service over knows them; a
   * single replica keeps them in memory only (what it had not written is lost with it anyway).
   */
  async syncOnce(namespace: string, service: string, pile: Pile | null, syncId?: string): Promise<{ answer: string; repeated: boolean }> {
    let rec: ServiceRecord;
    let repeatOf: number | undefined;
    try {
      rec = await this.loaded(namespace, service);
      // From here to the return nothing awaits: merge and learn see whole piles only.
      repeatOf = this.merge(rec, pile, syncId);
    } finally {
      pile?.dispose();
    }
    if (repeatOf !== undefined) {
      this.totals.repeats++;
      this.log.info({ namespace, service, syncId }, 'a sync already learned was sent again: not merged twice');
      const answer = this.durable ? await this.persistence.written(rec, repeatOf, rec.epoch) : (rec.answer ??= rec.guardian!.toWire());
      return { answer, repeated: true };
    }
    const now = this.clock.now();
    if (this.durable) {
      // Only this sync's samples are in the pile: every sync is learned as it is merged.
      const merged = rec.pile.count > 0;
      if (merged) this.learn(rec, now);
      if (syncId !== undefined) rememberSync(rec.syncs, syncId, merged ? rec.learnGen : rec.persistedGen);
      if (merged) return { answer: await this.persistence.written(rec, rec.learnGen, rec.epoch), repeated: false };
      return { answer: (rec.answer ??= rec.guardian!.toWire()), repeated: false };
    }
    if (syncId !== undefined) rememberSync(rec.syncs, syncId, rec.learnGen);
    this.learnIfDue(rec, now);
    if (rec.lastPersistAt === -Infinity && this.persistDue(rec, now)) void this.persistence.persist(rec);
    return { answer: (rec.answer ??= rec.guardian!.toWire()), repeated: false };
  }

  /** The record of a service this replica learns, its Guardian read from the store if need be. */
  private async loaded(namespace: string, service: string): Promise<ServiceRecord> {
    if (this.closed) throw new LearnerError('GUARD_LEARNER_CLOSED', 'the learner is closed (guard-service is shutting down)');
    checkNames(namespace, service);
    if (!this.mayWrite(namespace, service)) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${namespace}/${service} is not learned by this replica now; resend`);
    const rec = this.recordOf(namespace, service);
    rec.lastSyncAt = this.clock.now();
    await this.persistence.ready(rec);
    return rec;
  }

  /**
   * Merge a sync's pile unless the sync is a repeat; returns the generation that holds a repeat.
   * Synchronous with what follows in syncOnce: the checks hold until the sync is learned.
   */
  private merge(rec: ServiceRecord, pile: Pile | null, syncId: string | undefined): number | undefined {
    if (this.closed) throw new LearnerError('GUARD_LEARNER_CLOSED', 'the learner is closed (guard-service is shutting down)');
    // Released (another replica learns it now) or dropped while it loaded: nothing merged, resent.
    if (!rec.guardian) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${rec.namespace}/${rec.service} moved while its Guardian was read; resend`);
    const repeatOf = repeatGen(rec.syncs, syncId);
    if (repeatOf === undefined && pile && pile.count > 0) {
      rec.pile.merge(pile);
      rec.merges++;
      this.totals.merges++;
      this.active.add(rec);
    }
    return repeatOf;
  }

  /**
   * Several replicas: the services `leaving` selects are no longer learned here. Waits for their
   * writes in flight, then forgets them (the replica that takes them over reads the store).
   */
  async release(leaving: (namespace: string, service: string) => boolean): Promise<void> {
    const recs = [...this.records.values()].filter((r) => leaving(r.namespace, r.service));
    // mayWrite already refuses them, so what is in flight ends; a record kept past its release could
    // later overwrite what the next owner learned.
    for (;;) {
      const pending = recs.flatMap((r) => [r.loading, r.persisting]).filter((p) => p !== null);
      if (pending.length === 0) break;
      await Promise.allSettled(pending);
    }
    for (const rec of recs) {
      if (this.records.get(keyOf(rec.namespace, rec.service)) !== rec) continue;
      this.persistence.drop(rec);
      rec.pile.dispose();
      rec.sincePersist.dispose();
      this.records.delete(keyOf(rec.namespace, rec.service));
    }
  }

  /** The periodic step (every second): learn and persist what the timers say, bounded per tick. */
  tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    let learns = 0;
    let persists = 0;
    const served: ServiceRecord[] = [];
    for (const rec of this.active) {
      if (learns >= this.limits.learnsPerTick && persists >= this.limits.persistsPerTick) break;
      let acted = false;
      if (learns < this.limits.learnsPerTick && this.learnIfDue(rec, now)) {
        learns++;
        acted = true;
      }
      if (persists < this.limits.persistsPerTick && this.persistDue(rec, now)) {
        void this.persistence.persist(rec);
        persists++;
        acted = true;
      }
      if (!needsTick(rec)) this.active.delete(rec);
      else if (acted) served.push(rec);
    }
    // Served services go to the back, so a busy tick does not starve the rest.
    for (const rec of served) {
      this.active.delete(rec);
      this.active.add(rec);
    }
    if (this.limits.idleMs > 0 && now >= this.nextIdleCheckAt) {
      this.nextIdleCheckAt = now + Math.min(IDLE_CHECK_MS, this.limits.idleMs);
      this.forgetIdle(now);
    }
  }

  /**
   * Forget the services idle for LearnerLimits.idleMs with nothing pending: everything they learned
   * is in the store, which their next sync reads again. Bounds the learner's memory by the services
   * that sync, not by every service that ever did. A gate that resends, after that long, a sync
   * whose answer it never got has it merged again (in memory, a single replica's sync ids go with
   * the service; with several replicas they are in the store).
   */
  private forgetIdle(now: number): void {
    for (const [key, rec] of this.records) {
      if (now - rec.lastSyncAt < this.limits.idleMs) continue;
      if (this.active.has(rec) || rec.loading || rec.persisting || rec.pile.count > 0 || unpersisted(rec)) continue;
      rec.guardian?.dispose();
      rec.guardian = null;
      rec.pile.dispose();
      rec.sincePersist.dispose();
      this.records.delete(key);
      this.totals.forgotten++;
      this.log.info({ namespace: rec.namespace, service: rec.service, idleSeconds: Math.round((now - rec.lastSyncAt) / 1000) }, 'learner: an idle service forgotten (its next sync reads the store)');
    }
  }

  /** Run tick() every intervalMs on the clock until stop() or close(). */
  start(intervalMs = 1000): void {
    if (this.timer || this.closed) return;
    const step = (): void => {
      try {
        this.tick();
      } catch (err) {
        this.log.warn({ err }, 'learner tick failed');
      }
      if (this.timer) this.timer = this.clock.setTimeout(step, intervalMs);
    };
    this.timer = this.clock.setTimeout(step, intervalMs);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * On shutdown: learn every pending pile and persist every service learned since its last
   * persist, ignoring the timers; resolves once the store acknowledged all of them. Rejects with
   * GUARD_LEARNER_FLUSH_FAILED, naming the services, when some still fail after flushAttempts.
   */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.records.values()].map((r) => r.loading));
    const now = this.clock.now();
    for (const rec of this.records.values()) if (rec.guardian && rec.pile.count > 0) this.learn(rec, now);
    const queue = [...this.records.values()].filter((r) => r.guardian && (r.persisting || unpersisted(r)));
    const failed: string[] = [];
    const worker = async (): Promise<void> => {
      for (let rec = queue.shift(); rec; rec = queue.shift()) {
        if (!(await this.persistUntilClean(rec))) failed.push(`${rec.namespace}/${rec.service}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.limits.flushConcurrency, queue.length) }, worker));
    if (failed.length > 0) {
      throw new LearnerError(
        'GUARD_LEARNER_FLUSH_FAILED',
        `could not persist what was learned for ${failed.length} service(s) after ${this.limits.flushAttempts} attempts: ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? ', …' : ''}`,
      );
    }
  }

  /**
   * A change in the store (watch): adopt people's configured and control, and a learned part
   * written elsewhere, keeping what was learned here since. Services not synced yet are ignored
   * (their first sync reads the store). While a service loads or persists, its events wait.
   */
  onStoreChange(event: GuardianWatchEvent): void {
    if (this.closed) return;
    const rec = this.records.get(keyOf(event.guardian.namespace, event.guardian.service));
    if (rec) this.persistence.onStoreChange(rec, event);
  }

  /** Resolves when no load or store write is in flight. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.records.values()].flatMap((r) => [r.loading, r.persisting]).filter((p) => p !== null);
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
  }

  /**
   * The process is going away at once (a crash, as tests simulate one): nothing more is learned or
   * written; syncs waiting for a write fail. Unlike close(), nothing is flushed or released.
   */
  abandon(): void {
    this.stop();
    this.closed = true;
  }

  /** Stop ticking, wait for writes in flight and free the core objects. Call flush() first. */
  async close(): Promise<void> {
    this.stop();
    this.closed = true;
    await this.settled();
    for (const rec of this.records.values()) {
      rec.guardian?.dispose();
      rec.pile.dispose();
      rec.sincePersist.dispose();
    }
    this.records.clear();
    this.active.clear();
  }

  status(namespace: string, service: string): ServiceLearningStatus | null {
    const rec = this.records.get(keyOf(namespace, service));
    if (!rec || this.closed) return null;
    return {
      namespace,
      service,
      pileSamples: rec.pile.count,
      samples: rec.guardian?.samples ?? 0,
      unpersisted: unpersisted(rec),
      persisting: rec.persisting !== null,
      lastLearnAt: Number.isFinite(rec.lastLearnAt) ? rec.lastLearnAt : null,
      learnedAt: rec.learnedAt,
      lastPersistAt: rec.persists > 0 ? rec.lastPersistAt : null,
      merges: rec.merges,
      learns: rec.learns,
      persists: rec.persists,
      persistFailures: rec.persistFailures,
      readiness: rec.guardian?.readiness ?? null,
    };
  }

  stats(): LearnerStats {
    let pileSamples = 0;
    if (!this.closed) for (const rec of this.active) pileSamples += rec.pile.count;
    let ready = 0;
    let notReady = 0;
    if (!this.closed) {
      for (const rec of this.records.values()) {
        const r = rec.guardian?.readiness;
        if (r?.ready) ready++;
        else if (r) notReady++;
      }
    }
    return { services: this.records.size, pileSamples, ready, notReady, ...this.totals };
  }

  private recordOf(namespace: string, service: string): ServiceRecord {
    const key = keyOf(namespace, service);
    let rec = this.records.get(key);
    if (!rec) {
      rec = newRecord(this.shards.coreFor(namespace, service), namespace, service, this.clock.now());
      this.records.set(key, rec);
    }
    return rec;
  }

  private learnIfDue(rec: ServiceRecord, now: number): boolean {
    const n = rec.pile.count;
    if (n === 0 || !rec.guardian) return false;
    const l = this.limits;
    const due =
      n >= l.learnSamples ||
      n >= l.maxPileSamples ||
      rec.guardian.samples < n * l.newSamplesRatio ||
      now - rec.lastLearnAt >= l.learnIntervalMs;
    if (due) this.learn(rec, now);
    return due;
  }

  private learn(rec: ServiceRecord, now: number): void {
    rec.guardian!.learn(rec.pile, this.caps);
    rec.sincePersist.merge(rec.pile);
    rec.pile.clear();
    rec.answer = null;
    rec.lastLearnAt = now;
    rec.learnedAt = new Date().toISOString();
    rec.learnGen++;
    rec.learns++;
    this.totals.learns++;
    this.active.add(rec);
  }

  private persistDue(rec: ServiceRecord, now: number): boolean {
    return (
      rec.guardian !== null &&
      rec.persisting === null &&
      unpersisted(rec) &&
      now >= rec.retryAt &&
      now - rec.lastPersistAt >= this.limits.persistIntervalMs
    );
  }

  /** flush(): persist until the store holds everything learned, or the attempts run out. */
  private async persistUntilClean(rec: ServiceRecord): Promise<boolean> {
    let attempts = 0;
    for (;;) {
      if (rec.persisting) {
        await rec.persisting;
        continue;
      }
      if (rec.pile.count > 0) this.learn(rec, this.clock.now());
      if (!unpersisted(rec)) return true;
      if (attempts++ >= this.limits.flushAttempts) return false;
      await this.persistence.persist(rec);
    }
  }
}
