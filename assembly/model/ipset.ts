// IpSet: public peer addresses; config = CIDRs that grow only inside the last byte.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { ipToString, isLoopback, isPrivate, isUnspecified, parseIP, to4, v4Offset } from "../net/ip";
import { Decision, decideInner } from "./decision";
import { asArray, asObject, enter, fail, field, leave, readBytes, readString } from "./wire";

/** Most distinct addresses an IpSet pile holds. */
export const MAX_PILE_IPS = 4096;

export function ignoredIP(ip: Uint8Array): bool {
  return isUnspecified(ip) || isLoopback(ip) || isPrivate(ip);
}

function writeIPList(w: JsonWriter, list: Array<Uint8Array> | null): void {
  if (list == null) {
    w.null();
    return;
  }
  w.beginArray();
  for (let i = 0; i < list.length; i++) w.string(ipToString(list[i]));
  w.endArray();
}

function readIPList(v: JsonValue | null): Array<Uint8Array> | null {
  const items = asArray(v, "a list of IP addresses");
  if (items == null) return null;
  const out = new Array<Uint8Array>();
  for (let i = 0; i < items.length; i++) {
    const text = readString(items[i], "");
    const ip = parseIP(text);
    if (ip == null) fail("invalid IP address: " + text);
    else out.push(ip);
  }
  return out;
}

function copyIP(ip: Uint8Array): Uint8Array {
  return ip.slice(0);
}

export class IpSetProfile {
  ips: Array<Uint8Array> | null = null;

  /** ProfileString: a 4-byte IPv4 or 16-byte IPv6; unparsable or non-public → none. */
  static ofString(s: string): IpSetProfile {
    const p = new IpSetProfile();
    if (s.length == 0) return p;
    const ip = parseIP(s);
    return ip == null ? p : IpSetProfile.ofParsed(ip);
  }

  /** ofString of the text an address was parsed from, given the parsed address. */
  static ofParsed(ip: Uint8Array): IpSetProfile {
    const p = new IpSetProfile();
    if (ignoredIP(ip)) return p;
    const v4 = to4(ip);
    const l = new Array<Uint8Array>(1);
    l[0] = v4 != null ? v4 : ip;
    p.ips = l;
    return p;
  }

  /** ProfileIP: the address as given (a parsed IPv4 stays 16 bytes). */
  static ofIP(ip: Uint8Array | null): IpSetProfile {
    const p = new IpSetProfile();
    if (ip == null || ignoredIP(ip)) return p;
    const l = new Array<Uint8Array>(1);
    l[0] = ip;
    p.ips = l;
    return p;
  }

  static ofList(list: Array<Uint8Array>): IpSetProfile {
    const p = new IpSetProfile();
    const out = new Array<Uint8Array>();
    for (let i = 0; i < list.length; i++) if (!ignoredIP(list[i])) out.push(copyIP(list[i]));
    if (out.length > 0) p.ips = out;
    return p;
  }

  write(w: JsonWriter): void {
    writeIPList(w, this.ips);
  }

  static read(v: JsonValue | null): IpSetProfile {
    const p = new IpSetProfile();
    const ips = readIPList(v);
    if (ips != null) {
      const kept = new Array<Uint8Array>();
      for (let i = 0; i < ips.length; i++) if (!ignoredIP(ips[i])) kept.push(ips[i]);
      p.ips = kept;
    }
    return p;
  }
}

export class IpSetPile {
  list: Array<Uint8Array> | null = null;
  private seen: Set<string> | null = null;

  private append(ips: Array<Uint8Array> | null): void {
    if (ips == null) return;
    let seen = this.seen;
    let list = this.list;
    if (seen == null) {
      seen = new Set<string>();
      if (list != null) for (let i = 0; i < list.length; i++) seen.add(ipToString(list[i]));
      this.seen = seen;
    }
    for (let i = 0; i < ips.length; i++) {
      if (list != null && list.length >= MAX_PILE_IPS) return;
      const key = ipToString(ips[i]);
      if (seen.has(key)) continue;
      seen.add(key);
      if (list == null) {
        list = new Array<Uint8Array>();
        this.list = list;
      }
      list.push(copyIP(ips[i]));
    }
  }

  add(p: IpSetProfile): void {
    this.append(p.ips);
  }

  merge(o: IpSetPile): void {
    this.append(o.list);
  }

  clear(): void {
    this.list = null;
    this.seen = null;
  }

  isEmpty(): bool {
    const l = this.list;
    return l == null || l.length == 0;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("List");
    writeIPList(w, this.list);
    w.endObject();
  }

  static read(v: JsonValue | null): IpSetPile {
    const p = new IpSetPile();
    p.list = readIPList(field(asObject(v, "an IP set pile"), "List"));
    return p;
  }
}

