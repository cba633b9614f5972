// Token kinds: the alphabets of values that are random by nature (session ids, CSRF tokens,
// ETags, request and trace ids). A value's kinds are every alphabet it fits (a hex value fits hex,
// base64url and base64), so the kinds a key learns are the intersection over its values, and a new
// random value of the same kind fits whatever letters it happens to draw. No kind admits a quote
// inside the value, `<>`, `;`, `%`, `'` or `..`, and none but an address list a space (next to its
// commas): a value that fits one cannot carry an injection, which is why a token may pass where its
// character counts would not (docs/tokens.md).

import { hexVal } from "../net/ip";

export const TOKEN_HEX: u8 = 1;
export const TOKEN_BASE64URL: u8 = 2;
export const TOKEN_BASE64: u8 = 4;
export const TOKEN_UUID: u8 = 8;
export const TOKEN_JWT: u8 = 16;
export const TOKEN_ETAG: u8 = 32;
/** A list of IP addresses (X-Forwarded-For, X-Real-IP): checked by grammar, not by length band. */
export const TOKEN_ADDRESSES: u8 = 64;
export const TOKEN_KINDS: u8 = 127;
/** Shortest and longest value profiled as a token. */
export const TOKEN_MIN_LEN: i32 = 8;
export const TOKEN_MAX_LEN: i32 = 4096;

export const TOKEN_KIND_NAMES: StaticArray<string> = ["hex", "base64url", "base64", "uuid", "jwt", "etag", "addresses"];

// Per ASCII byte, what it is to the classifier.
const C_DIGIT: u8 = 1;
const C_HEXLOWER: u8 = 2;
const C_HEXUPPER: u8 = 4;
const C_LETTER: u8 = 8;
const C_URLSAFE: u8 = 16; // - _
const C_STD: u8 = 32; // + /
const C_PAD: u8 = 64; // =
const C_ETAGONLY: u8 = 128; // . :
const CLASS = new StaticArray<u8>(128);
function initClasses(): void {
  for (let c = 48; c <= 57; c++) CLASS[c] = C_DIGIT;
  for (let c = 97; c <= 122; c++) CLASS[c] = C_LETTER | (c <= 102 ? C_HEXLOWER : 0);
  for (let c = 65; c <= 90; c++) CLASS[c] = C_LETTER | (c <= 70 ? C_HEXUPPER : 0);
  CLASS[45] = C_URLSAFE;
  CLASS[95] = C_URLSAFE;
  CLASS[43] = C_STD;
  CLASS[47] = C_STD;
  CLASS[61] = C_PAD;
  CLASS[46] = C_ETAGONLY;
  CLASS[58] = C_ETAGONLY;
}
initClasses();

/** Which ASCII special characters (the SimpleVal flag bits) a token candidate may contain. */
// Flag bits (simpleval.ts) of `"` (1), `+` (9), `-` (11), `.` (12), `/` (13), `:` (14), `=` (17),
// `_` (23), and the pair flags "--" (30) and "0x" (31), which random base64 draws as well.
export const TOKEN_SPECIAL_FLAGS: u32 = (1 << 1) | (1 << 9) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17) | (1 << 23) | (1 << 30) | (1 << 31);

/** The union of classes of [ptr, ptr+len), or 0 when a byte is none of them. */
function classesOf(ptr: usize, len: i32): u32 {
  let all: u32 = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c >= 128) return 0;
    const k = <u32>unchecked(CLASS[c]);
    if (k == 0) return 0;
    all |= k;
  }
  return all;
}

/** `=` only as trailing padding (at most two). */
function padOnlyAtEnd(ptr: usize, len: i32): bool {
  let end = len;
  while (end > 0 && load<u8>(ptr + <usize>(end - 1)) == 61) end--;
  if (len - end > 2) return false;
  for (let i = 0; i < end; i++) if (load<u8>(ptr + <usize>i) == 61) return false;
  return true;
}

function isUuid(ptr: usize, len: i32): bool {
  if (len != 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != 45) return false;
    } else if (c >= 128 || (unchecked(CLASS[c]) & (C_DIGIT | C_HEXLOWER | C_HEXUPPER)) == 0) return false;
  }
  return true;
}

/** header.payload.signature, each non-empty base64url, the header a JSON object ("eyJ"). */
function isJwt(ptr: usize, len: i32): bool {
  if (len < 3 || load<u8>(ptr) != 101 || load<u8>(ptr + 1) != 121 || load<u8>(ptr + 2) != 74) return false;
  let dots = 0;
  let run = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c == 46) {
      if (run == 0) return false;
      dots++;
      run = 0;
      continue;
    }
    if (c >= 128 || (unchecked(CLASS[c]) & (C_DIGIT | C_LETTER | C_URLSAFE)) == 0) return false;
    run++;
  }
  return dots == 2 && run > 0;
}

