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
import { createHash } from 'node:crypto';
import { DEFAULT_LEARNING_CAPS, type Core, type Guardian, type LearningCaps, type Pile, type Readiness } from '../core/index.js';
import type { Clock, Timer } from '../clock/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { checkNames, isStoreError, MAX_SYNC_IDS, type GuardianSpecJson, type GuardianStore, type GuardianWatchEvent } from '../store/index.js';

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

export type LearnerErrorCode =
  /** The service's Guardian could not be read; the gate keeps its pile and Guardian and retries. */
  | 'GUARD_LEARNER_STORE_UNAVAILABLE'
  /** flush() could not persist some services (named in the message) after its attempts. */
  | 'GUARD_LEARNER_FLUSH_FAILED'
  | 'GUARD_LEARNER_CLOSED';

export class LearnerError extends Error {
  readonly code: LearnerErrorCode;
  constructor(code: LearnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LearnerError';
    this.code = code;
  }
}

export interface LearnerOptions {
  core: Core;
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

export interface LearnerStats {
  services: number;
  pileSamples: number;
  /** Services whose learned rules are ready / track readiness and are not ready yet. */
  ready: number;
  notReady: number;
  merges: number;
  /** Syncs sent again after they were merged (same sync id): answered, not merged twice. */
  repeats: number;
  learns: number;
  persists: number;
  persistFailures: number;
  /** Idle services forgotten (LearnerLimits.idleMs). */
  forgotten: number;
}

interface ServiceRecord {
  readonly namespace: string;
  readonly service: string;
  /** null until loaded from the store. */
  guardian: Guardian | null;
  loading: Promise<void> | null;
  /** Merged, not learned yet. */
  readonly pile: Pile;
  /** Learned since the last successful persist: learned again into a learned part written elsewhere. */
  sincePersist: Pile;
  /** The Guardian's wire JSON, until it changes. */
  answer: string | null;
  /** JSON of [configured, control] of `guardian`. */
  people: string;
  /**
   * Digest of the learned part in the store as of the last store state taken in (load or watch
   * event, in the watch's order): an event with another one was written elsewhere.
   */
  storedLearned: string;
  /** resourceVersion of the last store state taken in. */
  resourceVersion: string | null;
  /** This learner's recent writes, whose watch events are not "written elsewhere". */
  ownWrites: Array<{ resourceVersion: string; learned: string }>;
  lastLearnAt: number;
  /** Wall-clock time of the learned rules held (RFC 3339), written with them; null: unknown. */
  learnedAt: string | null;
  lastPersistAt: number;
  retryAt: number;
  failures: number;
  /** learnGen > persistedGen: learned since the last persist. */
  learnGen: number;
  persistedGen: number;
  persisting: Promise<void> | null;
  deferred: GuardianWatchEvent[];
  /** Bumped when durable learning not written is dropped: syncs waiting on it fail. */
  epoch: number;
  /** For recent drops: the generation the store held when epoch `epoch` ended. */
  dropped: Array<{ epoch: number; written: number; answer: string }>;
  /**
   * The last sync merged from each gate instance (a sync id is `<instance>:<sequence>`), least
   * recently used first, at most MAX_SYNC_IDS: its sequence and the learning generation that holds
   * it (0: read from the store). A gate sends its syncs one at a time and a sync whose answer never
   * came again before any newer one, so a sequence at or below its instance's last is a repeat.
   */
  syncs: Map<string, { seq: number; gen: number }>;
  merges: number;
  learns: number;
  persists: number;
  persistFailures: number;
  /** clock.now() of the last sync (idle services are forgotten: LearnerLimits.idleMs). */
  lastSyncAt: number;
}

const OWN_WRITES_KEPT = 8;
/** How often the tick looks for idle services to forget. */
const IDLE_CHECK_MS = 60_000;

export class Learner {
  private readonly core: Core;
  private readonly store: GuardianStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly limits: Readonly<LearnerLimits>;
  private readonly caps: Readonly<LearningCaps>;
  private readonly records = new Map<string, ServiceRecord>();
  /** Services with a pending pile or unpersisted learning, in round-robin order for the tick. */
  private readonly active = new Set<ServiceRecord>();
  private readonly totals = { merges: 0, repeats: 0, learns: 0, persists: 0, persistFailures: 0, forgotten: 0 };
  private nextIdleCheckAt = -Infinity;
  private timer: Timer | null = null;
  private closed = false;
  private readonly durable: boolean;
  private readonly mayWrite: (namespace: string, service: string) => boolean;