// An address reduced to Go's comparison form: kind 4 (IPv4, in lo) or 16 (IPv6, hi:lo), 0 = none.
let normKind: i32 = 0;
let normHi: u64 = 0;
let normLo: u64 = 0;

function normalise(ip: Uint8Array): void {
  const o = v4Offset(ip);
  if (o >= 0) {
    normKind = 4;
    normHi = 0;
    normLo = <u64>bswap<u32>(load<u32>(ip.dataStart + <usize>o));
    return;
  }
  if (ip.length != 16) {
    normKind = 0;
    return;
  }
  normKind = 16;
  normHi = bswap<u64>(load<u64>(ip.dataStart));
  normLo = bswap<u64>(load<u64>(ip.dataStart + 8));
}

export class Cidr {
  ip: Uint8Array;
  mask: Uint8Array;
  // Go's IPNet.Contains reduced to integers (recomputed whenever the mask changes).
  private kind: i32 = 0;
  private netHi: u64 = 0;
  private netLo: u64 = 0;
  private maskHi: u64 = 0;
  private maskLo: u64 = 0;

  constructor(ip: Uint8Array, mask: Uint8Array) {
    this.ip = ip;
    this.mask = mask;
    this.reduce();
  }

  /** Network number and mask as Go's networkNumberAndMask computes them. */
  private reduce(): void {
    normalise(this.ip);
    let kind = normKind;
    const m = this.mask;
    if (kind == 4) {
      let o = -1;
      if (m.length == 4) o = 0;
      else if (m.length == 16) o = 12;
      if (o < 0) kind = 0;
      else {
        this.maskHi = 0;
        this.maskLo = (<u64>m[o] << 24) | (<u64>m[o + 1] << 16) | (<u64>m[o + 2] << 8) | <u64>m[o + 3];
      }
    } else if (kind == 16) {
      if (m.length != 16) kind = 0;
      else {
        this.maskHi = bswap<u64>(load<u64>(m.dataStart));
        this.maskLo = bswap<u64>(load<u64>(m.dataStart + 8));
      }
    }
    this.kind = kind;
    this.netHi = normHi & this.maskHi;
    this.netLo = normLo & this.maskLo;
  }

  contains(ip: Uint8Array): bool {
    normalise(ip);
    return this.containsNormalised();
  }

  /** Contains for the address last passed to normalise(). */
  @inline containsNormalised(): bool {
    return this.kind != 0 && this.kind == normKind && (normHi & this.maskHi) == this.netHi && (normLo & this.maskLo) == this.netLo;
  }

  /** Widen to include ip within the last byte only (the original's InflateBy). */
  inflateBy(ip: Uint8Array): bool {
    if (this.contains(ip)) return true;
    const n = ip.length;
    if (n != this.ip.length || this.mask.length != n) return false;
    for (let i = 0; i < n - 1; i++) if (this.ip[i] != ip[i]) return false;
    const x = <u32>(this.ip[n - 1] ^ ip[n - 1]);
    const shared = clz<u32>(x) - 24;
    const lastMask = <u8>((<u32>0xff << (8 - <u32>shared)) & 0xff);
    this.mask[n - 1] = this.mask[n - 1] & lastMask;
    this.reduce();
    return true;
  }
}

const V4_KEY_TAG: u64 = 1 << 40;

/** Where an address's last byte starts being free: a key of every byte before it. */
function prefixKey(ip: Uint8Array): u64 {
  const n = ip.length;
  const o = v4Offset(ip);
  if (o >= 0) {
    return V4_KEY_TAG | (<u64>unchecked(ip[o]) << 16) | (<u64>unchecked(ip[o + 1]) << 8) | <u64>unchecked(ip[o + 2]);
  }
  let h: u64 = 14695981039346656037;
  for (let i = 0; i < n - 1; i++) h = (h ^ <u64>unchecked(ip[i])) * 1099511628211;
  return h & ~V4_KEY_TAG;
}

/** Whether the mask covers every byte but the last of the network's own form. */
function maskFixesPrefix(c: Cidr): bool {
  const v4 = to4(c.ip) != null;
  const n = c.mask.length;
  const from = v4 && n == 16 ? 12 : 0;
  const width = v4 ? 4 : n;
  if (!v4 && n != 16) return false;
  for (let i = 0; i < width - 1; i++) if (unchecked(c.mask[from + i]) != 0xff) return false;
  return true;
}

export class IpSetConfig {
  cidrs: Array<Cidr> | null = null;
  // Built by prepare(): CIDRs by the prefix they fix, and the broader ones to scan.
  private byPrefix: Map<u64, Array<i32>> | null = null;
  private broad: Array<i32> | null = null;
  // The last profile that passed (the client address of a returning peer is the same object, and
  // CIDRs only widen), reset whenever the CIDRs change.
  private passed: IpSetProfile | null = null;

