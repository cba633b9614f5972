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
function collectHeader(name: string, value: string): void {
  collecting.push([name, value]);
}

/** A request's header lines (names lower-case), read now: `req` is invalid once the handler returns. */
function headerLines(req: HttpRequest): HeaderLine[] {
  const headers: HeaderLine[] = [];
  collecting = headers;
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
      const client = new UwsClientResponse(res);
      opts.upgrade(client, req.getCaseSensitiveMethod(), req.getUrl(), req.getQuery() ?? '', headerLines(req), peerAddress(res), req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), complete);
    }),
  );
  app.any('/*', (res, req) => {
    gateway.request(new UwsClientResponse(res), req.getCaseSensitiveMethod(), req.getUrl(), req.getQuery() ?? '', headerLines(req), peerAddress(res));
  });
  return listen(app, opts.port, opts.host);
}
