// A strict stand-in for the Kubernetes API server, for tests: a real node:http listener that serves
// Guardians (CRD), ConfigMaps, Pods and TokenReviews the way the API server does — bearer-token
// authentication, resourceVersion preconditions, 409s, JSON and merge patches, chunked watches that
// resume or expire — driven by the real @kubernetes/client-node.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { reviewAccess, subjectAccessReviewPath } from './access-review.js';
import { ADMIN_USERNAME, API_SERVER_AUDIENCE, ClusterState, type AccessRule, type OpenWatch, type RegisteredToken } from './cluster-state.js';
import type { EventType } from './object-store.js';
import { configMap, event, guardian, isPlainObject, JSON_PATCH, lease, namespaceProblem, pod, type KubeObject, type ResourceType, type Verb } from './resources.js';
import { parseFieldSelector, parseLabelSelector, type ObjectFilter } from './selectors.js';
import { KubeStatusError, reasonForCode, statusErrors, type StatusReason } from './status.js';

export { ClusterState } from './cluster-state.js';
export type { AccessRule, PodDeletion, PodSpecInput, RequestRecord, TokenIdentity, FaultOptions } from './cluster-state.js';
export type { KubeObject } from './resources.js';
export { KubeStatusError } from './status.js';

export interface KubeStandinOptions {
  /** The admin bearer token (default: random). */
  token?: string;
  /** The cluster's resourceVersion before the first write (default 1000). */
  initialResourceVersion?: number;
  /** Events kept for resuming watches; older resourceVersions get 410 Expired (default 1000). */
  historyLimit?: number;
  /** How often watches that asked for bookmarks get one (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Request body limit in bytes (default 3 MiB, the API server's). */
  maxBodyBytes?: number;
}

export interface KubeStandin {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The admin bearer token. */
  token: string;
  state: ClusterState;
  /** A KubeConfig for this stand-in, as the admin or as the holder of `token`. */
  kubeConfig(token?: string): KubeConfig;
  /** Ends every watch and connection and stops listening. */
  close(): Promise<void>;
}

const tokenReviewPath = '/apis/authentication.k8s.io/v1/tokenreviews';

interface ResourceRoute {
  kind: 'resource';
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
}

type Route = ResourceRoute | { kind: 'tokenreview' } | { kind: 'accessreview' } | { kind: 'version' };

function route(path: string): Route | undefined {
  if (path === tokenReviewPath) return { kind: 'tokenreview' };
  if (path === subjectAccessReviewPath) return { kind: 'accessreview' };
  if (path === '/version') return { kind: 'version' };
  const segments = path.split('/').slice(1).map(decodeURIComponent);
  let rest: string[];
  let types: ResourceType[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    rest = segments.slice(2);
    types = [configMap, pod, event];
  } else if (segments[0] === 'apis' && segments[1] === lease.group && segments[2] === lease.version) {
    rest = segments.slice(3);
    types = [lease];
  } else if (segments[0] === 'apis' && segments[1] === guardian.group && segments[2] === guardian.version) {
    rest = segments.slice(3);
    types = [guardian];
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const type = types.find((t) => t.groupResource.resource === rest[0]);
  // Subresources (status, scale, log, …) are not served: the Guardian CRD declares none.
  if (!type || rest.length > 2 || rest.some((s) => s === '')) return undefined;
  return { kind: 'resource', type, namespace, name: rest[1] };
}

function verbOf(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : hasName ? 'get' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : undefined;
    default:
      return undefined;
  }
}

