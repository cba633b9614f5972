// guard-service as one of several replicas: which services this replica learns (shard-leases.ts),
// and what happens to a sync that reaches a replica that does not learn its service — it is
// forwarded, as it came (the gate's own credentials, its body), to the replica that holds the
// service's shard, whose answer is relayed. A forwarded sync is never forwarded again: a replica
// that gets one for a shard it does not hold answers 503 and the gate resends its pile. People's
// views that span services (alerts, the overview) ask each replica for the part it holds (ask,
// replica-views.ts); a replica taking a shard over reads back what is kept of its services
// elsewhere (ShardHandover: the alerts recorded as Events). The replicas' CA is re-read while
// serving, as the serving certificate is (tls/): a renewed CA is trusted without a restart.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { Clock } from '../clock/index.js';
import type { Logger } from '../log/index.js';
import { SYNC_ID_HEADER } from '../store/index.js';
import type { ServiceFilter } from './alerts.js';
import { ApiError } from './api-errors.js';
import type { KubeAccess } from './kube-access.js';
import { CertificateWatch } from '../tls/index.js';
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
  /** PEM file of the CA that signed the replicas' certificates (https peers); null: the system's. Re-read while serving. */
  peerCaFile: string | null;
  /** How often peerCaFile is checked for a renewed CA, ms (default 5000, as the serving certificate). */
  peerCaCheckMs?: number;
  /** Name the replicas' certificate carries (https peers: the peer URL names a pod IP). */
  peerServerName: string | null;
  /**
   * guard-service serves HTTPS: tokens (a gate's, a person's) go only to peers whose URL — read
   * from a Lease — is https, verified with peerCaFile (required then). Unset: startService sets it
   * from the listener's TLS; false: plain HTTP (tests, local runs), where tokens arrive in the clear anyway.
   */
  peersOverTls?: boolean;
}

/** The header a forwarded sync carries: the name of the replica that forwarded it. */
export const FORWARDED_HEADER = 'x-guard-forwarded-by';

/** What a replica keeps of the services of a shard besides their learning (alerts), moved with the shard. */
export interface ShardHandover {
  /**
   * The services `include` covers learn here from now on: read back what is kept of them
   * elsewhere, recorded before `since` (wall-clock ms; later records are this replica's own).
   */
  taken(include: ServiceFilter, since: number): Promise<void>;
  /** The services `include` covers are given back (a drain): record what is kept of them where the next replica reads it. */
  giving?(include: ServiceFilter): Promise<void>;
  /** Another replica answers for them now: forget what is kept of them here. */
  gone(include: ServiceFilter): void;
}

/** Another live replica: its name (the pod) and where it is reached. */
export interface Peer {
  identity: string;
  url: string;
}

/** How long a people's view waits for another replica's part. */
export const PEER_VIEW_TIMEOUT_MS = 5000;

export interface ForwardedAnswer {
  status: number;
  contentType: string;
  body: string;
}

export class Replicas {
  readonly leases: ShardLeases;
  /** Connections to the other replicas, verified with the CA in use; replaced when the CA is renewed. */
  private agent: Agent;
  private readonly caWatch: CertificateWatch | null;
  private readonly config: ReplicasConfig;
  private readonly log: Logger;
  /** Peer URLs refused tokens, each logged once. */
  private readonly refusedUrls = new Set<string>();
  /** Syncs forwarded, by outcome. */
  readonly forwarded = { ok: 0, failed: 0, noOwner: 0 };

  constructor(config: ReplicasConfig, deps: { kube: KubeAccess; learner: Learner; clock: Clock; log: Logger; handover?: ShardHandover }) {
    this.config = config;
    this.log = deps.log;
    const handover = deps.handover;
    const inShards = (shards: readonly number[]): ServiceFilter => (ns, svc) => shards.includes(this.leases.shardOf(ns, svc));
    this.leases = new ShardLeases({
      api: deps.kube.coordination,
      namespace: config.namespace,
      identity: config.identity,
      shards: config.shards,
      leaseSeconds: config.leaseSeconds,
      clock: deps.clock,
      log: deps.log,
      drain: async (shard) => {
        await deps.learner.release(inShards([shard]));
        await handover?.giving?.(inShards([shard]));
        handover?.gone(inShards([shard]));
      },
      lost: (shard) => {
        void deps.learner.release(inShards([shard]));
        handover?.gone(inShards([shard]));
      },
      acquired: (shards, since) => {
        handover?.taken(inShards(shards), since).catch((err: unknown) => deps.log.warn({ err, shards }, 'took over shards of services, but could not read back what was kept of them (their earlier alerts)'));
      },
    });
    const caFile = config.peerCaFile;
    const ca = caFile ? peerCa(readFileSync(caFile), caFile) : undefined;
    this.agent = this.agentFor(ca);
    // The serving certificate's watch, for the CA alone (a pair with no key): a renewed CA that
    // loads is used by every new connection to a peer; one that does not is logged and the one in
    // use stays. Requests in flight finish on the connections they have.
    this.caWatch =
      caFile && ca
        ? new CertificateWatch(
            { cert: ca, key: '' },
            {
              read: async () => ({ cert: peerCa(await readFile(caFile), caFile), key: '' }),
              apply: ({ cert }) => {
                const old = this.agent;
                this.agent = this.agentFor(Buffer.from(cert));
                void old.close().catch(() => {});
              },
              log: deps.log,
              what: "guard-service replicas' CA (GUARD_SERVICE_PEER_CA)",
              certFile: caFile,
            },
          )
        : null;
  }

