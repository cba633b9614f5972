// WebSocket upgrade requests on the uWS listener: decided like any request (guard, then plugins);
// once allowed, the service's side is opened (websocket.ts), and only when the service accepted is
// the client's upgrade completed, with the subprotocol the service chose. The 101 is the exchange's
// response, decided too. The messages that follow are relayed by WebSocketRelays, not profiled.
import { performance } from 'node:perf_hooks';
import type { HeaderLine } from '../core/index.js';
import type { UwsClientResponse } from './client-response.js';
import type { Exchange } from './exchange.js';
import { failedChain, type Exchanges } from './exchanges.js';
import { HOP_BY_HOP } from './header-text.js';
import { forwardHeaders, newFraming, readFraming, refusedRepeated } from './request-path.js';
import type { CompleteUpgrade } from './uws.js';
import { openServiceSocket, type RelayData } from './websocket.js';

export interface UpgradeSettings {
  upstream: URL;
  /** Largest message relayed either way (bytes). */
  maxMessage: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
}

export class UpgradePath {
  /** The framing of the upgrade request being checked (read before the next one arrives). */
  private readonly framing = newFraming();

  constructor(
    private readonly exchanges: Exchanges,
    private readonly settings: UpgradeSettings,
  ) {}

  /** An upgrade request: refused (its status, else 502), blocked, or upgraded. */
  handle(ex: Exchange, client: UwsClientResponse, key: string, protocols: string, complete: CompleteUpgrade<RelayData>): void {
    const exchanges = this.exchanges;
    // Upgrades are rare: an AbortController for the service's handshake is fine here.
    const handshake = new AbortController();
    ex.upstream = { abort: () => handshake.abort() };
    client.onAbort(ex);
    if (!exchanges.admit(ex)) return;
    // The checks of any request head: a repeated single-valued field (two Host or Authorization
    // lines) is refused before anything is decided or sent to the service.
    const framing = readFraming(ex.headers, this.framing);
    if (refusedRepeated(ex, framing, exchanges)) return;
    if ((framing.contentLength !== null && framing.contentLength.trim() !== '0') || framing.chunked) return exchanges.answer(ex, 400, 'guard-gate: an upgrade request has no body\n', true);
    if (!ex.validTarget) return exchanges.answer(ex, 400, 'guard-gate: invalid request target\n', true);
    if (!exchanges.decideRequest(ex, undefined, undefined)) return;
    exchanges.approveRequest(ex, () => {
      this.open(ex, client, key, protocols, complete, handshake.signal).catch((err: unknown) => exchanges.fail(ex, err));
    });
  }

  private async open(ex: Exchange, client: UwsClientResponse, key: string, protocols: string, complete: CompleteUpgrade<RelayData>, signal: AbortSignal): Promise<void> {
    const exchanges = this.exchanges;
    const { upstream, maxMessage, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const r = await openServiceSocket({
      upstream,
      target: ex.target + (ex.query ? `?${ex.query}` : ''),
      headers: forwardHeaders(ex, null),
      protocols,
      maxMessage: Math.max(1, maxMessage),
      connectTimeoutMs,
      handshakeTimeoutMs,
      signal,
    });
    if (ex.aborted || ex.finished) {
      if (r.ok) r.socket.destroy();
      return exchanges.finish(ex);
    }
    if (!r.ok) {
      exchanges.log.warn?.({ requestId: ex.id, path: ex.path, reason: r.reason }, 'websocket refused or unavailable');
      const status = r.status >= 400 && r.status <= 599 ? r.status : 502;
      return exchanges.answer(ex, status, status === 502 ? 'guard-gate: upstream unavailable\n' : 'guard-gate: websocket refused by the service\n');
    }
    ex.respMs = performance.now() - ex.start;
    // The 101 is profiled and decided as the response of the exchange (no body), then the plugins'.
    const verdict = exchanges.decideResponse(ex, { status: 101, headers: r.headers });
    if (verdict !== 'pass') {
      r.socket.destroy();
      return verdict === 'block' ? exchanges.blockAnswer(ex, 'response') : undefined;
    }
    // The service's own 101 headers (Set-Cookie…) reach the client; uWS writes the handshake's.
    const headers: HeaderLine[] = r.headers.filter(([k]) => !HOP_BY_HOP.has(k) && k !== 'sec-websocket-protocol' && k !== 'content-length' && k !== 'date');
    if (exchanges.plugins) {
      const v = await Promise.resolve(exchanges.responseChain(ex, 101, headers)).catch(failedChain);
      if (ex.aborted || ex.finished) {
        r.socket.destroy();
        return exchanges.finish(ex);
      }
      if (!exchanges.applyVerdict(ex, v, 'response', headers)) return r.socket.destroy();
    }
    ex.status = 101;
    client.upgrade(() => complete({ id: ex.id, service: r.socket, client: null }, key, r.protocol, '', headers));
    exchanges.finish(ex);
  }
}
