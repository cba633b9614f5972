// What the original's gate saw of the request headers (reference §5.1), computed over byte ranges
// of the input record without copying values: canonical names, Host excluded, hop-by-hop headers
// removed, Te: trailers kept, Connection/Upgrade restored for upgrades, an empty User-Agent when
// absent, and X-Forwarded-For rewritten as Go's ReverseProxy does.
import { canonicalHeaderKeyBytes } from "../http/header";
import { KeyValProfile } from "../model/keyval";
import { profileBegin, profileEnd, profileFeed, profileFeedChar } from "../model/simpleval";
import { goStringFromUtf8 } from "../text/utf8";
import { InternTable } from "./intern";
import { KeyGroups } from "./grouping";

// What a header name means to the normalisation, decided once per distinct name.
const K_HOST: u32 = 1;
const K_HOP: u32 = 2;
const K_CONNECTION: u32 = 4;
const K_TE: u32 = 8;
const K_UPGRADE: u32 = 16;
const K_XFF: u32 = 32;
const K_UA: u32 = 64;
const K_CONTENT_TYPE: u32 = 128;
const K_CONTENT_LENGTH: u32 = 256;

function classify(name: string): u32 {
  switch (name.length) {
    case 2: return name == "Te" ? K_TE | K_HOP : 0;
    case 4: return name == "Host" ? K_HOST : 0;
    case 7: return name == "Upgrade" ? K_UPGRADE | K_HOP : name == "Trailer" ? K_HOP : 0;
    case 10: return name == "Connection" ? K_CONNECTION | K_HOP : name == "Keep-Alive" ? K_HOP : name == "User-Agent" ? K_UA : 0;
    case 12: return name == "Content-Type" ? K_CONTENT_TYPE : 0;
    case 14: return name == "Content-Length" ? K_CONTENT_LENGTH : 0;
    case 15: return name == "X-Forwarded-For" ? K_XFF : 0;
    case 16: return name == "Proxy-Connection" ? K_HOP : 0;
    case 17: return name == "Transfer-Encoding" ? K_HOP : 0;
    case 18: return name == "Proxy-Authenticate" ? K_HOP : 0;
    case 19: return name == "Proxy-Authorization" ? K_HOP : 0;
    default: return 0;
  }
}

const names = new InternTable();


@inline function isOWS(c: u8): bool {
  return c == 32 || c == 9;
}

@inline function lower(c: u8): u8 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Header lines as (canonical name, value bytes); removal only marks a line dead. */
export class HeaderTable {
  names: Array<string> = new Array<string>();
  ptrs: Array<usize> = new Array<usize>();
  lens: Array<i32> = new Array<i32>();
  live: Array<bool> = new Array<bool>();
  kinds: Array<u32> = new Array<u32>();
  private groups: KeyGroups = new KeyGroups();
  private liveNames: Array<string> = new Array<string>();
  // Values the normalisation makes up (the rewritten X-Forwarded-For, constants) live here.
  private synth: ArrayBuffer = new ArrayBuffer(1024);
  private synthLen: i32 = 0;

  reset(): void {
    this.names.length = 0;
    this.ptrs.length = 0;
    this.lens.length = 0;
    this.live.length = 0;
    this.kinds.length = 0;
    this.synthLen = 0;
  }

  /** Ensure room for made-up values before any pointer into the synth buffer is taken. */
  reserveSynth(n: i32): void {
    if (n > this.synth.byteLength) this.synth = new ArrayBuffer(n);
  }

  /** Add a line from raw bytes: the name is canonicalised, the value trimmed of spaces and tabs. */
  addRaw(namePtr: usize, nameLen: i32, valPtr: usize, valLen: i32): void {
    while (valLen > 0 && isOWS(load<u8>(valPtr))) {
      valPtr++;
      valLen--;
    }
    while (valLen > 0 && isOWS(load<u8>(valPtr + <usize>(valLen - 1)))) valLen--;
    let name = names.find(namePtr, nameLen);
    let kind: u32;
    if (name != null) {
      kind = names.lastTag;
    } else {
      name = canonicalHeaderKeyBytes(namePtr, nameLen);
      kind = classify(name!);
      names.add(namePtr, nameLen, name!, kind);
    }
    this.push(name!, kind, valPtr, valLen);
  }

  add(name: string, ptr: usize, len: i32): void {
    this.push(name, classify(name), ptr, len);
  }

  private push(name: string, kind: u32, ptr: usize, len: i32): void {
    this.names.push(name);
    this.kinds.push(kind);
    this.ptrs.push(ptr);
    this.lens.push(len);
    this.live.push(true);
  }

  private removeKind(kind: u32): void {
    for (let i = 0; i < this.kinds.length; i++) if (this.kinds[i] & kind) this.live[i] = false;
  }

  private findKind(kind: u32): i32 {
    for (let i = 0; i < this.kinds.length; i++) if (this.live[i] && this.kinds[i] & kind) return i;
    return -1;
  }

  /** The first live Content-Type line, or -1. */
  contentType(): i32 {
    return this.findKind(K_CONTENT_TYPE);
  }

  contentLength(): i32 {
    return this.findKind(K_CONTENT_LENGTH);
  }

  addConst(name: string, value: string): void {
    const at = this.synthLen;
    const base = changetype<usize>(this.synth) + <usize>at;
    for (let i = 0; i < value.length; i++) store<u8>(base + <usize>i, <u8>value.charCodeAt(i));
    this.synthLen += value.length;
    this.add(name, base, value.length);
  }

