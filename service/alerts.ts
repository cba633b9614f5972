// The alerts gates report in their syncs, kept per service in a bounded ring (oldest dropped and
// counted) for the people API, the UI and metrics. What survives a restart is recorded elsewhere
// (Kubernetes Events, alert-events.ts; the file store's log, alert-log.ts) and restored from there.
import { wallClock, type WallClock } from '../clock/index.js';

/** One alert as the core re-encodes it from a sync message. */
export interface SyncAlert {
  decision: unknown;
  /** Unix seconds, as the gate stamped it. */
  time: number;
  level: string;
  count: number;
}

export interface StoredAlert extends SyncAlert {
  /** Receipt order across all services: higher is newer. */
  seq: number;
  /** Wall-clock milliseconds when guard-service received it. */
  receivedAt: number;
  namespace: string;
  service: string;
  pod: string;
}

export interface AlertQuery {
  namespace?: string;
  service?: string;
  level?: string;
  /** Only alerts received at or after this (wall-clock ms). */
  since?: number;
  /** At most this many, newest first (default 100, at most maxQueryLimit). */
  limit?: number;
}

export interface AlertCounts {
  /** Alert entries received (not the sum of their `count`). */
  received: number;
  /** Sum of the `count` of the entries received. */
  occurrences: number;
  /** Entries dropped because a ring was full (or its service evicted). */
  dropped: number;
  stored: number;
}

/** Which services a query or a hand-over covers (namespace, service). */
export type ServiceFilter = (namespace: string, service: string) => boolean;

/** An alert read back (Kubernetes Events, the file store's log), with when it was received. */
export interface RestoredAlert {
  namespace: string;
  service: string;
  pod: string;
  alert: unknown;
  receivedAt: number;
}

export interface RecentAlerts {
  /** One per time asked for, in the same order. */
  windows: Array<{ entries: number; occurrences: number }>;
  /** Wall-clock ms of the newest alert within the oldest window, or null. */
  newestAt: number | null;
}

export interface AlertStoreOptions {
  /** Alerts kept per service (default 1000). */
  perService?: number;
  /** Services kept (default 10,000); beyond it the one quiet the longest is evicted. */
  maxServices?: number;
  /** Upper bound of a query's limit (default 1000). */
  maxQueryLimit?: number;
  /** Alert times are dates: the wall clock (default). */
  now?: WallClock;
}

const DEFAULT_QUERY_LIMIT = 100;

class AlertRing {
  private readonly slots: Array<StoredAlert | undefined>;
  private next = 0;
  size = 0;
  readonly counts: AlertCounts = { received: 0, occurrences: 0, dropped: 0, stored: 0 };

  constructor(
    readonly namespace: string,
    readonly service: string,
    capacity: number,
  ) {
    this.slots = new Array<StoredAlert | undefined>(capacity);
  }

  /** Add an alert; true when the oldest had to go. */
  push(alert: StoredAlert): boolean {
    const full = this.size === this.slots.length;
    this.slots[this.next] = alert;
    this.next = (this.next + 1) % this.slots.length;
    if (!full) this.size++;
    this.counts.received++;
    this.counts.occurrences += alert.count;
    if (full) this.counts.dropped++;
    this.counts.stored = this.size;
    return full;
  }

  /** Newest first. */
  *newest(): Generator<StoredAlert> {
    const cap = this.slots.length;
    for (let i = 1; i <= this.size; i++) yield this.slots[(this.next - i + cap) % cap]!;
  }
}

export class AlertStore {
  private readonly perService: number;
  private readonly maxServices: number;
  private readonly maxQueryLimit: number;
  private readonly now: WallClock;
  /** Keyed namespace/service, in order of last alert (Map order: least recent first). */
  private readonly rings = new Map<string, AlertRing>();
  private readonly totals: AlertCounts = { received: 0, occurrences: 0, dropped: 0, stored: 0 };
  private seq = 0;

