// Go textproto.CanonicalMIMEHeaderKey: the header names the original's gate saw.
import { goStringFromUtf8 } from "../text/utf8";

/** RFC 7230 token byte: ALPHA, DIGIT and !#$%&'*+-.^_`|~ */
function isTokenByte(c: i32): bool {
  if (c >= 97 && c <= 122) return true;
  if (c >= 65 && c <= 90) return true;
  if (c >= 48 && c <= 57) return true;
  return c == 33 || c == 35 || c == 36 || c == 37 || c == 38 || c == 39 || c == 42 || c == 43 ||
    c == 45 || c == 46 || c == 94 || c == 95 || c == 96 || c == 124 || c == 126;
}

/** Canonical form of s; s itself when it is already canonical or has a non-token character. */
export function canonicalHeaderKey(s: string): string {
  const p = changetype<usize>(s);
  const n = s.length;
  let upper = true;
  let needs = false;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (!isTokenByte(c)) return s;
    if (upper ? c >= 97 && c <= 122 : c >= 65 && c <= 90) needs = true;
    upper = c == 45;
  }
  if (!needs) return s;
  const out = changetype<usize>(__new(<usize>n << 1, idof<string>()));
  upper = true;
  for (let i = 0; i < n; i++) {
    let c = <i32>load<u16>(p + (<usize>i << 1));
    if (upper && c >= 97 && c <= 122) c -= 32;
    else if (!upper && c >= 65 && c <= 90) c += 32;
    store<u16>(out + (<usize>i << 1), <u16>c);
    upper = c == 45;
  }
  return changetype<string>(out);
}

/** Same from bytes; a key with a non-token byte is returned as decoded text (invalid UTF-8 → U+FFFD). */
export function canonicalHeaderKeyBytes(ptr: usize, len: i32): string {
  return canonicalHeaderKey(goStringFromUtf8(ptr, len));
}
