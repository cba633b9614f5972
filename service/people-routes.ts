// The API for people and the UI: list and read Guardians, replace their
// configured rules and control (people's fields; the learner's are kept), copy learned rules into
// configured ones, query alerts, and the services at a glance. Every call carries a bearer token;
// each verb is checked for the namespace it touches. A read answers the Guardian's resourceVersion
// (also as ETag); a write that names one (If-Match, or resourceVersion in the body) is refused with
// GUARD_API_STALE when the Guardian changed since, so nobody's change is overwritten unseen.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, isApiError } from './api-errors.js';
import type { AlertQuery } from './alerts.js';
import type { Person, PersonVerb } from './auth.js';
import { alertsEverywhere, learnedHere, localAlerts, localStates, statesEverywhere, type ServiceRef, type ServiceState } from './replica-views.js';
import type { ServiceContext } from './service-context.js';
import { defaultSpec, isDnsLabel, isStoreError, type GuardianSpecJson, type StoredGuardian } from '../store/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    person?: Person;
  }
}

interface GuardianParams {
  namespace: string;
  service: string;
}

const MAX_ALERT_LIMIT = 1000;
/** Services one replica is asked about at once (the overview of a whole cluster). */
const MAX_SERVICES_ASKED = 20_000;

export async function peopleRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const defaults = defaultSpec(ctx.core);

  app.addHook('onRequest', async (req) => {
    try {
      req.person = await ctx.peopleAuth.authenticate(req.headers.authorization, req.ip);
    } catch (err) {
      if (isApiError(err)) ctx.metrics.authFailures.inc({ api: 'people', reason: err.reason });
      throw err;
    }
  });

  const allow = async (req: FastifyRequest, verb: PersonVerb, namespace: string | undefined): Promise<void> => {
    try {
      await ctx.peopleAuth.authorize(req.person!, verb, namespace);
    } catch (err) {
      if (isApiError(err)) ctx.metrics.authFailures.inc({ api: 'people', reason: err.reason });
      throw err;
    }
  };

  /** The alert query of a request, checked, and the person allowed to read it. */
  const alertQuery = async (req: FastifyRequest): Promise<AlertQuery> => {
    const q = req.query as Record<string, string | undefined>;
    if (q.namespace !== undefined) checkName('namespace', q.namespace);
    if (q.service !== undefined) {
      if (q.namespace === undefined) throw new ApiError('GUARD_API_INVALID', 'service needs namespace');
      checkName('service', q.service);
    }
    if (q.level !== undefined && !/^[A-Za-z]{1,32}$/.test(q.level)) throw new ApiError('GUARD_API_INVALID', `level ${JSON.stringify(q.level)} is not a level (Session, Gate, …)`);
    const since = q.since === undefined ? undefined : timeOf(q.since);
    const limit = q.limit === undefined ? undefined : integerIn('limit', q.limit, 1, MAX_ALERT_LIMIT);
    if (q.namespace !== undefined) await allow(req, 'get', q.namespace);
    else await allow(req, 'list', undefined);
    return { namespace: q.namespace, service: q.service, level: q.level, since, limit };
  };

  app.get('/api/v1/guardians', async (req) => {
    const { namespace } = req.query as { namespace?: string };
    if (namespace !== undefined) checkName('namespace', namespace);
    await allow(req, 'list', namespace);
    const items = await storeCall(() => ctx.store.list(namespace));
    return { items: items.map(view) };
  });

  app.get('/api/v1/guardians/:namespace/:service', async (req, reply) => {
    const { namespace, service } = guardianParams(req);
    await allow(req, 'get', namespace);
    const stored = await storeCall(() => ctx.store.get(namespace, service));
    if (!stored) throw new ApiError('GUARD_API_NOT_FOUND', `there is no Guardian ${namespace}/${service}`);
    void reply.header('etag', etagOf(stored));
    // Its learning state from the replica that learns it.
    const { states, incomplete } = await statesEverywhere(ctx, [{ namespace, service }], namespace, req.headers.authorization);
    return { ...view(stored), learning: states.get(`${namespace}/${service}`)?.learning ?? null, ...(incomplete.length > 0 ? { incomplete } : {}) };
  });

  // The services at a glance (the UI's first screen): mode, samples, when last learned, alerts in
  // the last hour and day. Alerts are what guard-service saw since it started (the earliest start of
  // its replicas that answered), each from the replica that learns the service; the learning time is
  // that replica's, else the one stored with the learned rules.
  app.get('/api/v1/services', async (req) => {
    const { namespace } = req.query as { namespace?: string };
    if (namespace !== undefined) checkName('namespace', namespace);
    await allow(req, 'list', namespace);
    const items = await storeCall(() => ctx.store.list(namespace));
    const now = Date.now();
    const { states, startedAt, incomplete } = await statesEverywhere(ctx, items, namespace, req.headers.authorization);
    return {
      now: new Date(now).toISOString(),
      serviceStartedAt: new Date(startedAt).toISOString(),
      items: items.map((g) => serviceSummary(g, states.get(`${g.namespace}/${g.service}`))),
      ...(incomplete.length > 0 ? { incomplete } : {}),
    };
  });

  // One replica's part of the overview: the state of those of the given services it learns.
  app.post('/api/v1/replica/services', async (req) => {
    const body = req.body as { namespace?: unknown; services?: unknown } | null;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.services)) throw new ApiError('GUARD_API_INVALID', 'the body must be {"namespace"?: …, "services": [{"namespace": …, "service": …}, …]}');
    if (body.services.length > MAX_SERVICES_ASKED) throw new ApiError('GUARD_API_INVALID', `at most ${MAX_SERVICES_ASKED} services at once, got ${body.services.length}`);
    const namespace = body.namespace === undefined ? undefined : String(body.namespace);
    if (namespace !== undefined) checkName('namespace', namespace);
    const services: ServiceRef[] = body.services.map((s: unknown) => {
      const ref = s as Partial<ServiceRef> | null;
      if (ref === null || typeof ref !== 'object' || typeof ref.namespace !== 'string' || typeof ref.service !== 'string') throw new ApiError('GUARD_API_INVALID', 'each service must be {"namespace": …, "service": …}');
      checkName('namespace', ref.namespace);
      checkName('service', ref.service);
      if (namespace !== undefined && ref.namespace !== namespace) throw new ApiError('GUARD_API_INVALID', `service ${ref.namespace}/${ref.service} is not in namespace ${namespace}`);
      return { namespace: ref.namespace, service: ref.service };
    });
    await allow(req, 'list', namespace);
    const mine = learnedHere(ctx);
    return { replica: ctx.config.replicas?.identity ?? '', startedAt: new Date(ctx.startedAt).toISOString(), items: localStates(ctx, services.filter((s) => mine(s.namespace, s.service))) };
  });

  app.put('/api/v1/guardians/:namespace/:service', async (req, reply) => {
    const { namespace, service } = guardianParams(req);
    await allow(req, 'update', namespace);
    // Replacing a Guardian that does not exist creates it: that takes the create right too, so
    // guard-service's own rights are never lent to someone who may only edit.
    const existing = await storeCall(() => ctx.store.get(namespace, service));
    if (!existing) await allow(req, 'create', namespace);
    const body = req.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('GUARD_API_INVALID', 'the body must be a JSON object with configured and/or control');
    const hasConfigured = 'configured' in body;
    const hasControl = 'control' in body;
    if (!hasConfigured && !hasControl) throw new ApiError('GUARD_API_INVALID', 'nothing to change: give configured and/or control (learned and samples belong to the learner)');
    const expected = expectedVersion(req, body);
    const stored = await storeCall(() =>
      ctx.store.update(namespace, service, (current, version) => {
        checkVersion(namespace, service, expected, version);
        return {
          configured: hasConfigured ? body.configured : (current?.configured ?? defaults.configured),
          // The learner's fields as the store holds them now: a learn persisted meanwhile is kept.
          learned: current?.learned ?? null,
          samples: current?.samples ?? 0,
          control: (hasControl ? body.control : (current?.control ?? defaults.control)) as GuardianSpecJson['control'],
          ...(current?.syncs ? { syncs: current.syncs } : {}),
          ...(current?.learnedAt ? { learnedAt: current.learnedAt } : {}),
        };
      }),
    );
    ctx.learner.onStoreChange({ type: 'put', guardian: stored });
    ctx.log.info({ namespace, service, by: req.person!.name }, 'Guardian configured or control replaced');
    void reply.header('etag', etagOf(stored));
    return view(stored);
  });

  app.post('/api/v1/guardians/:namespace/:service/copy-learned', async (req, reply) => {
    const { namespace, service } = guardianParams(req);
    await allow(req, 'update', namespace);
    const expected = expectedVersion(req, req.body);
    const stored = await storeCall(() =>
      ctx.store.update(namespace, service, (current, version) => {
        if (!current) throw new ApiError('GUARD_API_NOT_FOUND', `there is no Guardian ${namespace}/${service}`);
        checkVersion(namespace, service, expected, version);
        if (current.learned == null) throw new ApiError('GUARD_API_INVALID', `Guardian ${namespace}/${service} has learned nothing yet`);
        return { ...current, configured: current.learned };
      }),
    );
    ctx.learner.onStoreChange({ type: 'put', guardian: stored });
    ctx.log.info({ namespace, service, by: req.person!.name }, 'learned rules copied into configured');
    void reply.header('etag', etagOf(stored));
    return view(stored);
  });

  app.get('/api/v1/alerts', async (req) => {
    const q = await alertQuery(req);
    const { items, incomplete } = await alertsEverywhere(ctx, q, req.headers.authorization);
    return { items, ...(incomplete.length > 0 ? { incomplete } : {}) };
  });

  // One replica's part of the alerts: those of the services it learns.
  app.get('/api/v1/replica/alerts', async (req) => {
    const q = await alertQuery(req);
    return { replica: ctx.config.replicas?.identity ?? '', items: localAlerts(ctx, q, learnedHere(ctx)) };
  });
}

