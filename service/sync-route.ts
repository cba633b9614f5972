// POST /sync, wire-compatible with the original gates:
// {pile, alerts, compromised} in, {"guardian": <GuardianSpec>} out. The caller is identified
// before its body is read; the body is bounded and checked by the core; a refused sync changes
// nothing. The learner's GuardianSpec text is spliced into the answer as it is, not re-serialised.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CoreError, type Pile } from '../core/index.js';
import { asSyncAlert } from './alerts.js';
import { ApiError, isApiError } from './api-errors.js';
import type { GateIdentity } from './auth.js';
import { LearnerError, parseSyncId } from './learner.js';
import type { SyncOutcome } from './metrics.js';
import { FORWARDED_HEADER } from './replicas.js';
import type { ServiceContext } from './service-context.js';
import { isStoreError, SYNC_ID, SYNC_ID_HEADER } from '../store/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    gate?: GateIdentity;
    /** The gate's pod synced over its rate limit (the original's gates: answered, the pile not learned). */
    overSyncLimit?: boolean;
  }
}

export async function syncRoute(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  // Gates send no Content-Type (Go's client): every body is taken as text and parsed by the core.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: ctx.config.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.addHook('onResponse', async (_req: FastifyRequest, reply: FastifyReply) => {
    ctx.metrics.syncs.inc({ outcome: outcomeOf(reply.statusCode) });
    ctx.metrics.syncSeconds.observe(reply.elapsedTime / 1000);
  });

  app.post('/sync', {
    // Before the body is read: an unknown caller does not get 10 MB parsed.
    onRequest: async (req) => {
      const query = new URLSearchParams(req.raw.url?.split('?')[1] ?? '');
      if (query.getAll('cm').length > 1) throw new ApiError('GUARD_API_INVALID', 'query has more than one cm value');
      try {
        req.gate = await ctx.gateAuth.identify(req.headers.authorization, query, req.ip);
      } catch (err) {
        if (isApiError(err) && err.status !== 400) ctx.metrics.authFailures.inc({ api: 'sync', reason: err.reason });
        throw err;
      }
      checkSyncLimit(req, ctx);
    },
    handler: async (req, reply) => {
      const gate = req.gate!;
      const text = typeof req.body === 'string' ? req.body : '';
      const syncId = syncIdOf(req.headers[SYNC_ID_HEADER]);
      if (ctx.replicas && !ctx.replicas.learnsHere(gate.namespace, gate.service)) {
        // Another replica learns this service: it gets the sync as it came (docs/operations.md, Replicas).
        const forwardedBy = req.headers[FORWARDED_HEADER];
        const answer = await ctx.replicas.forward(gate.namespace, gate.service, {
          url: req.raw.url ?? '/sync',
          authorization: req.headers.authorization,
          syncId,
          body: text,
          forwardedBy: typeof forwardedBy === 'string' ? forwardedBy : undefined,
        });
        return reply.code(answer.status).type(answer.contentType).send(answer.body);
      }
      if (text.trim() === '') throw new ApiError('GUARD_API_INVALID', 'empty sync message: send {"pile":…,"alerts":…,"compromised":…} (or {})');
      // Over its pod's limit, the pile is not learned: not parsed either (most of a sync's cost).
      const unlearned = req.overSyncLimit ? withoutPile(text) : null;
      let message;
      try {
        // Parsed in the core instance that holds the service's piles (service/core-shards.ts).
        message = ctx.learner.coreFor(gate.namespace, gate.service).parseSyncRequest(unlearned?.text ?? text);
      } catch (err) {
        if (err instanceof CoreError) throw new ApiError('GUARD_API_INVALID', err.message, { cause: err });
        throw err;
      }
      let pile: Pile | null = message.pile;
      if (message.compromised) {
        // What a compromised pod saw is not learned (docs/threat-model.md, S-7).
        pile?.dispose();
        pile = null;
        ctx.podRestarts.restart(gate);
      }
      if (unlearned) {
        // The original's gate over its pod's limit: answered, so that it clears its pile and stops
        // asking (a refusal would send it to the Kubernetes API every time, or to its default
        // Guardian); its alerts are taken, its samples are not learned.
        ctx.metrics.syncsLimited.inc({ answer: 'unlearned' });
        ctx.metrics.samplesLimited.inc(unlearned.samples);
      }
      const samples = pile?.count ?? 0;
      let answer: string;
      let repeated: boolean;
      try {
        ({ answer, repeated } = await ctx.learner.syncOnce(gate.namespace, gate.service, pile, syncId === undefined ? undefined : scopedSyncId(gate.pod, syncId)));
      } catch (err) {
        throw asApiError(err);
      }
      // A repeat (the same sync id, resent after its answer was lost): its samples and alerts were taken the first time.
      if (!repeated) ctx.metrics.samplesMerged.inc(samples);
      if (!repeated && message.alerts.length > 0) {
        const kept = ctx.alerts.add(gate.namespace, gate.service, gate.pod, message.alerts);
        const valid = message.alerts.map(asSyncAlert).filter((a) => a !== null);
        for (const recorder of ctx.alertRecorders) recorder.record(gate.namespace, gate.service, gate.pod, valid);
        ctx.metrics.alertsReceived.inc(kept);
        ctx.log.info({ namespace: gate.namespace, service: gate.service, pod: gate.pod, alerts: kept }, 'gate reported alerts');
      }
      return reply.type('application/json').send(`{"guardian":${answer}}`);
    },
  });
}

