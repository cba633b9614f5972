// guard-service: the HTTP API gates sync with, the people API, health and metrics, over
// the learner, the alert store and a Guardian store. startService() builds and listens; close()
// stops accepting, flushes learning to the store (bounded), and releases everything.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { loadCore, type Core } from '../core/index.js';
import { AlertEvents } from './alert-events.js';
import { AlertLog } from './alert-log.js';
import { AlertStore } from './alerts.js';
import { ApiError, isApiError } from './api-errors.js';
import { KubeGateAuthenticator, KubePeopleAuthenticator, QueryGateIdentifier, TokenPeopleAuthenticator, type GateAuthenticator, type PeopleAuthenticator } from './auth.js';
import { AuthAttempts, type ReviewOutcome } from './auth-attempts.js';
import { systemClock, type Clock } from '../clock/index.js';
import { exposureProblem, type ServiceConfig } from './config.js';
import { defaultKubeConfig, kubeAccess, type KubeAccess } from './kube-access.js';
import { Learner, type LearnerLimits } from './learner.js';
import { ServiceMetrics } from './metrics.js';
import { opsRoutes } from './ops-routes.js';
import { peopleRoutes } from './people-routes.js';
import { PodRestarter } from './pod-restarts.js';
import { Replicas, type ShardHandover } from './replicas.js';
import { SyncLimit } from './sync-limit.js';
import type { ServiceContext } from './service-context.js';
import { openGuardianStore, type GuardianStore } from '../store/index.js';
import { CertificateWatch } from '../tls/index.js';
import { syncRoute } from './sync-route.js';
import { uiRoutes } from './ui-routes.js';

export { readServiceConfig, serviceConfig, ConfigError, type ServiceConfig } from './config.js';
export { ApiError, type ApiErrorCode } from './api-errors.js';

export type ServiceErrorCode =
  /** Something the configuration points at is missing or unusable (TLS files, a kubeconfig). */
  | 'GUARD_SERVICE_SETUP'
  | 'GUARD_SERVICE_PORT_IN_USE'
  | 'GUARD_SERVICE_LISTEN';

export class ServiceError extends Error {
  readonly code: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
  }
}

export interface ServiceOptions {
  /** The cluster to use (tests: the stand-in's); default in-cluster, else KUBECONFIG / ~/.kube/config. */
  kubeConfig?: KubeConfig;
  /** Default: the store the configuration names (closed by close()); a given one is left open. */
  store?: GuardianStore;
  core?: Core;
  clock?: Clock;
  /** Default: pino to stdout at config.logLevel. */
  logger?: Logger;
  /** Token mode: use this people token instead of a random one. */
  peopleToken?: string;
  learnerLimits?: Partial<LearnerLimits>;
  /** How long close() waits for learning to reach the store (default 20 s). */
  flushTimeoutMs?: number;
  /** Each Kubernetes call is abandoned after this long (default 10 s). */
  kubeTimeoutMs?: number;
  /** How often the TLS files are checked for a renewed pair (default 5 s). */
  certCheckMs?: number;
}

export interface ShutdownReport {
  /** Everything learned reached the store. */
  flushed: boolean;
  problem?: string;
}

export interface RunningService {
  /** http(s)://host:port, with a loopback host when listening on every address. */
  url: string;
  /** The address and port really bound, as the system reports them. */
  bound: string;
  /** Token mode: the bearer token people use; null with Kubernetes authentication. */
  peopleToken: string | null;
  /** With TLS: re-read the certificate files now (they are also checked every 5 s). */
  reloadCertificate(): Promise<void>;
  /** Several replicas (GUARD_SERVICE_SHARDS): this one's Leases and forwarding; null otherwise. */
  replicas: Replicas | null;
  /** Tests: stop at once as a killed process would — nothing flushed, no Lease given back. */
  crash(): void;
  close(): Promise<ShutdownReport>;
}

