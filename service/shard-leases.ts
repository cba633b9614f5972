// Several guard-service replicas divide the services among themselves with coordination.k8s.io
// Leases. Services hash into a fixed number of shards; each shard has one Lease, held by the
// replica that learns its services. Each replica also keeps a Lease of its own (its heartbeat), so
// every replica knows who is alive and computes the same balanced plan of who should hold what.
//
// Why shards and not one Lease per service: a held Lease is renewed every third of its duration,
// so the API load of per-service Leases grows with the services (5,000 services with 15 s Leases =
// 1,000 writes/s), while shards cost shards + replicas renewals per period whatever the services
// (16 shards, 3 replicas, 15 s: about 5 calls/s), docs/operations.md "Replicas".
//
// What it guarantees: a replica serves a shard only while it holds its Lease and renewed it within
// two thirds of the duration; a replica takes a shard only when its Lease is free or has not
// changed for a whole duration as this replica observed it (its own clock: no clock skew matters),
// so two replicas never both serve a shard unless one's store write stalls past a third of the
// duration. A replica that is drained gives its shards back at once (after its learning is
// written); one that dies loses them after the duration, as the others observe it: a survivor sees
// the last renewal within one round (a third of the duration), and takes the shard at the first of
// its rounds at which that renewal is more than a duration old — at most duration + two rounds
// after the kill (test/service/replicas-failover.test.ts measures it).
import { createHash } from 'node:crypto';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Clock, Timer } from '../clock/index.js';
import type { Logger } from '../log/index.js';

export const LEASE_LABEL = 'guard.security.knative.dev/lease';
export const PEER_URL_ANNOTATION = 'guard.security.knative.dev/peer-url';

export interface ShardLeasesOptions {
  api: CoordinationV1Api;
  namespace: string;
  /** This replica's name (the pod name): the holderIdentity of its Leases. */
  identity: string;
  shards: number;
  /** Lease duration, whole seconds. */
  leaseSeconds: number;
  clock: Clock;
  log: Logger;
  /** Before a held shard is given back: resolves when nothing of its services is in flight. */
  drain(shard: number): Promise<void>;
  /** A held shard was lost without being given back (another replica took it, or renewal failed too long). */
  lost(shard: number): void;
  /**
   * Shards taken in a round, once their Leases are written: their services learn here from now on.
   * `since` is the wall-clock time (ms) the round began, before any of them was served here.
   */
  acquired?(shards: number[], since: number): void;
}

interface Observed {
  holder: string;
  peerUrl: string;
  resourceVersion: string;
  /** clock.now() when this resourceVersion was first seen here. */
  observedAt: number;
  durationMs: number;
}

interface Held {
  resourceVersion: string;
  /** clock.now() when the write that last renewed it was started. */
  renewedAt: number;
}

export class ShardLeases {
  private readonly o: ShardLeasesOptions;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly observed = new Map<string, Observed>();
  private readonly held = new Map<number, Held>();
  /** Shards being given back, each with its drain and write (a second request waits on the first). */
  private readonly releasing = new Map<number, Promise<void>>();
  private timer: Timer | null = null;
  private stepping: Promise<void> | null = null;
  private stopped = false;
  /** Where the other replicas reach this one (forwarded syncs). */
  private peerUrl = '';
  /** Kubernetes API calls made (for metrics and bench:service). */
  apiCalls = 0;

  constructor(options: ShardLeasesOptions) {
    this.o = options;
    this.leaseMs = options.leaseSeconds * 1000;
    this.renewMs = Math.max(100, Math.floor(this.leaseMs / 3));
  }

  shardOf(namespace: string, service: string): number {
    return createHash('sha256').update(`${namespace}/${service}`).digest().readUInt32BE(0) % this.o.shards;
  }

  /** How long the others take to see a change of the Leases: one round and a half. */
  get propagationMs(): number {
    return Math.ceil(this.renewMs * 1.5);
  }

  /** This replica may learn the shard's services now. */
  owns(shard: number): boolean {
    const held = this.held.get(shard);
    if (!held || this.releasing.has(shard) || this.stopped) return false;
    return this.o.clock.now() < held.renewedAt + this.leaseMs - this.renewMs;
  }

  /** The peer URL of the replica that holds the shard, when another live one does. */
  ownerOf(shard: number): string | null {
    return this.holderOf(shard)?.url ?? null;
  }

  /** The replica that holds the shard (its name and peer URL), when another live one does. */
  holderOf(shard: number): { identity: string; url: string } | null {
    const seen = this.observed.get(shardLeaseName(shard));
    if (!seen || seen.holder === '' || seen.holder === this.o.identity || this.expired(seen) || !seen.peerUrl) return null;
    return { identity: seen.holder, url: seen.peerUrl };
  }

