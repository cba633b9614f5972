// A request's or a response's body held for analysis: one private buffer per body, so that what is
// decided is exactly what is forwarded.
const EMPTY = Buffer.alloc(0);

/**
 * One growable private buffer: preallocated when the length is known, doubled otherwise. Made with
 * `borrow`, it keeps a first chunk as it is (chunks undici hands out are never reused), and copies
 * only when a second one comes: most answers arrive in one chunk.
 */
export class BodyBuffer {
  private buf: Buffer | null = null;
  private first: Buffer | null = null;
  len = 0;
  constructor(
    private readonly initial: number,
    private readonly borrow = false,
  ) {
    if (!borrow) this.buf = Buffer.allocUnsafe(Math.max(initial, 0));
  }
  push(chunk: Uint8Array): void {
    let buf = this.buf;
    if (buf === null) {
      const first = this.first;
      if (first === null) {
        this.first = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.len = chunk.byteLength;
        return;
      }
      buf = Buffer.allocUnsafe(Math.max(this.initial, this.len + chunk.byteLength));
      buf.set(first, 0);
      this.first = null;
    } else if (this.len + chunk.byteLength > buf.length) {
      const next = Buffer.allocUnsafe(Math.max(buf.length * 2, this.len + chunk.byteLength, 4096));
      buf.copy(next, 0, 0, this.len);
      buf = next;
    }
    buf.set(chunk, this.len);
    this.buf = buf;
    this.len += chunk.byteLength;
  }
  view(): Buffer {
    return this.first ?? (this.buf === null ? EMPTY : this.buf.subarray(0, this.len));
  }
}
