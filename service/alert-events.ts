// Alerts kept with a Kubernetes store: recorded as Events on the service's Guardian (or its
// ConfigMap), so `kubectl describe guardian <service>` and `kubectl get events` show them, and read
// back into the alert store when guard-service starts.
//
// As the kubelet's event correlator does, repeats are aggregated: alerts of one service with the
// same level and decision are one Event whose `count` and `lastTimestamp` grow (a patch), not
// a new Event each time. And as its spam filter does, each Guardian has a token bucket (a burst,
// then one write per interval): alerts beyond it wait, aggregated, for the next token — an attack
// that makes every request alert costs the API server one write per interval per service, and the
// counts still add up. Waiting aggregates are bounded; beyond the bound the oldest is dropped and
// counted. Events expire on the API server (its --event-ttl, 1 h by default): they are the
// recent history, not an archive.
//
// An Event names its Guardian by uid too: `kubectl describe` selects Events by
// involvedObject.uid when the object has one, so an Event without it would not be listed. The uid
// comes from the store (the Guardians watch keeps it current; one read when a Guardian is not known
// yet). A Guardian deleted and created again is another object: its alerts go to new Events.
import { createHash } from 'node:crypto';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { Clock, Timer } from '../clock/index.js';
import type { Logger } from '../log/index.js';
import type { GuardianStore, GuardianWatchEvent } from '../store/index.js';
import type { AlertStore, RestoredAlert, ServiceFilter, SyncAlert } from './alerts.js';
import { TokenBuckets } from './token-buckets.js';

export const EVENT_SOURCE = 'guard-service';
const ANNOTATION = 'guard.security.knative.dev/alert';

export interface AlertEventsOptions {
  api: CoreV1Api;
  /** The kind of object a Guardian is in the store (`Guardian`, or `ConfigMap` named guardian.<service>). */
  objectKind: 'Guardian' | 'ConfigMap';
  /** Where a Guardian's uid is read when the watch (onStoreChange) has not told it yet. */
  guardians?: Pick<GuardianStore, 'get'>;
  /** Event writes a Guardian may make at once (default 25, the kubelet's burst). */
  burst?: number;
  /** One more write per this many ms (default 5000). */
  refillMs?: number;
  /** Aggregates waiting for a token, at most (default 10,000). */
  maxWaiting?: number;
  /** Events remembered for aggregation (default 4096). */
  maxKnown?: number;
  clock: Clock;
  log: Logger;
}

interface Aggregate {
  key: string;
  namespace: string;
  service: string;
  level: string;
  decision: unknown;
  pod: string;
  /** Occurrences not written yet. */
  count: number;
  lastTime: number;
}

interface Known {
  name: string;
  count: number;
  firstTimestamp: string;
  /** The uid of the object the Event names ('' if none yet): another object's alerts get a new Event. */
  uid: string;
}

export class AlertEvents {
  private readonly o: Required<Omit<AlertEventsOptions, 'api' | 'objectKind' | 'guardians' | 'clock' | 'log'>> & AlertEventsOptions;
  private readonly waiting = new Map<string, Aggregate>();
  private readonly known = new Map<string, Known>();
  /** Guardians' uids by namespace/service, from the store's watch and reads. */
  private readonly uids = new Map<string, string>();
  private readonly buckets: TokenBuckets;
  private readonly writing = new Set<string>();
  private timer: Timer | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Event writes by outcome, for metrics and tests. */
  readonly counts = { created: 0, aggregated: 0, deferred: 0, dropped: 0, failed: 0 };

  constructor(options: AlertEventsOptions) {
    this.o = { burst: 25, refillMs: 5000, maxWaiting: 10_000, maxKnown: 4096, ...options };
    this.buckets = new TokenBuckets({ burst: this.o.burst, msPerToken: this.o.refillMs, clock: this.o.clock, maxKeys: this.o.maxKnown });
  }

  record(namespace: string, service: string, pod: string, alerts: readonly SyncAlert[]): void {
    if (this.closed) return;
    for (const alert of alerts) {
      const key = keyOf(namespace, service, alert);
      const agg = this.waiting.get(key);
      if (agg) {
        agg.count += alert.count;
        agg.pod = pod;
        agg.lastTime = alert.time;
        this.waiting.delete(key);
        this.waiting.set(key, agg);
        continue;
      }
      if (this.waiting.size >= this.o.maxWaiting) {
        const oldest = this.waiting.keys().next().value!;
        this.counts.dropped += this.waiting.get(oldest)!.count;
        this.waiting.delete(oldest);
      }
      this.waiting.set(key, { key, namespace, service, level: alert.level, decision: alert.decision, pod, count: alert.count, lastTime: alert.time });
    }
    this.pump();
  }

  /** Resolves when no write is in flight and nothing waits that a token would allow now. */
  async settled(): Promise<void> {
    for (;;) {
      const chain = this.chain;
      await chain;
      if (chain === this.chain) return;
    }
  }