  decide(p: IpSetProfile): Decision | null {
    const ips = p.ips;
    if (ips == null || p === this.passed) return null;
    let d: Decision | null = null;
    // Profiles hold public addresses only (every constructor and read() filters the rest).
    for (let i = 0; i < ips.length; i++) {
      const ip = unchecked(ips[i]);
      if (!this.containsIP(ip)) d = decideInner(d, "IP " + ipToString(ip) + " not allowed");
    }
    if (d == null) this.passed = p;
    return d;
  }

  private containsIP(ip: Uint8Array): bool {
    const c = this.cidrs;
    if (c == null) return false;
    const byPrefix = this.byPrefix;
    const broad = this.broad;
    if (byPrefix == null || broad == null) {
      normalise(ip);
      for (let i = 0; i < c.length; i++) if (unchecked(c[i]).containsNormalised()) return true;
      return false;
    }
    const key = prefixKey(ip);
    normalise(ip);
    if (byPrefix.has(key)) {
      const list = byPrefix.get(key);
      for (let i = 0; i < list.length; i++) if (c[unchecked(list[i])].containsNormalised()) return true;
    }
    for (let i = 0; i < broad.length; i++) if (c[unchecked(broad[i])].containsNormalised()) return true;
    return false;
  }

  learn(p: IpSetPile): void {
    this.passed = null;
    const list = p.list;
    if (list == null) return;
    for (let i = 0; i < list.length; i++) {
      const ip = list[i];
      let cidrs = this.cidrs;
      let done = false;
      if (cidrs != null) {
        for (let j = 0; j < cidrs.length && !done; j++) done = cidrs[j].inflateBy(ip);
      }
      if (done) continue;
      if (cidrs == null) {
        cidrs = new Array<Cidr>();
        this.cidrs = cidrs;
      }
      const mask = new Uint8Array(ip.length);
      mask.fill(0xff);
      cidrs.push(new Cidr(copyIP(ip), mask));
    }
    this.byPrefix = null;
    this.broad = null;
  }

  /** Index the CIDRs so that deciding looks at the few that can match. */
  prepare(): void {
    this.passed = null;
    const c = this.cidrs;
    this.byPrefix = null;
    this.broad = null;
    if (c == null || c.length < 8) return;
    const byPrefix = new Map<u64, Array<i32>>();
    const broad = new Array<i32>();
    for (let i = 0; i < c.length; i++) {
      if (!maskFixesPrefix(c[i])) {
        broad.push(i);
        continue;
      }
      const key = prefixKey(c[i].ip);
      if (byPrefix.has(key)) byPrefix.get(key).push(i);
      else {
        const list = new Array<i32>();
        list.push(i);
        byPrefix.set(key, list);
      }
    }
    this.byPrefix = byPrefix;
    this.broad = broad;
  }

  write(w: JsonWriter): void {
    const c = this.cidrs;
    if (c == null) {
      w.null();
      return;
    }
    w.beginArray();
    for (let i = 0; i < c.length; i++) {
      w.beginObject();
      w.key("IP");
      w.string(ipToString(c[i].ip));
      w.key("Mask");
      w.bytesBase64(c[i].mask.dataStart, c[i].mask.length);
      w.endObject();
    }
    w.endArray();
  }

  static read(v: JsonValue | null): IpSetConfig {
    const c = new IpSetConfig();
    const items = asArray(v, "a list of CIDRs");
    if (items == null) return c;
    const list = new Array<Cidr>();
    for (let i = 0; i < items.length; i++) {
      enter("[" + i.toString() + "]");
      const o = asObject(items[i], "a CIDR {IP, Mask}");
      const text = readString(field(o, "IP"), "");
      const ip = parseIP(text);
      const maskBytes = readBytes(field(o, "Mask"));
      if (ip == null) {
        fail("invalid IP address: " + text);
      } else if (maskBytes == null || (maskBytes.length != 4 && maskBytes.length != 16)) {
        fail("a CIDR mask must have 4 or 16 bytes");
      } else {
        let mask: Uint8Array;
        if (maskBytes.length == 4) {
          // A 4-byte IPv4 mask read beside a 16-byte IP: widen to 16 bytes (same meaning) so that
          // later learning never indexes past it (the original crashes there: a 4-byte mask
          // learning a 16-byte IP indexed byte 15).
          mask = new Uint8Array(16);
          for (let k = 0; k < 12; k++) mask[k] = 0xff;
          for (let k = 0; k < 4; k++) mask[12 + k] = maskBytes[k];
          if (to4(ip) == null) fail("a 4-byte mask needs an IPv4 address");
        } else {
          mask = new Uint8Array(16);
          for (let k = 0; k < 16; k++) mask[k] = maskBytes[k];
        }
        list.push(new Cidr(ip, mask));
      }
      leave();
    }
    c.cidrs = list;
    return c;
  }
}
