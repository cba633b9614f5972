// What a test sees of the stand-in cluster: the objects, the identities it authenticates, the pods it
// deleted, the requests it served, and the knobs for faults (failNext, dropWatches, delay, compact).

import { randomBytes, randomUUID } from 'node:crypto';
import { ObjectStore } from './object-store.js';
import { configMap, guardian, pod, resourceTypes, type KubeObject, type ResourceKey, type Verb } from './resources.js';

/** Limits what a registered token may do; a token without rules may do everything. */
export interface AccessRule {
  verbs: Array<Verb | 'create' | '*'>;
  resources: Array<ResourceKey | 'tokenreviews' | '*'>;
  /** Namespaces the rule applies in; omitted means every namespace. */
  namespaces?: string[];
}

export interface TokenIdentity {
  /** `system:serviceaccount:<namespace>:<serviceaccount>` for service accounts. */
  username: string;
  uid?: string;
  groups?: string[];
  /** Audiences the token carries; defaults to the API server's own audience. */
  audiences?: string[];
  /** Bound pod, as in a projected token: reported in TokenReview `extra`. */
  podName?: string;
  podUid?: string;
  /** Defaults to the namespace in a service-account username. */
  namespace?: string;
  expiresAt?: Date;
  rules?: AccessRule[];
}

export interface RegisteredToken extends Required<Pick<TokenIdentity, 'username' | 'uid' | 'groups' | 'audiences'>> {
  podName?: string;
  podUid?: string;
  namespace?: string;
  expiresAt?: Date;
  rules?: AccessRule[];
  credentialId: string;
}

export interface PodSpecInput {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  serviceAccount?: string;
  uid?: string;
  podIP?: string;
}

export interface PodDeletion {
  namespace: string;
  name: string;
  uid: string;
  /** Who asked: the authenticated username. */
  username: string;
  gracePeriodSeconds: number | undefined;
  at: Date;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
  username: string | undefined;
}

export interface FaultOptions {
  /** How many matching requests fail (default 1). */
  times?: number;
  message?: string;
  reason?: string;
}

interface Fault {
  matches(method: string, path: string): boolean;
  status: number;
  remaining: number;
  message: string | undefined;
  reason: string | undefined;
}

/** An open watch stream as the state sees it, so tests can cut it. */
export interface OpenWatch {
  cut(mode: 'end' | 'reset'): void;
  bookmark(): void;
}

