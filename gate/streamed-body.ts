// A request body streamed to the service as the client sends it (not analysed, or over the
// analysis limit), with backpressure both ways.
//
// Chunks reach the service's socket in the check phase of the event loop, never from inside the
// client's read. A service that answers before it read the whole body — Go's net/http refusing an
// upload with 413, then closing a connection with unread data — resets the connection: a write
// made after that fails, and Node then discards the answer that arrived before the reset, unread
// (the client would get 502 where it gets the 413 directly). Written after the poll phase, the next
// chunk comes after the service's socket was read, and so after its answer.
import { Readable } from 'node:stream';
import type { ClientResponse } from './client-response.js';

export class StreamedBody extends Readable {
  private queued: Buffer[] = [];
  private ended = false;
  private scheduled = false;

  constructor(private readonly client: ClientResponse) {
    super();
  }

  override _read(): void {
    this.client.resume();
  }

  /** A chunk from the client (copied: the listener's is valid only during its call); `last` with the final one. */
  offer(chunk: Uint8Array, last: boolean): void {
    if (this.destroyed) return;
    this.queued.push(Buffer.from(chunk));
    if (last) this.ended = true;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const chunks = this.queued;
    this.queued = [];
    if (this.destroyed) return;
    let more = true;
    for (const chunk of chunks) more = this.push(chunk);
    if (this.ended) this.push(null);
    // Never pause after the last chunk: nothing would resume the (keep-alive) socket.
    else if (!more) this.client.pause();
  };
}
