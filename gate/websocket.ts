// WebSocket pass-through on the uws listener. The upgrade request is decided (upgrade.ts) like any request;
// this module then opens the service's side with a minimal RFC 6455 client (ServiceSocket) and,
// once the client's upgrade is completed, relays messages both ways (WebSocketRelays).
//
// Why not undici's WebSocket: it cannot stop reading (no backpressure), reports a message over its
// limit as 1006 rather than 1009, hides the refusal status and the 101's headers, and replaces Host.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { HeaderLine } from '../core/index.js';
import type { Logger } from '../log/index.js';
import type { WebSocket, WebSocketRoute } from './uws.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 16 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Request headers that belong to one hop of the WebSocket handshake, never forwarded as they are. */
const HANDSHAKE_HEADERS = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept']);

/** Whether a close code may be sent in a close frame (RFC 6455 §7.4). */
export function sendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** One frame from the client side (masked, as RFC 6455 requires of clients). */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const len = payload.byteLength;
  const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hl + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  randomFillSync(out, hl, 4);
  const m0 = out[hl]!;
  const m1 = out[hl + 1]!;
  const m2 = out[hl + 2]!;
  const m3 = out[hl + 3]!;
  const base = hl + 4;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    out[base + i] = payload[i]! ^ m0;
    out[base + i + 1] = payload[i + 1]! ^ m1;
    out[base + i + 2] = payload[i + 2]! ^ m2;
    out[base + i + 3] = payload[i + 3]! ^ m3;
  }
  for (; i < len; i++) out[base + i] = payload[i]! ^ out[hl + (i & 3)]!;
  return out;
}

function closePayload(code: number | null, reason: Uint8Array): Buffer {
  if (code === null) return EMPTY;
  const r = reason.byteLength > 123 ? reason.subarray(0, 123) : reason;
  const out = Buffer.allocUnsafe(2 + r.byteLength);
  out.writeUInt16BE(code, 0);
  out.set(r, 2);
  return out;
}

export interface ServiceSocketHandlers {
  /** A complete message (text bytes are valid UTF-8, relayed as they are). */
  message(data: Buffer, isBinary: boolean): void;
  /**
   * The connection ended (once). `byGate`: the gate failed it (oversize message → 1009, protocol
   * error → 1002, lost connection → 1006); otherwise the service sent this close code (1005: none).
   */
  close(code: number, reason: Buffer, byGate: boolean): void;
}

/**
 * The service's side of one relayed WebSocket: reads unmasked frames (reassembling fragments up to
 * maxMessage), answers pings, writes masked frames. Created paused; attach() starts delivery.
 */
export class ServiceSocket {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;
  private handlers: ServiceSocketHandlers | null = null;
  private paused = true;
  private closeSent = false;
  private ended = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private pending: { code: number; reason: Buffer; byGate: boolean } | null = null;

