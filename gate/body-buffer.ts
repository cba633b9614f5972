// A request's or a response's body held for analysis: one private buffer per body, so that what is
// decided is exactly what is forwarded; and the budget that bounds the bytes all of them hold at once.
const EMPTY = Buffer.alloc(0);

/**
 * The bytes held by every body buffer of the gate together. A body that would take the total past
 * the limit is not buffered: the request is answered 503 (the response path streams the body
 * uninspected, with the fault TooLargeBody).
 */
export class BodyBudget {
  held = 0;
  /** Bodies refused for want of budget. */
  refusals = 0;
  constructor(readonly limit: number) {}

  reserve(bytes: number): boolean {
    if (this.held + bytes > this.limit) {
      this.refusals++;
      return false;
    }
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}

/**
 * One growable private buffer: preallocated when the length is known, doubled otherwise. Made with
 * `borrow`, it keeps a first chunk as it is (chunks undici hands out are never reused), and copies
 * only when a second one comes: most answers arrive in one chunk. What it holds is reserved in the
 * budget, and given back by release().
 */
export class BodyBuffer {
  private buf: Buffer | null = null;
  private first: Buffer | null = null;
  private reserved = 0;
  len = 0;

  private constructor(
    private readonly initial: number,
    private readonly budget: BodyBudget | null,
  ) {}

  /**
   * A buffer for a body of `initial` bytes (expected), or null when the budget cannot hold them.
   * Without a budget, what it holds is not counted (a few chunks held for a moment).
   */
  static open(initial: number, budget: BodyBudget | null, borrow = false): BodyBuffer | null {
    const b = new BodyBuffer(initial, budget);
    if (borrow) return b;
    const size = Math.max(initial, 0);
    if (!b.hold(size)) return null;
    b.buf = Buffer.allocUnsafe(size);
    return b;
  }

  /** Append a chunk; false (nothing appended) when the budget cannot hold it. */
  push(chunk: Uint8Array): boolean {
    let buf = this.buf;
    if (buf === null) {
      const first = this.first;
      if (first === null) {
        if (!this.hold(chunk.byteLength)) return false;
        this.first = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.len = chunk.byteLength;
        return true;
      }
      const size = Math.max(this.initial, this.len + chunk.byteLength);
      if (!this.hold(size)) return false;
      buf = Buffer.allocUnsafe(size);
      buf.set(first, 0);
      this.first = null;
    } else if (this.len + chunk.byteLength > buf.length) {
      const size = Math.max(buf.length * 2, this.len + chunk.byteLength, 4096);
      if (!this.hold(size)) return false;
      const next = Buffer.allocUnsafe(size);
      buf.copy(next, 0, 0, this.len);
      buf = next;
    }
    buf.set(chunk, this.len);
    this.buf = buf;
    this.len += chunk.byteLength;
    return true;
  }

  view(): Buffer {
    return this.first ?? (this.buf === null ? EMPTY : this.buf.subarray(0, this.len));
  }

  /** The bytes are no longer held by the gate (the exchange ended). */
  release(): void {
    this.budget?.release(this.reserved);
    this.reserved = 0;
  }

  /** Hold `bytes` in all (from what is held now). */
  private hold(bytes: number): boolean {
    if (bytes <= this.reserved || this.budget === null) return true;
    if (!this.budget.reserve(bytes - this.reserved)) return false;
    this.reserved = bytes;
    return true;
  }
}
