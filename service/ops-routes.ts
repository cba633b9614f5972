// Operations endpoints: /healthz (the process answers), /readyz (the store answers and the
// learner runs), /metrics (Prometheus text). Unauthenticated, as kubelet probes and scrapers are.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from './service-context.js';

/** A store read of a name no Guardian has: absent is fine, an error means the store is unreachable. */
const PROBE_NAMESPACE = 'guard-readyz';
const PROBE_CACHE_MS = 2_000;

export async function opsRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  let probe: { at: number; result: Promise<string | null> } | null = null;
  const storeProblem = (): Promise<string | null> => {
    const now = Date.now();
    if (!probe || now - probe.at > PROBE_CACHE_MS) {
      probe = {
        at: now,
        result: ctx.store.get(PROBE_NAMESPACE, PROBE_NAMESPACE).then(
          () => null,
          (err: unknown) => (err as Error)?.message ?? String(err),
        ),
      };
    }
    return probe.result;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problems: string[] = [];
    if (!ctx.learnerRunning()) problems.push('the learner is not running');
    const store = await storeProblem();
    if (store) problems.push(`the ${ctx.store.kind} store is not reachable: ${store}`);
    if (problems.length > 0) return reply.code(503).send({ status: 'not ready', problems });
    return { status: 'ready' };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
