// guard-ui's files, served by guard-service on the people API's origin: the page signs
// in with the people token and calls /api/v1 itself, so the files hold no secret and are served
// without authentication. They are the Vite build in build/ui, read once at start into memory: a
// URL only ever selects one of those files, never a path on disk. Gzipped copies are kept for
// clients that accept them.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from './service-context.js';

/** Where the page may load from and talk to: itself only ('wasm-unsafe-eval' compiles the core). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

interface UiFile {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  /** Vite names built assets by content hash: they never change under their name. */
  immutable: boolean;
}

/** The built UI: file path below /ui/ → file. Empty when the UI was not built. */
export function readUiFiles(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  if (!existsSync(dir)) return files;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const ext = name.slice(name.lastIndexOf('.'));
      const type = TYPES[ext];
      if (!type) continue;
      const body = readFileSync(path);
      const gzip = body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
      const rel = relative(dir, path).split(sep).join('/');
      files.set(rel, { type, body, gzip: gzip && gzip.length < body.length ? gzip : null, immutable: rel.startsWith('assets/') });
    }
  };
  walk(dir);
  return files;
}

/** build/ui whether this code runs from source (service/) or compiled (build/js/service/). */
export function defaultUiDir(): string {
  for (const rel of ['../build/ui', '../../ui']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(path, 'index.html'))) return path;
  }
  return fileURLToPath(new URL('../build/ui', import.meta.url));
}

export async function uiRoutes(app: FastifyInstance, ctx: ServiceContext, dir: string = defaultUiDir()): Promise<void> {
  const files = readUiFiles(dir);
  if (!files.has('index.html')) ctx.log.warn({ dir }, 'guard-ui is not built (run npm run build): /ui/ answers 503');

  const send = (req: FastifyRequest, reply: FastifyReply, file: UiFile): FastifyReply => {
    void reply
      .header('content-type', file.type)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('vary', 'accept-encoding');
    if (file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(file.gzip);
    }
    return reply.send(file.body);
  };

  app.get('/', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/*', async (req, reply) => {
    const path = (req.params as { '*': string })['*'] || 'index.html';
    const file = files.get(path);
    if (file) return send(req, reply, file);
    if (!files.has('index.html')) {
      return reply.code(503).type('text/plain; charset=utf-8').send('guard-ui is not built in this installation: run npm run build, then restart guard-service\n');
    }
    return reply.code(404).type('text/plain; charset=utf-8').send(`no file /ui/${path}\n`);
  });
}
