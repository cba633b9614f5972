// The one adapter around uWebSockets.js (docs/architecture.md): load the binding, refuse its slow JavaScript
// fallback unless explicitly allowed, create an App, listen (port 0 allowed), close. Everything
// else in the gate talks to uWS through the types re-exported here, so the binding can be swapped.
import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';
import { RecentText } from './recent-text.js';

export type TemplatedApp = UwsTypes.TemplatedApp;
export type HttpResponse = UwsTypes.HttpResponse;
export type HttpRequest = UwsTypes.HttpRequest;
export type WebSocket<UserData> = UwsTypes.WebSocket<UserData>;

/** The native binary of uWebSockets.js did not load and the JavaScript fallback would be used. */
export class UwsFallbackError extends Error {
  readonly code = 'GUARD_UWS_FALLBACK';
  constructor(detail: string) {
    super(
      `uWebSockets.js native binary not loaded (${detail}); refusing to start on the slow JavaScript fallback ` +
        `(pass allowFallback to override)`,
    );
    this.name = 'UwsFallbackError';
  }
}

/** Listening failed (port in use, permission, bad host). */
export class UwsListenError extends Error {
  readonly code = 'GUARD_LISTEN_FAILED';
  constructor(host: string, port: number) {
    super(`cannot listen on ${host}:${port} (port in use or not permitted)`);
    this.name = 'UwsListenError';
  }
}

export interface UwsBinding {
  uws: typeof UwsTypes;
  native: boolean;
}

let loaded: UwsBinding | undefined;

/** Load the binding once and report whether the native binary is the one in use. */
export function loadUws(): UwsBinding {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as typeof UwsTypes;
  loaded = { uws, native: detectNative(Object.keys(require.cache)) };
  return loaded;
}

export interface UwsOptions {
  /** Start even on the JavaScript fallback (with a loud warning through `warn`). */
  allowFallback?: boolean;
  /**
   * A single function, not a Logger: the one line this module writes is for whoever starts the
   * listener, and callers without a logger (tests, benchmarks) get console.warn.
   */
  warn?: (msg: string) => void;
}

/** Whether a native uWS binary is among the loaded modules (the fallback loads only .js files). */
export function detectNative(loadedModulePaths: readonly string[]): boolean {
  return loadedModulePaths.some((k) => /uWebSockets\.js[\\/].*\.node$/.test(k));
}

/** Throw UwsFallbackError on the fallback unless allowed; warn loudly when allowed. */
export function assertNative(native: boolean, opts: UwsOptions = {}): void {
  if (native) return;
  const detail = process.env.UWS_USE_FALLBACK
    ? 'UWS_USE_FALLBACK is set'
    : `no binary for ${process.platform}/${process.arch}/ABI ${process.versions.modules}`;
  if (!opts.allowFallback) throw new UwsFallbackError(detail);
  (opts.warn ?? console.warn)(`WARNING: uWebSockets.js JavaScript fallback in use (${detail}); performance is degraded`);
}

/** A new uWS App; throws UwsFallbackError on the fallback unless allowed. */
export function createApp(opts: UwsOptions = {}): TemplatedApp {
  const { uws, native } = loadUws();
  assertNative(native, opts);
  return uws.App();
}

export interface Listening {
  /** The actual port (useful when 0 was asked). */
  port: number;
  /** Stop accepting new connections (existing ones keep running until the App is closed). */
  stopListening(): void;
  /** Close the listen socket and every open connection. */
  close(): void;
}

/**
 * Listen on host:port (port 0 = any free port) and resolve with the actual port. `::` listens on
 * every address, IPv6 and IPv4; where the kernel has no IPv6 it falls back to `0.0.0.0`.
 */
