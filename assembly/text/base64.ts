// Base64, standard alphabet with '=' padding, with Go's StdEncoding semantics: encoding as Go
// does; decoding accepts exactly what StdEncoding.DecodeString accepts (padding required, '\r'
// and '\n' ignored anywhere, non-zero trailing bits tolerated since StdEncoding is not Strict).
import { goStringFromUtf8 } from "./utf8";

const ALPHABET: usize = memory.data<u8>([
  65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90,
  97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 47,
]);

let encBuf = new ArrayBuffer(256);

export function base64Encode(ptr: usize, len: i32): string {
  if (len <= 0) return "";
  const outLen = ((len + 2) / 3) * 4;
  if (encBuf.byteLength < outLen) encBuf = new ArrayBuffer(outLen);
  const o = changetype<usize>(encBuf);
  let i = 0, w: usize = 0;
  while (i + 3 <= len) {
    const v = (<u32>load<u8>(ptr + <usize>i) << 16) | (<u32>load<u8>(ptr + <usize>i + 1) << 8) | <u32>load<u8>(ptr + <usize>i + 2);
    store<u8>(o + w, load<u8>(ALPHABET + ((v >> 18) & 63)));
    store<u8>(o + w + 1, load<u8>(ALPHABET + ((v >> 12) & 63)));
    store<u8>(o + w + 2, load<u8>(ALPHABET + ((v >> 6) & 63)));
    store<u8>(o + w + 3, load<u8>(ALPHABET + (v & 63)));
    i += 3;
    w += 4;
  }
  const rest = len - i;
  if (rest > 0) {
    let v = <u32>load<u8>(ptr + <usize>i) << 16;
    if (rest == 2) v |= <u32>load<u8>(ptr + <usize>i + 1) << 8;
    store<u8>(o + w, load<u8>(ALPHABET + ((v >> 18) & 63)));
    store<u8>(o + w + 1, load<u8>(ALPHABET + ((v >> 12) & 63)));
    store<u8>(o + w + 2, rest == 2 ? load<u8>(ALPHABET + ((v >> 6) & 63)) : 61);
    store<u8>(o + w + 3, 61);
    w += 4;
  }
  return goStringFromUtf8(o, <i32>w);
}

export function base64EncodeBytes(b: Uint8Array): string {
  return base64Encode(b.dataStart, b.length);
}

// @ts-ignore: decorator
@inline function sextet(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

// @ts-ignore: decorator
@inline function isNL(c: i32): bool {
  return c == 10 || c == 13;
}

let decBuf = new ArrayBuffer(256);

/** Go base64.StdEncoding.DecodeString; null on any error Go reports. */
export function base64Decode(s: string): Uint8Array | null {
  const p = changetype<usize>(s);
  const n = s.length;
  const cap = (n / 4) * 3 + 3;
  if (decBuf.byteLength < cap) decBuf = new ArrayBuffer(cap);
  const out = changetype<usize>(decBuf);
  let w = 0;
  let si = 0;
  let done = false;
  while (!done) {
    let acc: u32 = 0;
    let j = 0;
    let dlen = 4;
    while (j < 4) {
      if (si == n) {
        if (j == 0) {
          dlen = 0;
          done = true;
          break;
        }
        return null; // incomplete quantum without padding
      }
      const c = <i32>load<u16>(p + (<usize>si << 1));
      si++;
      const v = sextet(c);
      if (v >= 0) {
        acc = (acc << 6) | <u32>v;
        j++;
        continue;
      }
      if (isNL(c)) continue;
      if (c != 61) return null;
      // padding
      if (j < 2) return null;
      if (j == 2) {
        while (si < n && isNL(<i32>load<u16>(p + (<usize>si << 1)))) si++;
        if (si == n) return null;
        if (<i32>load<u16>(p + (<usize>si << 1)) != 61) return null;
        si++;
      }
      while (si < n && isNL(<i32>load<u16>(p + (<usize>si << 1)))) si++;
      if (si < n) return null; // trailing garbage
      dlen = j;
      done = true;
      break;
    }
    if (dlen == 4) {
      store<u8>(out + <usize>w, <u8>(acc >> 16));
      store<u8>(out + <usize>w + 1, <u8>(acc >> 8));
      store<u8>(out + <usize>w + 2, <u8>acc);
      w += 3;
    } else if (dlen == 3) {
      acc <<= 6;
      store<u8>(out + <usize>w, <u8>(acc >> 16));
      store<u8>(out + <usize>w + 1, <u8>(acc >> 8));
      w += 2;
    } else if (dlen == 2) {
      acc <<= 12;
      store<u8>(out + <usize>w, <u8>(acc >> 16));
      w += 1;
    }
    if (si == n) done = true;
  }
  const res = new Uint8Array(w);
  memory.copy(res.dataStart, out, <usize>w);
  return res;
}
