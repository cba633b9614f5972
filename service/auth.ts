// Who is calling guard-service (docs/threat-model.md). Gates: a projected service-account token
// reviewed by Kubernetes (TokenReview, audience guard-service); the namespace and pod come from the
// reviewed identity (never from an unverified JWT, docs/threat-model.md S-4) and the service from
// the pod's labels. People: a bearer token reviewed by Kubernetes plus a SubjectAccessReview for
// each verb and namespace, or, in local mode, the token generated at start. Kubernetes failures are
// 503, not 401 (docs/threat-model.md, B-12).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError } from './api-errors.js';
import { TokenReviews, type AuthAttempts, type ReviewOutcome } from './auth-attempts.js';
import type { KubeAccess } from './kube-access.js';
import { httpStatus } from '../store/kube.js';
import { isDnsLabel } from '../store/index.js';
import { TtlCache } from './ttl-cache.js';
import { wallClock, type WallClock } from '../clock/index.js';

export const GATE_AUDIENCE = 'guard-service';
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
// Guard's own label (what `guard inject` and the webhook set), then Knative's, then the common one.
const DEFAULT_SERVICE_LABELS = ['guard.security.knative.dev/service', 'serving.knative.dev/service', 'app'];
/** A JWT's shape (header.payload.signature, base64url): every service-account token has it. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The original's query sanitiser: at most 60 of [a-z0-9-], not starting with '-', ending alphanumeric. */
const QUERY_NAME = /^[a-z0-9]([-a-z0-9]{0,58}[a-z0-9])?$/;

/** The gate behind a sync: its namespace, its service (the Guardian it feeds) and its pod. */
export interface GateIdentity {
  namespace: string;
  service: string;
  pod: string;
  /** From the reviewed token; deletions are conditioned on it (a new pod of the same name is spared). */
  podUid?: string;
  /** False when the identity was named by the caller (auth off): no pod is ever deleted for it. */
  verified: boolean;
  /** Where the service name came from (auth on): `label <key>`, or `the pod name`. */
  serviceFrom?: string;
}

export interface GateAuthenticator {
  /**
   * The caller of a /sync (`client`: its address, for the limit on failed authentications); ApiError
   * 401 / 403 / 400 / 429 / 503 when it cannot be established.
   */
  identify(authorization: string | undefined, query: URLSearchParams, client?: string): Promise<GateIdentity>;
}

export interface KubeGateAuthOptions {
  kube: KubeAccess;
  /** GUARD_SERVICE_LABELS: label keys tried before guard.security.knative.dev/service, serving.knative.dev/service and app. */
  serviceLabels: readonly string[];
  cacheTtlMs?: number;
  cacheEntries?: number;
  /** Tokens' expiry is a date: the wall clock (default). */
  now?: WallClock;
  /** The limits on reviews shared with people's authentication (null: none). */
  attempts?: AuthAttempts | null;
  /** Told of every TokenReview's outcome (metrics). */
  onReview?: (outcome: ReviewOutcome) => void;
}

/** Gate authentication with TokenReview (auth on). */
export class KubeGateAuthenticator implements GateAuthenticator {
  private readonly kube: KubeAccess;
  private readonly labelKeys: readonly string[];
  private readonly ttlMs: number;
  private readonly reviews: TokenReviews<GateIdentity>;
  private readonly now: WallClock;

  constructor(options: KubeGateAuthOptions) {
    this.kube = options.kube;
    this.labelKeys = [...new Set([...options.serviceLabels, ...DEFAULT_SERVICE_LABELS])];
    this.ttlMs = options.cacheTtlMs ?? 5 * 60_000;
    this.now = options.now ?? wallClock;
    this.reviews = new TokenReviews(options.attempts ?? null, { maxEntries: options.cacheEntries ?? 10_000, now: this.now, onReview: options.onReview });
  }

