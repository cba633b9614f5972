// guard-gate's configuration (docs/configuration.md): the environment is read once, here, validated
// and frozen. Names of the original are kept. An invalid value is a ConfigError naming the variable
// and what is allowed; nothing is silently replaced by a default.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { DEFAULT_MAX_BODY } from '../core/index.js';

export type GateLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface GateConfig {
  serviceName: string;
  namespace: string;
  /** Base URL of the protected service (http or https). */
  protectedService: string;
  port: number;
  /** Base URL of guard-service's /sync; null = no guard-service (Kubernetes or file Guardians only). */
  guardServiceUrl: string | null;
  useCrd: boolean;
  monitorPod: boolean;
  analyzeBody: boolean;
  /** Seconds. */
  guardianSyncInterval: number;
  /** Seconds. */
  podMonitorInterval: number;
  logLevel: GateLogLevel;
  guardianFile: string | null;
  adminPort: number;
  /** Largest body (bytes) buffered for analysis. */
  maxBody: number;
  /** HTTP status answered for a blocked request or response. */
  blockStatus: number;
  /** A request body over maxBody: decided with the fault TooLargeBody, or refused with 413. */
  oversize: 'decide' | 'refuse';
  /** Bytes all buffered bodies may hold together. */
  bodyBudget: number;
  /** Exchanges in flight at once. */
  maxInFlight: number;
  /** The listener: uWebSockets.js (fastest) or Node's HTTP parser (HTTP/1.0, every method, larger heads). */
  listener: 'uws' | 'node';
  /** Address of the proxy and admin listeners: '::' (all, IPv6 and IPv4), '0.0.0.0', or one address. */
  listenAddress: string;
  /** Node listener: largest request head in bytes; client connections at once; idle keep-alive (seconds). */
  maxHeaderSize: number;
  maxConnections: number;
  /** Largest response head read from the service, in bytes. */
  maxResponseHeadSize: number;
  /** Milliseconds a response without a declared length is held for analysis before it is streamed. */
  responseHold: number;
  keepAliveTimeout: number;
  /** Connections to the protected service at most. */
  upstreamConnections: number;
  /** Seconds to wait for the service's response head, for its next body bytes, and to connect. */
  upstreamHeadersTimeout: number;
  upstreamBodyTimeout: number;
  upstreamConnectTimeout: number;
  /** Seconds the gate keeps accepting after SIGTERM (while Kubernetes removes the endpoint), before draining. */
  shutdownDelay: number;
  /** Seconds in-flight exchanges get to finish after that, before they are cut. */
  drainTimeout: number;
  guardServiceTokenFile: string;
  guardServiceCaFile: string | null;
  guardServiceServerName: string | null;
  /** KUBERNETES_SERVICE_HOST is set: running in a pod (Kubernetes Guardians are read). */
  inCluster: boolean;
  /** This pod's name, sent with every sync: HOSTNAME (a pod's name in Kubernetes), else the host name. */
  podName: string;
}

