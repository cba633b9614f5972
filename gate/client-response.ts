// The client's side of one exchange, as the request and response paths use it, whatever listener
// accepted the request; and its implementation on uWebSockets.js, the only code of the request path
// that calls a uWS HttpResponse.
//
// uWS forbids any call on a response once it is complete (end, a tryEnd that finished it,
// endWithoutBody, close, upgrade) or once its onAborted callback ran: such a call throws. Every
// method here checks that state first, so no path through the gate — however late an upstream
// event, a plugin verdict or a decoder arrives — can touch a response that is gone.
import type { HttpResponse } from './uws.js';

/** Told when the client can take more after a write that returned false. */
export interface WritableListener {
  onWritable(): void;
}

/** Told when the client goes away before its response is complete. */
export interface AbortListener {
  onClientAborted(): void;
}

export interface ClientResponse {
  /** The client went away before the response was complete. */
  readonly aborted: boolean;
  /** The response is complete, or the gate closed the connection. */
  readonly ended: boolean;
  /** The status line was written: the answer can no longer change, only be cut short. */
  readonly started: boolean;
  /** Neither ended nor aborted: the response may still be written. */
  readonly open: boolean;
  /** `listener` is told once if the client goes away before the response is complete. */
  onAbort(listener: AbortListener): void;
  /** Request body chunks, valid only during the call; `last` with the final one. */
  onData(handler: (chunk: Uint8Array, last: boolean) => void): void;
  /** The request has a body that will not be read. */
  discardBody(): void;
  /** Stop reading the request body (the service is slower than the client). */
  pause(): void;
  resume(): void;
  /** Writes batched into one system call; `fn` runs whether or not the response is still open. */
  cork(fn: () => void): void;
  writeStatus(line: string): void;
  writeHeader(name: string, value: string | Uint8Array): void;
  /** A chunk of a response without a declared length; false: wait for onWritable before the next. */
  write(chunk: Uint8Array): boolean;
  /**
   * A chunk of a response of `total` body bytes (the response completes with its last byte);
   * false: the client is slower, wait for onWritable before the next (this chunk is kept).
   */
  writeSized(chunk: Uint8Array, total: number): boolean;
  /** End the response (with a last chunk, or with the whole body when nothing was written yet). */
  end(body?: string | Uint8Array, closeConnection?: boolean): void;
  /** End a response that has no body (HEAD, 204, 304): no Content-Length is added. */
  endWithoutBody(): void;
  /** Close the connection at once: a response already started is seen truncated, never complete. */
  close(): void;
  onWritable(listener: WritableListener): void;
  /**
   * An informational (1xx) response before the final one; false when it is not sent (this listener
   * cannot, or the client speaks HTTP/1.0): the final response follows either way.
   */
  informational(status: number, reason: string, headers: readonly (readonly [string, string])[]): boolean;
  /** Whether trailer fields can follow a response without a declared length on this listener. */
  readonly trailersRelayed: boolean;
  /** Trailer fields, sent with the end of a response without a declared length (call before end). */
  trailers(lines: readonly (readonly [string, string])[]): void;
}

/** A uWS HttpResponse behind the ClientResponse interface. */
export class UwsClientResponse implements ClientResponse {
  aborted = false;
  ended = false;
  started = false;
  // The binding writes neither informational responses nor trailers.
  readonly trailersRelayed = false;
  private paused = false;
  /** Body bytes handed to uWS so far (tryEnd's offset, counted here rather than asked of uWS). */
  private sent = 0;
  /** The part of a sized chunk uWS could not take yet, offered again when it is writable. */
  private rest: Uint8Array | null = null;
  private total = 0;
  private abortListener: AbortListener | null = null;
  private writableListener: WritableListener | null = null;

