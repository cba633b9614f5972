// The compatibility suite's fastify service: a small JSON API as fastify serves one — its own 404
// and 400 answers, 201 with Location, 204, a 301 redirect, several cookies and an ETag with 304.
import Fastify, { type FastifyInstance } from 'fastify';

export interface FastifyService {
  origin: string;
  close(): Promise<void>;
}

const ITEMS = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}`, price: 10 + i }));

export async function startFastifyService(host = '127.0.0.1'): Promise<FastifyService> {
  const app: FastifyInstance = Fastify({ logger: false });
  app.get('/api/items', async () => ({ items: ITEMS }));
  app.get<{ Params: { id: string } }>('/api/items/:id', async (req, reply) => {
    const item = ITEMS[Number(req.params.id)];
    if (!item) return reply.code(404).send({ error: 'no such item' });
    const etag = `"item-${item.id}-v1"`;
    if (req.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
    return reply.header('etag', etag).header('cache-control', 'private, max-age=0').send(item);
  });
  app.post<{ Body: { name?: string } }>('/api/items', async (req, reply) => {
    if (typeof req.body?.name !== 'string') return reply.code(400).send({ error: 'name is required' });
    return reply.code(201).header('location', '/api/items/20').send({ id: 20, name: req.body.name });
  });
  app.delete('/api/items/:id', async (_req, reply) => reply.code(204).send());
  app.get('/old-items', async (_req, reply) => reply.redirect('/api/items', 301));
  app.post('/login', async (_req, reply) =>
    reply
      .header('set-cookie', ['sid=9b1f; Path=/; HttpOnly; Secure; SameSite=Strict', 'csrf=77aa; Path=/', 'last=login; Path=/; Max-Age=60'])
      .send({ ok: true }),
  );
  await app.listen({ port: 0, host });
  const { port } = app.server.address() as { port: number };
  return { origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => app.close() };
}
