// The service side of the differential suite: a node:http server that reads every request the way
// common backends do — the query by WHATWG URLSearchParams, Node's querystring (Express's simple
// parser), fast-querystring (fastify's) and qs (Express's extended parser); the body, decoded by its
// Content-Encoding, by JSON.parse whatever Content-Type says, line by line (NDJSON and streaming
// decoders), by URLSearchParams for forms, and by undici's and busboy's multipart parsers — and
// keeps what each parser saw.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import querystring from 'node:querystring';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import Busboy from 'busboy';
import { parse as fastParse } from 'fast-querystring';
import qs from 'qs';

/** One value a parser read: where (`query`, `json`, `form`, `multipart field`…), its key and value. */
export interface Seen {
  parser: string;
  key: string;
  value: string;
}

export interface ParsedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  /** Query pieces as the query parsers read them. */
  query: Seen[];
  /** Body fields as the body parsers read them (files are not fields: they are listed in `files`). */
  fields: Seen[];
  /** Parts a multipart parser took for a file: its media type, size and file name (not its content). */
  files: Seen[];
  /** The body as received (before decoding). */
  bodyBytes: number;
}

function flattenJson(v: unknown, path: string, out: Seen[], parser: string): void {
  if (v === null || typeof v !== 'object') {
    out.push({ parser, key: path, value: v === null ? 'null' : String(v) });
    return;
  }
  if (Array.isArray(v)) {
    for (const e of v) flattenJson(e, path, out, parser);
    return;
  }
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    const p = path === '' ? k : `${path}:${k}`;
    // Keys are what the service reads too: a key is a value an attacker chooses.
    out.push({ parser, key: p, value: k });
    flattenJson(e, p, out, parser);
  }
}

function flattenQs(v: unknown, path: string, out: Seen[]): void {
  if (v === null || typeof v !== 'object') {
    out.push({ parser: 'qs', key: path, value: String(v) });
    return;
  }
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    out.push({ parser: 'qs', key: path === '' ? k : `${path}[${k}]`, value: k });
    flattenQs(e, path === '' ? k : `${path}[${k}]`, out);
  }
}

function decodeBody(raw: Buffer, encoding: string | undefined): Buffer {
  if (!encoding) return raw;
  let b = raw;
  // Codings are applied in order: undone last first.
  for (const coding of encoding.split(',').map((c) => c.trim().toLowerCase()).reverse()) {
    try {
      if (coding === 'gzip' || coding === 'x-gzip') b = zlib.gunzipSync(b);
      else if (coding === 'deflate') b = zlib.inflateSync(b);
      else if (coding === 'br') b = zlib.brotliDecompressSync(b);
    } catch {
      return b;
    }
  }
  return b;
}

async function multipartByUndici(body: Buffer, contentType: string, out: ParsedRequest): Promise<void> {
  try {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
    for (const [k, v] of form.entries()) {
      if (typeof v === 'string') out.fields.push({ parser: 'undici multipart', key: k, value: v });
      else out.files.push({ parser: 'undici multipart', key: k, value: `${v.type} ${v.size} ${v.name}` });
    }
  } catch {
    // not multipart to undici
  }
}

async function multipartByBusboy(body: Buffer, headers: IncomingMessage['headers'], out: ParsedRequest): Promise<void> {
  let bb: ReturnType<typeof Busboy>;
  try {
    bb = Busboy({ headers: headers as Record<string, string> });
  } catch {
    return;
  }
  bb.on('field', (name, value) => out.fields.push({ parser: 'busboy', key: name, value }));
  bb.on('file', (name, stream, info) => {
    let size = 0;
    stream.on('data', (c: Buffer) => (size += c.length));
    stream.on('end', () => out.files.push({ parser: 'busboy', key: name, value: `${info.mimeType} ${size} ${info.filename}` }));
  });
  const done = new Promise<void>((resolve) => {
    bb.on('close', () => resolve());
    bb.on('error', () => resolve());
  });
  Readable.from([body]).pipe(bb);
  await done;
}

/** Everything the parsers read of one request. */
export async function parseAsServicesDo(req: IncomingMessage, raw: Buffer): Promise<ParsedRequest> {
  const out: ParsedRequest = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, query: [], fields: [], files: [], bodyBytes: raw.length };
  const q = req.url!.includes('?') ? req.url!.slice(req.url!.indexOf('?') + 1) : '';
  for (const [k, v] of new URL(req.url!, 'http://service').searchParams) out.query.push({ parser: 'URLSearchParams', key: k, value: v });
  for (const [k, v] of Object.entries(querystring.parse(q))) for (const one of ([] as string[]).concat(v ?? [])) out.query.push({ parser: 'querystring', key: k, value: one });
  for (const [k, v] of Object.entries(fastParse(q) as Record<string, string | string[]>)) for (const one of ([] as string[]).concat(v)) out.query.push({ parser: 'fast-querystring', key: k, value: one });
  flattenQs(qs.parse(q, { depth: 5, parameterLimit: 1000 }), '', out.query);

  const body = decodeBody(raw, req.headers['content-encoding']);
  const text = body.toString('utf8');
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length > 0) {
    // JSON whatever Content-Type says, the whole body, then line by line.
    try {
      flattenJson(JSON.parse(text), '', out.fields, 'JSON.parse');
    } catch {
      // not one JSON document
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        flattenJson(JSON.parse(line), '', out.fields, 'NDJSON');
      } catch {
        // not a JSON line
      }
    }
    if (type.startsWith('application/x-www-form-urlencoded') || type === '') {
      for (const [k, v] of new URLSearchParams(text)) out.fields.push({ parser: 'form', key: k, value: v });
    }
    if (type.includes('multipart/')) {
      await multipartByUndici(body, req.headers['content-type']!, out);
      await multipartByBusboy(body, req.headers, out);
    }
  }
  return out;
}

export interface ParsersBackend {
  port: number;
  received: ParsedRequest[];
  close(): Promise<void>;
}

/** The backend: answers 200 with a small JSON once it has parsed the request. */
export async function startParsersBackend(): Promise<ParsersBackend> {
  const received: ParsedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void parseAsServicesDo(req, Buffer.concat(chunks)).then((parsed) => {
        received.push(parsed);
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
