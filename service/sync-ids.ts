// Which syncs of a service the learner merged, by sync id (`<instance>:<sequence>`, the
// X-Guard-Sync-Id a gate sends): a sync sent again because its answer never came is told apart from
// a new one and merged once (service/learner.ts, syncOnce).
import { MAX_SYNC_IDS } from '../store/index.js';

/**
 * The last sync merged from each gate instance, least recently used first, at most MAX_SYNC_IDS:
 * its sequence and the learning generation that holds it (0: read from the store). A gate sends its
 * syncs one at a time and a sync whose answer never came again before any newer one, so a sequence
 * at or below its instance's last is a repeat.
 */
export type SyncIds = Map<string, { seq: number; gen: number }>;

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
export function repeatGen(syncs: SyncIds, syncId: string | undefined): number | undefined {
  if (syncId === undefined) return undefined;
  const id = parseSyncId(syncId);
  const last = id === null ? undefined : syncs.get(id.instance);
  if (id === null || last === undefined || id.seq > last.seq) return undefined;
  // An older sequence than the last was taken before it (or went into a later one): nothing to wait for.
  return id.seq === last.seq ? last.gen : 0;
}

/**
 * Keep a merged sync as its instance's last: the most recently used MAX_SYNC_IDS instances per
 * service, and at most MAX_INSTANCES_PER_POD of one pod's (the least recent of that pod's go
 * first), so that a pod sending syncs under ever new instances only ever forgets its own.
 */
export function rememberSync(syncs: SyncIds, syncId: string, gen: number): void {
  const id = parseSyncId(syncId);
  if (id === null) return;
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
