// What the learner holds for one service: its Guardian, its piles, and where its learning stands
// against the store. service/learner.ts states the policy these fields serve.
import { createHash } from 'node:crypto';
import type { Core, Guardian, Pile } from '../core/index.js';
import type { GuardianSpecJson, GuardianWatchEvent } from '../store/index.js';
import type { SyncIds } from './sync-ids.js';

export interface ServiceRecord {
  readonly namespace: string;
  readonly service: string;
  /** The core instance that holds this service's Guardian and piles (service/core-shards.ts). */
  readonly core: Core;
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
  /** The last sync merged from each gate instance (service/sync-ids.ts). */
  syncs: SyncIds;
  merges: number;
  learns: number;
  persists: number;
  persistFailures: number;
  /** clock.now() of the last sync (idle services are forgotten: LearnerLimits.idleMs). */
  lastSyncAt: number;
}

/** The learner's counts over every service (part of LearnerStats). */
export interface LearnerTotals {
  merges: number;
  /** Syncs sent again after they were merged (same sync id): answered, not merged twice. */
  repeats: number;
  learns: number;
  persists: number;
  persistFailures: number;
  /** Idle services forgotten (LearnerLimits.idleMs). */
  forgotten: number;
}

/** A service not read from the store yet, first synced at `now`. */
export function newRecord(core: Core, namespace: string, service: string, now: number): ServiceRecord {
  return {
    namespace,
    service,
    core,
    guardian: null,
    loading: null,
    pile: core.newPile(),
    sincePersist: core.newPile(),
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
    lastSyncAt: now,
  };
}

/** Learned since the last persist. */
export function unpersisted(rec: ServiceRecord): boolean {
  return rec.learnGen > rec.persistedGen;
}

/** Something for the tick to do: a pile to learn, or learning to persist. */
export function needsTick(rec: ServiceRecord): boolean {
  return rec.pile.count > 0 || unpersisted(rec);
}

export function keyOf(namespace: string, service: string): string {
  return `${namespace}/${service}`;
}

export function peopleOf(spec: GuardianSpecJson): string {
  return JSON.stringify([spec.configured ?? null, spec.control ?? null]);
}

export function digestOf(learned: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(learned ?? null))
    .digest('base64');
}