  constructor(private readonly socket: Duplex, rest: Buffer, private readonly maxMessage: number) {
    if (rest.length > 0) this.push(rest);
    socket.pause();
    socket.on('data', (d: Buffer) => {
      this.push(d);
      this.parse();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.closeTimer) clearTimeout(this.closeTimer);
      if (!this.ended) this.end(1006, EMPTY, true);
    });
  }

  /** Bytes written but not yet flushed to the service. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Start delivering to `handlers` (an end that already happened is delivered at once). */
  attach(handlers: ServiceSocketHandlers): void {
    this.handlers = handlers;
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      handlers.close(p.code, p.reason, p.byGate);
      return;
    }
    this.resume();
  }

  /** Stop reading (backpressure from the client side). */
  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (this.ended || !this.handlers) return;
    this.paused = false;
    this.parse();
    if (!this.paused && !this.ended) this.socket.resume();
  }

  send(data: Uint8Array, isBinary: boolean): void {
    if (this.closeSent || this.ended) return;
    this.socket.write(clientFrame(isBinary ? OP_BINARY : OP_TEXT, data));
  }

  /** Start the closing handshake (code null: a close frame without a code). No close event follows. */
  close(code: number | null, reason: Uint8Array = EMPTY): void {
    if (this.ended) return;
    this.handlers = null;
    this.pending = null;
    if (!this.closeSent) {
      this.closeSent = true;
      this.socket.write(clientFrame(OP_CLOSE, closePayload(code, reason)));
    }
    // The service answers with its close frame and closes the TCP connection; bounded wait.
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), 2_000).unref();
    // Read on (a paused relay included) until the service's close frame or the end of the connection.
    this.paused = false;
    this.parse();
    this.socket.resume();
  }

  /** Drop the connection without a closing handshake. */
  destroy(): void {
    this.handlers = null;
    this.ended = true;
    this.socket.destroy();
  }

  private push(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
  }

  private consume(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
      off += take;
    }
    return out;
  }

  /** The gate fails the connection: close frame with `code` to the service, then end. */
  private fail(code: number, reason: string): void {
    if (!this.closeSent) {
      this.closeSent = true;
      this.socket.write(clientFrame(OP_CLOSE, closePayload(code, Buffer.from(reason))));
    }
    this.socket.end();
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), 2_000).unref();
    this.end(code, Buffer.from(reason), true);
  }

  private end(code: number, reason: Buffer, byGate: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.chunks = [];
    this.fragments = [];
    const h = this.handlers;
    this.handlers = null;
    if (h) h.close(code, reason, byGate);
    else if (!this.closeSent) this.pending = { code, reason, byGate };
  }

  private parse(): void {
    while (!this.paused && !this.ended && this.buffered >= 2) {
      while (this.chunks[0]!.length < 14 && this.chunks.length > 1) {
        const a = this.chunks.shift()!;
        const b = this.chunks.shift()!;
        this.chunks.unshift(Buffer.concat([a, b]));
      }
      const h = this.chunks[0]!;
      const b0 = h[0]!;
      const b1 = h[1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) return this.fail(1002, 'reserved bits set');
      if ((b1 & 0x80) !== 0) return this.fail(1002, 'masked frame from the service');
      let hl = 2;
      let len = b1 & 0x7f;
      if (len === 126) {
        if (this.buffered < 4) return;
        hl = 4;
        len = h.readUInt16BE(2);
      } else if (len === 127) {
        if (this.buffered < 10) return;
        hl = 10;
        const hi = h.readUInt32BE(2);
        if (hi > 0x1fffff) return this.fail(1009, 'message too big');
        len = hi * 2 ** 32 + h.readUInt32BE(6);
      }
      if (opcode >= 0x8) {
        if (!fin || len > 125) return this.fail(1002, 'invalid control frame');
      } else if (opcode === OP_CONT ? this.fragmentOpcode === 0 : opcode !== OP_TEXT && opcode !== OP_BINARY) {
        return this.fail(1002, 'unexpected frame');
      } else if (opcode !== OP_CONT && this.fragmentOpcode !== 0) {
        return this.fail(1002, 'interleaved message');
      } else if (this.fragmentBytes + len > this.maxMessage) {
        return this.fail(1009, 'message too big');
      }
      if (this.buffered < hl + len) return;
      this.consume(hl);
      const payload = this.consume(len);
      switch (opcode) {
        case OP_PING:
          if (!this.closeSent) this.socket.write(clientFrame(OP_PONG, payload));
          break;
        case OP_PONG:
          break;
        case OP_CLOSE:
          this.onCloseFrame(payload);
          return;
        default:
          this.onDataFrame(fin, opcode, payload);
      }
    }
  }

  private onDataFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (!fin) {
      if (opcode !== OP_CONT) this.fragmentOpcode = opcode;
      this.fragments.push(payload);
      this.fragmentBytes += payload.length;
      return;
    }
    let data: Buffer = payload;
    let op = opcode;
    if (opcode === OP_CONT) {
      this.fragments.push(payload);
      data = Buffer.concat(this.fragments, this.fragmentBytes + payload.length);
      op = this.fragmentOpcode;
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentOpcode = 0;
    }
    if (op === OP_TEXT && !isUtf8(data)) return this.fail(1007, 'invalid UTF-8 in a text message');
    if (!this.closeSent) this.handlers?.message(data, op === OP_BINARY);
  }

  private onCloseFrame(payload: Buffer): void {
    if (payload.length === 1) return this.fail(1002, 'invalid close frame');
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    if (code !== 1005 && !sendableCloseCode(code)) return this.fail(1002, 'invalid close code');
    const reason = payload.length > 2 ? Buffer.from(payload.subarray(2)) : EMPTY;
    if (!this.closeSent) {
      // Echo the code (RFC 6455 §5.5.1); the service then closes TCP.
      this.closeSent = true;
      this.socket.write(clientFrame(OP_CLOSE, payload.subarray(0, Math.min(2, payload.length))));
    }
    this.socket.end();
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), 2_000).unref();
    this.end(code, reason, false);
  }
}