/**
 * The token kinds of the value [ptr, ptr+len), or 0 when it is no token or does not look random
 * (a word or a number is not a token: letters and digits must mix, or the shape be a token's).
 * Callers filter first on the SimpleVal counters (no space, control or non-ASCII character and only
 * TOKEN_SPECIAL_FLAGS), so most values never get here.
 */
export function tokenKinds(ptr: usize, len: i32): u8 {
  if (len < TOKEN_MIN_LEN || len > TOKEN_MAX_LEN) return 0;
  const first = load<u8>(ptr);
  // An entity tag: "…" or W/"…" (RFC 9110 §8.8.3), its inside a token-like run.
  if (first == 34 || (first == 87 && len > 3 && load<u8>(ptr + 1) == 47 && load<u8>(ptr + 2) == 34)) {
    const open = first == 34 ? 1 : 3;
    if (load<u8>(ptr + <usize>(len - 1)) != 34 || len - 1 <= open) return 0;
    // No ".." inside: an entity tag never carries a path step.
    for (let i = open + 1; i < len - 1; i++) if (load<u8>(ptr + <usize>i) == 46 && load<u8>(ptr + <usize>(i - 1)) == 46) return 0;
    return classesOf(ptr + <usize>open, len - 1 - open) != 0 ? TOKEN_ETAG : 0;
  }
  if (isUuid(ptr, len)) return TOKEN_UUID | TOKEN_BASE64URL;
  if (isJwt(ptr, len)) return TOKEN_JWT;
  const all = classesOf(ptr, len);
  if (all == 0 || (all & C_ETAGONLY) != 0) return 0;
  if ((all & C_PAD) != 0 && !padOnlyAtEnd(ptr, len)) return 0;
  let kinds: u8 = 0;
  // Digits and a–f in one case only.
  if ((all & ~(C_DIGIT | C_HEXLOWER | C_HEXUPPER | C_LETTER)) == 0 && hexOnly(ptr, len)) kinds |= TOKEN_HEX;
  if ((all & C_STD) == 0) kinds |= TOKEN_BASE64URL;
  if ((all & C_URLSAFE) == 0) kinds |= TOKEN_BASE64;
  // Random by shape: letters and digits mix, or, in a long value, both cases (a random base64 of
  // 20 characters lacks digits 3 times in 100; a word or a number is not a token).
  if ((all & C_DIGIT) != 0 && (all & C_LETTER) != 0) return kinds;
  return len >= 20 && bothCases(ptr, len) ? kinds : 0;
}

/** Every letter is a–f in one case. */
function hexOnly(ptr: usize, len: i32): bool {
  let lower = false;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    const k = unchecked(CLASS[c]);
    if ((k & C_LETTER) == 0) continue;
    if ((k & C_HEXLOWER) != 0) lower = true;
    else if ((k & C_HEXUPPER) != 0) upper = true;
    else return false;
  }
  return !(lower && upper);
}

function bothCases(ptr: usize, len: i32): bool {
  let lower = false;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
  }
  return lower && upper;
}

// ---- address lists ------------------------------------------------------------------------------
//
// X-Forwarded-For and its kind carry one address per proxy: the client's own proxies, a CDN, the
// ingress, then the gate's peer. Counted as characters, a chain one hop longer than any learned, or
// the first IPv6 client after IPv4 ones, exceeds the counts; as an address list it is the same kind
// of value. The grammar admits nothing but addresses: digits, a–f, `.`, `:`, `[]` and list commas.
// It is checked on the profiled bytes, allocating nothing; net/ip.ts parses strings into addresses
// (Go's net.ParseIP), which the profile has no need of.

/** Flag bits (simpleval.ts) an address list may use: `,` (10), `.` (12), `:` (14), `[]` (21). */
export const ADDRESS_FLAGS: u32 = (1 << 10) | (1 << 12) | (1 << 14) | (1 << 21);
/** Of those, the ones every address has one of: `.` (IPv4) or `:` (IPv6). */
export const ADDRESS_MARKS: u32 = (1 << 12) | (1 << 14);
/** The most addresses one list may hold (a longer chain is judged by its counts). */
export const ADDRESS_LIST_MAX: i32 = 32;

function isDigit(c: i32): bool {
  return c >= 48 && c <= 57;
}

/** A dotted-quad IPv4 address at [ptr+from, ptr+to): four decimal octets of 0–255, no leading zero. */
function isIpv4(ptr: usize, from: i32, to: i32): bool {
  let parts = 0;
  let i = from;
  while (i < to) {
    const start = i;
    let v = 0;
    while (i < to && isDigit(<i32>load<u8>(ptr + <usize>i))) {
      v = v * 10 + (<i32>load<u8>(ptr + <usize>i) - 48);
      i++;
      if (i - start > 3) return false;
    }
    const n = i - start;
    if (n == 0 || v > 255 || (n > 1 && load<u8>(ptr + <usize>start) == 48)) return false;
    parts++;
    if (i == to) break;
    if (load<u8>(ptr + <usize>i) != 46 || parts == 4) return false;
    i++;
    if (i == to) return false;
  }
  return parts == 4;
}

