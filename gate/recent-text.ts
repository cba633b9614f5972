// Text of short byte strings that repeat from one request to the next (a sidecar's peer address, a
// service's Content-Type): the last one is remembered, so a repeat costs a comparison of a few
// bytes instead of a Buffer and a string per request.

/** The latin1 text of bytes (each byte one character), without copying them first. */
export function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export class RecentText {
  private bytes: Uint8Array = new Uint8Array(0);
  private text = '';

  /** `form` turns new bytes (and their latin1 text) into the text kept (done once per distinct value). */
  constructor(private readonly form: (text: string, bytes: Uint8Array) => string = (t) => t) {}

  /** The latin1 text of `b` (copied: the bytes may be reused or invalid after the call). */
  of(b: Uint8Array): string {
    const n = b.length;
    const last = this.bytes;
    if (n === last.length) {
      let i = 0;
      while (i < n && b[i] === last[i]) i++;
      if (i === n) return this.text;
    }
    const copy = b.slice();
    this.text = this.form(latin1(copy), copy);
    this.bytes = copy;
    return this.text;
  }
}

/**
 * The value of a Content-Length given as bytes: a non-empty run of ASCII digits, else null (the
 * caller treats the length as unknown, as it did a value `/^\d+$/` refused).
 */
export function digitsValue(b: Uint8Array): number | null {
  const n = b.length;
  if (n === 0) return null;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return v;
}