export interface ServiceHandshakeOptions {
  /** The protected service origin (http: or https:). */
  upstream: URL;
  /** Path and query, as decided. */
  target: string;
  /** The forwarded request headers (flat name/value list, hop-by-hop already removed). */
  headers: readonly string[];
  /** The client's Sec-WebSocket-Protocol value ('' when none). */
  protocols: string;
  maxMessage: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  signal: AbortSignal;
}

export type ServiceHandshake =
  /** headers: those of the service's 101, minus the handshake's own (Upgrade, Connection, Sec-WebSocket-Accept…). */
  | { ok: true; socket: ServiceSocket; protocol: string; headers: HeaderLine[] }
  /** status 0: unreachable, timed out, cancelled or not a valid WebSocket answer. */
  | { ok: false; status: number; reason: string };

/** Open a WebSocket to the protected service. Never rejects. */
export function openServiceSocket(o: ServiceHandshakeOptions): Promise<ServiceHandshake> {
  return new Promise((resolve) => {
    const key = randomBytes(16).toString('base64');
    const secure = o.upstream.protocol === 'https:';
    const host = o.upstream.hostname.replace(/^\[|\]$/g, '');
    const port = Number(o.upstream.port || (secure ? 443 : 80));
    let hostHeader = o.upstream.host;
    const lines: string[] = [];
    for (let i = 0; i + 1 < o.headers.length; i += 2) {
      const k = o.headers[i]!;
      const v = o.headers[i + 1]!;
      if (/[\r\n]/.test(v)) continue;
      if (k === 'host') hostHeader = v;
      else if (!HANDSHAKE_HEADERS.has(k)) lines.push(`${k}: ${v}\r\n`);
    }
    const head =
      `GET ${o.target} HTTP/1.1\r\nhost: ${hostHeader}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
      `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n` +
      (o.protocols ? `sec-websocket-protocol: ${o.protocols}\r\n` : '') +
      lines.join('') +
      '\r\n';
    const socket = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
    let done = false;
    let received: Buffer = EMPTY;
    const settle = (r: ServiceHandshake): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const fail = (reason: string, status = 0) => settle({ ok: false, status, reason });
    const onAbort = () => fail('cancelled');
    let timer = setTimeout(() => fail('connect timeout'), o.connectTimeoutMs);
    timer.unref();
    o.signal.addEventListener('abort', onAbort);
    if (o.signal.aborted) return onAbort();
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => fail('connection closed during the handshake'));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('handshake timeout'), o.handshakeTimeoutMs);
      timer.unref();
      socket.write(head);
    });
    const onData = (d: Buffer): void => {
      received = received.length ? Buffer.concat([received, d]) : d;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_HEAD) fail('handshake answer too large');
        return;
      }
      const [statusLine, ...headerLines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '');
      if (!m) return fail('not an HTTP/1.1 answer');
      const status = Number(m[1]);
      if (status !== 101) return fail(`refused with ${status}`, status);
      const headers: HeaderLine[] = [];
      const one = new Map<string, string>();
      for (const line of headerLines) {
        const c = line.indexOf(':');
        if (c <= 0) return fail('malformed handshake answer');
        const k = line.slice(0, c).trim().toLowerCase();
        const v = line.slice(c + 1).trim();
        // The handshake's own headers (the accept value hashes the gate's nonce) are not the service's answer.
        if (!HANDSHAKE_HEADERS.has(k) || k === 'sec-websocket-protocol') headers.push([k, v]);
        one.set(k, one.has(k) ? `${one.get(k)}, ${v}` : v);
      }
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      if ((one.get('upgrade') ?? '').toLowerCase() !== 'websocket' || !/(^|,)\s*upgrade\s*(,|$)/i.test(one.get('connection') ?? '')) return fail('not a WebSocket upgrade');
      if (one.get('sec-websocket-accept') !== accept) return fail('wrong Sec-WebSocket-Accept');
      if (one.has('sec-websocket-extensions')) return fail('extension negotiated that was not offered');
      const protocol = one.get('sec-websocket-protocol') ?? '';
      const offered = o.protocols.split(',').map((p) => p.trim());
      if (protocol && !offered.includes(protocol)) return fail('subprotocol chosen that was not offered');
      settle({ ok: true, socket: new ServiceSocket(socket, received.subarray(end + 4), o.maxMessage), protocol, headers });
    };
    socket.on('data', onData);
  });
}

export type WebSocketEvent = 'upgrade' | 'client-message' | 'service-message';

/** What the gate keeps per relayed WebSocket (the uWS user data). */
export interface RelayData {
  id: string;
  service: ServiceSocket;
  client: WebSocket<RelayData> | null;
}

export interface RelayOptions {
  /** Largest message relayed either way; larger ones close with 1009. */
  maxMessage: number;
  /** Client-side buffered bytes at which the gate stops reading the service (default 1 MiB). */
  highWaterMark?: number;
  onEvent?: (event: WebSocketEvent) => void;
  log?: Logger;
}

/** Relays between clients (uWS) and the service (ServiceSocket), with backpressure and limits. */
export class WebSocketRelays {
  private readonly open = new Set<RelayData>();
  private readonly maxMessage: number;
  private readonly high: number;
  /** Bytes queued towards the service beyond which the client is closed (uWS cannot pause a WebSocket). */
  private readonly serviceLimit: number;

  constructor(private readonly opts: RelayOptions) {
    this.maxMessage = Math.max(1, opts.maxMessage);
    this.high = opts.highWaterMark ?? 1024 * 1024;
    this.serviceLimit = this.high + 2 * this.maxMessage;
  }

  /** The uWS route; `upgrade` is proxy.ts's decision of the upgrade request. */
  route(upgrade: WebSocketRoute<RelayData>['upgrade']): WebSocketRoute<RelayData> {
    const event = this.opts.onEvent ?? (() => {});
    return {
      // uWS drops a larger message without a close frame; up to twice the limit the gate reads it
      // and closes with 1009 as RFC 6455 asks.
      maxPayloadLength: 2 * this.maxMessage,
      // A message already in flight when reading the service stopped still fits.
      maxBackpressure: this.high + 2 * this.maxMessage + 1024 * 1024,
      upgrade,
      open: (ws) => {
        const d = ws.getUserData();
        d.client = ws;
        this.open.add(d);
        event('upgrade');
        d.service.attach({
          message: (data, isBinary) => {
            const c = d.client;
            if (!c) return;
            event('service-message');
            if (c.send(data, isBinary) === 2) return this.closeBoth(d, 1013, 'client too slow');
            if (c.getBufferedAmount() > this.high) d.service.pause();
          },
          close: (code, reason, byGate) => {
            this.open.delete(d);
            const c = d.client;
            d.client = null;
            if (!c) return;
            if (code === 1005) c.end();
            else if (byGate ? code === 1009 || code === 1007 : sendableCloseCode(code)) c.end(code, reason);
            else c.end(1014, 'service connection failed');
          },
        });
      },
      message: (ws, data, isBinary) => {
        const d = ws.getUserData();
        if (data.byteLength > this.maxMessage) return this.closeBoth(d, 1009, 'message too big');
        event('client-message');
        d.service.send(new Uint8Array(data), isBinary);
        if (d.service.bufferedAmount > this.serviceLimit) this.closeBoth(d, 1013, 'service too slow');
      },
      drain: (ws) => {
        if (ws.getBufferedAmount() < this.high / 2) ws.getUserData().service.resume();
      },
      close: (ws, code, reason) => {
        const d = ws.getUserData();
        this.open.delete(d);
        d.client = null;
        // An abrupt client loss (1006) goes to the service as 1001 "going away".
        if (sendableCloseCode(code)) d.service.close(code, new Uint8Array(reason));
        else d.service.close(code === 1006 ? 1001 : null);
      },
    };
  }

  /** Close every relayed WebSocket (gate shutdown: 1001). */
  closeAll(code = 1001, reason = 'gate shutting down'): void {
    for (const d of [...this.open]) this.closeBoth(d, code, reason);
  }

  private closeBoth(d: RelayData, code: number, reason: string): void {
    this.opts.log?.info({ requestId: d.id, code, reason }, 'websocket closed by the gate');
    this.open.delete(d);
    const c = d.client;
    d.client = null;
    d.service.close(code, Buffer.from(reason));
    c?.end(code, reason);
  }
}