  async identify(authorization: string | undefined, query?: URLSearchParams, client?: string): Promise<GateIdentity> {
    const token = bearerToken(authorization);
    // Not worth a review: a gate's token is a projected service-account token, always a JWT.
    if (!JWT.test(token)) {
      throw new ApiError('GUARD_API_UNAUTHENTICATED', "the token is not a service account's token (a JWT): mount a projected service-account token with audience guard-service", { reason: 'not_jwt' });
    }
    const identity = await this.reviews.get(token, client, async () => {
      const identity = await this.identityOf(await this.review(token));
      // Never trusted past the token's own expiry, when the token says it (read only to shorten the cache).
      const expiresAt = jwtExpiry(token);
      return { value: identity, ttlMs: expiresAt === undefined ? this.ttlMs : Math.min(this.ttlMs, expiresAt - this.now()) };
    });
    if (query) this.checkClaims(identity, query);
    return identity;
  }

  /**
   * Guard's gates also name their namespace and service in the query (NAMESPACE, SERVICE_NAME; the
   * original's send nothing with a token). They must be what the token and the pod's labels say:
   * otherwise the gate would log, alert and fall back to Kubernetes under one name while
   * guard-service learns and answers under another (docs/threat-model.md, H8).
   */
  private checkClaims(identity: GateIdentity, query: URLSearchParams): void {
    for (const name of ['ns', 'sid']) {
      if (query.getAll(name).length > 1) throw new ApiError('GUARD_API_INVALID', `query parameter ${name} appears more than once`);
    }
    const ns = query.get('ns');
    if (ns !== null && ns !== identity.namespace) {
      throw new ApiError(
        'GUARD_API_FORBIDDEN',
        `the gate says it is in namespace ${JSON.stringify(ns)} (its NAMESPACE), but its token is of namespace ${identity.namespace}: set NAMESPACE=${identity.namespace}`,
        { reason: 'identity_mismatch' },
      );
    }
    const sid = query.get('sid');
    if (sid !== null && sid !== identity.service) {
      throw new ApiError(
        'GUARD_API_FORBIDDEN',
        `the gate says it guards service ${JSON.stringify(sid)} (its SERVICE_NAME), but guard-service names the service of pod ${identity.namespace}/${identity.pod} ${identity.service} (from ${identity.serviceFrom ?? 'its labels'}), and would learn and answer for that one: set SERVICE_NAME=${identity.service}, or label the pod ${this.labelKeys[0]}=${sid}`,
        { reason: 'identity_mismatch' },
      );
    }
  }

  private async review(token: string): Promise<{ username: string; extra: Record<string, string[]> }> {
    let status;
    try {
      const answer = await this.kube.authentication.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [GATE_AUDIENCE] } },
      });
      status = answer.status;
    } catch (err) {
      throw unavailable('TokenReview', err);
    }
    if (status?.authenticated !== true) {
      const why = status?.error ? `: ${status.error}` : '';
      throw new ApiError('GUARD_API_UNAUTHENTICATED', `the token was not accepted by Kubernetes${why}`, { reason: 'token_rejected' });
    }
    if (!(status.audiences ?? []).includes(GATE_AUDIENCE)) {
      throw new ApiError('GUARD_API_UNAUTHENTICATED', `the token is not for audience ${GATE_AUDIENCE}`, { reason: 'audience' });
    }
    const username = status.user?.username ?? '';
    return { username, extra: status.user?.extra ?? {} };
  }

  private async identityOf(review: { username: string; extra: Record<string, string[]> }): Promise<GateIdentity> {
    const sa = SERVICE_ACCOUNT_USER.exec(review.username);
    if (!sa) throw new ApiError('GUARD_API_UNAUTHENTICATED', `the token is not a service account's (user ${JSON.stringify(review.username)})`, { reason: 'not_service_account' });
    const namespace = sa[1]!;
    const pod = review.extra[POD_NAME_EXTRA]?.[0];
    if (!pod) throw new ApiError('GUARD_API_UNAUTHENTICATED', 'the token is not bound to a pod (use a projected service-account token)', { reason: 'no_pod' });
    const podUid = review.extra[POD_UID_EXTRA]?.[0];

    let object: V1Pod;
    try {
      object = await this.kube.core.readNamespacedPod({ namespace, name: pod });
    } catch (err) {
      if (httpStatus(err) === 404) throw new ApiError('GUARD_API_UNAUTHENTICATED', `pod ${namespace}/${pod} of the token no longer exists`, { reason: 'pod_gone' });
      throw unavailable(`reading pod ${namespace}/${pod}`, err);
    }
    if (podUid && object.metadata?.uid && object.metadata.uid !== podUid) {
      throw new ApiError('GUARD_API_UNAUTHENTICATED', `pod ${namespace}/${pod} of the token was replaced`, { reason: 'pod_gone' });
    }
    const { service, from } = this.serviceOf(object.metadata?.labels ?? {}, pod);
    checkService(namespace, service, 'the pod\'s labels name');
    return { namespace, service, pod, podUid: podUid ?? object.metadata?.uid, verified: true, serviceFrom: from };
  }

  private serviceOf(labels: Record<string, string>, pod: string): { service: string; from: string } {
    for (const key of this.labelKeys) {
      const value = labels[key];
      if (value) return { service: value, from: `label ${key}` };
    }
    return { service: pod, from: 'the pod name' };
  }
}

