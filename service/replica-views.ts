// People's views that span services — the alerts, the services at a glance — as one view across
// guard-service's replicas. Each replica keeps the alerts and learning state of the services it
// learns (syncs are forwarded to it), so the replica a person's request reached answers with its own
// part and asks every other live replica for theirs (their /api/v1/replica/ routes, with the
// person's credentials), then merges them. A replica that cannot answer leaves its part out and is
// named in `incomplete`: the view says what it lacks rather than showing less in silence.
// With one replica (or none configured) everything is local and nothing is asked.
import type { AlertQuery, ServiceFilter, StoredAlert } from './alerts.js';
import type { ServiceLearningStatus } from './learner.js';
import type { Peer } from './replicas.js';
import type { ServiceContext } from './service-context.js';

const HOUR_MS = 3_600_000;

/** A replica whose part of a view is missing, and why. */
export interface MissingPart {
  replica: string;
  error: string;
}

/** An alert as the API shows it (the time received as ISO 8601). */
export type AlertItem = Omit<StoredAlert, 'receivedAt'> & { receivedAt: string };

/** What the replica that learns a service knows of it beyond its Guardian. */
export interface ServiceState {
  namespace: string;
  service: string;
  learning: ServiceLearningStatus | null;
  /** Wall-clock time of the last learn this replica made, or null. */
  lastLearnedAt: string | null;
  pileSamples: number;
  alerts: {
    lastHour: { entries: number; occurrences: number };
    lastDay: { entries: number; occurrences: number };
    newestAt: string | null;
  };
}

export interface ServiceRef {
  namespace: string;
  service: string;
}

/** The services this replica answers for in people's views (all of them without replicas). */
export function answeredHere(ctx: ServiceContext): ServiceFilter {
  const replicas = ctx.replicas;
  return replicas ? (ns, svc) => replicas.answersFor(ns, svc) : () => true;
}

/** The services this replica learns (its part when another replica asks). */
export function learnedHere(ctx: ServiceContext): ServiceFilter {
  const replicas = ctx.replicas;
  return replicas ? (ns, svc) => replicas.learnsHere(ns, svc) : () => true;
}

function alertItem(a: StoredAlert): AlertItem {
  return { ...a, receivedAt: new Date(a.receivedAt).toISOString() };
}

/** This replica's alerts matching the query, of the services `include` covers. */
export function localAlerts(ctx: ServiceContext, q: AlertQuery, include: ServiceFilter): AlertItem[] {
  return ctx.alerts.query(q, include).map(alertItem);
}

/**
 * The alerts matching the query across every replica: this one's for the services it answers for,
 * and each other live replica's for those it learns, merged newest first, at most `q.limit`.
 */
export async function alertsEverywhere(ctx: ServiceContext, q: AlertQuery, authorization: string | undefined): Promise<{ items: AlertItem[]; incomplete: MissingPart[] }> {
  const own = localAlerts(ctx, q, answeredHere(ctx));
  const peers = ctx.replicas?.holders() ?? [];
  if (peers.length === 0) return { items: own, incomplete: [] };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const incomplete: MissingPart[] = [];
  const parts = await Promise.all(
    peers.map(async (peer) => {
      try {
        const part = (await ctx.replicas!.ask(peer, 'GET', `/api/v1/replica/alerts?${params}`, authorization)) as { items?: unknown };
        if (!Array.isArray(part.items)) throw new Error(`replica ${peer.identity} answered alerts without items`);
        ctx.metrics.viewParts.inc({ outcome: 'answered' });
        return part.items.filter(isAlertItem);
      } catch (err) {
        incomplete.push(missing(ctx, peer, err));
        return [];
      }
    }),
  );
  const all = own.concat(...parts);
  const at = new Map(all.map((a) => [a, Date.parse(a.receivedAt)]));
  all.sort((a, b) => at.get(b)! - at.get(a)! || b.seq - a.seq);
  const limit = q.limit ?? 100;
  return { items: all.slice(0, limit), incomplete };
}

