// IpSet (reference §2.7): public peer addresses; config = CIDRs that grow only inside the last byte.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { cidrContains, ipToString, isLoopback, isPrivate, isUnspecified, parseIP, to4 } from "../net/ip";
import { Decision, decideInner } from "./decision";
import { asArray, asObject, enter, fail, field, leave, readBytes, readString } from "./wire";

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
    if (ip == null || ignoredIP(ip)) return p;
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
    p.ips = readIPList(v);
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

export class Cidr {
  ip: Uint8Array;
  mask: Uint8Array;
  constructor(ip: Uint8Array, mask: Uint8Array) {
    this.ip = ip;
    this.mask = mask;
  }

  contains(ip: Uint8Array): bool {
    return cidrContains(this.ip, this.mask, ip);
  }

  /** Widen to include ip within the last byte only (reference §2.7 InflateBy). */
  inflateBy(ip: Uint8Array): bool {
    if (this.contains(ip)) return true;
    const n = ip.length;
    if (n != this.ip.length || this.mask.length != n) return false;
    for (let i = 0; i < n - 1; i++) if (this.ip[i] != ip[i]) return false;
    const x = <u32>(this.ip[n - 1] ^ ip[n - 1]);
    const shared = clz<u32>(x) - 24;
    const lastMask = <u8>((<u32>0xff << (8 - <u32>shared)) & 0xff);
    this.mask[n - 1] = this.mask[n - 1] & lastMask;
    return true;
  }
}

export class IpSetConfig {
  cidrs: Array<Cidr> | null = null;

  decide(p: IpSetProfile): Decision | null {
    const ips = p.ips;
    if (ips == null) return null;
    let d: Decision | null = null;
    for (let i = 0; i < ips.length; i++) {
      const ip = ips[i];
      if (ignoredIP(ip)) continue;
      if (!this.containsIP(ip)) d = decideInner(d, "IP " + ipToString(ip) + " not allowed");
    }
    return d;
  }

  private containsIP(ip: Uint8Array): bool {
    const c = this.cidrs;
    if (c == null) return false;
    for (let i = 0; i < c.length; i++) if (c[i].contains(ip)) return true;
    return false;
  }

  learn(p: IpSetPile): void {
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
  }

  prepare(): void {}

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
          // later learning never indexes past it (the original crashes there, Q22).
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