export const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const ADMIN_USERNAME = 'standin:admin';

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export class ClusterState {
  readonly store: ObjectStore;
  readonly adminToken: string;
  /** Every pod the API deleted, in order. */
  readonly podDeletions: PodDeletion[] = [];
  /** Every request served, in order (health checks of the stand-in itself included). */
  readonly requests: RequestRecord[] = [];
  private readonly tokens = new Map<string, RegisteredToken>();
  private readonly faults: Fault[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly waiters = new Set<() => void>();
  private delayMs = 0;

  constructor(adminToken: string, initialResourceVersion: number, historyLimit: number) {
    this.adminToken = adminToken;
    this.store = new ObjectStore(initialResourceVersion, historyLimit);
    this.store.onChange(() => this.notify());
  }

  /** The cluster-wide resourceVersion of the last change. */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  get responseDelayMs(): number {
    return this.delayMs;
  }

  // ---- objects -------------------------------------------------------------------------------

  getObject(resource: ResourceKey, namespace: string, name: string): KubeObject | undefined {
    return this.store.get(resourceTypes[resource], namespace, name);
  }

  listObjects(resource: ResourceKey, namespace?: string): KubeObject[] {
    return this.store.list(resourceTypes[resource], namespace, () => true).items;
  }

  /** Creates or replaces an object without a request, with the same validation and events. */
  putObject(resource: 'guardians' | 'configmaps', object: { metadata: { name: string; namespace: string } } & Record<string, unknown>): KubeObject {
    const type = resource === 'guardians' ? guardian : configMap;
    const { namespace, name } = object.metadata;
    const body = structuredClone(object) as Record<string, unknown> & { metadata: Record<string, unknown> };
    body.apiVersion ??= type.apiVersion;
    body.kind ??= type.kind;
    const current = this.store.get(type, namespace, name);
    if (!current) {
      delete body.metadata.resourceVersion;
      return this.store.create(type, namespace, body);
    }
    body.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.store.replace(type, namespace, name, body);
  }

  removeObject(resource: ResourceKey, namespace: string, name: string): void {
    this.store.delete(resourceTypes[resource], namespace, name);
  }

  addPod(input: PodSpecInput): KubeObject {
    const object: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: input.name,
        namespace: input.namespace,
        uid: input.uid ?? randomUUID(),
        resourceVersion: '',
        creationTimestamp: '',
        ...(input.labels ? { labels: { ...input.labels } } : {}),
        ...(input.annotations ? { annotations: { ...input.annotations } } : {}),
      },
      spec: {
        serviceAccountName: input.serviceAccount ?? 'default',
        containers: [{ name: 'app', image: 'registry.invalid/app:latest' }],
      },
      status: { phase: 'Running', podIP: input.podIP ?? '10.0.0.1' },
    };
    return this.store.insert(pod, object);
  }

  recordPodDeletion(deleted: KubeObject, username: string, gracePeriodSeconds: number | undefined): void {
    this.podDeletions.push({
      namespace: deleted.metadata.namespace,
      name: deleted.metadata.name,
      uid: deleted.metadata.uid,
      username,
      gracePeriodSeconds,
      at: new Date(),
    });
    this.notify();
  }

  // ---- identities ----------------------------------------------------------------------------

  addToken(token: string, identity: TokenIdentity): void {
    if (!token) throw new TypeError('addToken: the token must be a non-empty string');
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(identity.username);
    const namespace = identity.namespace ?? sa?.[1];
    const groups = identity.groups ?? (sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`, 'system:authenticated'] : ['system:authenticated']);
    this.tokens.set(token, {
      username: identity.username,
      uid: identity.uid ?? randomUUID(),
      groups,
      audiences: identity.audiences ?? [API_SERVER_AUDIENCE],
      podName: identity.podName,
      podUid: identity.podUid,
      namespace,
      expiresAt: identity.expiresAt,
      rules: identity.rules,
      credentialId: `JTI=${randomUUID()}`,
    });
  }

  removeToken(token: string): void {
    this.tokens.delete(token);
  }

  /**
   * Registers and returns a JWT-shaped projected service-account token whose claims are laid out as
   * Kubernetes lays them out (`kubernetes.io.namespace`, `.pod.name`, `.serviceaccount.name`).
   * The signature is random: only this stand-in's TokenReview vouches for it.
   */
  mintServiceAccountToken(input: {
    namespace: string;
    serviceAccount: string;
    podName?: string;
    audiences?: string[];
    expiresInSeconds?: number;
    rules?: AccessRule[];
  }): string {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + (input.expiresInSeconds ?? 3600);
    const podObject = input.podName ? this.store.get(pod, input.namespace, input.podName) : undefined;
    const podUid = podObject?.metadata.uid ?? (input.podName ? randomUUID() : undefined);
    const saUid = randomUUID();
    const audiences = input.audiences ?? [API_SERVER_AUDIENCE];
    const claims = {
      aud: audiences,
      exp: expiresAt,
      iat: issuedAt,
      nbf: issuedAt,
      iss: API_SERVER_AUDIENCE,
      jti: randomUUID(),
      sub: `system:serviceaccount:${input.namespace}:${input.serviceAccount}`,
      'kubernetes.io': {
        namespace: input.namespace,
        ...(input.podName ? { pod: { name: input.podName, uid: podUid } } : {}),
        serviceaccount: { name: input.serviceAccount, uid: saUid },
      },
    };
    const token = `${base64url({ alg: 'RS256', kid: 'standin' })}.${base64url(claims)}.${randomBytes(32).toString('base64url')}`;
    this.addToken(token, {
      username: claims.sub,
      uid: saUid,
      audiences,
      podName: input.podName,
      podUid,
      namespace: input.namespace,
      expiresAt: new Date(expiresAt * 1000),
      rules: input.rules,
    });
    return token;
  }

  /** The identity behind a bearer token, or undefined: no expiry or audience checks here. */
  lookupToken(token: string): RegisteredToken | undefined {
    return this.tokens.get(token);
  }

  // ---- faults --------------------------------------------------------------------------------

  /**
   * The next request(s) matching `pattern` fail with `status` and a Kubernetes Status body.
   * A string pattern is `"<METHOD|*> <path glob>"` matched against the path without query
   * (`*` = one path segment's characters, `**` = anything); a RegExp is matched against
   * `"<METHOD> <path>"`.
   */
  failNext(pattern: string | RegExp, status: number, options: FaultOptions = {}): void {
    let matches: Fault['matches'];
    if (pattern instanceof RegExp) matches = (method, path) => pattern.test(`${method} ${path}`);
    else {
      const space = pattern.indexOf(' ');
      if (space < 0) throw new TypeError(`failNext: pattern "${pattern}" must be "<METHOD|*> <path glob>"`);
      const method = pattern.slice(0, space).toUpperCase();
      const path = globToRegExp(pattern.slice(space + 1).trim());
      matches = (m, p) => (method === '*' || method === m) && path.test(p);
    }
    this.faults.push({ matches, status, remaining: options.times ?? 1, message: options.message, reason: options.reason });
  }

  /** Consumes and returns the fault for this request, if one is armed. */
  takeFault(method: string, path: string): { status: number; message: string | undefined; reason: string | undefined } | undefined {
    const index = this.faults.findIndex((f) => f.matches(method, path));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return { status: fault.status, message: fault.message, reason: fault.reason };
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  /** Every later response waits `ms` first (0 turns it off). */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay: ${ms} is not a duration in milliseconds`);
    this.delayMs = ms;
  }

  /** Cuts every open watch: 'end' finishes the chunked response cleanly, 'reset' destroys the socket. */
  dropWatches(mode: 'end' | 'reset' = 'end'): number {
    const open = [...this.watches];
    for (const watch of open) watch.cut(mode);
    return open.length;
  }

  /** Sends a BOOKMARK now on every watch that asked for them. */
  sendBookmarks(): void {
    for (const watch of this.watches) watch.bookmark();
  }

  /** Drops the event history: resuming a watch from an earlier resourceVersion now gets 410. */
  compact(): void {
    this.store.compact();
  }

  registerWatch(watch: OpenWatch): () => void {
    this.watches.add(watch);
    this.notify();
    return () => {
      if (this.watches.delete(watch)) this.notify();
    };
  }

  recordRequest(record: RequestRecord): void {
    this.requests.push(record);
    this.notify();
  }

  // ---- waiting -------------------------------------------------------------------------------

  /**
   * Resolves once `predicate()` holds. It is re-checked only when the stand-in's own state moves (a
   * write, a served request, a watch opened or closed), so it suits server-side conditions; wait for
   * what a client has seen on that client's own callbacks.
   */
  waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`kube stand-in: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