export async function startService(config: Readonly<ServiceConfig>, options: ServiceOptions = {}): Promise<RunningService> {
  // Checked here too: a config built in code (serviceConfig overrides) skips readServiceConfig.
  const exposed = exposureProblem(config);
  if (exposed !== null) throw new ServiceError('GUARD_SERVICE_SETUP', `GUARD_SERVICE_ADDRESS: ${exposed}`);
  if (config.replicas && config.tls && !config.replicas.peerCaFile) {
    throw new ServiceError('GUARD_SERVICE_SETUP', "GUARD_SERVICE_PEER_CA: is required with replicas when guard-service serves HTTPS: the replicas send each other gates' and people's tokens, only to replicas verified with this CA");
  }
  const log = options.logger ?? pino({ level: config.logLevel, base: { component: 'guard-service' } });
  const core = options.core ?? loadCore();
  const clock = options.clock ?? systemClock;
  const needsKube = config.auth || config.store !== 'file' || config.peopleAuth === 'kubernetes';
  let kube: KubeAccess | null = null;
  if (needsKube) {
    let kubeConfig: KubeConfig;
    try {
      kubeConfig = options.kubeConfig ?? defaultKubeConfig(config.inCluster);
    } catch (err) {
      throw new ServiceError(
        'GUARD_SERVICE_SETUP',
        `a Kubernetes API is needed (gate authentication, the ${config.store} store or people's TokenReview) but none is configured: ${(err as Error).message}. For local use set GUARD_SERVICE_AUTH=false and GUARD_STORE=file`,
        { cause: err },
      );
    }
    kube = kubeAccess(kubeConfig, options.kubeTimeoutMs);
  }
  const tls = config.tls ? await readTls(config.tls) : null;

  const report = (problem: Error & { code?: string }) => log.warn({ code: problem.code }, problem.message);
  let store = options.store;
  const ownStore = !store;
  if (!store) {
    if (config.store === 'file') {
      try {
        await mkdir(config.storeDir, { recursive: true });
      } catch (err) {
        throw new ServiceError('GUARD_SERVICE_SETUP', `the file store's directory ${config.storeDir} (GUARD_STORE_DIR) cannot be created: ${(err as Error).message}`, { cause: err });
      }
      store = await openGuardianStore({ kind: 'file', dir: config.storeDir, core, report });
    } else {
      store = await openGuardianStore({ kind: config.store, kubeConfig: kube!.kubeConfig, core, report });
    }
  }

  const alerts = new AlertStore();
  // Alerts survive a restart: as Events with a Kubernetes store, in a rotated log with the file store.
  const alertEvents =
    kube && config.store !== 'file' && config.alertEvents
      ? new AlertEvents({ api: kube.core, objectKind: config.store === 'kube-crd' ? 'Guardian' : 'ConfigMap', guardians: store, burst: config.alertEvents.burst, refillMs: config.alertEvents.refillMs, clock, log })
      : null;
  const alertLog = config.store === 'file' && ownStore ? new AlertLog({ dir: config.storeDir, maxBytes: config.alertLog.maxBytes, keep: config.alertLog.keep, log }) : null;

  let replicas: Replicas | null = null;
  const learner = new Learner({
    core,
    cores: config.cores,
    store,
    clock,
    log,
    limits: { ...config.learnerLimits, ...options.learnerLimits },
    caps: config.learningCaps,
    // Several replicas: a sync is answered only once written, and only by the replica that holds it.
    durable: config.replicas !== null,
    mayWrite: (namespace, service) => replicas === null || replicas.learnsHere(namespace, service),
  });
  if (config.replicas) {
    try {
      // A shard's alerts move with it: written as Events by the replica that gives it up (those a
      // rate limit held back too), then forgotten there; read back by the one that takes it.
      const handover: ShardHandover = {
        giving: async (include) => {
          await withTimeout(alertEvents?.flush(include) ?? Promise.resolve(), 5000, 'recording the alerts of the services given back').catch((err) =>
            log.warn({ err }, 'some alerts of the services given back were not recorded as Events before the shard went'),
          );
        },
        taken: async (include, since) => {
          // Kept from an earlier time this replica held them (if any): the Events have them too.
          // Alerts received since the shard was taken are this replica's own, and stay.
          alerts.forget(include, since);
          const n = (await alertEvents?.restore(alerts, include, since)) ?? 0;
          if (n > 0) log.info({ alerts: n }, 'alerts of the services taken over read back');
        },
        gone: (include) => void alerts.forget(include),
      };
      // Serving HTTPS, tokens go to peers over TLS only (docs/threat-model.md).
      replicas = new Replicas({ ...config.replicas, peersOverTls: config.replicas.peersOverTls ?? config.tls !== null }, { kube: kube!, learner, clock, log, handover });
    } catch (err) {
      await learner.close();
      if (ownStore) await store.close();
      throw new ServiceError('GUARD_SERVICE_SETUP', `the replicas' CA ${config.replicas.peerCaFile} (GUARD_SERVICE_PEER_CA) cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }
  // Alerts read back: with several replicas, each reads those of the services it takes over, when it does.
  const restored = config.replicas ? 0 : await (alertLog ?? alertEvents)?.restore(alerts).catch((err: Error) => {
    log.warn({ err }, 'could not read earlier alerts back; the alerts API starts with new ones only');
    return 0;
  });
  if (restored) log.info({ alerts: restored }, 'alerts read back from before the restart');
  const metrics = new ServiceMetrics(learner, alerts, replicas, { events: alertEvents, log: alertLog });
  // Gates and people share the limits on failed authentications per address and on reviews at once.
  const attempts = new AuthAttempts({ ...config.authAttempts, clock });
  const onReview = (api: 'sync' | 'people') => (outcome: ReviewOutcome) => metrics.tokenReviews.inc({ api, outcome });
  const gateAuth: GateAuthenticator = config.auth
    ? new KubeGateAuthenticator({ kube: kube!, serviceLabels: config.serviceLabels, attempts, onReview: onReview('sync') })
    : new QueryGateIdentifier();
  const peopleAuth: PeopleAuthenticator =
    config.peopleAuth === 'kubernetes'
      ? new KubePeopleAuthenticator(kube!, { attempts, onReview: onReview('people') })
      : new TokenPeopleAuthenticator(options.peopleToken, attempts);
  const podRestarts = new PodRestarter({ kube: config.auth ? kube : null, log, onRestart: () => metrics.podsRestarted.inc() });
  let running = true;
  const alertRecorders = [alertEvents, alertLog].filter((r) => r !== null);
  const syncLimit = config.syncLimit ? new SyncLimit({ ...config.syncLimit, clock }) : null;
  const ctx: ServiceContext = { config, core, store, learner, alerts, alertRecorders, gateAuth, peopleAuth, podRestarts, syncLimit, replicas, metrics, log, clock, startedAt: Date.now(), learnerRunning: () => running };

  const watch = store.watch((event) => {
    learner.onStoreChange(event);
    // The Guardians' uids, which their Events name.
    alertEvents?.onStoreChange(event);
  });
  learner.start(1000);

  let certificate: CertificateWatch | null = null;
  const release = async (): Promise<void> => {
    running = false;
    certificate?.stop();
    learner.stop();
    watch.close();
    await podRestarts.settled();
    await learner.close();
    // Alerts recorded by the syncs that ended, those a rate limit held back included (a last burst
    // per Guardian): written before the process goes (bounded).
    await withTimeout(Promise.all([alertLog?.settled(), alertEvents?.flush()]), 5000, 'recording the last alerts').catch((err) => log.warn({ err }, 'some alerts were not recorded before shutdown'));
    alertEvents?.close();
    if (ownStore) await store.close();
  };

  let app: FastifyInstance | null = null;
  try {
    app = buildApp(ctx, tls);
    await app.listen({ port: config.port, host: config.address });
  } catch (err) {
    if (app) await app.close().catch(() => {});
    await release();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ServiceError('GUARD_SERVICE_PORT_IN_USE', `port ${config.port} on ${config.address} is already in use (GUARD_SERVICE_PORT)`, { cause: err });
    throw new ServiceError('GUARD_SERVICE_LISTEN', `cannot listen on ${config.address}:${config.port}: ${e.message}`, { cause: err });
  }

  // A renewed certificate (the Secret's files replaced) serves every new connection, no restart.
  certificate =
    tls && config.tls
      ? new CertificateWatch(tls, {
          read: () => readTls(config.tls!),
          apply: (pair) => (app.server as unknown as TlsServer).setSecureContext({ ...pair, minVersion: 'TLSv1.2' }),
          log,
          what: 'guard-service',
          certFile: config.tls.certFile,
        })
      : null;
  certificate?.start(options.certCheckMs ?? 5000);

  // Leases only once this replica can be reached: the others forward to it as soon as it holds one.
  if (replicas) await replicas.start(urlOf(app, tls !== null));

  const peopleToken = peopleAuth instanceof TokenPeopleAuthenticator ? peopleAuth.token : null;
  if (peopleToken !== null && config.peopleTokenFile) {
    // A fresh file each start: an existing one would keep its old permissions.
    await unlink(config.peopleTokenFile).catch(() => {});
    await writeFile(config.peopleTokenFile, `${peopleToken}\n`, { mode: 0o600, flag: 'wx' });
  }

  let closing: Promise<ShutdownReport> | null = null;
  return {
    url: urlOf(app, tls !== null),
    bound: boundOf(app),
    peopleToken,
    reloadCertificate: async () => certificate?.check(),
    replicas,
    crash: () => {
      // As a killed process: no request answered, no write started or retried from here on.
      running = false;
      replicas?.abandon();
      learner.abandon();
      void store.close().catch(() => {});
      app.server.closeAllConnections();
      app.server.close();
    },
    close: () =>
      (closing ??= (async () => {
        // Drain: the shards go back (each once its learning is written) before the listener stops,
        // so syncs in flight end here and new ones are forwarded to whoever takes them.
        await replicas?.stop();
        running = false;
        await app.close();
        learner.stop();
        let result: ShutdownReport = { flushed: true };
        try {
          await withTimeout(learner.flush(), options.flushTimeoutMs ?? 20_000, 'flushing learning to the store');
        } catch (err) {
          result = { flushed: false, problem: (err as Error).message };
          log.error({ err }, 'learning could not all be written to the store before shutdown');
        }
        await release();
        return result;
      })()),
  };
}

function buildApp(ctx: ServiceContext, tls: { key: Buffer; cert: Buffer } | null): FastifyInstance {
  const common = {
    loggerInstance: ctx.log,
    // Thousands of gates sync every minute: no log line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.maxBodyBytes,
    // Slow clients (slowloris, ADA-KNATIVE-23-6) are cut off.
    requestTimeout: 60_000,
    return503OnClosing: true,
  };
  const app = (tls ? Fastify({ ...common, https: { ...tls, minVersion: 'TLSv1.2' as const } }) : Fastify(common)) as unknown as FastifyInstance;

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500 && e.code !== 'GUARD_API_UNAVAILABLE') ctx.log.error({ err, url: req.url }, 'request failed');
    // Too many reviews at once is a flood's symptom: counted (guard_service_auth_failures_total), not logged per request.
    else if (e.code === 'GUARD_API_UNAVAILABLE' && e.reason !== 'reviews_busy') ctx.log.warn({ url: req.url, reason: e.message }, 'request refused: a dependency is unavailable');
    if (e.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.retryAfterSeconds));
    return reply.code(e.status).type('application/json').send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError('GUARD_API_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).type('application/json').send(e.toJSON());
  });

  void app.register(async (scope) => opsRoutes(scope, ctx));
  void app.register(async (scope) => syncRoute(scope, ctx));
  void app.register(async (scope) => peopleRoutes(scope, ctx));
  void app.register(async (scope) => uiRoutes(scope, ctx));
  return app;
}

function toApiError(err: FastifyError | ApiError): ApiError {
  if (isApiError(err)) return err;
  const status = (err as FastifyError).statusCode;
  if (status === 413) return new ApiError('GUARD_API_TOO_LARGE', `the body is larger than the limit (GUARD_SERVICE_MAX_BODY)`);
  if (status !== undefined && status >= 400 && status < 500) return new ApiError('GUARD_API_INVALID', err.message);
  if (status === 503) return new ApiError('GUARD_API_UNAVAILABLE', err.message);
  return new ApiError('GUARD_API_INTERNAL', 'internal error (logged by guard-service)', { cause: err });
}

async function readTls(files: { certFile: string; keyFile: string }): Promise<{ key: Buffer; cert: Buffer }> {
  let pair: { key: Buffer; cert: Buffer };
  try {
    pair = { cert: await readFile(files.certFile), key: await readFile(files.keyFile) };
  } catch (err) {
    throw new ServiceError(
      'GUARD_SERVICE_SETUP',
      `TLS is on but its certificate or key cannot be read (${(err as Error).message}); set GUARD_SERVICE_TLS_CERT and GUARD_SERVICE_TLS_KEY, or GUARD_SERVICE_TLS=false`,
      { cause: err },
    );
  }
  // Check the pair now, before anything is started: not PEM, or a key of another certificate.
  try {
    createSecureContext({ ...pair, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new ServiceError(
      'GUARD_SERVICE_SETUP',
      `the TLS certificate ${files.certFile} (GUARD_SERVICE_TLS_CERT) and key ${files.keyFile} (GUARD_SERVICE_TLS_KEY) are not a usable pair: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return pair;
}

function boundOf(app: FastifyInstance): string {
  const { address, port } = app.server.address() as AddressInfo;
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function urlOf(app: FastifyInstance, tls: boolean): string {
  const { address, port } = app.server.address() as AddressInfo;
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