  /** `closing`: the request asked to close the connection after this answer, which uWS does. */
  constructor(
    private readonly res: HttpResponse,
    private readonly closing = false,
  ) {
    res.onAborted(() => {
      this.aborted = true;
      const listener = this.abortListener;
      this.abortListener = null;
      listener?.onClientAborted();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.ended;
  }

  onAbort(listener: AbortListener): void {
    this.abortListener = listener;
  }

  onData(handler: (chunk: Uint8Array, last: boolean) => void): void {
    this.res.onData((ab, last) => handler(new Uint8Array(ab), last));
  }

  discardBody(): void {
    this.res.onData(ignoreChunk);
  }

  cork(fn: () => void): void {
    if (this.open) this.res.cork(fn);
    else fn();
  }

  writeStatus(line: string): void {
    if (!this.open) return;
    this.started = true;
    this.res.writeStatus(line);
    // uWS closes a connection after answering a request that asked it to, and a keep-alive one idle
    // for about 10 s, without saying so in either case: clients are told.
    if (this.closing) this.res.writeHeader('Connection', 'close');
    else this.res.writeHeader('Keep-Alive', 'timeout=10');
  }

  informational(): boolean {
    return false;
  }

  trailers(): void {}

  writeHeader(name: string, value: string | Uint8Array): void {
    if (this.open) this.res.writeHeader(name, value);
  }

  write(chunk: Uint8Array): boolean {
    if (!this.open) return true;
    if (this.res.write(chunk)) return true;
    this.hookWritable();
    return false;
  }

  writeSized(chunk: Uint8Array, total: number): boolean {
    if (!this.open) return true;
    const taken = this.tryEnd(chunk, total);
    if (taken === chunk.byteLength) return true;
    this.rest = chunk.subarray(taken);
    this.total = total;
    this.hookWritable();
    return false;
  }

  end(body?: string | Uint8Array, closeConnection = false): void {
    if (!this.open) return;
    this.unpause();
    this.ended = true;
    this.res.end(body, closeConnection);
  }

  endWithoutBody(): void {
    if (!this.open) return;
    this.unpause();
    this.ended = true;
    this.res.endWithoutBody();
  }

  close(): void {
    if (!this.open) return;
    this.ended = true;
    this.res.close();
  }

  /** Complete a WebSocket upgrade (`run` calls uWS's upgrade on this response). */
  upgrade(run: () => void): void {
    if (!this.open) return;
    this.ended = true;
    this.res.cork(run);
  }

  onWritable(listener: WritableListener): void {
    this.writableListener = listener;
  }

  pause(): void {
    if (!this.paused && this.open) {
      this.paused = true;
      this.res.pause();
    }
  }

  resume(): void {
    if (this.paused && this.open) {
      this.paused = false;
      this.res.resume();
    }
  }

  /** How many bytes of `chunk` uWS took (all unless it is backpressured). */
  private tryEnd(chunk: Uint8Array, total: number): number {
    if (this.sent + chunk.byteLength >= total) this.unpause();
    const [ok, done] = this.res.tryEnd(chunk, total);
    if (done) {
      this.ended = true;
      this.sent = total;
      return chunk.byteLength;
    }
    if (ok) {
      this.sent += chunk.byteLength;
      return chunk.byteLength;
    }
    const taken = this.res.getWriteOffset() - this.sent;
    this.sent += taken;
    return taken;
  }

  private hooked = false;
  private hookWritable(): void {
    if (this.hooked) return;
    this.hooked = true;
    this.res.onWritable(() => this.writable());
  }

  /** uWS can take more: the rest of a sized chunk first, then the listener is told. */
  private writable(): boolean {
    if (!this.open) return true;
    const rest = this.rest;
    if (rest !== null) {
      const taken = this.tryEnd(rest, this.total);
      if (taken < rest.byteLength) {
        this.rest = rest.subarray(taken);
        return false;
      }
      this.rest = null;
    }
    this.writableListener?.onWritable();
    return true;
  }

  // A socket left paused would never read the next request of a keep-alive connection.
  private unpause(): void {
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }
}

function ignoreChunk(): void {}