  constructor(options: LearnerOptions) {
    this.core = options.core;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log ?? silentLogger;
    this.limits = Object.freeze({ ...DEFAULT_LEARNER_LIMITS, ...options.limits });
    this.caps = Object.freeze({ ...DEFAULT_LEARNING_CAPS, ...options.caps });
    this.durable = options.durable ?? false;
    this.mayWrite = options.mayWrite ?? (() => true);
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
      if (this.closed) throw new LearnerError('GUARD_LEARNER_CLOSED', 'the learner is closed (guard-service is shutting down)');
      checkNames(namespace, service);
      if (!this.mayWrite(namespace, service)) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${namespace}/${service} is not learned by this replica now; resend`);
      rec = this.recordOf(namespace, service);
      rec.lastSyncAt = this.clock.now();
      await this.ready(rec);
      if (this.closed) throw new LearnerError('GUARD_LEARNER_CLOSED', 'the learner is closed (guard-service is shutting down)');
      // Released (another replica learns it now) or dropped while it loaded: nothing merged, resent.
      if (!rec.guardian) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${namespace}/${service} moved while its Guardian was read; resend`);
      // From here to the return nothing awaits: merge and learn see whole piles only.
      repeatOf = repeatGen(rec, syncId);
      if (repeatOf === undefined && pile && pile.count > 0) {
        rec.pile.merge(pile);
        rec.merges++;
        this.totals.merges++;
        this.active.add(rec);
      }
    } finally {
      pile?.dispose();
    }
    if (repeatOf !== undefined) {
      this.totals.repeats++;
      this.log.info({ namespace, service, syncId }, 'a sync already learned was sent again: not merged twice');
      const answer = this.durable ? await this.written(rec, repeatOf, rec.epoch) : (rec.answer ??= rec.guardian!.toWire());
      return { answer, repeated: true };
    }
    const now = this.clock.now();
    if (this.durable) {
      // Only this sync's samples are in the pile: every sync is learned as it is merged.
      const merged = rec.pile.count > 0;
      if (merged) this.learn(rec, now);
      if (syncId !== undefined) this.remember(rec, syncId, merged ? rec.learnGen : rec.persistedGen);
      if (merged) return { answer: await this.written(rec, rec.learnGen, rec.epoch), repeated: false };
      return { answer: (rec.answer ??= rec.guardian!.toWire()), repeated: false };
    }
    if (syncId !== undefined) this.remember(rec, syncId, rec.learnGen);
    this.learnIfDue(rec, now);
    if (rec.lastPersistAt === -Infinity && this.persistDue(rec, now)) void this.persist(rec);
    return { answer: (rec.answer ??= rec.guardian!.toWire()), repeated: false };
  }

  /**
   * Keep a merged sync as its instance's last: the most recently used MAX_SYNC_IDS instances per
   * service, and at most MAX_INSTANCES_PER_POD of one pod's (the least recent of that pod's go
   * first), so that a pod sending syncs under ever new instances only ever forgets its own.
   */
  private remember(rec: ServiceRecord, syncId: string, gen: number): void {
    const id = parseSyncId(syncId);
    if (id === null) return;
    const syncs = rec.syncs;
    const last = syncs.get(id.instance);
    if (last !== undefined && last.seq > id.seq) return;
    if (last === undefined) {
      const pod = podOf(id.instance);
      if (pod !== null) {
        let oldest: string | null = null;
        let same = 0;
        for (const instance of syncs.keys()) {
          if (podOf(instance) !== pod) continue;
          oldest ??= instance;
          same++;
        }
        if (same >= MAX_INSTANCES_PER_POD) syncs.delete(oldest!);
      }
    }
    syncs.delete(id.instance);
    syncs.set(id.instance, { seq: id.seq, gen });
    if (syncs.size > MAX_SYNC_IDS) syncs.delete(syncs.keys().next().value!);
  }

  /**
   * Durable mode: resolves with the answer once the store holds learning generation `gen` — writes
   * are grouped, every sync merged while one write is in flight goes in the next. Rejects when it
   * was dropped before it was written.
   */
  private async written(rec: ServiceRecord, gen: number, epoch: number): Promise<string> {
    const refused = () => new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `the learning of ${rec.namespace}/${rec.service} could not be written to the store; resend`);
    for (;;) {
      if (rec.epoch !== epoch) {
        // Dropped after this sync's write landed: it is learned, and must not be resent.
        const dropped = rec.dropped.find((d) => d.epoch === epoch);
        if (dropped && dropped.written >= gen) return dropped.answer;
        throw refused();
      }
      // The answer is taken now: a release may drop the record before the caller resumes.
      if (rec.persistedGen >= gen) return (rec.answer ??= rec.guardian!.toWire());
      if (this.closed) throw refused();
      await (rec.persisting ?? this.persist(rec));
    }
  }

  /**
   * Durable mode: forget what the store does not hold for a service (a failed write, a shard
   * lost): the next sync reads the Guardian again. Syncs waiting on it fail and are resent.
   */
  private drop(rec: ServiceRecord): void {
    rec.dropped.push({ epoch: rec.epoch, written: rec.persistedGen, answer: rec.answer ?? rec.guardian?.toWire() ?? '{}' });
    if (rec.dropped.length > 8) rec.dropped.shift();
    rec.epoch++;
    rec.guardian?.dispose();
    rec.guardian = null;
    rec.answer = null;
    rec.pile.clear();
    rec.sincePersist.clear();
    rec.persistedGen = rec.learnGen;
    rec.ownWrites = [];
    rec.deferred.length = 0;
    rec.syncs.clear();
    this.active.delete(rec);
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
      this.drop(rec);
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
        void this.persist(rec);
        persists++;
        acted = true;
      }
      if (!this.needsTick(rec)) this.active.delete(rec);
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
      if (this.active.has(rec) || rec.loading || rec.persisting || rec.pile.count > 0 || this.unpersisted(rec)) continue;
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
    const queue = [...this.records.values()].filter((r) => r.guardian && (r.persisting || this.unpersisted(r)));
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
    if (!rec) return;
    if (rec.loading || rec.persisting) {
      rec.deferred.push(event);
      if (rec.deferred.length > this.limits.maxDeferredEvents) rec.deferred.shift();
      return;
    }
    if (!rec.guardian) return;
    try {
      this.applyStoreChange(rec, event);
    } catch (err) {
      this.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'could not adopt a Guardian change from the store');
    }
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
      unpersisted: this.unpersisted(rec),
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
      rec = {
        namespace,
        service,
        guardian: null,
        loading: null,
        pile: this.core.newPile(),
        sincePersist: this.core.newPile(),
        answer: null,
        people: '',
        storedLearned: '',
        resourceVersion: null,
        ownWrites: [],
        lastLearnAt: -Infinity,
        learnedAt: null,
        lastPersistAt: -Infinity,
        retryAt: -Infinity,
        failures: 0,
        learnGen: 0,
        persistedGen: 0,
        persisting: null,
        deferred: [],
        epoch: 0,
        dropped: [],
        syncs: new Map(),
        merges: 0,
        learns: 0,
        persists: 0,
        persistFailures: 0,
        lastSyncAt: this.clock.now(),
      };
      this.records.set(key, rec);
    }
    return rec;
  }

  /** Load the service's Guardian once; concurrent first syncs share the read. */
  private async ready(rec: ServiceRecord): Promise<void> {
    if (rec.guardian) return;
    rec.loading ??= this.load(rec).finally(() => {
      rec.loading = null;
    });
    await rec.loading;
  }

  private async load(rec: ServiceRecord): Promise<void> {
    let stored;
    let guardian: Guardian;
    try {
      stored = await this.store.get(rec.namespace, rec.service);
      if (this.closed) return;
      guardian = stored ? this.core.parseGuardian(stored.spec) : this.core.defaultGuardian();
    } catch (err) {
      rec.deferred.length = 0;
      // A read error is never taken for "no Guardian" (docs/threat-model.md, B-5): the default
      // would overwrite learning.
      const code = isStoreError(err) ? ` (${err.code})` : '';
      throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `cannot read the Guardian of ${rec.namespace}/${rec.service}${code}: ${(err as Error).message}`, { cause: err });
    }
    const spec = stored ? stored.spec : (JSON.parse(guardian.toWire()) as GuardianSpecJson);
    rec.guardian = guardian;
    rec.answer = null;
    rec.people = peopleOf(spec);
    rec.storedLearned = digestOf(spec.learned);
    rec.resourceVersion = stored?.resourceVersion ?? null;
    rec.lastPersistAt = spec.learned == null ? -Infinity : this.clock.now();
    rec.learnedAt = spec.learned == null ? null : (spec.learnedAt ?? null);
    if (this.durable) {
      rec.syncs = new Map();
      for (const id of spec.syncs ?? []) this.remember(rec, id, 0);
    }
    this.applyDeferred(rec);
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

  private unpersisted(rec: ServiceRecord): boolean {
    return rec.learnGen > rec.persistedGen;
  }

  private needsTick(rec: ServiceRecord): boolean {
    return rec.pile.count > 0 || this.unpersisted(rec);
  }

  private persistDue(rec: ServiceRecord, now: number): boolean {
    return (
      rec.guardian !== null &&
      rec.persisting === null &&
      this.unpersisted(rec) &&
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
      if (!this.unpersisted(rec)) return true;
      if (attempts++ >= this.limits.flushAttempts) return false;
      await this.persist(rec);
    }
  }

  /**
   * Write learned + samples as they are now (snapshot before any await), one write per service at
   * a time. Never rejects: a failure keeps the learning unpersisted and schedules a retry.
   */
  private persist(rec: ServiceRecord): Promise<void> {
    if (rec.persisting) return rec.persisting;
    const spec = JSON.parse(rec.guardian!.toWire()) as GuardianSpecJson;
    const gen = rec.learnGen;
    // Durable mode learns every sync as it is merged: the ids now are those the learned part holds.
    const syncs = this.durable ? [...rec.syncs].map(([instance, last]) => `${instance}:${last.seq}`) : undefined;
    const learnedAt = rec.learnedAt ?? undefined;
    const startedAt = this.clock.now();
    const inFlight = rec.sincePersist;
    rec.sincePersist = this.core.newPile();
    const write = async (): Promise<void> => {
      let stored;
      try {
        if (!this.mayWrite(rec.namespace, rec.service)) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${rec.namespace}/${rec.service} is no longer learned by this replica`);
        stored = await this.store.updateLearned(rec.namespace, rec.service, spec.learned ?? null, spec.samples, { syncs, learnedAt });
      } catch (err) {
        if (this.durable) {
          inFlight.dispose();
          this.drop(rec);
          this.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'writing learned rules failed; the syncs it carried are refused and resent');
          return;
        }
        rec.sincePersist.merge(inFlight);
        inFlight.dispose();
        rec.failures++;
        rec.persistFailures++;
        this.totals.persistFailures++;
        const delay = Math.min(this.limits.retryMaxMs, this.limits.retryMinMs * 2 ** Math.min(rec.failures - 1, 30));
        rec.retryAt = this.clock.now() + delay;
        this.log.warn({ err, namespace: rec.namespace, service: rec.service, retryInMs: delay }, 'persisting learned rules failed; will retry');
        return;
      }
      inFlight.dispose();
      rec.persistedGen = Math.max(rec.persistedGen, gen);
      rec.lastPersistAt = startedAt;
      rec.failures = 0;
      rec.retryAt = -Infinity;
      rec.persists++;
      this.totals.persists++;
      if (this.closed) return;
      // Its watch event (not this answer) moves storedLearned: an older event may still come.
      rec.ownWrites.push({ resourceVersion: stored.resourceVersion, learned: digestOf(stored.spec.learned) });
      if (rec.ownWrites.length > OWN_WRITES_KEPT) rec.ownWrites.shift();
      try {
        this.adoptPeople(rec, stored.spec);
      } catch (err) {
        this.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'could not adopt configured/control from the store');
      }
    };
    rec.persisting = write().finally(() => {
      rec.persisting = null;
      if (this.closed) return;
      this.applyDeferred(rec);
      if (this.needsTick(rec)) this.active.add(rec);
    });
    return rec.persisting;
  }

  private applyDeferred(rec: ServiceRecord): void {
    for (const event of rec.deferred.splice(0)) {
      try {
        this.applyStoreChange(rec, event);
      } catch (err) {
        this.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'could not adopt a Guardian change from the store');
      }
    }
  }

  private applyStoreChange(rec: ServiceRecord, event: GuardianWatchEvent): void {
    if (event.type === 'delete') {
      // People deleted the Guardian: start over from the default. Piled samples not learned yet
      // are kept; the next learn is a first learn and creates the Guardian again.
      this.replaceGuardian(rec, this.core.defaultGuardian());
      rec.people = peopleOf(JSON.parse(rec.guardian!.toWire()) as GuardianSpecJson);
      rec.storedLearned = digestOf(null);
      rec.resourceVersion = null;
      rec.ownWrites = [];
      rec.sincePersist.clear();
      rec.persistedGen = rec.learnGen;
      rec.lastPersistAt = -Infinity;
      rec.learnedAt = null;
      rec.retryAt = -Infinity;
      rec.failures = 0;
      rec.syncs.clear();
      return;
    }
    const { spec, resourceVersion } = event.guardian;
    if (resourceVersion === rec.resourceVersion) return;
    rec.resourceVersion = resourceVersion;
    const learned = digestOf(spec.learned);
    const own = rec.ownWrites.findIndex((w) => w.resourceVersion === resourceVersion);
    if (own >= 0) rec.ownWrites.splice(0, own + 1);
    if (own >= 0 || learned === rec.storedLearned) {
      rec.storedLearned = learned;
      this.adoptPeople(rec, spec);
      return;
    }
    // learned/samples written elsewhere: take them, and learn again what was learned here since
    // the last persist (its samples count once more, on top of the samples written there).
    const next = this.core.parseGuardian(spec);
    if (rec.sincePersist.count > 0) next.learn(rec.sincePersist, this.caps);
    this.replaceGuardian(rec, next);
    rec.people = peopleOf(spec);
    rec.storedLearned = learned;
    if (this.durable) for (const id of spec.syncs ?? []) this.remember(rec, id, 0);
    if (spec.learned == null) rec.lastPersistAt = -Infinity;
    // Learned here since the last persist too: the newer of the two learns.
    if (rec.sincePersist.count === 0 || rec.learnedAt === null) rec.learnedAt = spec.learned == null ? null : (spec.learnedAt ?? null);
    this.log.info({ namespace: rec.namespace, service: rec.service, samples: spec.samples }, 'adopted learned rules written elsewhere');
  }

  /** Take configured and control from a stored spec, keeping the learned part held here. */
  private adoptPeople(rec: ServiceRecord, spec: GuardianSpecJson): void {
    const people = peopleOf(spec);
    if (people === rec.people) return;
    const mine = JSON.parse(rec.guardian!.toWire()) as GuardianSpecJson;
    this.replaceGuardian(
      rec,
      this.core.parseGuardian({ configured: spec.configured ?? null, learned: mine.learned ?? null, samples: mine.samples, control: spec.control ?? null }),
    );
    rec.people = people;
  }

  private replaceGuardian(rec: ServiceRecord, next: Guardian): void {
    rec.guardian?.dispose();
    rec.guardian = next;
    rec.answer = null;
  }
}

/**
 * Instances of one gate pod kept at once: a pod's gate gets a new instance only when its process
 * restarts, and the syncs a previous process left unanswered went with it.
 */
export const MAX_INSTANCES_PER_POD = 4;

/**
 * The pod part of an instance as guard-service writes it (service/sync-route.ts: 8 hex digits of
 * the pod's digest, then 8 of the instance's), null for an instance of another form.
 */
function podOf(instance: string): string | null {
  return instance.length === 16 && /^[0-9a-f]{16}$/.test(instance) ? instance.slice(0, 8) : null;
}

/** `<instance>:<sequence>`, or null for an id of another form (never taken for a repeat). */
export function parseSyncId(syncId: string): { instance: string; seq: number } | null {
  const colon = syncId.lastIndexOf(':');
  if (colon <= 0) return null;
  const digits = syncId.slice(colon + 1);
  if (!/^\d{1,15}$/.test(digits)) return null;
  return { instance: syncId.slice(0, colon), seq: Number(digits) };
}

/** The learning generation that holds a repeat of this sync, undefined when it is not a repeat. */
function repeatGen(rec: ServiceRecord, syncId: string | undefined): number | undefined {
  if (syncId === undefined) return undefined;
  const id = parseSyncId(syncId);
  const last = id === null ? undefined : rec.syncs.get(id.instance);
  if (id === null || last === undefined || id.seq > last.seq) return undefined;
  // An older sequence than the last was taken before it (or went into a later one): nothing to wait for.
  return id.seq === last.seq ? last.gen : 0;
}

function keyOf(namespace: string, service: string): string {
  return `${namespace}/${service}`;
}

function peopleOf(spec: GuardianSpecJson): string {
  return JSON.stringify([spec.configured ?? null, spec.control ?? null]);
}

function digestOf(learned: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(learned ?? null))
    .digest('base64');
}