/** What this replica knows of each service (learning, alerts in the last hour and day). */
export function localStates(ctx: ServiceContext, services: readonly ServiceRef[], now = Date.now()): ServiceState[] {
  const recent = ctx.alerts.recent([now - HOUR_MS, now - 24 * HOUR_MS], undefined, keyIn(services));
  return services.map(({ namespace, service }) => {
    const learning = ctx.learner.status(namespace, service);
    const r = recent.get(`${namespace}/${service}`);
    const [lastHour, lastDay] = r?.windows ?? [{ entries: 0, occurrences: 0 }, { entries: 0, occurrences: 0 }];
    return {
      namespace,
      service,
      learning,
      lastLearnedAt: learning?.learnedAt ?? null,
      pileSamples: learning?.pileSamples ?? 0,
      alerts: { lastHour: lastHour!, lastDay: lastDay!, newestAt: r?.newestAt == null ? null : new Date(r.newestAt).toISOString() },
    };
  });
}

/**
 * The state of each service from the replica that learns it: asked of the other replicas (one call
 * each, for their services), this replica's own for the rest and for what another could not
 * answer. `namespace` is the one the person asked for (each replica checks it), when one was.
 * `startedAt` is the earliest start among the replicas that answered (wall-clock ms).
 */
export async function statesEverywhere(
  ctx: ServiceContext,
  services: readonly ServiceRef[],
  namespace: string | undefined,
  authorization: string | undefined,
): Promise<{ states: Map<string, ServiceState>; startedAt: number; incomplete: MissingPart[] }> {
  const now = Date.now();
  const states = new Map<string, ServiceState>();
  const byPeer = new Map<string, { peer: Peer; services: ServiceRef[] }>();
  for (const s of services) {
    const peer = ctx.replicas?.holderOf(s.namespace, s.service) ?? null;
    if (peer !== null) {
      let group = byPeer.get(peer.identity);
      if (!group) byPeer.set(peer.identity, (group = { peer, services: [] }));
      group.services.push({ namespace: s.namespace, service: s.service });
    }
  }
  let startedAt = ctx.startedAt;
  const incomplete: MissingPart[] = [];
  await Promise.all(
    [...byPeer.values()].map(async ({ peer, services: theirs }) => {
      try {
        const part = (await ctx.replicas!.ask(peer, 'POST', '/api/v1/replica/services', authorization, { ...(namespace === undefined ? {} : { namespace }), services: theirs })) as { items?: unknown; startedAt?: unknown };
        if (!Array.isArray(part.items)) throw new Error(`replica ${peer.identity} answered service states without items`);
        for (const item of part.items) if (isServiceState(item)) states.set(`${item.namespace}/${item.service}`, item);
        const theirStart = typeof part.startedAt === 'string' ? Date.parse(part.startedAt) : Number.NaN;
        if (Number.isFinite(theirStart)) startedAt = Math.min(startedAt, theirStart);
        ctx.metrics.viewParts.inc({ outcome: 'answered' });
      } catch (err) {
        incomplete.push(missing(ctx, peer, err));
      }
    }),
  );
  // Ours, and what the others did not answer for (a shard that changed hands since: ours is the best there is).
  const rest = services.filter((s) => !states.has(`${s.namespace}/${s.service}`));
  for (const s of localStates(ctx, rest, now)) states.set(`${s.namespace}/${s.service}`, s);
  return { states, startedAt, incomplete };
}

function keyIn(services: readonly ServiceRef[]): ServiceFilter {
  const keys = new Set(services.map((s) => `${s.namespace}/${s.service}`));
  return (ns, svc) => keys.has(`${ns}/${svc}`);
}

function missing(ctx: ServiceContext, peer: Peer, err: unknown): MissingPart {
  ctx.metrics.viewParts.inc({ outcome: 'missing' });
  return { replica: peer.identity, error: err instanceof Error ? err.message : String(err) };
}

function isAlertItem(v: unknown): v is AlertItem {
  const a = v as Partial<AlertItem> | null;
  return (
    a !== null &&
    typeof a === 'object' &&
    typeof a.namespace === 'string' &&
    typeof a.service === 'string' &&
    typeof a.pod === 'string' &&
    typeof a.level === 'string' &&
    typeof a.count === 'number' &&
    typeof a.seq === 'number' &&
    typeof a.receivedAt === 'string' &&
    Number.isFinite(Date.parse(a.receivedAt))
  );
}

function isServiceState(v: unknown): v is ServiceState {
  const s = v as Partial<ServiceState> | null;
  return s !== null && typeof s === 'object' && typeof s.namespace === 'string' && typeof s.service === 'string' && typeof s.pileSamples === 'number' && typeof s.alerts === 'object' && s.alerts !== null;
}