  constructor(options: AlertStoreOptions = {}) {
    this.perService = positiveInt(options.perService ?? 1000, 'perService');
    this.maxServices = positiveInt(options.maxServices ?? 10_000, 'maxServices');
    this.maxQueryLimit = positiveInt(options.maxQueryLimit ?? 1000, 'maxQueryLimit');
    this.now = options.now ?? wallClock;
  }

  /**
   * Keep the alerts one sync carried (the core's re-encoding: {decision, time, level, count}),
   * stamped with receipt time and origin. Entries of another shape are skipped; returns how many
   * were kept.
   */
  add(namespace: string, service: string, pod: string, alerts: readonly unknown[], receivedAt = this.now()): number {
    if (alerts.length === 0) return 0;
    const key = `${namespace}/${service}`;
    let ring = this.rings.get(key);
    if (ring) this.rings.delete(key);
    else {
      ring = new AlertRing(namespace, service, this.perService);
      this.evictFor(1);
    }
    this.rings.set(key, ring);
    let kept = 0;
    for (const raw of alerts) {
      const alert = asSyncAlert(raw);
      if (!alert) continue;
      const dropped = ring.push({ ...alert, seq: ++this.seq, receivedAt, namespace, service, pod });
      this.totals.received++;
      this.totals.occurrences += alert.count;
      if (dropped) this.totals.dropped++;
      else this.totals.stored++;
      kept++;
    }
    return kept;
  }

  /**
   * Alerts read back, put in time order among those kept (a service taken over from another
   * replica may have received alerts here already); malformed ones are skipped. Returns how many
   * were kept.
   */
  restoreAll(entries: readonly RestoredAlert[]): number {
    const byKey = new Map<string, RestoredAlert[]>();
    for (const e of entries) {
      const key = `${e.namespace}/${e.service}`;
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(e);
    }
    let kept = 0;
    for (const [key, list] of byKey) {
      const old = this.rings.get(key);
      const merged: StoredAlert[] = old ? [...old.newest()].reverse() : [];
      let restored = 0;
      let occurrences = 0;
      for (const e of list) {
        const alert = asSyncAlert(e.alert);
        if (!alert) continue;
        merged.push({ ...alert, seq: 0, receivedAt: e.receivedAt, namespace: e.namespace, service: e.service, pod: e.pod });
        restored++;
        occurrences += alert.count;
      }
      if (restored === 0) continue;
      kept += restored;
      // Stable: alerts received at the same time keep their order.
      merged.sort((a, b) => a.receivedAt - b.receivedAt);
      const { namespace, service } = list[0]!;
      const ring = new AlertRing(namespace, service, this.perService);
      for (const a of merged) ring.push(a.seq === 0 ? { ...a, seq: ++this.seq } : a);
      // Those that did not fit: the oldest, whether kept before or read back now.
      const overflow = merged.length - ring.size;
      ring.counts.received = (old?.counts.received ?? 0) + restored;
      ring.counts.occurrences = (old?.counts.occurrences ?? 0) + occurrences;
      ring.counts.dropped = (old?.counts.dropped ?? 0) + overflow;
      this.totals.received += restored;
      this.totals.occurrences += occurrences;
      this.totals.dropped += overflow;
      if (old) {
        this.rings.delete(key);
        this.totals.stored -= old.size;
      } else this.evictFor(1);
      this.totals.stored += ring.size;
      this.rings.set(key, ring);
    }
    return kept;
  }

  /**
   * Forget the alerts of the services `include` covers — those received before `before` (wall-clock
   * ms), or all: another replica answers for them now, or they are about to be read back. Returns
   * how many were let go (not counted as dropped: they are kept elsewhere).
   */
  forget(include: ServiceFilter, before = Infinity): number {
    let n = 0;
    for (const [key, ring] of this.rings) {
      if (!include(ring.namespace, ring.service)) continue;
      const kept = [...ring.newest()].filter((a) => a.receivedAt >= before).reverse();
      n += ring.size - kept.length;
      this.totals.stored -= ring.size - kept.length;
      if (kept.length === 0) {
        this.rings.delete(key);
        continue;
      }
      if (kept.length === ring.size) continue;
      const rest = new AlertRing(ring.namespace, ring.service, this.perService);
      for (const a of kept) rest.push(a);
      rest.counts.received = ring.counts.received;
      rest.counts.occurrences = ring.counts.occurrences;
      rest.counts.dropped = ring.counts.dropped;
      this.rings.set(key, rest);
    }
    return n;
  }