export class ConfigError extends Error {
  readonly code = 'GUARD_GATE_CONFIG' as const;
  /** The environment variable at fault. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export const DEFAULT_PROTECTED_SERVICE = 'http://127.0.0.1:8080';
export const DEFAULT_PORT = 22000;
export const DEFAULT_ADMIN_PORT = 22001;
export const DEFAULT_SYNC_INTERVAL = 60;
export const MIN_SYNC_INTERVAL = 5;
export const DEFAULT_POD_MONITOR_INTERVAL = 5;
export { DEFAULT_MAX_BODY };
export const MIN_MAX_BODY = 1024;
export const MAX_MAX_BODY = 64 << 20;
export const DEFAULT_BLOCK_STATUS = 403;
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/tokens/guard-service';
export const DEFAULT_MAX_IN_FLIGHT = 4096;
/** Knative's default request timeout is 300 s: a service may take that long to answer or to pause a body. */
export const DEFAULT_UPSTREAM_TIMEOUT = 300;
const MiB = 1 << 20;
/** Without a memory limit to derive it from: 64 MiB. */
export const DEFAULT_BODY_BUDGET = 64 * MiB;

/**
 * The body budget's default: a quarter of the container's memory limit (cgroup v2 memory.max, or
 * v1 memory.limit_in_bytes), between 16 and 512 MiB; 64 MiB when there is no limit. The example
 * deployment's 256 MiB gives 64 MiB: 64 bodies of the default 1 MiB held at once.
 */
export function defaultBodyBudget(readLimit: () => number | null = cgroupMemoryLimit): number {
  const limit = readLimit();
  if (limit === null) return DEFAULT_BODY_BUDGET;
  return Math.min(512 * MiB, Math.max(16 * MiB, Math.floor(limit / 4 / MiB) * MiB));
}

/** The memory limit of this process's cgroup in bytes, or null when it has none (or it cannot be read). */
export function cgroupMemoryLimit(): number | null {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text === 'max') return null;
      const n = Number(text);
      // cgroup v1 reports "no limit" as a huge page-rounded number.
      if (Number.isSafeInteger(n) && n > 0 && n < 2 ** 50) return n;
      return null;
    } catch {
      // not this cgroup version
    }
  }
  return null;
}
const LOG_LEVELS: readonly GateLogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Read and check guard-gate's environment; the result is frozen. Throws ConfigError. */
export function readGateConfig(env: Env = process.env): Readonly<GateConfig> {
  const serviceName = label('SERVICE_NAME', env.SERVICE_NAME);
  const namespace = label('NAMESPACE', env.NAMESPACE);
  // The original reserves ns-<namespace> for the namespace-wide Guardian.
  if (serviceName === `ns-${namespace}`) {
    throw new ConfigError('SERVICE_NAME', `must not be "ns-${namespace}" (reserved for the namespace Guardian)`);
  }
  const port = integer('PORT', env.PORT, DEFAULT_PORT, 1, 65535);
  const adminPort = integer('GUARD_ADMIN_PORT', env.GUARD_ADMIN_PORT, DEFAULT_ADMIN_PORT, 1, 65535);
  if (adminPort === port) throw new ConfigError('GUARD_ADMIN_PORT', `must differ from PORT (${port})`);
  const config: GateConfig = {
    serviceName,
    namespace,
    protectedService: url('PROTECTED_SERVICE', env.PROTECTED_SERVICE) ?? DEFAULT_PROTECTED_SERVICE,
    port,
    guardServiceUrl: url('GUARD_SERVICE_URL', env.GUARD_SERVICE_URL) ?? null,
    useCrd: flag('USE_CRD', env.USE_CRD, true),
    monitorPod: flag('MONITOR_POD', env.MONITOR_POD, true),
    analyzeBody: flag('ANALYZE_BODY', env.ANALYZE_BODY, true),
    guardianSyncInterval: seconds('GUARDIAN_SYNC_INTERVAL', env.GUARDIAN_SYNC_INTERVAL, DEFAULT_SYNC_INTERVAL, MIN_SYNC_INTERVAL, 86_400),
    podMonitorInterval: seconds('POD_MONITOR_INTERVAL', env.POD_MONITOR_INTERVAL, DEFAULT_POD_MONITOR_INTERVAL, 1, 3_600),
    logLevel: oneOf('LOG_LEVEL', env.LOG_LEVEL, LOG_LEVELS) ?? 'info',
    guardianFile: nonEmpty(env.GUARDIAN_FILE) ?? null,
    adminPort,
    maxBody: integer('GUARD_MAX_BODY', env.GUARD_MAX_BODY, DEFAULT_MAX_BODY, MIN_MAX_BODY, MAX_MAX_BODY),
    blockStatus: integer('GUARD_BLOCK_STATUS', env.GUARD_BLOCK_STATUS, DEFAULT_BLOCK_STATUS, 400, 599),
    oversize: oneOf('GUARD_OVERSIZE', env.GUARD_OVERSIZE, ['decide', 'refuse'] as const) ?? 'decide',
    bodyBudget: integer('GUARD_BODY_BUDGET', env.GUARD_BODY_BUDGET, defaultBodyBudget(), MIN_MAX_BODY, Number.MAX_SAFE_INTEGER),
    maxInFlight: integer('GUARD_MAX_IN_FLIGHT', env.GUARD_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT, 1, 1_000_000),
    listener: oneOf('GUARD_LISTENER', env.GUARD_LISTENER, ['uws', 'node'] as const) ?? 'uws',
    listenAddress: address('GUARD_LISTEN_ADDRESS', env.GUARD_LISTEN_ADDRESS) ?? '::',
    maxHeaderSize: integer('GUARD_MAX_HEADER_SIZE', env.GUARD_MAX_HEADER_SIZE, 16 * 1024, 1024, 1024 * 1024),
    maxConnections: integer('GUARD_MAX_CONNECTIONS', env.GUARD_MAX_CONNECTIONS, 10_000, 1, 1_000_000),
    maxResponseHeadSize: integer('GUARD_MAX_RESPONSE_HEAD_SIZE', env.GUARD_MAX_RESPONSE_HEAD_SIZE, 64 * 1024, 1024, 1024 * 1024),
    responseHold: integer('GUARD_RESPONSE_HOLD_MS', env.GUARD_RESPONSE_HOLD_MS, 100, 0, 60_000),
    keepAliveTimeout: seconds('GUARD_KEEPALIVE_TIMEOUT', env.GUARD_KEEPALIVE_TIMEOUT, 10, 1, 3_600),
    upstreamHeadersTimeout: seconds('GUARD_UPSTREAM_HEADERS_TIMEOUT', env.GUARD_UPSTREAM_HEADERS_TIMEOUT, DEFAULT_UPSTREAM_TIMEOUT, 1, 86_400),
    upstreamBodyTimeout: seconds('GUARD_UPSTREAM_BODY_TIMEOUT', env.GUARD_UPSTREAM_BODY_TIMEOUT, DEFAULT_UPSTREAM_TIMEOUT, 1, 86_400),
    upstreamConnections: integer('GUARD_UPSTREAM_CONNECTIONS', env.GUARD_UPSTREAM_CONNECTIONS, 0, 0, 1_000_000),
    upstreamConnectTimeout: seconds('GUARD_UPSTREAM_CONNECT_TIMEOUT', env.GUARD_UPSTREAM_CONNECT_TIMEOUT, 5, 1, 600),
    shutdownDelay: seconds('GUARD_SHUTDOWN_DELAY', env.GUARD_SHUTDOWN_DELAY, 0, 0, 600),
    drainTimeout: seconds('GUARD_DRAIN_TIMEOUT', env.GUARD_DRAIN_TIMEOUT, 10, 0, 3_600),
    guardServiceTokenFile: nonEmpty(env.GUARD_SERVICE_TOKEN_FILE) ?? DEFAULT_TOKEN_FILE,
    guardServiceCaFile: nonEmpty(env.GUARD_SERVICE_CA_FILE) ?? null,
    guardServiceServerName: hostname('GUARD_SERVICE_SERVER_NAME', env.GUARD_SERVICE_SERVER_NAME) ?? null,
    inCluster: nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined,
    podName: nonEmpty(env.HOSTNAME) ?? osHostname(),
  };
  if (config.bodyBudget < config.maxBody) {
    throw new ConfigError('GUARD_BODY_BUDGET', `must be at least GUARD_MAX_BODY (${config.maxBody}), got ${config.bodyBudget}`);
  }
  return Object.freeze(config);
}

