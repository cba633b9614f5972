// IP addresses with the semantics of Go's net package (parsing, CIDR masks, text forms). An IP is a
// Uint8Array of 4 or 16 bytes.

/** Parse dotted IPv4 fields of s[from, to) into dst[off..off+4]; false on any error (Go netip rules). */
function parseV4Fields(p: usize, from: i32, to: i32, dst: Uint8Array, off: i32): bool {
  let val = 0, pos = 0, digLen = 0;
  for (let i = from; i < to; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c >= 48 && c <= 57) {
      if (digLen == 1 && val == 0) return false; // leading zero
      val = val * 10 + (c - 48);
      digLen++;
      if (val > 255) return false;
    } else if (c == 46) {
      if (i == from || i == to - 1 || <i32>load<u16>(p + (<usize>(i - 1) << 1)) == 46) return false;
      if (pos == 3) return false;
      dst[off + pos] = <u8>val;
      pos++;
      val = 0;
      digLen = 0;
    } else return false;
  }
  if (pos < 3) return false;
  dst[off + 3] = <u8>val;
  return true;
}

/** The value of one hexadecimal digit (either case), or -1. */
export function hexVal(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseV6(p: usize, n: i32): Uint8Array | null {
  const ip = new Uint8Array(16);
  // A zone ('%') makes Go's ParseIP fail (ParseAddr accepts it, ParseIP rejects zones).
  for (let k = 0; k < n; k++) if (load<u16>(p + (<usize>k << 1)) == 37) return null;
  let s = 0; // current offset into the string
  let ellipsis = -1;
  if (n >= 2 && load<u16>(p) == 58 && load<u16>(p, 2) == 58) {
    ellipsis = 0;
    s = 2;
    if (s == n) return ip;
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    while (s + off < n) {
      const h = hexVal(<i32>load<u16>(p + (<usize>(s + off) << 1)));
      if (h < 0) break;
      acc = (acc << 4) + h;
      if (off > 3) return null; // more than 4 hex digits
      off++;
    }
    if (off == 0) return null;
    if (s + off < n && load<u16>(p + (<usize>(s + off) << 1)) == 46) {
      if (ellipsis < 0 && i != 12) return null;
      if (i + 4 > 16) return null;
      if (!parseV4Fields(p, s, n, ip, i)) return null;
      s = n;
      i += 4;
      break;
    }
    ip[i] = <u8>(acc >> 8);
    ip[i + 1] = <u8>acc;
    i += 2;
    s += off;
    if (s == n) break;
    if (load<u16>(p + (<usize>s << 1)) != 58) return null;
    if (s + 1 == n) return null; // colon must be followed by more
    s++;
    if (load<u16>(p + (<usize>s << 1)) == 58) {
      if (ellipsis >= 0) return null; // multiple ::
      ellipsis = i;
      s++;
      if (s == n) break;
    }
  }
  if (s != n) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const sh = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + sh] = ip[j];
    for (let j = ellipsis; j < ellipsis + sh; j++) ip[j] = 0;
  } else if (ellipsis >= 0) return null; // :: must stand for at least one group
  return ip;
}

/** Go net.ParseIP: IPv4 → 16-byte v4-mapped; IPv6 → 16 bytes; anything else → null. */
export function parseIP(s: string): Uint8Array | null {
  const p = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = load<u16>(p + (<usize>i << 1));
    if (c == 46) {
      const ip = new Uint8Array(16);
      ip[10] = 0xff;
      ip[11] = 0xff;
      return parseV4Fields(p, 0, n, ip, 12) ? ip : null;
    }
    if (c == 58) return parseV6(p, n);
    if (c == 37) return null;
  }
  return null;
}

function isV4Mapped(ip: Uint8Array): bool {
  if (ip.length != 16) return false;
  const p = ip.dataStart;
  return load<u64>(p) == 0 && load<u32>(p + 8) == 0xffff0000;
}

/** Go IP.To4: the IP itself when 4 bytes, a view of the last 4 bytes when v4-mapped, else null. */
export function to4(ip: Uint8Array): Uint8Array | null {
  if (ip.length == 4) return ip;
  if (isV4Mapped(ip)) return ip.subarray(12, 16);
  return null;
}

function hexDigit(v: i32): string {
  return String.fromCharCode(v < 10 ? 48 + v : 87 + v);
}

