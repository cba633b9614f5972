// guard-service as one of several replicas: which services this replica learns (shard-leases.ts),
// and what happens to a sync that reaches a replica that does not learn its service — it is
// forwarded, as it came (the gate's own credentials, its body), to the replica that holds the
// service's shard, whose answer is relayed. A forwarded sync is never forwarded again: a replica
// that gets one for a shard it does not hold answers 503 and the gate resends its pile.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { Clock } from '../clock/index.js';
import type { Logger } from '../log/index.js';
import { SYNC_ID_HEADER } from '../store/index.js';
import { ApiError } from './api-errors.js';
import type { KubeAccess } from './kube-access.js';
import type { Learner } from './learner.js';
import { ShardLeases } from './shard-leases.js';

export interface ReplicasConfig {
  /** Shards the services are divided into (one Lease each). */
  shards: number;
  /** Lease duration in seconds; renewed every third of it. */
  leaseSeconds: number;
  /** Namespace of the Leases (guard-service's own). */
  namespace: string;
  /** This replica's name (the pod name). */
  identity: string;
  /** Where the other replicas reach this one, http(s)://host:port; '' = the URL it listens on. */
  peerUrl: string;
  /** PEM file of the CA that signed the replicas' certificates (https peers); null: the system's. */
  peerCaFile: string | null;
  /** Name the replicas' certificate carries (https peers: the peer URL names a pod IP). */
  peerServerName: string | null;
}

/** The header a forwarded sync carries: the name of the replica that forwarded it. */
export const FORWARDED_HEADER = 'x-guard-forwarded-by';

export interface ForwardedAnswer {
  status: number;
  contentType: string;
  body: string;
}

export class Replicas {
  readonly leases: ShardLeases;
  private readonly agent: Agent;
  private readonly config: ReplicasConfig;
  /** Syncs forwarded, by outcome. */
  readonly forwarded = { ok: 0, failed: 0, noOwner: 0 };

  constructor(config: ReplicasConfig, deps: { kube: KubeAccess; learner: Learner; clock: Clock; log: Logger }) {
    this.config = config;
    this.leases = new ShardLeases({
      api: deps.kube.coordination,
      namespace: config.namespace,
      identity: config.identity,
      shards: config.shards,
      leaseSeconds: config.leaseSeconds,
      clock: deps.clock,
      log: deps.log,
      drain: (shard) => deps.learner.release((ns, svc) => this.leases.shardOf(ns, svc) === shard),
      lost: (shard) => void deps.learner.release((ns, svc) => this.leases.shardOf(ns, svc) === shard),
    });
    const ca = config.peerCaFile ? readFileSync(config.peerCaFile) : undefined;
    this.agent = new Agent({
      connect: { ...(ca ? { ca } : {}), ...(config.peerServerName ? { servername: config.peerServerName } : {}) },
      keepAliveTimeout: 30_000,
    });
  }

  /** This replica learns the service now. */
  learnsHere(namespace: string, service: string): boolean {
    return this.leases.owns(this.leases.shardOf(namespace, service));
  }

  /**
   * Send a sync to the replica that learns its service and return its answer. 503 (the gate
   * resends) when no live replica holds the shard, the sync was already forwarded once, or the
   * owner cannot be reached.
   */
  async forward(namespace: string, service: string, sync: { url: string; authorization: string | undefined; syncId: string | undefined; body: string; forwardedBy: string | undefined }): Promise<ForwardedAnswer> {
    const shard = this.leases.shardOf(namespace, service);
    const owner = sync.forwardedBy === undefined ? this.leases.ownerOf(shard) : null;
    if (owner === null) {
      this.forwarded.noOwner++;
      throw new ApiError('GUARD_API_UNAVAILABLE', `the replica that learns ${namespace}/${service} is changing (shard ${shard}); resend`);
    }
    try {
      const res = await request(new URL(sync.url, owner), {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          ...(sync.authorization ? { authorization: sync.authorization } : {}),
          ...(sync.syncId ? { [SYNC_ID_HEADER]: sync.syncId } : {}),
          [FORWARDED_HEADER]: this.config.identity,
        },
        body: sync.body,
        signal: AbortSignal.timeout(30_000),
      });
      const body = await res.body.text();
      this.forwarded.ok++;
      return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? 'application/json'), body };
    } catch (err) {
      this.forwarded.failed++;
      const code = (err as { code?: string }).code;
      // Not connected: the owner never saw it. Anything later: it may have learned it.
      if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH')
        throw new ApiError('GUARD_API_UNAVAILABLE', `the replica that learns ${namespace}/${service} could not be reached (${(err as Error).message}); resend`, { cause: err });
      throw new ApiError('GUARD_API_FORWARD_BROKEN', `the replica that learns ${namespace}/${service} did not answer the forwarded sync (${(err as Error).message}); it may have learned it`, { cause: err });
    }
  }

  /** Take part; `boundUrl` is the peer URL when the configuration gives none (tests on port 0). */
  start(boundUrl: string): Promise<void> {
    return this.leases.start(this.config.peerUrl || boundUrl);
  }

  /**
   * Drain: give every shard back once its learning is written, then keep listening until the
   * others have seen it — a peer forwarding on a pooled connection the listener just closed could
   * not tell whether its sync was learned.
   */
  async stop(): Promise<void> {
    await this.leases.stop();
    await new Promise((r) => setTimeout(r, this.leases.propagationMs));
    await this.agent.close();
  }

  /** A crash, for tests: nothing is given back; the Leases expire. */
  abandon(): void {
    this.leases.abandon();
    void this.agent.destroy();
  }
}
