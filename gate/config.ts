// guard-gate's configuration (docs/configuration.md): the environment is read once, here, validated
// and frozen. Names, forms and defaults of the original gate are kept (a drop-in for its manifests:
// `PROTECTED_SERVICE=:8080`, Go durations, the default guard-service URL, its Knative CA file). An
// invalid value is a ConfigError naming the variable and what is allowed; nothing is silently
// replaced by a default.
import { existsSync, readFileSync } from 'node:fs';
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
  /** Base URL of guard-service's /sync; null = no guard-service (GUARD_SERVICE_URL=none: Kubernetes or file Guardians only). */
  guardServiceUrl: string | null;
  useCrd: boolean;
  monitorPod: boolean;
  analyzeBody: boolean;
  /** Seconds. */
  guardianSyncInterval: number;
  /** Seconds. */
  podMonitorInterval: number;
  /** A compromised pod's requests are refused (under a blocking Guardian; else alerted) until it restarts. */
  podBlock: boolean;
  /** Seconds between checks of in-flight exchanges against the learned service time; 0 = none. */
  inFlightTick: number;
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
  /** guardServiceCaFile is Knative's, found rather than configured (a problem with it is a warning, not an exit). */
  guardServiceCaFileFound: boolean;
  /** GUARD_SERVICE_CA: the same as PEM text (what the admission webhook injects). */
  guardServiceCa: string | null;
  guardServiceServerName: string | null;
  /** KUBERNETES_SERVICE_HOST is set: running in a pod (Kubernetes Guardians are read). */
  inCluster: boolean;
  /** This pod's name, sent with every sync: HOSTNAME (a pod's name in Kubernetes), else the host name. */
  podName: string;
  /** Plugins switched on besides the guard (GUARD_PLUGINS), and each one's configuration (GUARD_TESTGATE_*). */
  plugins: readonly GatePluginName[];
  pluginConfig: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Plugins the environment can switch on (gate/plugins.ts). */
export type GatePluginName = 'testgate';

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
/** The original gate's default: guard-service in knative-serving, over TLS. */
export const DEFAULT_GUARD_SERVICE_URL = 'https://guard-service.knative-serving';
/** GUARD_SERVICE_URL's value for "no guard-service". */
export const NO_GUARD_SERVICE = 'none';
/**
 * Where the original gate finds the CA of guard-service's certificate (a Knative secret mounted in
 * the pod), and the name it verifies in that certificate whatever the URL says.
 */
export const KNATIVE_CA_FILE = '/var/lib/knative/certs/ca.crt';
export const KNATIVE_SERVER_NAME = 'data-plane.knative.dev';
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

/** What readGateConfig looks at besides the environment (tests replace it). */
export interface ConfigFiles {
  exists(path: string): boolean;
}
const realFiles: ConfigFiles = { exists: existsSync };

/** Read and check guard-gate's environment; the result is frozen. Throws ConfigError. */
export function readGateConfig(env: Env = process.env, files: ConfigFiles = realFiles): Readonly<GateConfig> {
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
    protectedService: protectedService(env.PROTECTED_SERVICE),
    port,
    guardServiceUrl: guardServiceUrl(env.GUARD_SERVICE_URL),
    useCrd: flag('USE_CRD', env.USE_CRD, true),
    monitorPod: flag('MONITOR_POD', env.MONITOR_POD, true),
    analyzeBody: flag('ANALYZE_BODY', env.ANALYZE_BODY, true),
    guardianSyncInterval: seconds('GUARDIAN_SYNC_INTERVAL', env.GUARDIAN_SYNC_INTERVAL, DEFAULT_SYNC_INTERVAL, MIN_SYNC_INTERVAL, 86_400),
    podMonitorInterval: seconds('POD_MONITOR_INTERVAL', env.POD_MONITOR_INTERVAL, DEFAULT_POD_MONITOR_INTERVAL, 1, 3_600),
    podBlock: flag('GUARD_POD_BLOCK', env.GUARD_POD_BLOCK, true),
    inFlightTick: seconds('GUARD_INFLIGHT_TICK', env.GUARD_INFLIGHT_TICK, 1, 0, 3_600),
    logLevel: oneOf('LOG_LEVEL', nonEmpty(env.LOG_LEVEL)?.toLowerCase(), LOG_LEVELS) ?? 'info',
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
    ...guardServiceTrust(env, files),
    inCluster: nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined,
    podName: nonEmpty(env.HOSTNAME) ?? osHostname(),
    ...plugins(env),
  };
  if (config.bodyBudget < config.maxBody) {
    throw new ConfigError('GUARD_BODY_BUDGET', `must be at least GUARD_MAX_BODY (${config.maxBody}), got ${config.bodyBudget}`);
  }
  return Object.freeze(config);
}

/**
 * A config for tests and embedding: the defaults with the required names filled and no
 * guard-service (unless `overrides` names one), then `overrides`.
 */
export function gateConfig(overrides: Partial<GateConfig> = {}): Readonly<GateConfig> {
  const env = { SERVICE_NAME: 'test', NAMESPACE: 'default', GUARD_SERVICE_URL: NO_GUARD_SERVICE };
  return Object.freeze({ ...readGateConfig(env, { exists: () => false }), ...overrides });
}