  /**
   * Matching alerts, newest first (by the time they were received, then their order of receipt);
   * `include`, when given, limits them to the services it covers.
   */
  query(q: AlertQuery = {}, include?: ServiceFilter): StoredAlert[] {
    const limit = Math.min(this.maxQueryLimit, Math.max(0, Math.floor(q.limit ?? DEFAULT_QUERY_LIMIT)));
    if (limit === 0) return [];
    const found: StoredAlert[] = [];
    for (const ring of this.rings.values()) {
      if (q.namespace !== undefined && ring.namespace !== q.namespace) continue;
      if (q.service !== undefined && ring.service !== q.service) continue;
      if (include && !include(ring.namespace, ring.service)) continue;
      let taken = 0;
      for (const a of ring.newest()) {
        if (q.since !== undefined && a.receivedAt < q.since) break;
        if (q.level !== undefined && a.level !== q.level) continue;
        found.push(a);
        if (++taken === limit) break;
      }
    }
    found.sort(newestFirst);
    return found.slice(0, limit);
  }

  /**
   * Per service (keyed namespace/service), the alerts received at or after each of the given
   * times (wall-clock ms, oldest last is not required): entries and the sum of their counts, and
   * when the newest arrived. One pass over each service's ring, newest first, for the overview.
   */
  recent(since: readonly number[], namespace?: string, include?: ServiceFilter): Map<string, RecentAlerts> {
    const oldest = Math.min(...since);
    const out = new Map<string, RecentAlerts>();
    for (const [key, ring] of this.rings) {
      if (namespace !== undefined && ring.namespace !== namespace) continue;
      if (include && !include(ring.namespace, ring.service)) continue;
      const windows = since.map(() => ({ entries: 0, occurrences: 0 }));
      let newestAt: number | null = null;
      for (const a of ring.newest()) {
        if (a.receivedAt < oldest) break;
        newestAt ??= a.receivedAt;
        for (let i = 0; i < since.length; i++) {
          if (a.receivedAt >= since[i]) {
            windows[i].entries++;
            windows[i].occurrences += a.count;
          }
        }
      }
      out.set(key, { windows, newestAt });
    }
    return out;
  }

  /** Totals over all services, or one service's (zeros when it sent none). */
  counts(namespace?: string, service?: string): AlertCounts {
    if (namespace === undefined || service === undefined) return { ...this.totals };
    const ring = this.rings.get(`${namespace}/${service}`);
    return ring ? { ...ring.counts } : { received: 0, occurrences: 0, dropped: 0, stored: 0 };
  }

  private evictFor(n: number): void {
    while (this.rings.size + n > this.maxServices) {
      const [key, ring] = this.rings.entries().next().value as [string, AlertRing];
      this.rings.delete(key);
      this.totals.stored -= ring.size;
      this.totals.dropped += ring.size;
    }
  }
}

/** Newest first: by the time received, then by the order of receipt. */
export function newestFirst(a: StoredAlert, b: StoredAlert): number {
  return b.receivedAt - a.receivedAt || b.seq - a.seq;
}

export function asSyncAlert(raw: unknown): SyncAlert | null {
  if (raw === null || typeof raw !== 'object') return null;
  const a = raw as Record<string, unknown>;
  if (typeof a.level !== 'string' || !isCount(a.count) || typeof a.time !== 'number' || !Number.isFinite(a.time)) return null;
  return { decision: a.decision ?? null, time: a.time, level: a.level, count: a.count };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`AlertStore: ${name} must be a positive integer, got ${v}`);
  return v;
}