function view(g: StoredGuardian): object {
  return { namespace: g.namespace, service: g.service, resourceVersion: g.resourceVersion, spec: g.spec };
}

function etagOf(g: StoredGuardian): string {
  return `"${g.resourceVersion}"`;
}

/**
 * The resourceVersion a write is conditional on: the If-Match header (one entity tag, quoted or
 * not; `*` = the Guardian must exist) or `resourceVersion` in the body; undefined = unconditional.
 */
function expectedVersion(req: FastifyRequest, body: unknown): string | undefined {
  const header = req.headers['if-match'];
  const fromBody = body !== null && typeof body === 'object' ? (body as { resourceVersion?: unknown }).resourceVersion : undefined;
  if (fromBody !== undefined && typeof fromBody !== 'string') throw new ApiError('GUARD_API_INVALID', 'resourceVersion must be the text a read of the Guardian answered');
  if (header === undefined) return fromBody;
  const match = /^\s*(?:W\/)?"?([^",\s]*)"?\s*$/.exec(header);
  if (!match || match[1] === '') throw new ApiError('GUARD_API_INVALID', `If-Match ${JSON.stringify(header)} is not one entity tag (the ETag a read of the Guardian answered)`);
  if (fromBody !== undefined && fromBody !== match[1]) throw new ApiError('GUARD_API_INVALID', 'If-Match and resourceVersion name different versions');
  return match[1];
}

