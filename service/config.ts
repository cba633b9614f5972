// guard-service's configuration (docs/configuration.md): the environment is read once, here,
// validated and frozen. An invalid value is a ConfigError naming the variable; nothing is silently
// replaced.
import { DEFAULT_LEARNING_CAPS, type LearningCaps } from '../core/index.js';
import type { ReplicasConfig } from './replicas.js';
import { DEFAULT_LEARNER_LIMITS, type LearnerLimits } from './learner.js';

export type StoreKind = 'file' | 'kube-crd' | 'kube-configmap';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** How people (the API and UI) authenticate: Kubernetes TokenReview + SubjectAccessReview, or the token made at start. */
export type PeopleAuthMode = 'kubernetes' | 'token';

export interface ServiceConfig {
  port: number;
  address: string;
  /** Gates authenticate with a projected service-account token (TokenReview). */
  auth: boolean;
  tls: { certFile: string; keyFile: string } | null;
  /** Pod label keys that name a gate's service, before guard.security.knative.dev/service, serving.knative.dev/service and app. */
  serviceLabels: readonly string[];
  store: StoreKind;
  storeDir: string;
  logLevel: LogLevel;
  peopleAuth: PeopleAuthMode;
  /** Token mode: where the generated people token is written (also printed at start). */
  peopleTokenFile: string | null;
  /** Largest /sync body (bytes). */
  maxBodyBytes: number;
  /** KUBERNETES_SERVICE_HOST is set: running in a pod. */
  inCluster: boolean;
  /** GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK: listen on a non-loopback address with auth off. */
  allowUnauthenticatedNetwork: boolean;
  /** Key caps and route bound new learning uses (GUARD_LEARN_*, docs/routes.md). */
  learningCaps: Readonly<Required<LearningCaps>>;
  /** Core instances the learner spreads services over (GUARD_SERVICE_CORES, service/core-shards.ts). */
  cores: number;
  /** When to learn and persist, and when an idle service is forgotten (GUARD_LEARN_*, GUARD_PERSIST_INTERVAL, GUARD_SERVICE_IDLE). */
  learnerLimits: Readonly<Pick<LearnerLimits, 'learnSamples' | 'newSamplesRatio' | 'learnIntervalMs' | 'persistIntervalMs' | 'idleMs'>>;
  /** Alerts as Kubernetes Events on the Guardian (Kubernetes stores): the per-Guardian token bucket; null: off. */
  alertEvents: Readonly<{ burst: number; refillMs: number }> | null;
  /**
   * How often one authenticated pod may sync (a token bucket per pod); null: no limit (authentication
   * off, where a caller names its own pod, or GUARD_SERVICE_SYNCS_PER_MINUTE=0).
   */
  syncLimit: Readonly<{ burst: number; perMinute: number }> | null;
  /**
   * What a caller that is not authenticated can make guard-service ask of Kubernetes (service/auth-attempts.ts):
   * failed authentications per client address (a burst, then per minute; 0 per minute: no limit)
   * and token reviews running at once.
   */
  authAttempts: Readonly<{ failureBurst: number; failuresPerMinute: number; maxReviews: number }>;
  /** The file store's alert log: rotate at this size, keep this many rotated files. */
  alertLog: Readonly<{ maxBytes: number; keep: number }>;
  /** Several replicas divide the services with Leases (GUARD_SERVICE_SHARDS > 0); null: one replica. */
  replicas: Readonly<ReplicasConfig> | null;
}

/**
 * Core instances for the learner: the core's collection pauses grow with what one instance holds
 * (docs/operations.md, Pauses); four keep them near a quarter for a few MiB more.
 */
export const DEFAULT_CORES = 4;

