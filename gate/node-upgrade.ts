// WebSocket (and other) upgrades on the node listener: the upgrade request is decided like any
// request; once allowed it is sent to the service as the client sent it (its own key, protocols and
// extensions), the service's answer decided as the exchange's response, and a 101 relayed, after which
// the two connections are joined byte for byte. Unlike the uws listener, which relays message by
// message, frames are not read here: no per-message limit (GUARD_MAX_BODY) applies, and compression
// the two ends negotiate works.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { HeaderLine } from '../core/index.js';
import type { AbortListener, ClientResponse, WritableListener } from './client-response.js';
import type { Exchange } from './exchange.js';
import { failedChain, type Exchanges } from './exchanges.js';
import { forwardHeaders, newFraming, readFraming, refusedRepeated } from './request-path.js';

const MAX_HEAD = 16 * 1024;

/** The client's side of an upgrade request before it is upgraded: the gate's own short answers, written raw. */
export class SocketClientResponse implements ClientResponse {
  aborted = false;
  ended = false;
  started = false;
  readonly trailersRelayed = false;
  private head = '';
  private abortListener: AbortListener | null = null;

  constructor(private readonly socket: Duplex) {
    socket.on('close', () => {
      if (this.ended) return;
      this.aborted = true;
      this.abortListener?.onClientAborted();
    });
    socket.on('error', () => {});
  }

  get open(): boolean {
    return !this.aborted && !this.ended;
  }

  /** The socket is the service's now (upgraded): the exchange's answer is complete. */
  handOver(): Duplex {
    this.ended = true;
    return this.socket;
  }

  onAbort(listener: AbortListener): void {
    this.abortListener = listener;
  }

  onData(): void {}
  discardBody(): void {}
  pause(): void {}
  resume(): void {}
  cork(fn: () => void): void {
    fn();
  }

  writeStatus(line: string): void {
    if (!this.open) return;
    this.started = true;
    this.head = `HTTP/1.1 ${line}\r\n`;
  }

  writeHeader(name: string, value: string | Uint8Array): void {
    if (this.open) this.head += `${name}: ${typeof value === 'string' ? value : Buffer.from(value).toString('latin1')}\r\n`;
  }

  write(): boolean {
    return true;
  }

  writeSized(): boolean {
    return true;
  }

  end(body: string | Uint8Array = ''): void {
    if (!this.open) return;
    this.ended = true;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.socket.end(Buffer.concat([Buffer.from(`${this.head}Content-Length: ${bytes.byteLength}\r\nConnection: close\r\n\r\n`, 'latin1'), bytes]));
  }

  endWithoutBody(): void {
    this.end();
  }

  close(): void {
    if (!this.open) return;
    this.ended = true;
    this.socket.destroy();
  }

  onWritable(_listener: WritableListener): void {}

  informational(): boolean {
    return false;
  }

  trailers(): void {}
}

/** The service's answer to the forwarded upgrade request: its head (raw and parsed) and the bytes after it. */
interface ServiceAnswer {
  socket: Duplex;
  status: number;
  headers: HeaderLine[];
  raw: Buffer;
}

function readAnswer(socket: Duplex, timeoutMs: number, signal: AbortSignal): Promise<ServiceAnswer | string> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let done = false;
    const settle = (r: ServiceAnswer | string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      if (typeof r === 'string') socket.destroy();
      else socket.pause();
      resolve(r);
    };
    const onAbort = (): void => settle('cancelled');
    const timer = setTimeout(() => settle('the service did not answer the upgrade in time'), timeoutMs);
    timer.unref();
    signal.addEventListener('abort', onAbort);
    socket.on('error', (err) => settle(err.message));
    socket.on('close', () => settle('the service closed the connection'));
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) {
        if (got.length > MAX_HEAD) settle('the service\'s answer head is too large');
        return;
      }
      const [statusLine, ...lines] = got.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '');
      if (!m) return settle('not an HTTP/1.1 answer');
      const headers: HeaderLine[] = [];
      for (const line of lines) {
        const c = line.indexOf(':');
        if (c <= 0) return settle('malformed answer head');
        headers.push([line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim()]);
      }
      settle({ socket, status: Number(m[1]), headers, raw: got });
    };
    socket.on('data', onData);
  });
}

export interface NodeUpgradeSettings {
  upstream: URL;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Called when an upgrade completed (for metrics). */
  onUpgraded?(): void;
}

export class NodeUpgradePath {
  /** Joined connections (the client's side), closed at shutdown. */
  private readonly joined = new Set<Duplex>();
  /** The framing of the upgrade request being checked (read before the next one arrives). */
  private readonly framing = newFraming();

