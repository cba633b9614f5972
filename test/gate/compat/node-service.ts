// The compatibility suite's Node `http` service: one handler per behaviour a real service shows
// over HTTP/1.1 — pages with ETags, redirects, several cookies, negotiated gzip/br, Server-Sent
// Events, a chunked answer with a pause, 103/102 before the answer, custom reason phrases,
// trailers, heads over 16 KiB, an early 401 to an upload, slow answers, long streams that honour
// backpressure, an echo of what arrived, and a WebSocket echo (the `ws` package). Deterministic:
// the same request gets the same bytes, so an answer through the gate can be compared with the
// direct one.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';

export interface NodeService {
  origin: string;
  port: number;
  /** 'stream-closed' (id, bytesWritten, finished), 'stream-blocked' (id, bytesWritten), 'sse-closed' (id), 'request' (method, url). */
  events: EventEmitter;
  /** Bytes written so far by the stream with this id (`/stream?id=`). */
  written(id: string): number;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><html><head><title>shop</title></head><body><h1>shop</h1>${'<p>fresh bread and cheese</p>'.repeat(200)}</body></html>\n`;
const PAGE_ETAG = `"page-${createHash('sha256').update(PAGE).digest('hex').slice(0, 16)}"`;
const JSON_BODY = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })) });
const ENCODED = Buffer.from(`<!doctype html><html><body>${'<p>compressible text, again and again</p>\n'.repeat(500)}</body></html>\n`);
const GZIPPED = gzipSync(ENCODED);
const BROTLI = brotliCompressSync(ENCODED);

/** A Content-Security-Policy of about 20 KiB (one source per allowed host) and 40 cookies of 350 bytes. */
const BIG_CSP = `default-src 'self'; script-src 'self' ${Array.from({ length: 700 }, (_, i) => `https://cdn${i}.example.com`).join(' ')}`;
const MANY_COOKIES = Array.from({ length: 40 }, (_, i) => `pref${i}=${'v'.repeat(320)}; Path=/; SameSite=Lax`);

const BLANK = '<!doctype html><html><head><title>blank</title><link rel="icon" href="data:,"></head><body>blank</body></html>\n';
const FORM = `<!doctype html><html><head><title>form</title><link rel="icon" href="data:,"></head><body>
<form id="f" method="post" action="/echo" enctype="multipart/form-data"><input name="title" value="holiday"><input type="file" name="photo"><button>send</button></form></body></html>\n`;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function query(req: IncomingMessage): URLSearchParams {
  const q = (req.url ?? '').indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}

export async function startNodeService(host = '127.0.0.1'): Promise<NodeService> {
  const events = new EventEmitter();
  const written = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/blank': (_req, res) => send(res, 200, 'text/html; charset=utf-8', BLANK),
    '/form': (_req, res) => send(res, 200, 'text/html; charset=utf-8', FORM),
    '/page': (req, res) => {
      const headers = { etag: PAGE_ETAG, 'cache-control': 'no-cache', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' };
      if (req.headers['if-none-match'] === PAGE_ETAG) {
        res.writeHead(304, headers);
        return void res.end();
      }
      send(res, 200, 'text/html; charset=utf-8', PAGE, headers);
    },
    '/json': (_req, res) => send(res, 200, 'application/json', JSON_BODY, { 'x-total-count': '50' }),
    '/moved': (_req, res) => send(res, 301, 'text/plain', 'moved\n', { location: '/page' }),
    '/cookies': (_req, res) =>
      send(res, 200, 'text/plain; charset=utf-8', 'cookies set\n', {
        'set-cookie': ['session=3f9a2c; Path=/; HttpOnly; SameSite=Lax', 'theme=dark; Path=/; Max-Age=3600', 'consent=yes; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT'],
      }),
    '/encoded': (req, res) => {
      const accept = String(req.headers['accept-encoding'] ?? '');
      const [body, coding] = /\bbr\b/.test(accept) ? [BROTLI, 'br'] : /\bgzip\b/.test(accept) ? [GZIPPED, 'gzip'] : [ENCODED, null];
      send(res, 200, 'text/html; charset=utf-8', body, coding ? { 'content-encoding': coding, vary: 'Accept-Encoding' } : { vary: 'Accept-Encoding' });
    },
    '/sse': (req, res) => {
      // The first event at once, then one every 250 ms until the client goes away.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 300\nid: 1\ndata: hello\n\n');
      let n = 1;
      const t = setInterval(() => res.write(`id: ${++n}\ndata: tick ${n}\n\n`), 250);
      res.on('close', () => {
        clearInterval(t);
        events.emit('sse-closed', query(req).get('id') ?? '');
      });
    },
    '/chunked': (_req, res) => {
      // The first line at once, the rest a second later: a client of the gate must see the first line before the end.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write('first line\n');
      later(1000, () => res.end('the rest, a second later\n'));
    },
    '/early-hints': (_req, res) => {
      res.writeEarlyHints({ link: ['</css/site.css>; rel=preload; as=style', '</js/app.js>; rel=preload; as=script'] });
      later(30, () => send(res, 200, 'text/html; charset=utf-8', BLANK, { link: '</css/site.css>; rel=preload; as=style' }));
    },
    '/processing': (_req, res) => {
      res.writeProcessing();
      later(30, () => {
        res.writeProcessing();
        later(30, () => send(res, 200, 'application/json', '{"report":"done"}'));
      });
    },
    '/echo': (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        const hops = req.rawHeaders.filter((_, i) => i % 2 === 0 && /^x-hop-/i.test(req.rawHeaders[i]!)).length;
        send(res, 200, 'application/json', JSON.stringify({ method: req.method, url: req.url, hops, bodyBytes: bytes, bodySha256: hash.digest('hex'), contentType: req.headers['content-type'] ?? null }));
      });
    },
    '/slow': (req, res) => {
      req.resume();
      const ms = Number(query(req).get('ms') ?? 2000);
      later(ms, () => send(res, 200, 'application/json', `{"waited":${ms}}`));
    },
    '/big-headers': (_req, res) => send(res, 200, 'text/html; charset=utf-8', BLANK, { 'content-security-policy': BIG_CSP, 'set-cookie': MANY_COOKIES }),
    '/upload-401': (_req, res) => {
      // Refused on its head, the body never read (an expired token on a large upload).
      send(res, 401, 'application/json', '{"error":"token expired"}', { 'www-authenticate': 'Bearer error="invalid_token"', connection: 'close' });
    },
    '/trailers': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', trailer: 'x-checksum, server-timing' });
      res.write('part one\n');
      res.write('part two\n');
      res.addTrailers({ 'x-checksum': 'sha256=abc123', 'server-timing': 'db;dur=53' });
      res.end();
    },
    '/stream': (req, res) => streamBytes(req, res),
  };

  /** `/stream?id=&bytes=&chunk=`: bytes of a known pattern, written only as fast as the client takes them. */
  function streamBytes(req: IncomingMessage, res: ServerResponse): void {
    const q = query(req);
    const id = q.get('id') ?? '';
    const total = Number(q.get('bytes') ?? 1 << 20);
    const chunkSize = Number(q.get('chunk') ?? 64 * 1024);
    const chunk = Buffer.alloc(chunkSize, id.charCodeAt(0) || 0x61);
    let sent = 0;
    written.set(id, 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const pump = (): void => {
      while (sent < total) {
        const piece = chunk.subarray(0, Math.min(chunkSize, total - sent));
        sent += piece.length;
        written.set(id, sent);
        if (!res.write(piece)) {
          events.emit('stream-blocked', id, sent);
          return void res.once('drain', pump);
        }
      }
      res.end();
    };
    res.on('close', () => events.emit('stream-closed', id, sent, res.writableFinished));
    pump();
  }

  const server: Server = createServer((req, res) => {
    events.emit('request', req.method, req.url);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const reason = /^\/reason\/(\d{3})$/.exec(path);
    if (reason) {
      req.resume();
      const code = Number(reason[1]);
      const body = `status ${code}\n`;
      res.writeHead(code, REASONS[code] ?? 'Custom Reason', { 'content-type': 'text/plain', 'content-length': body.length });
      return void res.end(body);
    }
    const redirect = /^\/redirect\/(\d+)$/.exec(path);
    if (redirect) {
      req.resume();
      const n = Number(redirect[1]);
      return send(res, 302, 'text/plain', 'found\n', { location: n > 1 ? `/redirect/${n - 1}` : '/page' });
    }
    const route = routes[path] ?? (path.startsWith('/echo/') ? routes['/echo'] : undefined);
    if (!route) {
      req.resume();
      return send(res, 404, 'text/plain', 'not found\n');
    }
    route(req, res);
  });
  server.keepAliveTimeout = 5_000;
  // WebSocket echo on /ws: text as text, binary as binary.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/ws')) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    events,
    written: (id) => written.get(id) ?? 0,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reason phrases of /reason/NNN: not the standard ones, so that a proxy that rewrites them shows. */
export const REASONS: Record<number, string> = {
  200: 'Everything Fine',
  201: 'Made It',
  404: 'No Such Shelf',
  409: 'Already There',
  503: 'Back Soon',
};
