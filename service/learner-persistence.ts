// The learner's side of the store, for one service at a time: reading its Guardian, writing
// learned + samples (with back-off, or, durable, before the syncs it carries are answered), and
// taking in what the watch says was written elsewhere. service/learner.ts decides when.
import type { Clock } from '../clock/index.js';
import type { Guardian, LearningCaps, Pile } from '../core/index.js';
import type { Logger } from '../log/index.js';
import { isStoreError, type GuardianSpecJson, type GuardianStore, type GuardianWatchEvent } from '../store/index.js';
import type { LearnerLimits } from './learner.js';
import { LearnerError } from './learner-error.js';
import { digestOf, needsTick, peopleOf, type LearnerTotals, type ServiceRecord } from './learner-record.js';
import { rememberSync } from './sync-ids.js';

/** This learner's writes kept per service, to tell their watch events from writes made elsewhere. */
const OWN_WRITES_KEPT = 8;

/** What the persistence shares with the learner that owns it. */
export interface PersistenceDeps {
  store: GuardianStore;
  clock: Clock;
  log: Logger;
  limits: Readonly<LearnerLimits>;
  caps: Readonly<LearningCaps>;
  durable: boolean;
  mayWrite: (namespace: string, service: string) => boolean;
  totals: LearnerTotals;
  /** The learner's services with work for the tick: a persist that ends with work left adds its own. */
  active: Set<ServiceRecord>;
  closed(): boolean;
}

export class LearnerPersistence {
  constructor(private readonly d: PersistenceDeps) {}

  /** Load the service's Guardian once; concurrent first syncs share the read. */
  async ready(rec: ServiceRecord): Promise<void> {
    if (rec.guardian) return;
    rec.loading ??= this.load(rec).finally(() => {
      rec.loading = null;
    });
    await rec.loading;
  }

  private async load(rec: ServiceRecord): Promise<void> {
    const { clock } = this.d;
    const core = rec.core;
    let stored;
    let guardian: Guardian;
    try {
      stored = await this.d.store.get(rec.namespace, rec.service);
      if (this.d.closed()) return;
      guardian = stored ? core.parseGuardian(stored.spec) : core.defaultGuardian();
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
    rec.lastPersistAt = spec.learned == null ? -Infinity : clock.now();
    rec.learnedAt = spec.learned == null ? null : (spec.learnedAt ?? null);
    if (this.d.durable) {
      rec.syncs = new Map();
      for (const id of spec.syncs ?? []) rememberSync(rec.syncs, id, 0);
    }
    this.applyDeferred(rec);
  }

  /**
   * Write learned + samples as they are now (snapshot before any await), one write per service at
   * a time. Never rejects: a failure keeps the learning unpersisted and schedules a retry.
   */
  persist(rec: ServiceRecord): Promise<void> {
    if (rec.persisting) return rec.persisting;
    const spec = JSON.parse(rec.guardian!.toWire()) as GuardianSpecJson;
    const gen = rec.learnGen;
    // Durable mode learns every sync as it is merged: the ids now are those the learned part holds.
    const syncs = this.d.durable ? [...rec.syncs].map(([instance, last]) => `${instance}:${last.seq}`) : undefined;
    const learnedAt = rec.learnedAt ?? undefined;
    const startedAt = this.d.clock.now();
    const inFlight = rec.sincePersist;
    rec.sincePersist = rec.core.newPile();
    const write = async (): Promise<void> => {
      let stored;
      try {
        if (!this.d.mayWrite(rec.namespace, rec.service)) throw new LearnerError('GUARD_LEARNER_STORE_UNAVAILABLE', `${rec.namespace}/${rec.service} is no longer learned by this replica`);
        stored = await this.d.store.updateLearned(rec.namespace, rec.service, spec.learned ?? null, spec.samples, { syncs, learnedAt });
      } catch (err) {
        this.failed(rec, inFlight, err);
        return;
      }
      inFlight.dispose();
      rec.persistedGen = Math.max(rec.persistedGen, gen);
      rec.lastPersistAt = startedAt;
      rec.failures = 0;
      rec.retryAt = -Infinity;
      rec.persists++;
      this.d.totals.persists++;
      if (this.d.closed()) return;
      // Its watch event (not this answer) moves storedLearned: an older event may still come.
      rec.ownWrites.push({ resourceVersion: stored.resourceVersion, learned: digestOf(stored.spec.learned) });
      if (rec.ownWrites.length > OWN_WRITES_KEPT) rec.ownWrites.shift();
      try {
        this.adoptPeople(rec, stored.spec);
      } catch (err) {
        this.d.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'could not adopt configured/control from the store');
      }
    };
    rec.persisting = write().finally(() => {
      rec.persisting = null;
      if (this.d.closed()) return;
      this.applyDeferred(rec);
      if (needsTick(rec)) this.d.active.add(rec);
    });
    return rec.persisting;
  }