  private agentFor(ca: Buffer | undefined): Agent {
    return new Agent({
      connect: { ...(ca ? { ca } : {}), ...(this.config.peerServerName ? { servername: this.config.peerServerName } : {}) },
      keepAliveTimeout: 30_000,
    });
  }

  /** Re-read the replicas' CA now (it is also checked every peerCaCheckMs); resolves once a renewed one is in use, or refused. */
  reloadPeerCa(): Promise<void> {
    return this.caWatch?.check() ?? Promise.resolve();
  }

  /** Renewed CAs put in use, and changed CA files that did not load. */
  get peerCaCounts(): { rotations: number; refused: number } {
    return { ...(this.caWatch?.counts ?? { rotations: 0, refused: 0 }) };
  }

  /** This replica learns the service now. */
  learnsHere(namespace: string, service: string): boolean {
    return this.leases.owns(this.leases.shardOf(namespace, service));
  }

  /** The other live replica that learns the service now, or null (this one does, or none does). */
  holderOf(namespace: string, service: string): Peer | null {
    return this.leases.holderOf(this.leases.shardOf(namespace, service));
  }

  /**
   * This replica answers for the service in people's views: it learns it, or no other live
   * replica does (a shard changing hands: what is kept here is the best there is).
   */
  answersFor(namespace: string, service: string): boolean {
    return this.learnsHere(namespace, service) || this.holderOf(namespace, service) === null;
  }

  /** Every other live replica that holds shards, each once. */
  holders(): Peer[] {
    const byName = new Map<string, Peer>();
    for (let shard = 0; shard < this.config.shards; shard++) {
      const h = this.leases.holderOf(shard);
      if (h) byName.set(h.identity, h);
    }
    return [...byName.values()];
  }

  /**
   * Whether a peer, named at `url` by its Lease, may be sent a token: always over plain-HTTP tests;
   * when guard-service serves HTTPS, only at an https URL (verified with the replicas' CA).
   */
  mayReceiveTokens(url: string): boolean {
    if (!this.config.peersOverTls || url.startsWith('https://')) return true;
    if (!this.refusedUrls.has(url) && this.refusedUrls.size < 64) {
      this.refusedUrls.add(url);
      this.log.warn({ peerUrl: url }, "a replica's Lease names a URL that is not https: no token is sent there (its services' syncs get 503 here) - check GUARD_SERVICE_PEER_URL of every replica");
    }
    return false;
  }

  /**
   * Ask another replica for its part of a people's view, with the person's own credentials (it
   * checks them as this one did). Rejects with a message naming the replica when it cannot answer.
   */
  async ask(peer: Peer, method: 'GET' | 'POST', path: string, authorization: string | undefined, body?: unknown): Promise<unknown> {
    if (!this.mayReceiveTokens(peer.url)) throw new Error(`replica ${peer.identity} was not asked: its URL ${peer.url} is not https, and a person's token goes to other replicas only over TLS`);
    let status: number;
    let text: string;
    try {
      const res = await request(new URL(path, peer.url), {
        method,
        dispatcher: this.agent,
        headers: { ...(authorization ? { authorization } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(PEER_VIEW_TIMEOUT_MS),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new Error(`replica ${peer.identity} (${peer.url}) did not answer: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below
    }
    if (status !== 200) {
      const e = (json as { error?: { message?: unknown } } | null)?.error;
      throw new Error(`replica ${peer.identity} (${peer.url}) answered ${status}${typeof e?.message === 'string' ? `: ${e.message}` : ''}`);
    }
    if (json === null || typeof json !== 'object') throw new Error(`replica ${peer.identity} (${peer.url}) answered something that is not a JSON object`);
    return json;
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
    if (!this.mayReceiveTokens(owner)) {
      this.forwarded.failed++;
      throw new ApiError('GUARD_API_UNAVAILABLE', `the replica that learns ${namespace}/${service} is named at ${owner}, which is not https: a gate's token is not forwarded there; resend`);
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
      // Its certificate did not verify: the handshake failed before the sync was sent (a CA renewal
      // not yet followed by one side, or a wrong GUARD_SERVICE_PEER_CA / _SERVER_NAME).
      if (code !== undefined && UNVERIFIED_PEER.has(code))
        throw new ApiError('GUARD_API_UNAVAILABLE', `the replica that learns ${namespace}/${service} was not sent the sync: its certificate does not verify with GUARD_SERVICE_PEER_CA and GUARD_SERVICE_PEER_SERVER_NAME (${(err as Error).message}); resend`, { cause: err });
      throw new ApiError('GUARD_API_FORWARD_BROKEN', `the replica that learns ${namespace}/${service} did not answer the forwarded sync (${(err as Error).message}); it may have learned it`, { cause: err });
    }
  }

  /** Take part; `boundUrl` is the peer URL when the configuration gives none (tests on port 0). */
  start(boundUrl: string): Promise<void> {
    this.caWatch?.start(this.config.peerCaCheckMs ?? 5000);
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
    this.caWatch?.stop();
    await this.agent.close();
  }

  /** A crash, for tests: nothing is given back; the Leases expire. */
  abandon(): void {
    this.leases.abandon();
    this.caWatch?.stop();
    void this.agent.destroy();
  }
}

/** Node's codes for a peer certificate that does not verify (chain, validity, name): no byte of the request was sent. */
const UNVERIFIED_PEER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The CA file's PEM, checked to hold a certificate: Node takes a file without one silently, and then verifies no peer. */
function peerCa(pem: Buffer, file: string): Buffer {
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${file} holds no PEM certificate (${(err as Error).message})`, { cause: err });
  }
  return pem;
}
