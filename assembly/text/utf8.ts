// UTF-8 primitives with Go's semantics: iterating bytes yields the code point of
// each valid sequence, and U+FFFD consuming exactly one byte for any invalid byte (bad lead byte,
// truncated or overlong sequence, encoded surrogate, value above U+10FFFF).

/** Bytes consumed by the last decodeRune call (0 only when `remaining` was ≤ 0). */
export let runeLen: i32 = 0;

// @ts-ignore: decorator
@inline const RUNE_ERROR: i32 = 0xfffd;

/** Decode one rune at ptr (with `remaining` readable bytes); sets runeLen. Allocates nothing. */
export function decodeRune(ptr: usize, remaining: i32): i32 {
  if (remaining <= 0) {
    runeLen = 0;
    return RUNE_ERROR;
  }
  const b0 = <i32>load<u8>(ptr);
  if (b0 < 0x80) {
    runeLen = 1;
    return b0;
  }
  runeLen = 1;
  if (b0 < 0xc2 || b0 > 0xf4) return RUNE_ERROR;
  if (remaining < 2) return RUNE_ERROR;
  const b1 = <i32>load<u8>(ptr, 1);
  if (b0 < 0xe0) {
    if ((b1 & 0xc0) != 0x80) return RUNE_ERROR;
    runeLen = 2;
    return ((b0 & 0x1f) << 6) | (b1 & 0x3f);
  }
  // Second-byte range depends on the lead byte (excludes overlongs, surrogates, > U+10FFFF).
  let lo = 0x80, hi = 0xbf;
  if (b0 == 0xe0) lo = 0xa0;
  else if (b0 == 0xed) hi = 0x9f;
  else if (b0 == 0xf0) lo = 0x90;
  else if (b0 == 0xf4) hi = 0x8f;
  if (b1 < lo || b1 > hi) return RUNE_ERROR;
  if (remaining < 3) return RUNE_ERROR;
  const b2 = <i32>load<u8>(ptr, 2);
  if ((b2 & 0xc0) != 0x80) return RUNE_ERROR;
  if (b0 < 0xf0) {
    runeLen = 3;
    return ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
  }
  if (remaining < 4) return RUNE_ERROR;
  const b3 = <i32>load<u8>(ptr, 3);
  if ((b3 & 0xc0) != 0x80) return RUNE_ERROR;
  runeLen = 4;
  return ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
}

/** An AS string (UTF-16) of the bytes, each invalid byte becoming U+FFFD as Go's range loop does. */
export function goStringFromUtf8(ptr: usize, len: i32): string {
  if (len <= 0) return "";
  // Pass 1: count UTF-16 units (ASCII fast scan first).
  let i = 0;
  while (i < len && load<u8>(ptr + <usize>i) < 0x80) i++;
  let units = i;
  while (i < len) {
    const c = decodeRune(ptr + <usize>i, len - i);
    i += runeLen;
    units += c >= 0x10000 ? 2 : 1;
  }
  const out = changetype<usize>(__new(<usize>units << 1, idof<string>()));
  // Pass 2: fill.
  i = 0;
  let o: usize = out;
  while (i < len) {
    const b = load<u8>(ptr + <usize>i);
    if (b < 0x80) {
      store<u16>(o, <u16>b);
      o += 2;
      i++;
      continue;
    }
    const c = decodeRune(ptr + <usize>i, len - i);
    i += runeLen;
    if (c >= 0x10000) {
      const v = c - 0x10000;
      store<u16>(o, <u16>(0xd800 | (v >> 10)));
      store<u16>(o, <u16>(0xdc00 | (v & 0x3ff)), 2);
      o += 4;
    } else {
      store<u16>(o, <u16>c);
      o += 2;
    }
  }
  return changetype<string>(out);
}

/** Bytes of s in UTF-8; a lone surrogate counts as 3 (it is written as U+FFFD). */
export function utf8ByteLength(s: string): i32 {
  const p = changetype<usize>(s);
  const n = s.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const d = <i32>load<u16>(p + (<usize>(i + 1) << 1));
      if (d >= 0xdc00 && d < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Encode s as UTF-8 at dst (lone surrogates → EF BF BD); returns bytes written. */
export function writeUtf8(s: string, dst: usize): i32 {
  const p = changetype<usize>(s);
  const n = s.length;
  let o = dst;
  for (let i = 0; i < n; i++) {
    let c = <i32>load<u16>(p + (<usize>i << 1));
    if (c < 0x80) {
      store<u8>(o++, <u8>c);
      continue;
    }
    if (c < 0x800) {
      store<u8>(o, <u8>(0xc0 | (c >> 6)));
      store<u8>(o, <u8>(0x80 | (c & 0x3f)), 1);
      o += 2;
      continue;
    }
    if (c >= 0xd800 && c < 0xe000) {
      let paired = false;
      if (c < 0xdc00 && i + 1 < n) {
        const d = <i32>load<u16>(p + (<usize>(i + 1) << 1));
        if (d >= 0xdc00 && d < 0xe000) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          store<u8>(o, <u8>(0xf0 | (cp >> 18)));
          store<u8>(o, <u8>(0x80 | ((cp >> 12) & 0x3f)), 1);
          store<u8>(o, <u8>(0x80 | ((cp >> 6) & 0x3f)), 2);
          store<u8>(o, <u8>(0x80 | (cp & 0x3f)), 3);
          o += 4;
          i++;
          paired = true;
        }
      }
      if (paired) continue;
      c = RUNE_ERROR;
    }
    store<u8>(o, <u8>(0xe0 | (c >> 12)));
    store<u8>(o, <u8>(0x80 | ((c >> 6) & 0x3f)), 1);
    store<u8>(o, <u8>(0x80 | (c & 0x3f)), 2);
    o += 3;
  }
  return <i32>(o - dst);
}

export function stringToUtf8(s: string): Uint8Array {
  const out = new Uint8Array(utf8ByteLength(s));
  writeUtf8(s, out.dataStart);
  return out;
}

// Code point at unit index i of a string of n units (lone surrogate → U+FFFD); sets cpUnits.
let cpUnits: i32 = 1;
function codePointAtUnit(p: usize, i: i32, n: i32): i32 {
  const c = <i32>load<u16>(p + (<usize>i << 1));
  cpUnits = 1;
  if (c < 0xd800 || c >= 0xe000) return c;
  if (c < 0xdc00 && i + 1 < n) {
    const d = <i32>load<u16>(p + (<usize>(i + 1) << 1));
    if (d >= 0xdc00 && d < 0xe000) {
      cpUnits = 2;
      return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
    }
  }
  return RUNE_ERROR;
}

/** Compare as Go compares the UTF-8 bytes of the two strings (code point order); −1, 0 or 1. */
export function compareUtf8(a: string, b: string): i32 {
  const pa = changetype<usize>(a), pb = changetype<usize>(b);
  const na = a.length, nb = b.length;
  let i = 0, j = 0;
  while (i < na && j < nb) {
    const ua = load<u16>(pa + (<usize>i << 1));
    const ub = load<u16>(pb + (<usize>j << 1));
    if (ua == ub && (ua < 0xd800 || ua >= 0xe000)) {
      i++;
      j++;
      continue;
    }
    const ca = codePointAtUnit(pa, i, na);
    i += cpUnits;
    const cb = codePointAtUnit(pb, j, nb);
    j += cpUnits;
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  if (i < na) return 1;
  if (j < nb) return -1;
  return 0;
}