  find(name: string): i32 {
    for (let i = 0; i < this.names.length; i++) if (this.live[i] && this.names[i] == name) return i;
    return -1;
  }

  lastOf(name: string): i32 {
    for (let i = this.names.length - 1; i >= 0; i--) if (this.live[i] && this.names[i] == name) return i;
    return -1;
  }

  remove(name: string): void {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) this.live[i] = false;
  }

  valueString(i: i32): string {
    return goStringFromUtf8(this.ptrs[i], this.lens[i]);
  }

  /** Whether any line named `name` lists `token` (ASCII case-insensitive) in its comma list. */
  hasToken(name: string, token: string): bool {
    for (let i = 0; i < this.names.length; i++) {
      if (!this.live[i] || this.names[i] != name) continue;
      const p = this.ptrs[i];
      const n = this.lens[i];
      let start = 0;
      while (start <= n) {
        let end = start;
        while (end < n && load<u8>(p + <usize>end) != 44) end++;
        let a = start;
        let b = end;
        while (a < b && isOWS(load<u8>(p + <usize>a))) a++;
        while (b > a && isOWS(load<u8>(p + <usize>(b - 1)))) b--;
        if (b - a == token.length) {
          let same = true;
          for (let k = 0; k < token.length && same; k++) same = lower(load<u8>(p + <usize>(a + k))) == <u8>token.charCodeAt(k);
          if (same) return true;
        }
        start = end + 1;
      }
    }
    return false;
  }

  /** Remove every header named in the Connection lines. */
  removeConnectionNamed(): void {
    const count = this.names.length;
    for (let i = 0; i < count; i++) {
      if (!this.live[i] || this.names[i] != "Connection") continue;
      const p = this.ptrs[i];
      const n = this.lens[i];
      let start = 0;
      while (start <= n) {
        let end = start;
        while (end < n && load<u8>(p + <usize>end) != 44) end++;
        let a = start;
        let b = end;
        while (a < b && isOWS(load<u8>(p + <usize>a))) a++;
        while (b > a && isOWS(load<u8>(p + <usize>(b - 1)))) b--;
        if (b > a) this.remove(canonicalHeaderKeyBytes(p + <usize>a, b - a));
        start = end + 1;
      }
    }
  }

  /**
   * Apply Go's ReverseProxy rules. Returns whether the client had sent X-Forwarded-For lines
   * (then the rewritten value is a comma list, which the original's HopIp cannot parse).
   */
  normaliseRequest(remotePtr: usize, remoteLen: i32): bool {
    let total = 64 + remoteLen;
    for (let i = 0; i < this.lens.length; i++) total += this.lens[i] + 2;
    this.reserveSynth(total);
    this.removeKind(K_HOST);
    const upgrade = this.findKind(K_UPGRADE);
    const upgrading = upgrade >= 0 && this.hasToken("Connection", "upgrade");
    const teTrailers = this.findKind(K_TE) >= 0 && this.hasToken("Te", "trailers");
    if (this.findKind(K_CONNECTION) >= 0) this.removeConnectionNamed();
    this.removeKind(K_HOP);
    if (teTrailers) this.addConst("Te", "trailers");
    if (upgrading) {
      this.addConst("Connection", "Upgrade");
      this.add("Upgrade", this.ptrs[upgrade], this.lens[upgrade]);
    }
    if (this.findKind(K_UA) < 0) this.add("User-Agent", changetype<usize>(this.synth), 0);
    if (remoteLen == 0) return this.findKind(K_XFF) >= 0;
    // X-Forwarded-For: the client's values joined with ", ", then ", <peer>" (or just the peer).
    const base = changetype<usize>(this.synth);
    const start = this.synthLen;
    let at = start;
    let prior = false;
    for (let i = 0; i < this.names.length; i++) {
      if (!this.live[i] || (this.kinds[i] & K_XFF) == 0) continue;
      if (prior) {
        store<u8>(base + <usize>at, 44);
        store<u8>(base + <usize>(at + 1), 32);
        at += 2;
      }
      memory.copy(base + <usize>at, this.ptrs[i], <usize>this.lens[i]);
      at += this.lens[i];
      prior = true;
      this.live[i] = false;
    }
    if (prior) {
      store<u8>(base + <usize>at, 44);
      store<u8>(base + <usize>(at + 1), 32);
      at += 2;
    }
    memory.copy(base + <usize>at, remotePtr, <usize>remoteLen);
    at += remoteLen;
    this.synthLen = at;
    this.add("X-Forwarded-For", base + <usize>start, at - start);
    return prior;
  }

  /** KeyVal profile of the live lines: repeated names joined with one space; null when none. */
  profile(): KeyValProfile | null {
    const names = this.names;
    const n = names.length;
    // Dead lines get a name no live line has, so grouping never joins them.
    const live = this.liveNames;
    live.length = n;
    for (let i = 0; i < n; i++) unchecked((live[i] = this.live[i] ? names[i] : DEAD));
    const groups = this.groups;
    groups.compute(live);
    const next = groups.next;
    let kv: KeyValProfile | null = null;
    for (let i = 0; i < n; i++) {
      if (!this.live[i] || unchecked(groups.follower[i])) continue;
      profileBegin();
      profileFeed(this.ptrs[i], this.lens[i]);
      for (let j = unchecked(next[i]); j >= 0; j = unchecked(next[j])) {
        profileFeedChar(32);
        profileFeed(this.ptrs[j], this.lens[j]);
      }
      if (kv == null) kv = new KeyValProfile();
      kv.push(names[i], profileEnd());
    }
    return kv;
  }
}

const DEAD = "\u0000dead";