/** An IPv6 address at [ptr+from, ptr+to) (RFC 4291 §2.2: groups of 1–4 hex digits, one `::`, an IPv4 tail). */
function isIpv6(ptr: usize, from: i32, to: i32): bool {
  if (to - from < 2) return false;
  let groups = 0;
  let compressed = false;
  let i = from;
  if (load<u8>(ptr + <usize>i) == 58) {
    // Only `::` may open the address.
    if (load<u8>(ptr + <usize>(i + 1)) != 58) return false;
    compressed = true;
    i += 2;
    if (i == to) return true;
  }
  while (i < to) {
    const start = i;
    while (i < to && hexVal(<i32>load<u8>(ptr + <usize>i)) >= 0) i++;
    const n = i - start;
    if (i < to && load<u8>(ptr + <usize>i) == 46) {
      // An IPv4 tail takes the last two groups.
      if (!isIpv4(ptr, start, to)) return false;
      groups += 2;
      i = to;
      break;
    }
    if (n == 0 || n > 4) return false;
    groups++;
    if (i == to) break;
    if (load<u8>(ptr + <usize>i) != 58) return false;
    i++;
    if (i < to && load<u8>(ptr + <usize>i) == 58) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i == to) break;
    } else if (i == to) {
      return false; // a single trailing `:`
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

/** A port after an address: 1–5 digits, at most 65535. */
function isPort(ptr: usize, from: i32, to: i32): bool {
  const n = to - from;
  if (n < 1 || n > 5) return false;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (!isDigit(c)) return false;
    v = v * 10 + (c - 48);
  }
  return v <= 65535;
}

/** One list element: IPv4, IPv4:port, IPv6, or [IPv6] with an optional :port (as some proxies write it). */
function isAddress(ptr: usize, from: i32, to: i32): bool {
  if (from >= to) return false;
  if (load<u8>(ptr + <usize>from) == 91) {
    let close = from + 1;
    while (close < to && load<u8>(ptr + <usize>close) != 93) close++;
    if (close == to || !isIpv6(ptr, from + 1, close)) return false;
    if (close + 1 == to) return true;
    return load<u8>(ptr + <usize>(close + 1)) == 58 && isPort(ptr, close + 2, to);
  }
  // IPv4 with a port has exactly one colon; an IPv6 address has at least two.
  let colons = 0;
  let lastColon = -1;
  for (let i = from; i < to; i++) {
    if (load<u8>(ptr + <usize>i) == 58) {
      colons++;
      lastColon = i;
    }
  }
  if (colons == 0) return isIpv4(ptr, from, to);
  if (colons == 1) return isIpv4(ptr, from, lastColon) && isPort(ptr, lastColon + 1, to);
  return isIpv6(ptr, from, to);
}

/**
 * Whether [ptr, ptr+len) is a list of 1 to ADDRESS_LIST_MAX addresses joined by `,` with optional
 * spaces around each (RFC 9110's list syntax, as proxies join X-Forwarded-For).
 */
export function isAddressList(ptr: usize, len: i32): bool {
  if (len < 2 || len > TOKEN_MAX_LEN) return false;
  let count = 0;
  let i = 0;
  while (i <= len) {
    while (i < len && load<u8>(ptr + <usize>i) == 32) i++;
    let end = i;
    while (end < len && load<u8>(ptr + <usize>end) != 44) end++;
    let last = end;
    while (last > i && load<u8>(ptr + <usize>(last - 1)) == 32) last--;
    if (!isAddress(ptr, i, last)) return false;
    if (++count > ADDRESS_LIST_MAX) return false;
    if (end == len) return true;
    i = end + 1;
  }
  return false;
}

// Scratch for classifying a string's ASCII code units as bytes (profiles made from strings).
const SCRATCH: usize = memory.data(TOKEN_MAX_LEN);

/** Copy a string's code units into SCRATCH as bytes; false when one is not ASCII or it is too long. */
function toScratch(s: string): bool {
  const n = s.length;
  if (n > TOKEN_MAX_LEN) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) return false;
    store<u8>(SCRATCH + <usize>i, <u8>c);
  }
  return true;
}

/** tokenKinds of a string whose code units are all ASCII (the caller's filter ensures it). */
export function tokenKindsOfString(s: string): u8 {
  const n = s.length;
  if (n < TOKEN_MIN_LEN || !toScratch(s)) return 0;
  return tokenKinds(SCRATCH, n);
}

/** isAddressList of a string. */
export function isAddressListString(s: string): bool {
  return s.length > 0 && toScratch(s) && isAddressList(SCRATCH, s.length);
}