export function listen(app: TemplatedApp, port: number, host = '0.0.0.0'): Promise<Listening> {
  const { uws } = loadUws();
  return new Promise((resolve, reject) => {
    const attempt = (at: string, fallback: string | null): void => {
      app.listen(at, port, (sock) => {
        if (!sock) return fallback !== null ? attempt(fallback, null) : reject(new UwsListenError(host, port));
        let open = true;
        const stopListening = (): void => {
          if (open) {
            open = false;
            uws.us_listen_socket_close(sock);
          }
        };
        resolve({
          port: uws.us_socket_local_port(sock),
          stopListening,
          close() {
            stopListening();
            const closable = app as unknown as { close?: () => void };
            if (typeof closable.close === 'function') closable.close();
          },
        });
      });
    };
    attempt(host, host === '::' ? '0.0.0.0' : null);
  });
}

/**
 * A peer address as other tools print it, from the bytes uWS gives (4 for IPv4; 16 for IPv6, an
 * IPv4 client of a dual-stack listener as an IPv4-mapped address): IPv4 dotted, an IPv4-mapped
 * address as dotted IPv4, IPv6 in its canonical text (RFC 5952: lower case, no leading zeros, the
 * longest run of two or more zero groups as "::").
 */
export function addressText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return '';
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[i] === 0;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of zero groups (the first of equal runs), if it is two groups or more.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

// A sidecar's clients are few (the mesh proxy, the ingress): their address text is kept, not remade.
const peers = new RecentText((_text, bytes) => addressText(bytes));

/**
 * The client's address as text (IPv4 dotted, or IPv6), as uWS reports the peer of the connection.
 * Asked for as bytes: uWS's text form costs a formatted string and a larger buffer per request.
 * Copied when new, as every ArrayBuffer uWS hands out is valid only synchronously.
 */
export function peerAddress(res: HttpResponse): string {
  return peers.of(new Uint8Array(res.getRemoteAddress()));
}

/** Completes a client's upgrade: 101 with `headers` (besides the handshake's own), then WebSocket. */
export type CompleteUpgrade<UserData> = (
  userData: UserData,
  secWebSocketKey: string,
  protocol: string,
  extensions: string,
  headers: ReadonlyArray<readonly [string, string]>,
) => void;

/**
 * A WebSocket route. `upgrade` gets `complete`, which answers the client's upgrade (call it inside
 * res.cork when the answer is asynchronous; res.onAborted must be set meanwhile).
 */
export interface WebSocketRoute<UserData> {
  /** Largest message read from a client; uWS drops the connection (no close frame) beyond it. */
  maxPayloadLength: number;
  /** Bytes buffered towards a client beyond which send() drops a message (returns 2). */
  maxBackpressure: number;
  upgrade(res: HttpResponse, req: HttpRequest, complete: CompleteUpgrade<UserData>): void;
  open(ws: WebSocket<UserData>): void;
  message(ws: WebSocket<UserData>, data: ArrayBuffer, isBinary: boolean): void;
  drain(ws: WebSocket<UserData>): void;
  close(ws: WebSocket<UserData>, code: number, reason: ArrayBuffer): void;
}

/**
 * Serve WebSocket upgrades on `pattern` (uWS hands only requests with a valid Sec-WebSocket-Key here;
 * others fall through to the HTTP routes). No compression (this build has none); idle clients are
 * pinged, and closed after 120 s without an answer.
 */
export function serveWebSockets<UserData>(app: TemplatedApp, pattern: string, route: WebSocketRoute<UserData>): void {
  const { uws } = loadUws();
  app.ws<UserData>(pattern, {
    compression: uws.DISABLED,
    maxPayloadLength: route.maxPayloadLength,
    maxBackpressure: route.maxBackpressure,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) =>
      route.upgrade(res, req, (userData, key, protocol, extensions, headers) => {
        // Headers of an upgrade answer need the status written first, or uWS writes "200 OK".
        if (headers.length > 0) {
          res.writeStatus('101 Switching Protocols');
          for (const [k, v] of headers) res.writeHeader(k, v);
        }
        res.upgrade(userData, key, protocol, extensions, context);
      }),
    open: route.open,
    message: route.message,
    drain: route.drain,
    close: route.close,
  });
}
