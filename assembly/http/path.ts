// Go URL path decoding of a request target's path: %XX decoded (hex digits of
// either case), '+' kept as is; an invalid escape is an error (Go's server answers 400).
import { goStringFromUtf8 } from "../text/utf8";

// @ts-ignore: decorator
@inline function hexv(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Decode into dst (≥ len bytes, may equal ptr); returns the decoded length or −1 on an invalid escape. */
export function unescapePathBytes(ptr: usize, len: i32, dst: usize): i32 {
  let w = 0;
  let i = 0;
  while (i < len) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c == 37) {
      if (i + 2 >= len) return -1;
      const h = hexv(<i32>load<u8>(ptr + <usize>i + 1));
      const l = hexv(<i32>load<u8>(ptr + <usize>i + 2));
      if ((h | l) < 0) return -1;
      store<u8>(dst + <usize>w, <u8>((h << 4) | l));
      i += 3;
    } else {
      store<u8>(dst + <usize>w, <u8>c);
      i++;
    }
    w++;
  }
  return w;
}

let scratch = new ArrayBuffer(1024);

/** The decoded path as a string (invalid UTF-8 → U+FFFD per byte), or null on an invalid escape. */
export function unescapePath(ptr: usize, len: i32): string | null {
  if (len <= 0) return "";
  if (scratch.byteLength < len) scratch = new ArrayBuffer(len);
  const d = changetype<usize>(scratch);
  const n = unescapePathBytes(ptr, len, d);
  if (n < 0) return null;
  return goStringFromUtf8(d, n);
}
