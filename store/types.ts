// The storage contract of guard-service and the gate: where Guardians live (a directory of files,
// Guardian CRDs or ConfigMaps) is hidden behind GuardianStore. Specs cross it as GuardianSpec JSON.

/** A GuardianSpec as wire JSON, as the core writes it (the original's field names). */
export type GuardianSpecJson = {
  configured: unknown | null;
  /** Omitted (or null) until something was learned. */
  learned?: unknown | null;
  samples: number;
  control: { alert: boolean; block: boolean; learn: boolean; force: boolean; auto: boolean } | null;
  /**
   * The last sync id (`<gate instance>:<sequence>`, the instance a digest of the gate's pod and its
   * own instance id: service/sync-route.ts) of each gate whose samples `learned` holds,
   * least recently used first (at most MAX_SYNC_IDS): guard-service's replicas learn a resent sync
   * once (docs/operations.md, Replicas). Ours only; the original ignores it.
   */
  syncs?: string[];
  /**
   * When the rules in `learned` were learned (RFC 3339, written by guard-service's learner with
   * them): people's views show it after a restart and after a shard moved to another replica.
   * Ours only; the original ignores it, and a Guardian without it loads as before.
   */
  learnedAt?: string;
};

/** What the learner writes beside learned and samples (each kept as stored when not given). */
export interface LearnedExtras {
  /** The ids of the syncs `learned` holds. */
  syncs?: readonly string[];
  /** When `learned` was learned (RFC 3339). */
  learnedAt?: string;
}

/** The most gate instances whose last sync id a Guardian keeps. */
export const MAX_SYNC_IDS = 512;

/** What a sync id may be: letters, digits and `._:-`, 1 to 64 of them. */
export const SYNC_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The header a gate's sync may carry its id in: one id per pile, kept when the same pile is resent
 * after an answer that never came, so that the replica learning it learns it once
 * (docs/operations.md, Replicas). Optional: the original's gates send none.
 */
export const SYNC_ID_HEADER = 'x-guard-sync-id';

/** A read-modify-write step: the current spec and its resourceVersion (both null when absent). */
export type GuardianChange = (current: GuardianSpecJson | null, resourceVersion: string | null) => GuardianSpecJson;

export interface StoredGuardian {
  namespace: string;
  service: string;
  /** Always the core's canonical wire form of what was stored. */
  spec: GuardianSpecJson;
  /** Opaque: compare for equality only. */
  resourceVersion: string;
  /**
   * The Kubernetes object's metadata.uid (kube stores only): what an Event about the Guardian names
   * so that `kubectl describe` lists it (service/alert-events.ts).
   */
  uid?: string;
}

export type GuardianWatchEvent =
  | { type: 'put'; guardian: StoredGuardian }
  | { type: 'delete'; guardian: { namespace: string; service: string } };

/**
 * Every spec written is first loaded by the core (an invalid one is refused with
 * GUARD_STORE_INVALID and nothing is written); every spec read is loaded too, and an invalid one
 * is reported and skipped by list() and watch(), or refused by get() and update() — never taken
 * for "no Guardian", so a gate keeps its last good one. Names are DNS-1123 labels.
 */
export interface GuardianStore {
  readonly kind: 'file' | 'kube-crd' | 'kube-configmap';
  /** null when there is no Guardian of that name. */
  get(namespace: string, service: string): Promise<StoredGuardian | null>;
  /** Every valid Guardian, in one namespace or in all. */
  list(namespace?: string): Promise<StoredGuardian[]>;
  /**
   * Read-modify-write with optimistic concurrency: `change` gets the current spec (null if none)
   * and its resourceVersion, and returns the new one; retried on conflict (bounded,
   * GUARD_STORE_CONFLICT after the last try). `change` may run more than once, so it must not have
   * side effects; it may throw to refuse (e.g. a caller's precondition on the resourceVersion):
   * nothing is written and the error reaches the caller.
   */
  update(namespace: string, service: string, change: GuardianChange): Promise<StoredGuardian>;
  /**
   * Only learned + samples (and, when given, the ids of the syncs they hold and when they were
   * learned), leaving configured/control (people's fields) untouched. A Guardian
   * that does not exist yet is created with the default Guardian's configured and control.
   */
  updateLearned(namespace: string, service: string, learned: unknown, samples: number, extras?: LearnedExtras): Promise<StoredGuardian>;
  /** GUARD_STORE_NOT_FOUND when there is no such Guardian. */
  delete(namespace: string, service: string): Promise<void>;
  /**
   * Changes as they happen. Starts with a 'put' for every Guardian present (like an informer's
   * initial list), so list-then-watch has no gap; a 'put' repeats the whole Guardian.
   */
  watch(onChange: (event: GuardianWatchEvent) => void): { close(): void };
  /** Stops every watch; later calls fail with GUARD_STORE_CLOSED. */
  close(): Promise<void>;
}

/** The cap of a Guardian's samples count (the original's numSamplesLimit). */
export const MAX_SAMPLES = 1_000_000;