/** PROTECTED_SERVICE: a URL, or the original's `:<port>` for that port on 127.0.0.1. */
function protectedService(v: string | undefined): string {
  const t = nonEmpty(v);
  if (t === undefined) return DEFAULT_PROTECTED_SERVICE;
  if (t.startsWith(':')) {
    const port = /^:(\d{1,5})$/.exec(t);
    if (!port || Number(port[1]) < 1 || Number(port[1]) > 65535) {
      throw new ConfigError('PROTECTED_SERVICE', `expected :<port> (1-65535) or an http:// or https:// URL, got ${JSON.stringify(v)}`);
    }
    return `http://127.0.0.1:${Number(port[1])}`;
  }
  return url('PROTECTED_SERVICE', t)!;
}

/** GUARD_SERVICE_URL: the original's default when unset; `none` runs without guard-service. */
function guardServiceUrl(v: string | undefined): string | null {
  const t = nonEmpty(v);
  if (t === undefined) return DEFAULT_GUARD_SERVICE_URL;
  if (t.toLowerCase() === NO_GUARD_SERVICE) return null;
  return url('GUARD_SERVICE_URL', t)!;
}

/**
 * The CA and the name verified in guard-service's certificate. Set explicitly, they are used as
 * given. Otherwise, as the original gate: when the pod mounts Knative's certificates (KNATIVE_CA_FILE),
 * that CA is trusted and the name verified is data-plane.knative.dev.
 */
function guardServiceTrust(env: Env, files: ConfigFiles): Pick<GateConfig, 'guardServiceCaFile' | 'guardServiceCaFileFound' | 'guardServiceCa' | 'guardServiceServerName'> {
  const caFile = nonEmpty(env.GUARD_SERVICE_CA_FILE);
  const ca = nonEmpty(env.GUARD_SERVICE_CA) ?? null;
  if (ca !== null && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(ca)) {
    throw new ConfigError('GUARD_SERVICE_CA', 'expected one or more PEM certificates (-----BEGIN CERTIFICATE----- …)');
  }
  const serverName = hostname('GUARD_SERVICE_SERVER_NAME', env.GUARD_SERVICE_SERVER_NAME);
  if (caFile === undefined && ca === null && files.exists(KNATIVE_CA_FILE)) {
    return { guardServiceCaFile: KNATIVE_CA_FILE, guardServiceCaFileFound: true, guardServiceCa: null, guardServiceServerName: serverName ?? KNATIVE_SERVER_NAME };
  }
  return { guardServiceCaFile: caFile ?? null, guardServiceCaFileFound: false, guardServiceCa: ca, guardServiceServerName: serverName ?? null };
}

const PLUGIN_NAMES: readonly GatePluginName[] = ['testgate'];

/** GUARD_PLUGINS (comma-separated) and the test-gate's GUARD_TESTGATE_* keys. */
function plugins(env: Env): Pick<GateConfig, 'plugins' | 'pluginConfig'> {
  const names = (nonEmpty(env.GUARD_PLUGINS) ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  for (const n of names) {
    if (!(PLUGIN_NAMES as readonly string[]).includes(n)) throw new ConfigError('GUARD_PLUGINS', `unknown plugin ${JSON.stringify(n)}; known: ${PLUGIN_NAMES.join(', ')}`);
  }
  const testgate: Record<string, string> = {};
  const keys: Array<[string, string | undefined]> = [
    ['sender', env.GUARD_TESTGATE_SENDER],
    ['response', env.GUARD_TESTGATE_RESPONSE],
    ['header', env.GUARD_TESTGATE_HEADER],
    ['path', env.GUARD_TESTGATE_PATH],
    ['action', env.GUARD_TESTGATE_ACTION],
  ];
  for (const [key, value] of keys) {
    const t = nonEmpty(value);
    if (t !== undefined) testgate[key] = t;
  }
  if (testgate.action !== undefined) oneOf('GUARD_TESTGATE_ACTION', testgate.action, ['tag', 'block'] as const);
  if (testgate.path !== undefined && !testgate.path.startsWith('/')) throw new ConfigError('GUARD_TESTGATE_PATH', `expected a path starting with '/', got ${JSON.stringify(testgate.path)}`);
  const unique = [...new Set(names)] as GatePluginName[];
  const pluginConfig: Record<string, Readonly<Record<string, string>>> = {};
  if (unique.includes('testgate')) pluginConfig.testgate = Object.freeze(testgate);
  return { plugins: Object.freeze(unique), pluginConfig: Object.freeze(pluginConfig) };
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

/** Switches: true/false/1/0, any case. Empty = default. */
function flag(name: string, v: string | undefined, fallback: boolean): boolean {
  const t = nonEmpty(v)?.toLowerCase();
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

/** Go's time.ParseDuration units, in seconds. */
const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const GO_DURATION_PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** A Go duration (`60s`, `1m30s`, `1.5h`, `500ms`) in seconds; NaN when it is not one. */
export function goDurationSeconds(text: string): number {
  if (text === '0') return 0;
  let rest = text;
  let total = 0;
  while (rest !== '') {
    const m = GO_DURATION_PART.exec(rest);
    if (!m) return Number.NaN;
    total += Number(m[1]) * GO_UNITS[m[2]]!;
    rest = rest.slice(m[0].length);
  }
  return text === '' ? Number.NaN : total;
}

/**
 * Whole seconds: `60`, or a Go duration as the original reads (`60s`, `5m`, `1m30s`), truncated
 * to whole seconds as the original does; then checked against the range.
 */
function seconds(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  const t = nonEmpty(v);
  if (t === undefined) return fallback;
  const n = Math.trunc(/^\d+$/.test(t) ? Number(t) : goDurationSeconds(t));
  if (!(n >= min && n <= max)) {
    throw new ConfigError(name, `expected whole seconds from ${min} to ${max} (e.g. ${fallback}, ${fallback}s or a Go duration such as 1m30s), got ${JSON.stringify(v)}`);
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
