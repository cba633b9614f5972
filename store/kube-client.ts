// Kubernetes API access shared by the Guardian stores: the client built from the pod's service
// account (or a given KubeConfig), a timeout on every call and every watch connection, and API
// failures turned into StoreErrors that say what was being done to which object.
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { StoreError, type StoreErrorCode } from './errors.js';

/** Where Kubernetes mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  /** KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT come from here (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  serviceAccountDir?: string;
}

/**
 * The KubeConfig of a pod: the API server from the service environment, its CA, and the
 * service-account token read from its file (client-node re-reads it every minute, so a rotated
 * projected token is picked up).
 */
export function inClusterKubeConfig(options: InClusterOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new StoreError('GUARD_STORE_IO', 'not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (use the file store outside a cluster)');
  }
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  for (const file of [tokenFile, caFile]) {
    if (!existsSync(file)) throw new StoreError('GUARD_STORE_IO', `${file} is missing: the pod has no service-account token mounted (automountServiceAccountToken: false?)`, { location: file });
  }
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile, skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account' }],
    currentContext: 'in-cluster',
  });
  return config;
}

export interface KubeApiOptions {
  /** Default: inClusterKubeConfig(). */
  kubeConfig?: KubeConfig;
  /** Every API call is abandoned after this long (ms). */
  requestTimeoutMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** An open watch stream; abort() ends it without a call to its `done`. */
export interface WatchStream {
  abort(): void;
}

/** The API clients of one store, each call bounded by a timeout. */
export class KubeApi {
  readonly kubeConfig: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly requestTimeoutMs: number;

  constructor(options: KubeApiOptions = {}) {
    this.kubeConfig = options.kubeConfig ?? inClusterKubeConfig();
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new StoreError('GUARD_STORE_IO', 'the kubeconfig has no current cluster');
    const timeoutMs = this.requestTimeoutMs;
    // client-node 1.4.0 has no request timeout of its own: node-fetch waits forever for a stuck
    // API server. A middleware gives every request its own abort signal.
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this.kubeConfig },
      promiseMiddleware: [
        {
          pre: async (context: RequestContext) => {
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return context;
          },
          post: async (context: ResponseContext) => context,
        },
      ],
    });
    this.custom = new CustomObjectsApi(configuration);
    this.core = new CoreV1Api(configuration);
  }

  /**
   * Open a watch on `path`. Resolves once the server answered (or the connection failed, reported
   * through `done`). client-node's Watch has no connect timeout (its 30 s signal is overwritten),
   * so a connection that does not answer within the request timeout is reported as failed and
   * dropped when it finally answers.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (type: WatchEventType, object: Record<string, unknown>) => void,
    done: (err: unknown) => void,
  ): Promise<WatchStream> {
    // An object, not a variable: TypeScript would not see the callbacks change it.
    const link: { state: 'connecting' | 'open' | 'abandoned' } = { state: 'connecting' };
    const timer = setTimeout(() => {
      if (link.state !== 'connecting') return;
      link.state = 'abandoned';
      done(new Error(`no answer to the watch of ${path} within ${this.requestTimeoutMs} ms`));
    }, this.requestTimeoutMs);
    timer.unref();
    let controller: AbortController | undefined;
    try {
      controller = await new Watch(this.kubeConfig).watch(
        path,
        query,
        (type, object) => {
          if (link.state !== 'abandoned') onEvent(type as WatchEventType, (object ?? {}) as Record<string, unknown>);
        },
        (err) => {
          if (link.state === 'abandoned') return;
          link.state = 'abandoned';
          clearTimeout(timer);
          done(err);
        },
      );
    } catch (err) {
      // Watch.watch reports failures through done; this is a failure before the request (config).
      if (link.state !== 'abandoned') {
        link.state = 'abandoned';
        clearTimeout(timer);
        done(err);
      }
      return { abort() {} };
    }
    clearTimeout(timer);
    if (link.state === 'abandoned') {
      controller.abort();
      return { abort() {} };
    }
    link.state = 'open';
    const opened = controller;
    return {
      abort() {
        link.state = 'abandoned';
        opened.abort();
      },
    };
  }
}

/** The HTTP status of a failed API call; undefined for a failure without an answer. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string };
}

/** The Kubernetes Status the API server answered a failed call with, if any. */
export function statusBody(err: unknown): StatusBody | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === 'string' && body) {
    try {
      const parsed: unknown = JSON.parse(body);
      return parsed !== null && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
    } catch {
      return undefined;
    }
  }
  return body !== null && typeof body === 'object' ? (body as StatusBody) : undefined;
}

/**
 * True when a call failed because the object `name` does not exist — not because the path is
 * unknown (the CRD is not installed), access was refused or the server failed: only that is
 * "no Guardian".
 */
export function isObjectNotFound(err: unknown, name: string): boolean {
  if (httpStatus(err) !== 404) return false;
  const status = statusBody(err);
  return status?.reason === 'NotFound' && status.details?.name === name;
}

/** A conflict on write: a stale resourceVersion, or a create that lost the race. */
export function isConflict(err: unknown): boolean {
  return httpStatus(err) === 409;
}

/** A failed API call as a StoreError: `action` says what was being done ("read Guardian shop/cart"). */
export function apiError(err: unknown, action: string, location: string): StoreError {
  if (err instanceof StoreError) return err;
  const status = httpStatus(err);
  let code: StoreErrorCode = 'GUARD_STORE_IO';
  let detail: string;
  if (status !== undefined) {
    const body = statusBody(err);
    detail = `${status}${body?.reason ? ` ${body.reason}` : ''}${body?.message ? `: ${body.message}` : ''}`;
    if (status === 404 && !body?.details?.name) detail += ' (is the Guardian CRD installed?)';
    if (status === 401 || status === 403) detail += ' (check the service account and its RBAC)';
    if (status === 422 || status === 400) code = 'GUARD_STORE_INVALID';
    if (status === 409) code = 'GUARD_STORE_CONFLICT';
  } else if ((err as Error | null)?.name === 'AbortError') {
    detail = 'the Kubernetes API did not answer in time';
  } else {
    detail = (err as Error | null)?.message ?? String(err);
  }
  return new StoreError(code, `could not ${action}: ${detail}`, { location, cause: err });
}