/** Auth off (file store only): the gate names itself in the query, as the original's gates do. */
export class QueryGateIdentifier implements GateAuthenticator {
  async identify(_authorization: string | undefined, query: URLSearchParams): Promise<GateIdentity> {
    const values: Record<string, string> = {};
    for (const name of ['pod', 'sid', 'ns']) {
      const all = query.getAll(name);
      if (all.length !== 1) throw new ApiError('GUARD_API_INVALID', `query parameter ${name} must appear exactly once (auth is off: the gate names its pod, sid and ns)`);
      if (!QUERY_NAME.test(all[0]!)) throw new ApiError('GUARD_API_INVALID', `query parameter ${name} ${JSON.stringify(all[0])} is not a name (lower-case letters, digits and '-', at most 60)`);
      values[name] = all[0]!;
    }
    checkService(values.ns!, values.sid!, 'query sid');
    return { namespace: values.ns!, service: values.sid!, pod: values.pod!, verified: false };
  }
}

/** A service name must be a Guardian name, not the namespace default's (docs/threat-model.md B-11, B-17). */
function checkService(namespace: string, service: string, what: string): void {
  if (!isDnsLabel(service)) {
    throw new ApiError('GUARD_API_FORBIDDEN', `${what} service ${JSON.stringify(service)}, which is not a DNS-1123 label (lower-case letters, digits and '-', at most 63): fix the label`, { reason: 'bad_service' });
  }
  if (service === `ns-${namespace}`) {
    throw new ApiError('GUARD_API_FORBIDDEN', `${what} service ${service}, the name of namespace ${namespace}'s default Guardian, which gates may not write`, { reason: 'bad_service' });
  }
}

// ---- people ---------------------------------------------------------------------------------------

export type PersonVerb = 'get' | 'list' | 'update' | 'create';

export interface Person {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface PeopleAuthenticator {
  readonly mode: 'kubernetes' | 'token';
  /** The person behind a bearer token (`client`: the caller's address, for the limit on failed authentications). */
  authenticate(authorization: string | undefined, client?: string): Promise<Person>;
  /** GUARD_API_FORBIDDEN unless `person` may `verb` Guardians in `namespace` (undefined: all namespaces). */
  authorize(person: Person, verb: PersonVerb, namespace: string | undefined): Promise<void>;
}

export const GUARDIAN_RESOURCE = { group: 'guard.security.knative.dev', resource: 'guardians' } as const;

/** People in a cluster: TokenReview (the API server's audience) and SubjectAccessReview. */
export class KubePeopleAuthenticator implements PeopleAuthenticator {
  readonly mode = 'kubernetes' as const;
  private readonly people: TokenReviews<Person>;
  private readonly decisions: TtlCache<boolean>;

  private readonly ttlMs: number;

  constructor(
    private readonly kube: KubeAccess,
    options: {
      /** How long a person's token and their access decisions are believed (default 30 s). */
      ttlMs?: number;
      now?: WallClock;
      /** The limits on reviews shared with the gates' authentication. */
      attempts?: AuthAttempts | null;
      /** Told of every TokenReview's outcome (metrics). */
      onReview?: (outcome: ReviewOutcome) => void;
    } = {},
  ) {
    const now = options.now ?? wallClock;
    this.ttlMs = options.ttlMs ?? 30_000;
    this.people = new TokenReviews(options.attempts ?? null, { maxEntries: 1000, now, onReview: options.onReview });
    this.decisions = new TtlCache(10_000, now);
  }

