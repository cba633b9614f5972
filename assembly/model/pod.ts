// Pod: the public remote peers of the pod's sockets, read from the six
// /proc/net tables; the family is decided by the hex address length, not by the file name.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { ipFromProcHex, ipToString } from "../net/ip";
import { Decision, decideChild } from "./decision";
import { IpSetConfig, IpSetPile, IpSetProfile, ignoredIP } from "./ipset";
import { asObject, enter, field, leave } from "./wire";

export const POD_FIELDS: StaticArray<string> = ["tcp4peers", "udp4peers", "udplite4peers", "tcp6peers", "udp6peers", "udplite6peers"];
export const POD_TAGS: StaticArray<string> = ["Tcp4Peers", "Udp4Peers", "Udplite4Peers", "Tcp6Peers", "Udp6Peers", "Udplite6Peers"];
const COLON: u8 = 58;
const NEWLINE: u8 = 10;

function indexOfByte(ptr: usize, from: i32, end: i32, b: u8): i32 {
  for (let i = from; i < end; i++) if (load<u8>(ptr + <usize>i) == b) return i;
  return -1;
}

/** Remote addresses of one /proc/net table, public ones only, first occurrence order. */
export function parseProcNet(ptr: usize, len: i32): Array<Uint8Array> {
  const out = new Array<Uint8Array>();
  const seen = new Set<string>();
  let pos = 0;
  while (true) {
    const nl = indexOfByte(ptr, pos, len, NEWLINE);
    if (nl < 0) break;
    pos = nl + 1;
    const lineEnd = indexOfByte(ptr, pos, len, NEWLINE);
    const end = lineEnd < 0 ? len : lineEnd;
    const c1 = indexOfByte(ptr, pos, end, COLON);
    if (c1 < 0) continue;
    const c2 = indexOfByte(ptr, c1 + 1, end, COLON);
    if (c2 < 0) continue;
    const start = c2 + 1;
    const c3 = indexOfByte(ptr, start, end, COLON);
    if (c3 < 0 || c3 - start < 13) continue;
    const hexStart = start + 5;
    const ip = ipFromProcHex(ptr + <usize>hexStart, c3 - hexStart);
    if (ip == null || ignoredIP(ip)) continue;
    const key = ipToString(ip);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ip);
  }
  return out;
}

export class PodProfile {
  peers: StaticArray<IpSetProfile> = [new IpSetProfile(), new IpSetProfile(), new IpSetProfile(), new IpSetProfile(), new IpSetProfile(), new IpSetProfile()];

  setTable(index: i32, ptr: usize, len: i32): void {
    this.peers[index] = IpSetProfile.ofList(parseProcNet(ptr, len));
  }

  write(w: JsonWriter): void {
    w.beginObject();
    for (let i = 0; i < 6; i++) {
      w.key(POD_FIELDS[i]);
      this.peers[i].write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): PodProfile {
    const o = asObject(v, "a pod profile");
    const p = new PodProfile();
    for (let i = 0; i < 6; i++) {
      enter(POD_FIELDS[i]);
      p.peers[i] = IpSetProfile.read(field(o, POD_FIELDS[i]));
      leave();
    }
    return p;
  }
}

export class PodPile {
  peers: StaticArray<IpSetPile> = [new IpSetPile(), new IpSetPile(), new IpSetPile(), new IpSetPile(), new IpSetPile(), new IpSetPile()];

  add(p: PodProfile): void {
    for (let i = 0; i < 6; i++) this.peers[i].add(p.peers[i]);
  }

  merge(o: PodPile): void {
    for (let i = 0; i < 6; i++) this.peers[i].merge(o.peers[i]);
  }

  clear(): void {
    for (let i = 0; i < 6; i++) this.peers[i].clear();
  }

  isEmpty(): bool {
    for (let i = 0; i < 6; i++) if (!this.peers[i].isEmpty()) return false;
    return true;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    for (let i = 0; i < 6; i++) {
      w.key(POD_FIELDS[i]);
      this.peers[i].write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): PodPile {
    const o = asObject(v, "a pod pile");
    const p = new PodPile();
    for (let i = 0; i < 6; i++) {
      enter(POD_FIELDS[i]);
      p.peers[i] = IpSetPile.read(field(o, POD_FIELDS[i]));
      leave();
    }
    return p;
  }
}

export class PodConfig {
  peers: StaticArray<IpSetConfig> = [new IpSetConfig(), new IpSetConfig(), new IpSetConfig(), new IpSetConfig(), new IpSetConfig(), new IpSetConfig()];

  learn(p: PodPile): void {
    for (let i = 0; i < 6; i++) this.peers[i].learn(p.peers[i]);
  }

  prepare(): void {
    for (let i = 0; i < 6; i++) this.peers[i].prepare();
  }

  decide(p: PodProfile): Decision | null {
    let d: Decision | null = null;
    for (let i = 0; i < 6; i++) d = decideChild(d, this.peers[i].decide(p.peers[i]), POD_TAGS[i]);
    return d;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    for (let i = 0; i < 6; i++) {
      w.key(POD_FIELDS[i]);
      this.peers[i].write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): PodConfig {
    const o = asObject(v, "a pod config");
    const c = new PodConfig();
    for (let i = 0; i < 6; i++) {
      enter(POD_FIELDS[i]);
      c.peers[i] = IpSetConfig.read(field(o, POD_FIELDS[i]));
      leave();
    }
    return c;
  }
}