/**
 * The gate's pod may sync now, or not (service/sync-limit.ts), decided before the body is read.
 * Over the limit, a gate that sends sync ids — Guard's, which keeps its pile and retries — is
 * refused with 429 and Retry-After; the original's gates, which send none, are answered.
 */
function checkSyncLimit(req: FastifyRequest, ctx: ServiceContext): void {
  const gate = req.gate!;
  if (!ctx.syncLimit || !gate.verified) return;
  const wait = ctx.syncLimit.take(`${gate.namespace}/${gate.pod}`);
  if (wait === 0) return;
  if (req.headers[SYNC_ID_HEADER] === undefined) {
    req.overSyncLimit = true;
    return;
  }
  ctx.metrics.syncsLimited.inc({ answer: 'refused' });
  const { burst, perMinute } = ctx.config.syncLimit!;
  throw new ApiError(
    'GUARD_API_RATE_LIMITED',
    `pod ${gate.namespace}/${gate.pod} syncs more often than ${perMinute} a minute (bursts of ${burst}; GUARD_SERVICE_SYNCS_PER_MINUTE, GUARD_SERVICE_SYNC_BURST): nothing was merged; keep the pile and retry in ${wait} s`,
    { retryAfterSeconds: wait },
  );
}

/**
 * A sync message without its pile — its alerts and compromised flag, for the core to check as
 * always — and the samples the pile says it holds. Refused as the core would refuse a message that
 * is not a JSON object.
 */
function withoutPile(text: string): { text: string; samples: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError('GUARD_API_INVALID', `invalid sync message: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError('GUARD_API_INVALID', 'invalid sync message: not a JSON object');
  const { pile, alerts, compromised } = value as { pile?: { count?: unknown } | null; alerts?: unknown; compromised?: unknown };
  const count = pile?.count;
  return {
    text: JSON.stringify({ alerts: alerts ?? null, compromised: compromised ?? false }),
    samples: typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0,
  };
}

/** The sync's id (undefined without one); a malformed or repeated header is refused, nothing merged. */
function syncIdOf(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !SYNC_ID.test(value)) {
    throw new ApiError('GUARD_API_INVALID', `${SYNC_ID_HEADER} must be one value of 1 to 64 letters, digits, '.', '_', ':' or '-'`);
  }
  return value;
}

/**
 * The sync id as the learner keeps it: the gate's instance bound to the pod its token was reviewed
 * for — 8 hex digits of a digest of the pod, 8 of a digest of pod and instance — then
 * `:<sequence>`. A gate names its own instance, so without the binding a compromised pod that
 * learned another pod's instance (it is in the Guardian's spec.syncs) could send that instance's
 * next sequences first and have the other pod's samples and alerts taken for repeats; the pod part
 * lets the learner bound the instances it keeps per pod. An id without a sequence is kept as it
 * is: never a repeat.
 */
export function scopedSyncId(pod: string, syncId: string): string {
  const id = parseSyncId(syncId);
  if (id === null) return syncId;
  const podPart = createHash('sha256').update(pod).digest('hex').slice(0, 8);
  const instance = createHash('sha256').update(pod).update('\0').update(id.instance).digest('hex').slice(0, 8);
  return `${podPart}${instance}:${id.seq}`;
}

function asApiError(err: unknown): unknown {
  if (err instanceof LearnerError) return new ApiError('GUARD_API_UNAVAILABLE', `${err.message}; retry later`, { cause: err });
  if (isStoreError(err, 'GUARD_STORE_INVALID_NAME')) return new ApiError('GUARD_API_FORBIDDEN', err.message, { cause: err });
  if (isStoreError(err)) return new ApiError('GUARD_API_UNAVAILABLE', `${err.message}; retry later`, { cause: err });
  return err;
}

function outcomeOf(status: number): SyncOutcome {
  if (status === 200) return 'ok';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}