  async authenticate(authorization: string | undefined, client?: string): Promise<Person> {
    const token = bearerToken(authorization);
    return this.people.get(token, client, async () => ({ value: await this.review(token), ttlMs: this.ttlMs }));
  }

  private async review(token: string): Promise<Person> {
    let status;
    try {
      status = (await this.kube.authentication.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } })).status;
    } catch (err) {
      throw unavailable('TokenReview', err);
    }
    if (status?.authenticated !== true || !status.user?.username) {
      throw new ApiError('GUARD_API_UNAUTHENTICATED', `the token was not accepted by Kubernetes${status?.error ? `: ${status.error}` : ''}`, { reason: 'token_rejected' });
    }
    return { name: status.user.username, groups: status.user.groups ?? [], uid: status.user.uid, extra: status.user.extra };
  }

  async authorize(person: Person, verb: PersonVerb, namespace: string | undefined): Promise<void> {
    const key = `${person.uid ?? ''}\n${person.name}\n${verb}\n${namespace ?? ''}`;
    let allowed = this.decisions.get(key);
    if (allowed === undefined) {
      try {
        const answer = await this.kube.authorization.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: person.name,
              groups: person.groups,
              uid: person.uid,
              extra: person.extra,
              resourceAttributes: { ...GUARDIAN_RESOURCE, verb, ...(namespace ? { namespace } : {}) },
            },
          },
        });
        allowed = answer.status?.allowed === true;
      } catch (err) {
        throw unavailable('SubjectAccessReview', err);
      }
      this.decisions.set(key, allowed, this.ttlMs);
    }
    if (!allowed) {
      const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
      throw new ApiError('GUARD_API_FORBIDDEN', `${person.name} may not ${verb} Guardians ${where}`, { reason: 'forbidden' });
    }
  }
}

/** Local mode: one token, generated at start, grants everything; compared in constant time. */
export class TokenPeopleAuthenticator implements PeopleAuthenticator {
  readonly mode = 'token' as const;
  readonly token: string;
  private readonly expected: Buffer;
  private readonly attempts: AuthAttempts | null;

  constructor(token = randomBytes(32).toString('base64url'), attempts: AuthAttempts | null = null) {
    this.token = token;
    this.expected = createHash('sha256').update(token).digest();
    this.attempts = attempts;
  }

  async authenticate(authorization: string | undefined, client?: string): Promise<Person> {
    const token = bearerToken(authorization);
    const digest = createHash('sha256').update(token).digest();
    // Guessing is limited per address like reviews are (auth-attempts.ts), although it asks nothing of Kubernetes.
    const key = digest.toString('base64url');
    const holds = this.attempts?.begin(key, client) ?? false;
    // Digests are of equal length whatever the token's: timingSafeEqual never throws or leaks a length.
    const accepted = timingSafeEqual(digest, this.expected);
    this.attempts?.end(key, client, accepted ? 'accepted' : 'refused', holds);
    if (!accepted) throw new ApiError('GUARD_API_UNAUTHENTICATED', 'the token is not the one guard-service printed at start', { reason: 'token_rejected' });
    return { name: 'local', groups: [] };
  }

  async authorize(): Promise<void> {}
}

// ---- shared ---------------------------------------------------------------------------------------

function bearerToken(authorization: string | undefined): string {
  if (!authorization?.startsWith('Bearer ')) {
    throw new ApiError('GUARD_API_UNAUTHENTICATED', 'missing token: send Authorization: Bearer <token>', { reason: 'missing_token' });
  }
  const token = authorization.slice('Bearer '.length).trim();
  if (token.length < 8) throw new ApiError('GUARD_API_UNAUTHENTICATED', 'invalid token', { reason: 'missing_token' });
  return token;
}

/** The `exp` claim of a JWT in ms, unverified: used only to cache an identity for less time. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function unavailable(what: string, err: unknown): ApiError {
  const status = httpStatus(err);
  const detail = status !== undefined ? `HTTP ${status}` : ((err as Error | null)?.name === 'AbortError' ? 'no answer in time' : ((err as Error | null)?.message ?? String(err)));
  return new ApiError('GUARD_API_UNAVAILABLE', `Kubernetes could not be asked (${what}: ${detail}); retry later`, { reason: 'kube_unavailable', cause: err });
}
