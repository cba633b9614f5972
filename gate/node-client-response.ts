// The client's side of one exchange on the node:http listener: ClientResponse over an
// IncomingMessage and its ServerResponse. The head is collected and written with the first byte of
// the body (or the end), as uWS does; Node adds Date and announces keep-alive.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AbortListener, ClientResponse, WritableListener } from './client-response.js';

const EMPTY = Buffer.alloc(0);

export class NodeClientResponse implements ClientResponse {
  aborted = false;
  ended = false;
  started = false;
  readonly trailersRelayed = true;
  private status = 200;
  private reason = '';
  /** Header lines of the answer, flat: name, value, name, value… */
  private headers: string[] = [];
  private sized = -1;
  private sent = 0;
  private closeAfter = false;
  private abortListener: AbortListener | null = null;
  private writableListener: WritableListener | null = null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.on('close', () => {
      if (this.ended) return;
      this.aborted = true;
      const listener = this.abortListener;
      this.abortListener = null;
      listener?.onClientAborted();
    });
    res.on('drain', () => {
      if (this.open) this.writableListener?.onWritable();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.ended;
  }

  onAbort(listener: AbortListener): void {
    this.abortListener = listener;
  }

  onData(handler: (chunk: Uint8Array, last: boolean) => void): void {
    this.req.on('data', (chunk: Buffer) => handler(chunk, false));
    this.req.on('end', () => handler(EMPTY, true));
  }

  discardBody(): void {
    this.req.resume();
  }

  pause(): void {
    this.req.pause();
  }

  resume(): void {
    this.req.resume();
  }

  cork(fn: () => void): void {
    if (!this.open) return fn();
    this.res.cork();
    try {
      fn();
    } finally {
      this.res.uncork();
    }
  }

  writeStatus(line: string): void {
    if (!this.open) return;
    this.started = true;
    const space = line.indexOf(' ');
    this.status = Number(space < 0 ? line : line.slice(0, space));
    this.reason = space < 0 ? '' : line.slice(space + 1);
  }

  writeHeader(name: string, value: string | Uint8Array): void {
    if (!this.open) return;
    this.headers.push(name, typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1'));
    if (name.length === 10 && name.toLowerCase() === 'connection' && /close/i.test(this.headers[this.headers.length - 1]!)) this.closeAfter = true;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.open) return true;
    this.flushHead();
    return this.res.write(chunk);
  }

  writeSized(chunk: Uint8Array, total: number): boolean {
    if (!this.open) return true;
    if (this.sized < 0) {
      this.sized = total;
      this.headers.push('content-length', String(total));
    }
    this.flushHead();
    this.sent += chunk.byteLength;
    if (this.sent >= total) {
      this.ended = true;
      this.res.end(chunk);
      return true;
    }
    return this.res.write(chunk);
  }

  end(body?: string | Uint8Array, closeConnection = false): void {
    if (!this.open) return;
    if (!this.res.headersSent) {
      if (closeConnection) this.headers.push('connection', 'close');
      if (this.sized < 0) this.headers.push('content-length', String(body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
    }
    this.flushHead();
    this.ended = true;
    if (body === undefined) this.res.end();
    else this.res.end(body);
    if (closeConnection) this.req.resume();
  }

  endWithoutBody(): void {
    if (!this.open) return;
    this.flushHead();
    this.ended = true;
    this.res.end();
  }

  close(): void {
    if (!this.open) return;
    this.ended = true;
    this.res.destroy();
  }

  onWritable(listener: WritableListener): void {
    this.writableListener = listener;
  }

  informational(status: number, reason: string, headers: readonly (readonly [string, string])[]): boolean {
    // An HTTP/1.0 client does not expect them (RFC 9110 §15.2); after the head there is no room.
    if (!this.open || this.res.headersSent || this.req.httpVersionMajor !== 1 || this.req.httpVersionMinor === 0) return false;
    const socket = this.res.socket;
    if (!socket || !socket.writable) return false;
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
    socket.write(`${head}\r\n`, 'latin1');
    return true;
  }

  trailers(lines: readonly (readonly [string, string])[]): void {
    if (!this.open || lines.length === 0) return;
    this.res.addTrailers(lines.map(([k, v]) => [k, v] as [string, string]));
  }

  private flushHead(): void {
    if (this.res.headersSent) return;
    if (this.closeAfter) this.res.shouldKeepAlive = false;
    this.res.writeHead(this.status, this.reason || undefined, this.headers);
  }
}