  /**
   * Read the Events of the Guardians back into `alerts`; returns how many. `include` limits it to
   * some services (a replica taking over a shard of them); `before` (wall-clock ms) leaves out
   * Events last written at or after it — alerts this replica received itself since it took them over.
   */
  async restore(alerts: AlertStore, include?: ServiceFilter, before = Infinity): Promise<number> {
    const list = await this.o.api.listEventForAllNamespaces({ fieldSelector: `source=${EVENT_SOURCE},involvedObject.kind=${this.o.objectKind}` });
    const entries: RestoredAlert[] = [];
    // Oldest first: the most recent are remembered longest for aggregation.
    const items = list.items.map((e) => ({ e, at: timeOf(e.lastTimestamp) })).sort((a, b) => a.at - b.at);
    for (const { e, at } of items) {
      const saved = parseAnnotation(e.metadata?.annotations?.[ANNOTATION]);
      const namespace = e.involvedObject?.namespace ?? e.metadata?.namespace ?? '';
      const service = serviceOf(this.o.objectKind, e.involvedObject?.name ?? '');
      if (!saved || !service || (include && !include(namespace, service))) continue;
      const alert = { decision: saved.decision, time: Math.floor(at / 1000), level: saved.level, count: e.count ?? 1 };
      // Later repeats keep aggregating into the same Event.
      this.remember(keyOf(namespace, service, alert), { name: e.metadata?.name ?? '', count: e.count ?? 1, firstTimestamp: String(e.firstTimestamp ?? new Date(at).toISOString()), uid: e.involvedObject?.uid ?? '' });
      if (at < before) entries.push({ namespace, service, pod: saved.pod, alert, receivedAt: at });
    }
    return alerts.restoreAll(entries);
  }

  /**
   * The last writes before this replica stops answering for services (those `include` covers, or
   * all): what waits for a token would otherwise go with the process, or stay here while the
   * replica that takes the services over reads their Events back without it. Each Guardian gets
   * one more burst for it, whatever its bucket holds — the most frequent decisions first — so the
   * few alerts a rate limit held back are written and the API server still sees at most a burst
   * per Guardian; beyond it (a flood of distinct decisions) the rest is dropped, counted and
   * logged. Resolves when the writes are done (a failed write is logged and counted, as always).
   */
  async flush(include?: ServiceFilter): Promise<void> {
    await this.settled();
    const byGuardian = new Map<string, Aggregate[]>();
    for (const agg of this.waiting.values()) {
      if (this.writing.has(agg.key) || (include && !include(agg.namespace, agg.service))) continue;
      const guardian = `${agg.namespace}/${agg.service}`;
      const list = byGuardian.get(guardian);
      if (list) list.push(agg);
      else byGuardian.set(guardian, [agg]);
    }
    const writes: Promise<void>[] = [];
    for (const [guardian, list] of byGuardian) {
      list.sort((a, b) => b.count - a.count);
      for (const agg of list) this.waiting.delete(agg.key);
      const left = list.slice(this.o.burst);
      for (const agg of list.slice(0, this.o.burst)) {
        this.writing.add(agg.key);
        const write = this.write(agg).finally(() => this.writing.delete(agg.key));
        this.chain = Promise.all([this.chain, write]).then(() => {});
        writes.push(write);
      }
      if (left.length > 0) {
        const occurrences = left.reduce((n, agg) => n + agg.count, 0);
        this.counts.dropped += occurrences;
        this.o.log.warn({ guardian, decisions: left.length, occurrences }, 'alerts held back by the Event rate limit could not all be written before this replica stopped answering for the service (more distinct decisions than a burst): those left are not recorded as Events');
      }
    }
    await Promise.all(writes);
  }

