// The gate's default listener, on uWebSockets.js: every request head to the Gateway, WebSocket
// upgrades to the upgrade path. What this binding does not serve (HTTP/1.0, methods outside its
// list, more than about 48 header lines, some malformed heads) never reaches the gate: it hangs
// until uWS's idle timeout or closes the connection (docs/threat-model.md; node-listener.ts serves
// them).
import type { HeaderLine } from '../core/index.js';
import { UwsClientResponse } from './client-response.js';
import type { Gateway, Listening } from './listener.js';
import { createApp, listen, peerAddress, serveWebSockets, type CompleteUpgrade, type HttpRequest } from './uws.js';
import type { RelayData, WebSocketRelays } from './websocket.js';

export interface UwsListenerOptions {
  port: number;
  host: string;
  allowFallback?: boolean;
  warn(message: string): void;
  relays: WebSocketRelays;
  /** A WebSocket upgrade request: decided, then completed with `complete` or answered. */
  upgrade(client: UwsClientResponse, method: string, rawPath: string, rawQuery: string, headers: HeaderLine[], remote: string, key: string, protocols: string, complete: CompleteUpgrade<RelayData>): void;
}

// uWS calls back once per header line; one callback for all requests, filling `collecting`.
const NO_HEADERS = Object.freeze([]) as unknown as HeaderLine[];
let collecting: HeaderLine[] = NO_HEADERS;
/**
 * Whether the request being read asked to close its connection after the answer, by uWS's own rule
 * (the value `close`, in any case: uWS then closes; a list such as `keep-alive, close` it ignores).
 */
let closeAsked = false;
function collectHeader(name: string, value: string): void {
  collecting.push([name, value]);
  if (name.length === 10 && value.length === 5 && name === 'connection' && value.toLowerCase() === 'close') closeAsked = true;
}

/** A request's header lines (names lower-case), read now: `req` is invalid once the handler returns. */
function headerLines(req: HttpRequest): HeaderLine[] {
  const headers: HeaderLine[] = [];
  collecting = headers;
  closeAsked = false;
  req.forEach(collectHeader);
  collecting = NO_HEADERS;
  return headers;
}

export async function listenUws(gateway: Gateway, opts: UwsListenerOptions): Promise<Listening> {
  const app = createApp({ allowFallback: opts.allowFallback, warn: opts.warn });
  serveWebSockets(
    app,
    '/*',
    opts.relays.route((res, req, complete) => {
      const lines = headerLines(req);
      const client = new UwsClientResponse(res, closeAsked);
      opts.upgrade(client, req.getCaseSensitiveMethod(), req.getUrl(), req.getQuery() ?? '', lines, peerAddress(res), req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), complete);
    }),
  );
  app.any('/*', (res, req) => {
    const lines = headerLines(req);
    gateway.request(new UwsClientResponse(res, closeAsked), req.getCaseSensitiveMethod(), req.getUrl(), req.getQuery() ?? '', lines, peerAddress(res));
  });
  return listen(app, opts.port, opts.host);
}