  heldShards(): number[] {
    return [...this.held.keys()].filter((s) => this.owns(s));
  }

  /** Take part: the first round now, then one every third of the lease duration. */
  async start(peerUrl: string): Promise<void> {
    this.peerUrl = peerUrl;
    await this.round();
    const next = (): void => {
      if (this.stopped) return;
      this.timer = this.o.clock.setTimeout(() => {
        void this.round().finally(next);
      }, this.renewMs);
    };
    next();
  }

  /** Drain: stop taking part, give every held shard back once drained, delete the heartbeat. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.stepping;
    // The heartbeat goes first, so the others plan without this replica while it drains.
    await this.call(() => this.o.api.deleteNamespacedLease({ namespace: this.o.namespace, name: replicaLeaseName(this.o.identity) })).catch(() => {});
    await Promise.all([...this.held.keys()].map((shard) => this.giveBack(shard)));
  }

  /** Stop without giving anything back (a crash, for tests): the Leases expire. */
  abandon(): void {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.held.clear();
  }

  private round(): Promise<void> {
    this.stepping ??= this.step()
      .catch((err) => this.o.log.warn({ err }, 'lease round failed; retried next round'))
      .finally(() => {
        this.stepping = null;
      });
    return this.stepping;
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    const since = Date.now();
    const list = await this.call(() => this.o.api.listNamespacedLease({ namespace: this.o.namespace, labelSelector: LEASE_LABEL }));
    const now = this.o.clock.now();
    const byName = new Map<string, V1Lease>();
    for (const lease of list.items) {
      const name = lease.metadata?.name ?? '';
      byName.set(name, lease);
      this.observe(name, lease, now);
    }
    await this.heartbeat(byName.get(replicaLeaseName(this.o.identity)));
    const plan = planShards(this.liveReplicas(), this.o.shards);
    // Every shard's write at once: a round takes one round trip, not one per shard, so a busy
    // API server does not let a held shard's window run out between its renewals.
    const writes: Array<Promise<void>> = [];
    const taken: number[] = [];
    for (let shard = 0; shard < this.o.shards && !this.stopped; shard++) {
      const lease = byName.get(shardLeaseName(shard));
      if (this.held.has(shard)) {
        if (this.releasing.has(shard)) continue;
        if (plan[shard] !== this.o.identity) void this.giveBack(shard);
        else writes.push(this.renew(shard));
      } else if (plan[shard] === this.o.identity) {
        writes.push(this.take(shard, lease).then((took) => void (took && taken.push(shard))));
      }
    }
    const settled = await Promise.allSettled(writes);
    if (taken.length > 0 && this.o.acquired) {
      try {
        this.o.acquired(taken.sort((a, b) => a - b), since);
      } catch (err) {
        this.o.log.warn({ err }, 'taking over a shard of services: its hand-over failed');
      }
    }
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private observe(name: string, lease: V1Lease, now: number): void {
    const rv = lease.metadata?.resourceVersion ?? '';
    const before = this.observed.get(name);
    this.observed.set(name, {
      holder: lease.spec?.holderIdentity ?? '',
      peerUrl: lease.metadata?.annotations?.[PEER_URL_ANNOTATION] ?? '',
      resourceVersion: rv,
      observedAt: before && before.resourceVersion === rv ? before.observedAt : now,
      durationMs: (lease.spec?.leaseDurationSeconds ?? this.o.leaseSeconds) * 1000,
    });
  }

  private expired(seen: Observed): boolean {
    return this.o.clock.now() - seen.observedAt > seen.durationMs;
  }

  private liveReplicas(): string[] {
    const live = new Set<string>([this.o.identity]);
    for (const [name, seen] of this.observed) {
      if (name.startsWith(REPLICA_PREFIX) && seen.holder !== '' && !this.expired(seen)) live.add(seen.holder);
    }
    return [...live];
  }

  private async heartbeat(current: V1Lease | undefined): Promise<void> {
    const name = replicaLeaseName(this.o.identity);
    const body = this.leaseBody(name, 'replica', current);
    if (current) await this.call(() => this.o.api.replaceNamespacedLease({ namespace: this.o.namespace, name, body }));
    else await this.call(() => this.o.api.createNamespacedLease({ namespace: this.o.namespace, body }));
  }

  private async renew(shard: number): Promise<void> {
    const held = this.held.get(shard)!;
    const name = shardLeaseName(shard);
    const startedAt = this.o.clock.now();
    const body = this.leaseBody(name, 'shard', undefined);
    body.metadata!.resourceVersion = held.resourceVersion;
    try {
      const written = await this.call(() => this.o.api.replaceNamespacedLease({ namespace: this.o.namespace, name, body }));
      held.resourceVersion = written.metadata?.resourceVersion ?? '';
      held.renewedAt = startedAt;
    } catch (err) {
      if (statusOf(err) === 409 || statusOf(err) === 404) return this.lose(shard, 'its Lease was changed by another replica');
      // Still held for the rest of its window; owns() turns false when that ends.
      if (!this.owns(shard)) this.lose(shard, 'its Lease could not be renewed in time');
    }
  }

  /** Take the shard if it is free or expired; true when this replica holds it now. */
  private async take(shard: number, lease: V1Lease | undefined): Promise<boolean> {
    const name = shardLeaseName(shard);
    const seen = this.observed.get(name);
    if (lease && seen && seen.holder !== '' && seen.holder !== this.o.identity && !this.expired(seen)) return false;
    const startedAt = this.o.clock.now();
    const body = this.leaseBody(name, 'shard', lease);
    body.spec!.acquireTime = new V1MicroTime();
    body.spec!.leaseTransitions = (lease?.spec?.leaseTransitions ?? -1) + 1;
    try {
      const written = lease
        ? await this.call(() => this.o.api.replaceNamespacedLease({ namespace: this.o.namespace, name, body }))
        : await this.call(() => this.o.api.createNamespacedLease({ namespace: this.o.namespace, body }));
      this.held.set(shard, { resourceVersion: written.metadata?.resourceVersion ?? '', renewedAt: startedAt });
      this.o.log.info({ shard }, 'took a shard of services');
      return true;
    } catch (err) {
      // 409: another replica took it first; it is planned again next round.
      if (statusOf(err) !== 409) throw err;
      return false;
    }
  }

  private giveBack(shard: number): Promise<void> {
    let release = this.releasing.get(shard);
    if (!release) {
      release = this.release(shard).finally(() => this.releasing.delete(shard));
      this.releasing.set(shard, release);
    }
    return release;
  }

  private async release(shard: number): Promise<void> {
    await this.o.drain(shard);
    const held = this.held.get(shard);
    if (!held) return;
    const name = shardLeaseName(shard);
    const body = this.leaseBody(name, 'shard', undefined);
    body.spec!.holderIdentity = '';
    body.metadata!.resourceVersion = held.resourceVersion;
    await this.call(() => this.o.api.replaceNamespacedLease({ namespace: this.o.namespace, name, body })).catch(() => {});
    this.held.delete(shard);
    this.o.log.info({ shard }, 'gave a shard of services back');
  }

  private lose(shard: number, why: string): void {
    this.held.delete(shard);
    this.o.log.warn({ shard }, `lost a shard of services: ${why}`);
    this.o.lost(shard);
  }

  private leaseBody(name: string, kind: 'shard' | 'replica', current: V1Lease | undefined): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: { [LEASE_LABEL]: kind },
        annotations: { [PEER_URL_ANNOTATION]: this.peerUrl },
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseSeconds,
        renewTime: new V1MicroTime(),
        ...(current?.spec?.acquireTime ? { acquireTime: new V1MicroTime(new Date(current.spec.acquireTime as unknown as string).getTime()) } : {}),
        ...(current?.spec?.leaseTransitions !== undefined ? { leaseTransitions: current.spec.leaseTransitions } : {}),
      },
    };
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    this.apiCalls++;
    return fn();
  }
}