/** Refuse a conditional write when the Guardian is not at the version its author read. */
function checkVersion(namespace: string, service: string, expected: string | undefined, current: string | null): void {
  if (expected === undefined) return;
  if (current === null) {
    throw new ApiError('GUARD_API_STALE', `Guardian ${namespace}/${service} was deleted since you read it: nothing was saved`);
  }
  if (expected !== '*' && expected !== current) {
    throw new ApiError(
      'GUARD_API_STALE',
      `Guardian ${namespace}/${service} was changed since you read it (you read version ${expected}, it is now at ${current}): nothing was saved. Read it again and redo your change on the new version`,
    );
  }
}

/** One line of the services overview: the Guardian, and its state from the replica that learns it. */
function serviceSummary(g: StoredGuardian, state: ServiceState | undefined): object {
  return {
    namespace: g.namespace,
    service: g.service,
    resourceVersion: g.resourceVersion,
    control: g.spec.control,
    samples: g.spec.samples,
    hasConfigured: g.spec.configured != null,
    hasLearned: g.spec.learned != null,
    // Readiness of the learned rules (docs/tokens.md): null when they do not track it.
    readiness: learnedReadiness(g.spec.learned),
    // As the learner holds it, else as the store does (written with the learned rules).
    lastLearnedAt: state?.lastLearnedAt ?? g.spec.learnedAt ?? null,
    pileSamples: state?.pileSamples ?? 0,
    alerts: state?.alerts ?? { lastHour: { entries: 0, occurrences: 0 }, lastDay: { entries: 0, occurrences: 0 }, newestAt: null },
  };
}

function learnedReadiness(learned: unknown): { ready: boolean; stable: number } | null {
  const r = (learned as { readiness?: { ready?: unknown; stable?: unknown } } | null | undefined)?.readiness;
  if (!r || typeof r !== 'object') return null;
  return { ready: r.ready === true, stable: typeof r.stable === 'number' ? r.stable : 0 };
}

function guardianParams(req: FastifyRequest): GuardianParams {
  const { namespace, service } = req.params as GuardianParams;
  checkName('namespace', namespace);
  checkName('service', service);
  return { namespace, service };
}

function checkName(what: string, name: string): void {
  if (!isDnsLabel(name)) throw new ApiError('GUARD_API_INVALID', `${what} ${JSON.stringify(name)} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)`);
}

/** ISO 8601 text or milliseconds since the epoch. */
function timeOf(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ApiError('GUARD_API_INVALID', `since ${JSON.stringify(text)} is not a time (ISO 8601 or milliseconds since the epoch)`);
  return ms;
}

function integerIn(what: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new ApiError('GUARD_API_INVALID', `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** A store call with its failures named for people: invalid → 400, conflict → 409, else 503. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isApiError(err)) throw err;
    if (isStoreError(err, 'GUARD_STORE_INVALID') || isStoreError(err, 'GUARD_STORE_INVALID_NAME')) throw new ApiError('GUARD_API_INVALID', err.message, { cause: err });
    if (isStoreError(err, 'GUARD_STORE_NOT_FOUND')) throw new ApiError('GUARD_API_NOT_FOUND', err.message, { cause: err });
    if (isStoreError(err, 'GUARD_STORE_CONFLICT')) throw new ApiError('GUARD_API_CONFLICT', `${err.message}; try again`, { cause: err });
    if (isStoreError(err)) throw new ApiError('GUARD_API_UNAVAILABLE', `${err.message}; retry later`, { cause: err });
    throw err;
  }
}