/** Go IP.String. */
export function ipToString(ip: Uint8Array): string {
  const n = ip.length;
  if (n == 0) return "<nil>";
  if (n != 4 && n != 16) {
    let h = "?";
    for (let i = 0; i < n; i++) h += hexDigit(ip[i] >> 4) + hexDigit(ip[i] & 15);
    return h;
  }
  const b = n == 4 ? 0 : isV4Mapped(ip) ? 12 : -1;
  if (b >= 0) {
    return ip[b].toString() + "." + ip[b + 1].toString() + "." + ip[b + 2].toString() + "." + ip[b + 3].toString();
  }
  // RFC 5952: compress the longest (first on ties) run of ≥ 2 zero groups.
  let zs = -1, ze = -1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && ip[2 * j] == 0 && ip[2 * j + 1] == 0) j++;
    const l = j - i;
    if (l >= 2 && l > ze - zs) {
      zs = i;
      ze = j;
    }
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i == zs) {
      out += "::";
      i = ze;
      if (i >= 8) break;
    } else if (i > 0) out += ":";
    const g = (<i32>ip[2 * i] << 8) | <i32>ip[2 * i + 1];
    out += g.toString(16);
  }
  return out;
}

/** Where the IPv4 bytes start: 0 for a 4-byte IP, 12 for a v4-mapped one, -1 for IPv6 (To4 without a view). */
// @ts-ignore: decorator
@inline export function v4Offset(ip: Uint8Array): i32 {
  if (ip.length == 4) return 0;
  return isV4Mapped(ip) ? 12 : -1;
}

export function isUnspecified(ip: Uint8Array): bool {
  const o = v4Offset(ip);
  if (o >= 0) return unchecked(ip[o]) == 0 && unchecked(ip[o + 1]) == 0 && unchecked(ip[o + 2]) == 0 && unchecked(ip[o + 3]) == 0;
  if (ip.length != 16) return false;
  for (let i = 0; i < 16; i++) if (unchecked(ip[i]) != 0) return false;
  return true;
}

export function isLoopback(ip: Uint8Array): bool {
  const o = v4Offset(ip);
  if (o >= 0) return unchecked(ip[o]) == 127;
  if (ip.length != 16) return false;
  for (let i = 0; i < 15; i++) if (unchecked(ip[i]) != 0) return false;
  return unchecked(ip[15]) == 1;
}

export function isPrivate(ip: Uint8Array): bool {
  const o = v4Offset(ip);
  if (o >= 0) {
    const a = unchecked(ip[o]);
    const b = unchecked(ip[o + 1]);
    return a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168);
  }
  return ip.length == 16 && (unchecked(ip[0]) & 0xfe) == 0xfc;
}

/** Go IPNet{IP: netIP, Mask: mask}.Contains(ip), without allocating. */
export function cidrContains(netIP: Uint8Array, mask: Uint8Array, ip: Uint8Array): bool {
  // networkNumberAndMask: the network as 4 bytes when it is IPv4, else its 16 bytes.
  let nOff = v4Offset(netIP);
  let nl = nOff >= 0 ? 4 : netIP.length == 16 ? 16 : 0;
  if (nOff < 0) nOff = 0;
  let mOff = 0;
  if (nl != 0) {
    if (mask.length == 4) {
      if (nl != 4) nl = 0;
    } else if (mask.length == 16) {
      if (nl == 4) mOff = 12;
    } else nl = 0;
  }
  let qOff = v4Offset(ip);
  const l = qOff >= 0 ? 4 : ip.length;
  if (qOff < 0) qOff = 0;
  if (l != nl) return false;
  if (nl == 0) return true; // Go: a nil network "contains" an empty IP
  for (let i = 0; i < l; i++) {
    const m = unchecked(mask[mOff + i]);
    if ((unchecked(netIP[nOff + i]) & m) != (unchecked(ip[qOff + i]) & m)) return false;
  }
  return true;
}

/** A /proc/net/{tcp,udp,…} hex address: 8 hex digits → 4 bytes, 32 → 16 bytes (LE 32-bit words). */
export function ipFromProcHex(ptr: usize, len: i32): Uint8Array | null {
  if (len != 8 && len != 32) return null;
  const out = new Uint8Array(len >> 1);
  const words = len >> 3;
  for (let w = 0; w < words; w++) {
    let v: u32 = 0;
    for (let k = 0; k < 8; k++) {
      const h = hexVal(<i32>load<u8>(ptr + <usize>(w * 8 + k)));
      if (h < 0) return null;
      v = (v << 4) | <u32>h;
    }
    out[w * 4] = <u8>v;
    out[w * 4 + 1] = <u8>(v >> 8);
    out[w * 4 + 2] = <u8>(v >> 16);
    out[w * 4 + 3] = <u8>(v >> 24);
  }
  return out;
}