const SHARD_PREFIX = 'guard-service-shard-';
const REPLICA_PREFIX = 'guard-service-replica-';

export function shardLeaseName(shard: number): string {
  return `${SHARD_PREFIX}${shard}`;
}

function replicaLeaseName(identity: string): string {
  return `${REPLICA_PREFIX}${identity}`.slice(0, 253);
}

/**
 * Who should hold each shard: every replica computes the same plan from the same live set. Each
 * shard ranks the replicas by a hash of (shard, replica) and goes to the first with room under
 * ceil(shards / replicas): balanced, and a replica joining or leaving moves few shards.
 */
export function planShards(replicas: readonly string[], shards: number): string[] {
  const sorted = [...replicas].sort();
  const room = Math.ceil(shards / Math.max(1, sorted.length));
  const load = new Map(sorted.map((r) => [r, 0]));
  const plan: string[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const ranked = sorted.map((r) => ({ r, score: createHash('sha256').update(`${shard}/${r}`).digest().readUInt32BE(0) })).sort((a, b) => b.score - a.score || (a.r < b.r ? -1 : 1));
    const chosen = ranked.find(({ r }) => load.get(r)! < room)!.r;
    load.set(chosen, load.get(chosen)! + 1);
    plan.push(chosen);
  }
  return plan;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
