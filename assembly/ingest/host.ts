// The request's Host line as the token the Guardian decides (docs/compatibility.md): RFC 3986
// host[:port] lower-cased, an IP address replaced by the word ipv4 / ipv6 (pod addresses change
// with every pod), "none" without a Host line. Recent values are remembered by their bytes, so a
// known host costs a hash and a comparison, no string.
import { SetProfile } from "../model/set";
import { parseIP } from "../net/ip";
import { bytesHash, sameBytes } from "../text/bytehash";

/** Longest Host value accepted: a 255-byte name (RFC 3986 §3.2.2, DNS) and ":65535". */
export const MAX_HOST: i32 = 262;
const MAX_NAME: i32 = 255;

/** The token of a request without a Host line. */
export const HOST_NONE_SET = SetProfile.ofString("none");

// @ts-ignore: decorator
@inline const SLOTS: i32 = 64;
// Per slot: the value's bytes, hash and length, and its profile (a direct-mapped table).
const BYTES: usize = memory.data(SLOTS * MAX_HOST, 8);
const HASHES: usize = memory.data(SLOTS * 4, 8);
const LENS: usize = memory.data(SLOTS * 4, 8);
const PROFILES = new StaticArray<SetProfile>(SLOTS);

@inline function isDigit(c: u8): bool {
  return c >= 48 && c <= 57;
}

@inline function isHex(c: u8): bool {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

@inline function isAlpha(c: u8): bool {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** RFC 3986 unreserved / sub-delims (the bytes of a reg-name besides pct-encoded). */
function isNameByte(c: u8): bool {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case 45: case 46: case 95: case 126: // - . _ ~
    case 33: case 36: case 38: case 39: case 40: case 41: case 42: case 43: case 44: case 59: case 61: // ! $ & ' ( ) * + , ; =
      return true;
    default:
      return false;
  }
}

/** Whether [from, to) is a reg-name: unreserved, sub-delims and %HH only. */
function isRegName(p: usize, from: i32, to: i32): bool {
  for (let i = from; i < to; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 37) {
      if (i + 2 >= to || !isHex(load<u8>(p + <usize>(i + 1))) || !isHex(load<u8>(p + <usize>(i + 2)))) return false;
      i += 2;
    } else if (!isNameByte(c)) return false;
  }
  return true;
}

/** RFC 3986 IPvFuture without the brackets: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
function isIPvFuture(p: usize, from: i32, to: i32): bool {
  let i = from + 1;
  while (i < to && isHex(load<u8>(p + <usize>i))) i++;
  if (i == from + 1 || i >= to || load<u8>(p + <usize>i) != 46) return false;
  i++;
  if (i >= to) return false;
  for (; i < to; i++) {
    const c = load<u8>(p + <usize>i);
    if (c != 58 && !isNameByte(c)) return false;
  }
  return true;
}

/** Text of the ASCII bytes [from, to). */
function ascii(p: usize, from: i32, to: i32): string {
  return String.UTF8.decodeUnsafe(p + <usize>from, <usize>(to - from));
}

/** Whether [from, to) is an IPv4address (dotted decimal, no leading zeros), as Go's ParseIP reads it. */
function isIPv4(p: usize, from: i32, to: i32): bool {
  if (from >= to || !isDigit(load<u8>(p + <usize>from))) return false;
  for (let i = from; i < to; i++) {
    const c = load<u8>(p + <usize>i);
    if (c != 46 && !isDigit(c)) return false;
  }
  return parseIP(ascii(p, from, to)) != null;
}

/** Whether [from, to) (inside the brackets) is an IPv6address. */
function isIPv6(p: usize, from: i32, to: i32): bool {
  let colon = false;
  for (let i = from; i < to; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 58) colon = true;
    else if (c != 46 && !isHex(c)) return false;
  }
  return colon && parseIP(ascii(p, from, to)) != null;
}

/** The token of a Host value, or null when it is not an RFC 3986 host[:port]. */
export function hostToken(p: usize, len: i32): string | null {
  if (len > MAX_HOST) return null;
  let hostEnd: i32;
  let word: string | null = null;
  if (len > 0 && load<u8>(p) == 91) {
    // IP-literal: "[" ( IPv6address / IPvFuture ) "]"
    hostEnd = 1;
    while (hostEnd < len && load<u8>(p + <usize>hostEnd) != 93) hostEnd++;
    if (hostEnd >= len) return null;
    const first = hostEnd > 1 ? load<u8>(p + 1) : 0;
    if (first == 118 || first == 86) {
      if (!isIPvFuture(p, 1, hostEnd)) return null;
    } else if (isIPv6(p, 1, hostEnd)) {
      word = "ipv6";
    } else {
      return null;
    }
    hostEnd++;
  } else {
    hostEnd = 0;
    while (hostEnd < len && load<u8>(p + <usize>hostEnd) != 58) hostEnd++;
    if (hostEnd > MAX_NAME || !isRegName(p, 0, hostEnd)) return null;
    if (isIPv4(p, 0, hostEnd)) word = "ipv4";
  }
  // [ ":" port ]: at most five digits, at most 65535 (RFC 3986 allows any digits; no port can be more).
  if (hostEnd < len) {
    if (load<u8>(p + <usize>hostEnd) != 58 || len - hostEnd - 1 > 5) return null;
    let port = 0;
    for (let i = hostEnd + 1; i < len; i++) {
      const c = load<u8>(p + <usize>i);
      if (!isDigit(c)) return null;
      port = port * 10 + <i32>(c - 48);
    }
    if (port > 65535) return null;
  }
  if (word != null) return hostEnd == len ? word! : word! + ascii(p, hostEnd, len);
  // Lower-case (every byte here is ASCII).
  const s = ascii(p, 0, len);
  return s.toLowerCase();
}

/**
 * The Set profile of a Host value, remembered by its bytes; null when the value is malformed
 * (not an RFC 3986 host[:port]).
 */
export function hostSet(p: usize, len: i32): SetProfile | null {
  if (len > MAX_HOST) return null;
  const h = bytesHash(p, len);
  const slot = <usize>(h & <u32>(SLOTS - 1));
  const at = BYTES + slot * <usize>MAX_HOST;
  if (load<u32>(HASHES + (slot << 2)) == h && load<i32>(LENS + (slot << 2)) == len && sameBytes(at, p, len)) {
    return unchecked(PROFILES[<i32>slot]);
  }
  const token = hostToken(p, len);
  if (token == null) return null;
  const set = SetProfile.ofString(token!);
  memory.copy(at, p, <usize>len);
  store<u32>(HASHES + (slot << 2), h);
  store<i32>(LENS + (slot << 2), len);
  unchecked((PROFILES[<i32>slot] = set));
  return set;
}