function permits(rules: AccessRule[] | undefined, verb: string, resource: string, namespace: string | undefined): boolean {
  if (!rules) return true;
  return rules.some(
    (r) =>
      (r.verbs.includes('*') || r.verbs.includes(verb as Verb)) &&
      (r.resources.includes('*') || r.resources.includes(resource as never)) &&
      (!r.namespaces || (namespace !== undefined && r.namespaces.includes(namespace))),
  );
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, error: KubeStatusError): void {
  sendJson(res, error.code, error.toStatus());
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw statusErrors.tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw statusErrors.badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

interface Caller {
  username: string;
  rules: AccessRule[] | undefined;
}

class StandinServer {
  readonly state: ClusterState;
  private readonly maxBodyBytes: number;
  private readonly bookmarkIntervalMs: number;

  constructor(state: ClusterState, options: Required<Pick<KubeStandinOptions, 'maxBodyBytes' | 'bookmarkIntervalMs'>>) {
    this.state = state;
    this.maxBodyBytes = options.maxBodyBytes;
    this.bookmarkIntervalMs = options.bookmarkIntervalMs;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = (req.method ?? 'GET').toUpperCase();
    let caller: Caller | undefined;
    res.on('finish', () =>
      this.state.recordRequest({ method, path: url.pathname, query: url.search, status: res.statusCode, username: caller?.username }),
    );
    try {
      const delay = this.state.responseDelayMs;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      caller = this.authenticate(req);
      const target = route(url.pathname);
      if (!target) throw statusErrors.unknownPath();
      const fault = this.state.takeFault(method, url.pathname);
      if (fault) {
        const reason = (fault.reason ?? reasonForCode(fault.status)) as StatusReason;
        throw new KubeStatusError(fault.status, reason, fault.message ?? `injected fault: ${fault.status} ${reason}`);
      }
      if (target.kind === 'version') {
        if (method !== 'GET') throw statusErrors.methodNotAllowed();
        return sendJson(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0-standin', platform: 'linux/amd64' });
      }
      if (target.kind === 'tokenreview') {
        if (method !== 'POST') throw statusErrors.methodNotAllowed();
        if (!permits(caller.rules, 'create', 'tokenreviews', undefined))
          throw statusErrors.forbidden(`tokenreviews.authentication.k8s.io is forbidden: User "${caller.username}" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`);
        return await this.tokenReview(req, res);
      }
      if (target.kind === 'accessreview') {
        // SubjectAccessReview (access-review.ts): answers from the grants a test made.
        if (method !== 'POST') throw statusErrors.methodNotAllowed();
        if (!permits(caller.rules, 'create', 'subjectaccessreviews', undefined))
          throw statusErrors.forbidden(`subjectaccessreviews.authorization.k8s.io is forbidden: User "${caller.username}" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope`);
        if (mediaType(req) !== 'application/json') throw statusErrors.unsupportedMediaType(mediaType(req), ['application/json']);
        return sendJson(res, 201, reviewAccess(this.state, parseJson(await readBody(req, this.maxBodyBytes))));
      }
      await this.resource(req, res, url, method, target, caller);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof KubeStatusError) sendStatus(res, error);
      else sendStatus(res, statusErrors.internal((error as Error).message ?? String(error)));
    }
  }

  private authenticate(req: IncomingMessage): Caller {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (\S+)$/.exec(header);
    if (!match) throw statusErrors.unauthorized();
    const token = match[1]!;
    if (token === this.state.adminToken) return { username: ADMIN_USERNAME, rules: undefined };
    const identity = this.state.lookupToken(token);
    // The API server itself only accepts tokens meant for it: a token for `guard-service` is refused.
    if (!identity || this.invalidReason(identity, [API_SERVER_AUDIENCE])) throw statusErrors.unauthorized();
    return { username: identity.username, rules: identity.rules };
  }

  /** Why the API server would refuse this token for `audiences`, or undefined if it accepts it. */
  private invalidReason(identity: RegisteredToken, audiences: string[]): string | undefined {
    if (identity.expiresAt && identity.expiresAt.getTime() <= Date.now()) return 'service account token has expired';
    if (!identity.audiences.some((a) => audiences.includes(a)))
      return `token audiences ${JSON.stringify(identity.audiences)} is invalid for the target audiences ${JSON.stringify(audiences)}`;
    if (identity.podName && identity.namespace) {
      const { podName, podUid, namespace } = identity;
      const deleted = this.state.podDeletions.some((d) => d.namespace === namespace && d.name === podName && (!podUid || d.uid === podUid));
      const current = this.state.getObject('pods', namespace, podName);
      if (deleted && (!current || (podUid !== undefined && current.metadata.uid !== podUid))) return 'service account token has been invalidated';
    }
    return undefined;
  }

  private async tokenReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (mediaType(req) !== 'application/json') throw statusErrors.unsupportedMediaType(mediaType(req), ['application/json']);
    const body = parseJson(await readBody(req, this.maxBodyBytes));
    if (!isPlainObject(body)) throw statusErrors.badRequest('json: cannot unmarshal into Go value of type v1.TokenReview');
    if (body.apiVersion !== undefined && body.apiVersion !== 'authentication.k8s.io/v1')
      throw statusErrors.badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (authentication.k8s.io/v1)`);
    if (body.kind !== undefined && body.kind !== 'TokenReview')
      throw statusErrors.badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (TokenReview)`);
    const spec = isPlainObject(body.spec) ? body.spec : {};
    if (typeof spec.token !== 'string' || spec.token === '') throw statusErrors.badRequest('token is required for TokenReview in authentication');
    if (spec.audiences !== undefined && (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== 'string')))
      throw statusErrors.badRequest('json: cannot unmarshal into Go struct field TokenReviewSpec.spec.audiences of type []string');
    const wanted = (spec.audiences as string[] | undefined)?.length ? (spec.audiences as string[]) : [API_SERVER_AUDIENCE];
    const reply = (status: Record<string, unknown>) =>
      sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status });

    if (spec.token === this.state.adminToken) {
      if (!wanted.includes(API_SERVER_AUDIENCE))
        return reply({ user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify([API_SERVER_AUDIENCE])} is invalid for the target audiences ${JSON.stringify(wanted)}]` });
      return reply({ authenticated: true, user: { username: ADMIN_USERNAME, uid: 'standin-admin', groups: ['system:masters', 'system:authenticated'] }, audiences: [API_SERVER_AUDIENCE] });
    }
    const identity = this.state.lookupToken(spec.token);
    // As on a real server, a refused review leaves `authenticated` out (false) and says why in `error`.
    if (!identity) return reply({ user: {}, error: '[invalid bearer token, token lookup failed]' });
    const why = this.invalidReason(identity, wanted);
    if (why) return reply({ user: {}, error: `[invalid bearer token, ${why}]` });
    const extra: Record<string, string[]> = {};
    if (identity.username.startsWith('system:serviceaccount:')) {
      extra['authentication.kubernetes.io/credential-id'] = [identity.credentialId];
      if (identity.podName && identity.namespace) {
        extra['authentication.kubernetes.io/pod-name'] = [identity.podName];
        const podUid = identity.podUid ?? this.state.getObject('pods', identity.namespace, identity.podName)?.metadata.uid;
        if (podUid) extra['authentication.kubernetes.io/pod-uid'] = [podUid];
      }
    }
    return reply({
      authenticated: true,
      user: { username: identity.username, uid: identity.uid, groups: identity.groups, ...(Object.keys(extra).length ? { extra } : {}) },
      audiences: identity.audiences.filter((a) => wanted.includes(a)),
    });
  }

  private async resource(req: IncomingMessage, res: ServerResponse, url: URL, method: string, target: ResourceRoute, caller: Caller): Promise<void> {
    const { type, namespace, name } = target;
    const query = url.searchParams;
    const watch = query.get('watch') === 'true' || query.get('watch') === '1';
    const verb = verbOf(method, name !== undefined, watch);
    if (!verb || !type.verbs.has(verb)) throw statusErrors.methodNotAllowed();
    if (namespace === undefined && verb !== 'list' && verb !== 'watch') throw statusErrors.methodNotAllowed();
    if (namespace !== undefined) {
      const problem = namespaceProblem(namespace);
      if (problem) throw statusErrors.notFound({ group: '', resource: 'namespaces' }, namespace);
    }
    if (!permits(caller.rules, verb, type.key, namespace)) {
      const gr = type.group ? `${type.key}.${type.group}` : type.key;
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      throw statusErrors.forbidden(
        `${gr}${name ? ` "${name}"` : ''} is forbidden: User "${caller.username}" cannot ${verb} resource "${type.key}" in API group "${type.group}" ${scope}`,
      );
    }
    if (query.has('dryRun')) throw statusErrors.badRequest('dryRun is not supported by the kube stand-in');

    switch (verb) {
      case 'get':
        return sendJson(res, 200, this.requireObject(type, namespace!, name!));
      case 'list': {
        const filter = this.filterOf(query, undefined);
        const { items, resourceVersion } = this.state.store.list(type, namespace, filter);
        // Typed (core) lists carry kind and apiVersion on the list only; CR lists on every item.
        const shown = type.group ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
        return sendJson(res, 200, { apiVersion: type.apiVersion, kind: type.listKind, metadata: { resourceVersion }, items: shown });
      }
      case 'watch':
        return this.watch(res, type, namespace, this.filterOf(query, name), query);
      case 'create': {
        const body = await this.jsonBody(req);
        return sendJson(res, 201, this.state.store.create(type, namespace!, body));
      }
      case 'update': {
        const body = await this.jsonBody(req);
        return sendJson(res, 200, this.state.store.replace(type, namespace!, name!, body));
      }
      case 'patch': {
        const contentType = mediaType(req);
        if (!type.patchTypes.includes(contentType)) throw statusErrors.unsupportedMediaType(contentType, [...type.patchTypes]);
        const patch = parseJson(await readBody(req, this.maxBodyBytes));
        if (contentType === JSON_PATCH && !Array.isArray(patch)) throw statusErrors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
        return sendJson(res, 200, this.state.store.patch(type, namespace!, name!, contentType, patch));
      }
      case 'delete':
        return this.delete(req, res, type, namespace!, name!, query, caller);
    }
  }

  private requireObject(type: ResourceType, namespace: string, name: string): KubeObject {
    const found = this.state.store.get(type, namespace, name);
    if (!found) throw statusErrors.notFound(type.groupResource, name);
    return found;
  }

  private filterOf(query: URLSearchParams, name: string | undefined): ObjectFilter {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'));
    return (o) => labels(o) && fields(o) && (name === undefined || o.metadata.name === name);
  }

  private async jsonBody(req: IncomingMessage): Promise<unknown> {
    const contentType = mediaType(req);
    if (contentType !== 'application/json') throw statusErrors.unsupportedMediaType(contentType, ['application/json']);
    return parseJson(await readBody(req, this.maxBodyBytes));
  }

  private async delete(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string, query: URLSearchParams, caller: Caller): Promise<void> {
    const raw = await readBody(req, this.maxBodyBytes);
    const options = raw.length > 0 ? parseJson(raw) : {};
    if (!isPlainObject(options)) throw statusErrors.badRequest('json: cannot unmarshal into Go value of type v1.DeleteOptions');
    const preconditions = isPlainObject(options.preconditions) ? options.preconditions : {};
    const graceQuery = query.get('gracePeriodSeconds');
    const gracePeriodSeconds = graceQuery !== null ? Number(graceQuery) : typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : undefined;
    if (gracePeriodSeconds !== undefined && (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0))
      throw statusErrors.badRequest(`gracePeriodSeconds: Invalid value: ${String(graceQuery ?? options.gracePeriodSeconds)}`);
    const deleted = this.state.store.delete(
      type,
      namespace,
      name,
      { uid: preconditions.uid as string | undefined, resourceVersion: preconditions.resourceVersion as string | undefined },
      type === pod
        ? (o) => {
            // A pod is deleted gracefully: the answer carries the deletion mark the kubelet then honours.
            o.metadata.deletionTimestamp = new Date(Date.now() + (gracePeriodSeconds ?? 30) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
            o.metadata.deletionGracePeriodSeconds = gracePeriodSeconds ?? 30;
          }
        : undefined,
    );
    if (type === pod) this.state.recordPodDeletion(deleted, caller.username, gracePeriodSeconds);
    if (type.returnsDeletedObject) return sendJson(res, 200, deleted);
    return sendJson(res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, kind: type.key, uid: deleted.metadata.uid },
    });
  }

  private watch(res: ServerResponse, type: ResourceType, namespace: string | undefined, filter: ObjectFilter, query: URLSearchParams): void {
    if (query.has('sendInitialEvents')) throw statusErrors.badRequest('sendInitialEvents is not supported by the kube stand-in');
    const timeoutSeconds = query.get('timeoutSeconds');
    if (timeoutSeconds !== null && !/^[0-9]+$/.test(timeoutSeconds)) throw statusErrors.badRequest(`timeoutSeconds: Invalid value: "${timeoutSeconds}"`);
    const wantsBookmarks = query.get('allowWatchBookmarks') === 'true';
    let open = true;
    const timers: NodeJS.Timeout[] = [];
    const send = (type: EventType | 'BOOKMARK' | 'ERROR', object: unknown) => {
      if (!open) return;
      if (!res.headersSent) {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      }
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let unsubscribe = () => {};
    let unregister = () => {};
    const finish = () => {
      if (!open) return;
      open = false;
      for (const timer of timers) clearTimeout(timer);
      unsubscribe();
      unregister();
    };
    try {
      unsubscribe = this.state.store.subscribe(type, { resource: type.key, namespace, filter, deliver: send }, query.get('resourceVersion') ?? undefined);
    } catch (error) {
      // An expired or future resourceVersion is answered inside a 200 stream, as the API server does.
      if (error instanceof KubeStatusError && (error.code === 410 || error.code === 504)) {
        send('ERROR', error.toStatus());
        open = false;
        res.end();
        return;
      }
      throw error;
    }
    if (!res.headersSent) {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
    }
    const stream: OpenWatch = {
      cut: (mode) => {
        finish();
        if (mode === 'reset') res.socket?.destroy();
        else res.end();
      },
      bookmark: () => {
        if (wantsBookmarks)
          send('BOOKMARK', { kind: type.kind, apiVersion: type.apiVersion, metadata: { resourceVersion: this.state.resourceVersion } });
      },
    };
    unregister = this.state.registerWatch(stream);
    if (wantsBookmarks) {
      const interval = setInterval(() => stream.bookmark(), this.bookmarkIntervalMs);
      interval.unref();
      timers.push(interval);
    }
    if (timeoutSeconds !== null) {
      const timer = setTimeout(() => stream.cut('end'), Number(timeoutSeconds) * 1000);
      timer.unref();
      timers.push(timer);
    }
    // Not req's 'close': that fires once the (empty) request body is read, not when the client goes.
    res.on('close', finish);
  }
}

export async function startKubeStandin(options: KubeStandinOptions = {}): Promise<KubeStandin> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const state = new ClusterState(token, options.initialResourceVersion ?? 1000, options.historyLimit ?? 1000);
  const standin = new StandinServer(state, {
    maxBodyBytes: options.maxBodyBytes ?? 3 * 1024 * 1024,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
  });
  const server = createServer((req, res) => {
    void standin.handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    token,
    state,
    kubeConfig(userToken = token) {
      const config = new KubeConfig();
      // client-node refuses an http:// server unless skipTLSVerify is set.
      config.loadFromOptions({
        clusters: [{ name: 'standin', server: url, skipTLSVerify: true }],
        users: [{ name: 'standin-user', token: userToken }],
        contexts: [{ name: 'standin', cluster: 'standin', user: 'standin-user', namespace: 'default' }],
        currentContext: 'standin',
      });
      return config;
    },
    close() {
      state.dropWatches('reset');
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
