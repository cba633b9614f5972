// What a listener hands the gate, whichever accepted the connection (uws-listener.ts,
// node-listener.ts): one call per request head, with the client's side of the exchange.
import type { HeaderLine } from '../core/index.js';
import type { ClientResponse } from './client-response.js';

/** Where a listener delivers requests (proxy.ts). */
export interface Gateway {
  /**
   * A request head arrived: `rawPath` and `rawQuery` as the request line carried them (the query
   * without '?'), header lines with lower-case names in their order, the peer's address as text.
   */
  request(client: ClientResponse, method: string, rawPath: string, rawQuery: string, headers: HeaderLine[], remote: string): void;
}

export interface Listening {
  /** The port bound (useful when 0 was asked). */
  port: number;
  /** Stop accepting new connections; those open go on. */
  stopListening(): void;
  /** Close every connection. */
  close(): void;
}
