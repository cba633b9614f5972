// The gate's listener on Node's own HTTP parser (GUARD_LISTENER=node): slower than uWebSockets.js,
// but it serves what that binding drops without an answer — HTTP/1.0, every method, heads as large
// as Node allows, malformed requests answered 400 at once — and it can bound its connections. The
// same Gateway receives its requests, so decisions are the same on either listener.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HeaderLine } from '../core/index.js';
import type { Logger } from '../log/index.js';
import type { Gateway, Listening } from './listener.js';
import { NodeClientResponse } from './node-client-response.js';
import { UwsListenError } from './uws.js';

export interface NodeListenerOptions {
  port: number;
  host: string;
  /** Largest request head (request line and header lines), bytes; beyond, 431. */
  maxHeaderSize: number;
  /** Time for a client to send a request head; beyond, 408. */
  headersTimeoutMs: number;
  /** Time for a client to send a whole request (head and body); beyond, 408. 0: no limit. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept (announced to clients with Keep-Alive). */
  keepAliveTimeoutMs: number;
  /** Client connections at once; beyond, new ones are dropped. */
  maxConnections: number;
  log: Logger;
  /** A request the parser refused (answered 400, 408 or 431 without reaching the gate). */
  onMalformed(reason: string): void;
  /** A connection closed unanswered because GUARD_MAX_CONNECTIONS were open. */
  onDropped(): void;
  /** An upgrade request (WebSocket), with the socket and the bytes already read past its head. */
  onUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Header lines of a Node request, names lower-cased, in their order, repeated lines kept apart. */
export function headerLines(req: IncomingMessage): HeaderLine[] {
  const raw = req.rawHeaders;
  const out: HeaderLine[] = new Array(raw.length >> 1);
  for (let i = 0; i + 1 < raw.length; i += 2) out[i >> 1] = [raw[i]!.toLowerCase(), raw[i + 1]!];
  return out;
}

/** The peer's address as uWS reports it: an IPv4 client of a dual-stack socket without its ::ffff: prefix. */
export function peerOf(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

const ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  ERR_HTTP_HEADERS_TIMEOUT: '408 Request Timeout',
};

/**
 * Listen on host:port; `::` listens on every address, IPv6 and IPv4, and falls back to `0.0.0.0`
 * where the kernel has no IPv6. A port in use (or not permitted) is a UwsListenError.
 */
export async function listenServer(server: Server, port: number, host: string): Promise<void> {
  const attempt = (at: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ port, host: at, ipv6Only: false }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  try {
    await attempt(host);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      try {
        return await attempt('0.0.0.0');
      } catch {
        // reported below
      }
    }
    throw new UwsListenError(host, port);
  }
}

export async function listenNode(gateway: Gateway, opts: NodeListenerOptions): Promise<Listening> {
  const server: Server = createServer(
    {
      maxHeaderSize: opts.maxHeaderSize,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
      keepAliveTimeout: opts.keepAliveTimeoutMs,
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      gateway.request(new NodeClientResponse(req, res), req.method ?? '', q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1), headerLines(req), peerOf(req.socket));
    },
  );
  server.maxConnections = opts.maxConnections;
  // Node closes a connection over maxConnections before any byte is read: the only trace is this.
  server.on('drop', () => opts.onDropped());
  // A request the parser refused never reaches the gate: answered here, at once, and counted.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const code = err.code ?? 'ERR';
    opts.onMalformed(code);
    // A response already started (the body of its request broke off): it can only be cut short.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || current?.headersSent) return void socket.destroy();
    const status = ANSWERS[code] ?? '400 Bad Request';
    const body = `guard-gate: ${status.slice(4).toLowerCase()}\n`;
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
  if (opts.onUpgrade) server.on('upgrade', opts.onUpgrade);
  else server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));

  await listenServer(server, opts.port, opts.host);
  let open = true;
  const stopListening = (): void => {
    if (!open) return;
    open = false;
    server.close();
  };
  return {
    port: (server.address() as AddressInfo).port,
    stopListening,
    close() {
      stopListening();
      server.closeAllConnections();
    },
  };
}