/** A config for tests and embedding: the defaults with the required names filled, then `overrides`. */
export function gateConfig(overrides: Partial<GateConfig> = {}): Readonly<GateConfig> {
  return Object.freeze({ ...readGateConfig({ SERVICE_NAME: 'test', NAMESPACE: 'default' }), ...overrides });
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

function label(name: string, v: string | undefined): string {
  const t = nonEmpty(v);
  if (t === undefined) throw new ConfigError(name, 'is required (a DNS-1123 label)');
  if (!DNS1123_LABEL.test(t)) {
    throw new ConfigError(name, `expected a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters), got ${JSON.stringify(v)}`);
  }
  return t;
}

/** Booleans: true/false/1/0 only. Empty = default. */
function flag(name: string, v: string | undefined, fallback: boolean): boolean {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new ConfigError(name, `expected true, false, 1 or 0, got ${JSON.stringify(v)}`);
}

function integer(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < min || n > max) throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Whole seconds: `60`, or a Go-style duration of one unit (`60s`, `5m`, `1h`). */
function seconds(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  const m = /^(\d+)(s|m|h)?$/.exec(t);
  const n = m ? Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'] : NaN;
  if (!m || !(n >= min && n <= max)) {
    throw new ConfigError(name, `expected whole seconds from ${min} to ${max} (e.g. ${fallback} or ${fallback}s), got ${JSON.stringify(v)}`);
  }
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(t)) throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return t as T;
}

function url(name: string, v: string | undefined): string | undefined {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw new ConfigError(name, `expected an http:// or https:// URL, got ${JSON.stringify(v)}`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
    throw new ConfigError(name, `expected an http:// or https:// URL, got ${JSON.stringify(v)}`);
  }
  if (u.username || u.password || u.search || u.hash) {
    throw new ConfigError(name, `expected a URL without credentials, query or fragment, got ${JSON.stringify(v)}`);
  }
  return t.replace(/\/+$/, '');
}

/** An IP address to listen on: IPv4 dotted, or IPv6 (`::` for every address, IPv6 and IPv4). */
function address(name: string, v: string | undefined): string | undefined {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  if (isIP(t) === 0) throw new ConfigError(name, `expected an IP address such as ::, 0.0.0.0, 127.0.0.1 or ::1, got ${JSON.stringify(v)}`);
  return t;
}

function hostname(name: string, v: string | undefined): string | undefined {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  if (t.length > 253 || !/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(t)) {
    throw new ConfigError(name, `expected a DNS host name, got ${JSON.stringify(v)}`);
  }
  return t;
}
