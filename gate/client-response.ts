// The client's side of one exchange on the uWS listener, and the only code of the request path that
// calls a uWS HttpResponse. uWS forbids any call on a response once it is complete (end, a tryEnd
// that finished it, endWithoutBody, close, upgrade) or once its onAborted callback ran: such a call
// throws. Every method here checks that state first, so no path through the gate — however late an
// upstream event, a plugin verdict or a decoder arrives — can touch a response that is gone.
import type { HttpResponse } from './uws.js';

/** Told when uWS can take more; returns whether it wrote all it had (false: call again later). */
export interface WritableListener {
  onWritable(): boolean;
}

export class ClientResponse {
  /** uWS reported the client gone (onAborted). */
  aborted = false;
  /** The response is complete, or the gate closed the connection. */
  ended = false;
  /** The status line was written: the answer can no longer change, only be cut short. */
  started = false;
  /** Reading the request body is paused (backpressure towards the service). */
  private paused = false;
  /** Body bytes handed to uWS so far (tryEnd's offset, counted here rather than asked of uWS). */
  private sent = 0;
  private abortHandler: (() => void) | null = null;
  private writableHandler: WritableListener | null = null;

  constructor(private readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      const handler = this.abortHandler;
      this.abortHandler = null;
      handler?.();
    });
  }

  /** Neither complete nor aborted: the response may still be written. */
  get open(): boolean {
    return !this.aborted && !this.ended;
  }

  /** Called once when the client goes away before the response is complete. */
  onAbort(handler: () => void): void {
    this.abortHandler = handler;
  }

  /** Request body chunks (valid only during the call). Register before the handler returns. */
  onData(handler: (chunk: ArrayBuffer, last: boolean) => void): void {
    this.res.onData(handler);
  }

  /** The request has a body that will not be read: uWS needs a handler to discard it. */
  discardBody(): void {
    this.res.onData(ignoreChunk);
  }

  /** Writes batched into one system call; `fn` runs whether or not the response is still open. */
  cork(fn: () => void): void {
    if (this.open) this.res.cork(fn);
    else fn();
  }

  writeStatus(line: string): void {
    if (!this.open) return;
    this.started = true;
    this.res.writeStatus(line);
  }

  writeHeader(name: string, value: string | Uint8Array): void {
    if (this.open) this.res.writeHeader(name, value);
  }

  /** A chunk of a response without a declared length; false when uWS buffers it (wait for onWritable). */
  write(chunk: Uint8Array): boolean {
    return this.open ? this.res.write(chunk) : true;
  }

  /**
   * A chunk of a response of `total` body bytes: how many bytes of `chunk` uWS took (all of them
   * unless it is backpressured; wait for onWritable and offer the rest). Completes the response
   * with the last byte.
   */
  writeSized(chunk: Uint8Array, total: number): number {
    if (!this.open) return chunk.byteLength;
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

  /** End the response (with a last chunk, or with the whole body when nothing was written yet). */
  end(body?: string | Uint8Array, closeConnection = false): void {
    if (!this.open) return;
    this.unpause();
    this.ended = true;
    this.res.end(body, closeConnection);
  }

  /** End a response that has no body (HEAD, 204, 304, 1xx): no Content-Length is added. */
  endWithoutBody(): void {
    if (!this.open) return;
    this.unpause();
    this.ended = true;
    this.res.endWithoutBody();
  }

  /** Close the connection at once: a response already started is seen truncated, never complete. */
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

  /** `listener` is called when uWS can take more after a write it buffered. */
  onWritable(listener: WritableListener): void {
    if (this.writableHandler === null && this.open) this.res.onWritable(() => (this.open ? this.writableHandler!.onWritable() : true));
    this.writableHandler = listener;
  }

  /** Stop reading the request body (the service is slower than the client). */
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

  // A socket left paused would never read the next request of a keep-alive connection.
  private unpause(): void {
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }
}

function ignoreChunk(): void {}
