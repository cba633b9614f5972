// Checks shared by every store: Guardian names are DNS-1123 labels (they become file and object
// names), and a spec is stored only in the form the core loads and writes back.
import { CoreError, type Core } from '../core/index.js';
import { StoreError } from './errors.js';
import { MAX_SAMPLES, MAX_SYNC_IDS, SYNC_ID, type GuardianSpecJson, type LearnedExtras } from './types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 63 && DNS_LABEL.test(name);
}

/** Refuse a name that is not a DNS-1123 label (no dots, slashes or "..": no path tricks). */
export function checkName(what: 'namespace' | 'service', name: unknown): asserts name is string {
  if (!isDnsLabel(name)) {
    throw new StoreError(
      'GUARD_STORE_INVALID_NAME',
      `invalid ${what} ${JSON.stringify(name)}: expected a DNS-1123 label (lower-case letters, digits and '-', at most 63)`,
    );
  }
}

export function checkNames(namespace: unknown, service: unknown): void {
  checkName('namespace', namespace);
  checkName('service', service);
}

/**
 * Load `input` (a GuardianSpec, a Guardian object or a ConfigMap, as text or value) with the core
 * and return the canonical GuardianSpec JSON the core writes. `where` names the file or object in
 * the error.
 */
export function canonicalSpec(core: Core, input: string | object, where: string): GuardianSpecJson {
  let guardian;
  try {
    guardian = core.parseGuardian(input);
  } catch (err) {
    if (err instanceof CoreError) throw new StoreError('GUARD_STORE_INVALID', `${where}: ${err.message}`, { location: where, cause: err });
    throw err;
  }
  try {
    const spec = JSON.parse(guardian.toWire()) as GuardianSpecJson;
    // The core knows nothing of the sync ids and the learning time: they are carried beside what
    // it writes. Read leniently: ids that are not ids, and a time that is not one, are left out
    // (they only ever make a resend learned again, or a view say "earlier").
    const { syncs, learnedAt } = learnerFieldsIn(input);
    if (syncs.length > 0) spec.syncs = syncs;
    if (learnedAt !== undefined) spec.learnedAt = learnedAt;
    return spec;
  } finally {
    guardian.dispose();
  }
}

/**
 * The learner's own members of a spec, Guardian object or ConfigMap (value or text): its valid sync
 * ids (the last MAX_SYNC_IDS), and its learning time when it is one.
 */
function learnerFieldsIn(input: string | object): { syncs: string[]; learnedAt: string | undefined } {
  const none = { syncs: [], learnedAt: undefined };
  let value: unknown = input;
  if (typeof input === 'string') {
    if (!input.includes('"syncs"') && !input.includes('"learnedAt"')) return none;
    try {
      value = JSON.parse(input);
    } catch {
      return none;
    }
  }
  const holder = value as { spec?: unknown; data?: { Guardian?: unknown }; syncs?: unknown; learnedAt?: unknown } | null;
  if (holder === null || typeof holder !== 'object') return none;
  if (typeof holder.data?.Guardian === 'string') return learnerFieldsIn(holder.data.Guardian);
  if (holder.spec !== undefined && holder.spec !== null && typeof holder.spec === 'object') return learnerFieldsIn(holder.spec);
  const ids = Array.isArray(holder.syncs) ? holder.syncs.filter((id): id is string => typeof id === 'string' && SYNC_ID.test(id)) : [];
  return { syncs: ids.slice(-MAX_SYNC_IDS), learnedAt: isLearningTime(holder.learnedAt) ? holder.learnedAt : undefined };
}

/** An RFC 3339 date-time in UTC, as Date#toISOString writes it (and the CRD's date-time format takes). */
function isLearningTime(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value) && Number.isFinite(Date.parse(value));
}

/**
 * The spec the learner writes: `learned` and `samples`, and its extras where given, over `base`
 * (the stored spec, or the default Guardian's) — configured and control untouched.
 */
export function learnedSpec(base: GuardianSpecJson, learned: unknown, samples: number, extras: LearnedExtras = {}): GuardianSpecJson {
  const syncs = extras.syncs ?? base.syncs;
  const learnedAt = extras.learnedAt ?? base.learnedAt;
  return {
    configured: base.configured,
    learned,
    samples,
    control: base.control,
    ...(syncs && syncs.length > 0 ? { syncs: [...syncs] } : {}),
    ...(learnedAt !== undefined ? { learnedAt } : {}),
  };
}

/**
 * Validate a spec about to be written. Stricter than reading: `samples` must already be within
 * the cap (the core would silently clamp it, the CRD schema refuses it), and the value must be a
 * plain object, not a whole Guardian or ConfigMap.
 */
export function specToWrite(core: Core, spec: unknown, where: string): GuardianSpecJson {
  const proto = spec !== null && typeof spec === 'object' ? Object.getPrototypeOf(spec) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new StoreError('GUARD_STORE_INVALID', `${where}: a GuardianSpec must be a plain object`, { location: where });
  }
  const s = spec as Record<string, unknown>;
  for (const key of ['spec', 'kind', 'data']) {
    if (key in s) throw new StoreError('GUARD_STORE_INVALID', `${where}: a GuardianSpec has no "${key}" member (pass the spec, not the object holding it)`, { location: where });
  }
  const syncs = s.syncs;
  if (syncs !== undefined && !(Array.isArray(syncs) && syncs.length <= MAX_SYNC_IDS && syncs.every((id) => typeof id === 'string' && SYNC_ID.test(id)))) {
    throw new StoreError('GUARD_STORE_INVALID', `${where}: syncs must be at most ${MAX_SYNC_IDS} sync ids (1 to 64 letters, digits, '.', '_', ':' or '-')`, { location: where });
  }
  if (s.learnedAt !== undefined && !isLearningTime(s.learnedAt)) {
    throw new StoreError('GUARD_STORE_INVALID', `${where}: learnedAt must be a UTC date-time such as 2026-12-07T17:30:00.000Z, got ${JSON.stringify(s.learnedAt)}`, { location: where });
  }
  const samples = s.samples;
  if (samples !== undefined && !(Number.isInteger(samples) && (samples as number) >= 0 && (samples as number) <= MAX_SAMPLES)) {
    throw new StoreError('GUARD_STORE_INVALID', `${where}: samples must be an integer from 0 to ${MAX_SAMPLES}, got ${typeof samples === 'string' ? JSON.stringify(samples) : String(samples)}`, { location: where });
  }
  return canonicalSpec(core, s, where);
}

const defaults = new WeakMap<Core, GuardianSpecJson>();

/**
 * The default Guardian's spec (no criteria; auto, learn, force and alert on; block off), as the
 * core writes it: what a Guardian learned before anyone configured it starts from. A fresh copy
 * on every call; the core is asked once per core instance.
 */
export function defaultSpec(core: Core): GuardianSpecJson {
  let spec = defaults.get(core);
  if (!spec) {
    const g = core.defaultGuardian();
    try {
      spec = JSON.parse(g.toWire()) as GuardianSpecJson;
    } finally {
      g.dispose();
    }
    defaults.set(core, spec);
  }
  return structuredClone(spec);
}