  constructor(
    private readonly exchanges: Exchanges,
    private readonly settings: NodeUpgradeSettings,
  ) {}

  handle(ex: Exchange, client: SocketClientResponse, head: Buffer): void {
    const exchanges = this.exchanges;
    const handshake = new AbortController();
    ex.upstream = { abort: () => handshake.abort() };
    client.onAbort(ex);
    if (!exchanges.admit(ex)) return;
    // The checks of any request head: a repeated single-valued field (two Host or Authorization
    // lines) is refused before anything is decided or sent to the service.
    if (refusedRepeated(ex, readFraming(ex.headers, this.framing), exchanges)) return;
    if (!ex.validTarget) return exchanges.answer(ex, 400, 'guard-gate: invalid request target\n', true);
    if (!exchanges.decideRequest(ex, undefined, undefined)) return;
    exchanges.approveRequest(ex, () => {
      this.open(ex, client, head, handshake.signal).catch((err: unknown) => exchanges.fail(ex, err));
    });
  }

  /** Close every joined connection (gate shutdown). */
  closeAll(): void {
    for (const s of this.joined) s.destroy();
    this.joined.clear();
  }

  private async open(ex: Exchange, client: SocketClientResponse, head: Buffer, signal: AbortSignal): Promise<void> {
    const exchanges = this.exchanges;
    const { upstream } = this.settings;
    const secure = upstream.protocol === 'https:';
    const host = upstream.hostname.replace(/^\[|\]$/g, '');
    const port = Number(upstream.port || (secure ? 443 : 80));
    // The client's own upgrade: Connection and Upgrade restored, everything else as forwarded.
    let upgrade = 'websocket';
    for (const [k, v] of ex.headers) if (k === 'upgrade') upgrade = v;
    const fwd = forwardHeaders(ex, null);
    let text = `${ex.method} ${ex.target}${ex.query ? `?${ex.query}` : ''} HTTP/1.1\r\nconnection: Upgrade\r\nupgrade: ${upgrade}\r\n`;
    for (let i = 0; i + 1 < fwd.length; i += 2) text += `${fwd[i]}: ${fwd[i + 1]}\r\n`;
    const socket = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
    socket.setTimeout(this.settings.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => socket.setTimeout(0));
    // Only the upgrade request's head now. Bytes the client sent past it (`head`) wait for the
    // service's 101: a service that refuses the upgrade and keeps the connection would read them as
    // a pipelined request the gate never decided. (A WebSocket client sends nothing before the 101.)
    socket.write(`${text}\r\n`, 'latin1');
    const answer = await readAnswer(socket, this.settings.handshakeTimeoutMs, signal);
    if (ex.aborted || ex.finished) {
      if (typeof answer !== 'string') answer.socket.destroy();
      return exchanges.finish(ex);
    }
    if (typeof answer === 'string') {
      exchanges.log.warn?.({ requestId: ex.id, path: ex.path, reason: answer }, 'upgrade refused or unavailable');
      return exchanges.answer(ex, 502, 'guard-gate: upstream unavailable\n');
    }
    ex.respMs = performance.now() - ex.start;
    if (answer.status !== 101) {
      answer.socket.destroy();
      const status = answer.status >= 400 && answer.status <= 599 ? answer.status : 502;
      return exchanges.answer(ex, status, 'guard-gate: upgrade refused by the service\n');
    }
    const verdict = exchanges.decideResponse(ex, { status: 101, headers: answer.headers });
    if (verdict !== 'pass') {
      answer.socket.destroy();
      return verdict === 'block' ? exchanges.blockAnswer(ex, 'response') : undefined;
    }
    if (exchanges.plugins) {
      const v = await Promise.resolve(exchanges.responseChain(ex, 101, answer.headers)).catch(failedChain);
      if (ex.aborted || ex.finished) {
        answer.socket.destroy();
        return exchanges.finish(ex);
      }
      if (!exchanges.applyVerdict(ex, v, 'response', [])) return void answer.socket.destroy();
    }
    ex.status = 101;
    const down = client.handOver();
    // The service's 101 as it sent it (its Sec-WebSocket-Accept answers the client's own key).
    down.write(answer.raw);
    if (head.length > 0) answer.socket.write(head);
    join(down, answer.socket, this.joined);
    this.settings.onUpgraded?.();
    exchanges.finish(ex);
  }
}

function join(a: Duplex, b: Duplex, joined: Set<Duplex>): void {
  joined.add(a);
  const end = (): void => {
    joined.delete(a);
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
  a.pipe(b);
  b.pipe(a);
  b.resume();
}