  /** A write failed: durable, the syncs it carried are refused; otherwise kept, retried with back-off. */
  private failed(rec: ServiceRecord, inFlight: Pile, err: unknown): void {
    if (this.d.durable) {
      inFlight.dispose();
      this.drop(rec);
      this.d.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'writing learned rules failed; the syncs it carried are refused and resent');
      return;
    }
    const limits = this.d.limits;
    rec.sincePersist.merge(inFlight);
    inFlight.dispose();
    rec.failures++;
    rec.persistFailures++;
    this.d.totals.persistFailures++;
    const delay = Math.min(limits.retryMaxMs, limits.retryMinMs * 2 ** Math.min(rec.failures - 1, 30));
    rec.retryAt = this.d.clock.now() + delay;
    this.d.log.warn({ err, namespace: rec.namespace, service: rec.service, retryInMs: delay }, 'persisting learned rules failed; will retry');
  }

  /**
   * Durable mode: resolves with the answer once the store holds learning generation `gen` — writes
   * are grouped, every sync merged while one write is in flight goes in the next. Rejects when it
   * was dropped before it was written.
   */
  async written(rec: ServiceRecord, gen: number, epoch: number): Promise<string> {
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
      if (this.d.closed()) throw refused();
      await (rec.persisting ?? this.persist(rec));
    }
  }

  /**
   * Durable mode: forget what the store does not hold for a service (a failed write, a shard
   * lost): the next sync reads the Guardian again. Syncs waiting on it fail and are resent.
   */
  drop(rec: ServiceRecord): void {
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
    this.d.active.delete(rec);
  }

  /** Take in a watch event now, or keep it (bounded) while the service loads or persists. */
  onStoreChange(rec: ServiceRecord, event: GuardianWatchEvent): void {
    if (rec.loading || rec.persisting) {
      rec.deferred.push(event);
      if (rec.deferred.length > this.d.limits.maxDeferredEvents) rec.deferred.shift();
      return;
    }
    if (!rec.guardian) return;
    this.tryStoreChange(rec, event);
  }

  private applyDeferred(rec: ServiceRecord): void {
    for (const event of rec.deferred.splice(0)) this.tryStoreChange(rec, event);
  }

  private tryStoreChange(rec: ServiceRecord, event: GuardianWatchEvent): void {
    try {
      this.applyStoreChange(rec, event);
    } catch (err) {
      this.d.log.warn({ err, namespace: rec.namespace, service: rec.service }, 'could not adopt a Guardian change from the store');
    }
  }

  private applyStoreChange(rec: ServiceRecord, event: GuardianWatchEvent): void {
    if (event.type === 'delete') {
      this.deleted(rec);
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
    const next = rec.core.parseGuardian(spec);
    if (rec.sincePersist.count > 0) next.learn(rec.sincePersist, this.d.caps);
    this.replaceGuardian(rec, next);
    rec.people = peopleOf(spec);
    rec.storedLearned = learned;
    if (this.d.durable) for (const id of spec.syncs ?? []) rememberSync(rec.syncs, id, 0);
    if (spec.learned == null) rec.lastPersistAt = -Infinity;
    // Learned here since the last persist too: the newer of the two learns.
    if (rec.sincePersist.count === 0 || rec.learnedAt === null) rec.learnedAt = spec.learned == null ? null : (spec.learnedAt ?? null);
    this.d.log.info({ namespace: rec.namespace, service: rec.service, samples: spec.samples }, 'adopted learned rules written elsewhere');
  }

  /**
   * People deleted the Guardian: start over from the default. Piled samples not learned yet are
   * kept; the next learn is a first learn and creates the Guardian again.
   */
  private deleted(rec: ServiceRecord): void {
    this.replaceGuardian(rec, rec.core.defaultGuardian());
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
  }

  /** Take configured and control from a stored spec, keeping the learned part held here. */
  private adoptPeople(rec: ServiceRecord, spec: GuardianSpecJson): void {
    const people = peopleOf(spec);
    if (people === rec.people) return;
    const mine = JSON.parse(rec.guardian!.toWire()) as GuardianSpecJson;
    this.replaceGuardian(
      rec,
      rec.core.parseGuardian({ configured: spec.configured ?? null, learned: mine.learned ?? null, samples: mine.samples, control: spec.control ?? null }),
    );
    rec.people = people;
  }

  private replaceGuardian(rec: ServiceRecord, next: Guardian): void {
    rec.guardian?.dispose();
    rec.guardian = next;
    rec.answer = null;
  }
}