  /** A Guardian seen by the store's watch: its uid, current (a Guardian created again has a new one). */
  onStoreChange(event: GuardianWatchEvent): void {
    const key = `${event.guardian.namespace}/${event.guardian.service}`;
    this.uids.delete(key);
    if (event.type === 'put' && event.guardian.uid) this.rememberUid(key, event.guardian.uid);
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Write every waiting aggregate whose Guardian has a token; wait for the next token for the rest. */
  private pump(): void {
    for (const agg of [...this.waiting.values()]) {
      if (this.writing.has(agg.key) || !this.take(`${agg.namespace}/${agg.service}`)) continue;
      this.waiting.delete(agg.key);
      this.writing.add(agg.key);
      const write = this.write(agg).finally(() => {
        this.writing.delete(agg.key);
        if (this.waiting.has(agg.key)) this.pump();
      });
      this.chain = Promise.all([this.chain, write]).then(() => {});
    }
    if (this.waiting.size > 0 && !this.timer && !this.closed) {
      this.counts.deferred++;
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = null;
        this.pump();
      }, this.o.refillMs);
    }
  }

  private take(guardian: string): boolean {
    return this.buckets.take(guardian) === 0;
  }

  /** The Guardian's uid: as the watch last told it, else read once; '' while it does not exist (or cannot be read). */
  private async uidOf(namespace: string, service: string): Promise<string> {
    const key = `${namespace}/${service}`;
    const cached = this.uids.get(key);
    if (cached !== undefined || !this.o.guardians) return cached ?? '';
    try {
      const uid = (await this.o.guardians.get(namespace, service))?.uid ?? '';
      // Not there yet (the learner creates it): asked again at the next write, which the rate limit bounds.
      if (uid) this.rememberUid(key, uid);
      return uid;
    } catch (err) {
      // The Event is still written, without the uid: `kubectl get events` shows it.
      this.o.log.debug({ err, namespace, service }, "could not read the Guardian's uid for its Events");
      return '';
    }
  }

  private async write(agg: Aggregate): Promise<void> {
    const now = new Date();
    const uid = await this.uidOf(agg.namespace, agg.service);
    const known = this.known.get(agg.key);
    try {
      // An Event written before its Guardian existed (alerts come before the first learning creates
      // it) is adopted by it: the uid is added, as legacy Events allow.
      if (known && (known.uid === uid || known.uid === '')) {
        try {
          // A JSON patch (client-node's default patch type): the count, the time, the last occurrence.
          await this.o.api.patchNamespacedEvent({
            namespace: agg.namespace,
            name: known.name,
            body: [
              { op: 'replace', path: '/count', value: known.count + agg.count },
              { op: 'replace', path: '/lastTimestamp', value: now.toISOString() },
              { op: 'replace', path: '/message', value: messageOf(agg) },
              { op: 'add', path: `/metadata/annotations/${ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`, value: annotationOf(agg) },
              ...(uid && !known.uid ? [{ op: 'add', path: '/involvedObject/uid', value: uid }] : []),
            ],
          });
          known.count += agg.count;
          known.uid = uid;
          this.counts.aggregated++;
          return;
        } catch (err) {
          // Expired on the server (its event TTL): start a new Event.
          if ((err as { code?: number }).code !== 404) throw err;
          this.known.delete(agg.key);
        }
      }
      const event: CoreV1Event = {
        metadata: {
          // As the kubelet names them: the object, then a unique suffix.
          name: `${objectName(this.o.objectKind, agg.service)}.${now.getTime().toString(16)}${createHash('sha256').update(agg.key).digest('hex').slice(0, 6)}`,
          namespace: agg.namespace,
          annotations: { [ANNOTATION]: annotationOf(agg) },
        },
        involvedObject: {
          apiVersion: this.o.objectKind === 'Guardian' ? 'guard.security.knative.dev/v1alpha1' : 'v1',
          kind: this.o.objectKind,
          namespace: agg.namespace,
          name: objectName(this.o.objectKind, agg.service),
          ...(uid ? { uid } : {}),
        },
        reason: `${agg.level}Alert`.slice(0, 128),
        message: messageOf(agg),
        type: 'Warning',
        source: { component: EVENT_SOURCE },
        count: agg.count,
        firstTimestamp: now,
        lastTimestamp: now,
      };
      const created = await this.o.api.createNamespacedEvent({ namespace: agg.namespace, body: event });
      this.remember(agg.key, { name: created.metadata?.name ?? event.metadata.name!, count: agg.count, firstTimestamp: now.toISOString(), uid });
      this.counts.created++;
    } catch (err) {
      this.counts.failed++;
      this.o.log.warn({ err, namespace: agg.namespace, service: agg.service }, 'could not record an alert as a Kubernetes Event; it is kept in memory');
    }
  }

  private rememberUid(key: string, uid: string): void {
    this.uids.delete(key);
    this.uids.set(key, uid);
    if (this.uids.size > this.o.maxKnown) this.uids.delete(this.uids.keys().next().value!);
  }

  private remember(key: string, known: Known): void {
    this.known.delete(key);
    this.known.set(key, known);
    if (this.known.size > this.o.maxKnown) this.known.delete(this.known.keys().next().value!);
  }
}

function keyOf(namespace: string, service: string, alert: SyncAlert): string {
  return `${namespace}/${service}/${alert.level}/${JSON.stringify(alert.decision)}`;
}

function objectName(kind: 'Guardian' | 'ConfigMap', service: string): string {
  return kind === 'Guardian' ? service : `guardian.${service}`;
}

function serviceOf(kind: 'Guardian' | 'ConfigMap', name: string): string {
  if (kind === 'Guardian') return name;
  return name.startsWith('guardian.') ? name.slice('guardian.'.length) : '';
}

function messageOf(agg: Aggregate): string {
  const text = `${agg.level} alert from pod ${agg.pod}: ${JSON.stringify(agg.decision)}`;
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

function annotationOf(agg: Aggregate): string {
  return JSON.stringify({ level: agg.level, pod: agg.pod, decision: agg.decision });
}

function parseAnnotation(text: string | undefined): { level: string; pod: string; decision: unknown } | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as { level?: unknown; pod?: unknown; decision?: unknown };
    if (typeof v.level !== 'string' || typeof v.pod !== 'string') return null;
    return { level: v.level, pod: v.pod, decision: v.decision ?? null };
  } catch {
    return null;
  }
}

function timeOf(t: unknown): number {
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t ?? ''));
  return Number.isFinite(ms) ? ms : 0;
}