export class ConfigError extends Error {
  readonly code = 'GUARD_SERVICE_CONFIG' as const;
  /** The environment variable at fault. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export const DEFAULT_PORT = 8888;
export const DEFAULT_MAX_BODY = 10_000_000;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const STORES: readonly StoreKind[] = ['file', 'kube-crd', 'kube-configmap'];
// A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Read and check guard-service's environment; the result is frozen. */
export function readServiceConfig(env: Env = process.env): Readonly<ServiceConfig> {
  const inCluster = nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined;
  const store = oneOf('GUARD_STORE', env.GUARD_STORE, STORES) ?? (inCluster ? 'kube-crd' : 'file');
  const auth = flag('GUARD_SERVICE_AUTH', env.GUARD_SERVICE_AUTH, true);
  if (!auth && store !== 'file') {
    // Without authentication any caller names any namespace (docs/threat-model.md, S-1): only a
    // local file store may run so.
    throw new ConfigError('GUARD_SERVICE_AUTH', `false is allowed only with GUARD_STORE=file (local use); with the ${store} store gates must authenticate`);
  }
  const tlsOn = flag('GUARD_SERVICE_TLS', env.GUARD_SERVICE_TLS, inCluster);
  const certFile = nonEmpty(env.GUARD_SERVICE_TLS_CERT) ?? '/secrets/tls.crt';
  const keyFile = nonEmpty(env.GUARD_SERVICE_TLS_KEY) ?? '/secrets/tls.key';
  const peopleAuth = oneOf('GUARD_SERVICE_PEOPLE_AUTH', env.GUARD_SERVICE_PEOPLE_AUTH, ['kubernetes', 'token'] as const) ?? (auth ? 'kubernetes' : 'token');
  const config: ServiceConfig = {
    port: integer('GUARD_SERVICE_PORT', env.GUARD_SERVICE_PORT, DEFAULT_PORT, 0, 65535),
    // Without authentication anyone who reaches the port writes any Guardian: loopback only, unless
    // a person says otherwise in so many words.
    address: nonEmpty(env.GUARD_SERVICE_ADDRESS) ?? (auth ? '0.0.0.0' : '127.0.0.1'),
    auth,
    tls: tlsOn ? { certFile, keyFile } : null,
    serviceLabels: Object.freeze(labels(env.GUARD_SERVICE_LABELS)),
    store,
    storeDir: nonEmpty(env.GUARD_STORE_DIR) ?? './guardians',
    logLevel: oneOf('GUARD_SERVICE_LOG_LEVEL', env.GUARD_SERVICE_LOG_LEVEL?.toLowerCase(), LOG_LEVELS) ?? 'info',
    peopleAuth,
    peopleTokenFile: nonEmpty(env.GUARD_SERVICE_PEOPLE_TOKEN_FILE) ?? null,
    maxBodyBytes: integer('GUARD_SERVICE_MAX_BODY', env.GUARD_SERVICE_MAX_BODY, DEFAULT_MAX_BODY, 1024, 512 << 20),
    inCluster,
    allowUnauthenticatedNetwork: flag('GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK', env.GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK, false),
    cores: integer('GUARD_SERVICE_CORES', env.GUARD_SERVICE_CORES, DEFAULT_CORES, 1, 64),
    learningCaps: Object.freeze({
      params: integer('GUARD_LEARN_PARAM_CAP', env.GUARD_LEARN_PARAM_CAP, DEFAULT_LEARNING_CAPS.params, 1, 256),
      headers: integer('GUARD_LEARN_HEADER_CAP', env.GUARD_LEARN_HEADER_CAP, DEFAULT_LEARNING_CAPS.headers, 1, 256),
      routes: integer('GUARD_LEARN_ROUTE_CAP', env.GUARD_LEARN_ROUTE_CAP, DEFAULT_LEARNING_CAPS.routes, 0, 1024),
      unknownHeaders: oneOf('GUARD_LEARN_UNKNOWN_HEADERS', env.GUARD_LEARN_UNKNOWN_HEADERS, ['alert', 'shape'] as const) ?? DEFAULT_LEARNING_CAPS.unknownHeaders,
    }),
    learnerLimits: Object.freeze({
      learnSamples: integer('GUARD_LEARN_SAMPLES', env.GUARD_LEARN_SAMPLES, DEFAULT_LEARNER_LIMITS.learnSamples, 1, 1_000_000),
      // The "10 %" rule as a percentage: learn once the pile holds more than this share of the samples learned so far.
      newSamplesRatio: 100 / integer('GUARD_LEARN_NEW_PERCENT', env.GUARD_LEARN_NEW_PERCENT, 100 / DEFAULT_LEARNER_LIMITS.newSamplesRatio, 1, 100),
      learnIntervalMs: 1000 * integer('GUARD_LEARN_INTERVAL', env.GUARD_LEARN_INTERVAL, DEFAULT_LEARNER_LIMITS.learnIntervalMs / 1000, 1, 86_400),
      persistIntervalMs: 1000 * integer('GUARD_PERSIST_INTERVAL', env.GUARD_PERSIST_INTERVAL, DEFAULT_LEARNER_LIMITS.persistIntervalMs / 1000, 1, 86_400),
      idleMs: 1000 * integer('GUARD_SERVICE_IDLE', env.GUARD_SERVICE_IDLE, DEFAULT_LEARNER_LIMITS.idleMs / 1000, 0, 30 * 86_400),
    }),
    alertEvents:
      store !== 'file' && flag('GUARD_SERVICE_ALERT_EVENTS', env.GUARD_SERVICE_ALERT_EVENTS, true)
        ? Object.freeze({
            burst: integer('GUARD_SERVICE_ALERT_EVENT_BURST', env.GUARD_SERVICE_ALERT_EVENT_BURST, 25, 1, 1000),
            refillMs: 1000 * integer('GUARD_SERVICE_ALERT_EVENT_INTERVAL', env.GUARD_SERVICE_ALERT_EVENT_INTERVAL, 5, 1, 3600),
          })
        : null,
    syncLimit: syncLimitOf(env, auth),
    authAttempts: Object.freeze({
      failureBurst: integer('GUARD_SERVICE_AUTH_FAILURE_BURST', env.GUARD_SERVICE_AUTH_FAILURE_BURST, DEFAULT_AUTH_ATTEMPTS.failureBurst, 1, 100_000),
      failuresPerMinute: integer('GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE', env.GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE, DEFAULT_AUTH_ATTEMPTS.failuresPerMinute, 0, 600_000),
      maxReviews: integer('GUARD_SERVICE_MAX_TOKEN_REVIEWS', env.GUARD_SERVICE_MAX_TOKEN_REVIEWS, DEFAULT_AUTH_ATTEMPTS.maxReviews, 1, 10_000),
    }),
    alertLog: Object.freeze({
      maxBytes: integer('GUARD_SERVICE_ALERT_LOG_BYTES', env.GUARD_SERVICE_ALERT_LOG_BYTES, 10 << 20, 4096, 1 << 30),
      keep: integer('GUARD_SERVICE_ALERT_LOG_KEEP', env.GUARD_SERVICE_ALERT_LOG_KEEP, 3, 1, 100),
    }),
    replicas: null,
  };
  config.replicas = replicasConfig(env, store, tlsOn);
  const problem = exposureProblem(config);
  if (problem !== null) throw new ConfigError('GUARD_SERVICE_ADDRESS', problem);
  if (config.peopleTokenFile !== null && peopleAuth !== 'token') {
    throw new ConfigError('GUARD_SERVICE_PEOPLE_TOKEN_FILE', 'is used only with the generated people token (GUARD_SERVICE_PEOPLE_AUTH=token)');
  }
  return Object.freeze(config);
}

/**
 * Defaults of the limits on authentication: a client address may fail 20 times at once, then 10
 * times a minute; 32 token reviews at once. A gate or a person fails rarely (a token that expired
 * or was mistyped); a caller making tokens up fails every time.
 */
export const DEFAULT_AUTH_ATTEMPTS = Object.freeze({ failureBurst: 20, failuresPerMinute: 10, maxReviews: 32 });

/** Defaults of the per-pod sync limit: far above Guard's gates (one sync in 5 s at most). */
export const DEFAULT_SYNC_LIMIT = Object.freeze({ burst: 10, perMinute: 60 });

function syncLimitOf(env: Env, auth: boolean): Readonly<{ burst: number; perMinute: number }> | null {
  const burst = integer('GUARD_SERVICE_SYNC_BURST', env.GUARD_SERVICE_SYNC_BURST, DEFAULT_SYNC_LIMIT.burst, 1, 10_000);
  const perMinute = integer('GUARD_SERVICE_SYNCS_PER_MINUTE', env.GUARD_SERVICE_SYNCS_PER_MINUTE, DEFAULT_SYNC_LIMIT.perMinute, 0, 600_000);
  // Without authentication a caller names its own pod: a limit per pod would limit nothing.
  return auth && perMinute > 0 ? Object.freeze({ burst, perMinute }) : null;
}

/** A config for tests and embedding: defaults of a local run, then `overrides`. */
export function serviceConfig(overrides: Partial<ServiceConfig> = {}): Readonly<ServiceConfig> {
  return Object.freeze({ ...readServiceConfig({}), ...overrides });
}

/**
 * Without authentication anyone who reaches the port writes any Guardian: such a service listens on
 * loopback only, unless a person says otherwise in so many words. The reason it may not, or null.
 */
export function exposureProblem(config: Pick<ServiceConfig, 'auth' | 'address' | 'allowUnauthenticatedNetwork'>): string | null {
  if (config.auth || isLoopback(config.address) || config.allowUnauthenticatedNetwork) return null;
  return `${config.address} is not a loopback address, and with GUARD_SERVICE_AUTH=false anyone who reaches it writes any Guardian: listen on 127.0.0.1 or ::1, turn authentication on, or set GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK=true`;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || /^::ffff:127\./.test(address);
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** The original's rule: only the literal `false` turns a default-on switch off. Empty = default. */
function flag(name: string, v: string | undefined, fallback: boolean): boolean {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  if (t === 'false') return false;
  if (t === 'true') return true;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(v)}`);
}

function integer(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < min || n > max) throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(t)) throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return t as T;
}

function labels(v: string | undefined): string[] {
  const t = nonEmpty(v);
  if (t === undefined) return [];
  const keys = t.split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const key of keys) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (!LABEL_NAME.test(name) || (prefix !== undefined && !LABEL_PREFIX.test(prefix))) {
      throw new ConfigError('GUARD_SERVICE_LABELS', `${JSON.stringify(key)} is not a Kubernetes label key`);
    }
  }
  return keys;
}

function replicasConfig(env: Env, store: StoreKind, tls: boolean): ReplicasConfig | null {
  const shards = integer('GUARD_SERVICE_SHARDS', env.GUARD_SERVICE_SHARDS, 0, 0, 1024);
  if (shards === 0) return null;
  if (store === 'file') throw new ConfigError('GUARD_SERVICE_SHARDS', 'replicas share a Kubernetes store: set GUARD_STORE to kube-crd or kube-configmap, or GUARD_SERVICE_SHARDS=0');
  const required = (name: string, v: string | undefined, hint: string): string => {
    const t = nonEmpty(v);
    if (t === undefined) throw new ConfigError(name, `is required with GUARD_SERVICE_SHARDS > 0 (${hint})`);
    return t;
  };
  const peerUrl = required('GUARD_SERVICE_PEER_URL', env.GUARD_SERVICE_PEER_URL, 'where the other replicas reach this one, e.g. https://$(POD_IP):8888');
  if (!/^https?:\/\/[^/\s]+\/?$/.test(peerUrl)) throw new ConfigError('GUARD_SERVICE_PEER_URL', `expected http(s)://host:port, got ${JSON.stringify(peerUrl)}`);
  const peerCaFile = nonEmpty(env.GUARD_SERVICE_PEER_CA) ?? null;
  // The replicas send each other gates' and people's tokens: over TLS, to replicas verified with
  // their own CA, when guard-service serves HTTPS (docs/threat-model.md).
  if (tls && !peerUrl.startsWith('https://')) throw new ConfigError('GUARD_SERVICE_PEER_URL', `must be https://host:port when guard-service serves HTTPS (GUARD_SERVICE_TLS), got ${JSON.stringify(peerUrl)}`);
  if (tls && peerCaFile === null) throw new ConfigError('GUARD_SERVICE_PEER_CA', "is required with GUARD_SERVICE_SHARDS > 0 when guard-service serves HTTPS: the replicas send each other gates' and people's tokens, only to replicas verified with this CA (deploy/: the Secret's ca.crt)");
  return {
    shards,
    leaseSeconds: integer('GUARD_SERVICE_LEASE_SECONDS', env.GUARD_SERVICE_LEASE_SECONDS, 15, 1, 300),
    namespace: required('GUARD_SERVICE_LEASE_NAMESPACE', env.GUARD_SERVICE_LEASE_NAMESPACE ?? env.POD_NAMESPACE, "guard-service's namespace; POD_NAMESPACE is used when set"),
    identity: required('GUARD_SERVICE_REPLICA_NAME', env.GUARD_SERVICE_REPLICA_NAME ?? env.HOSTNAME, 'the pod name; HOSTNAME is used when set'),
    peerUrl: peerUrl.replace(/\/$/, ''),
    peerCaFile,
    peerServerName: nonEmpty(env.GUARD_SERVICE_PEER_SERVER_NAME) ?? null,
  };
}
