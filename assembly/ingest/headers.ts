// What the original's gate saw of the request headers, computed over byte ranges
// of the input record without copying values: canonical names, Host excluded, hop-by-hop headers
// removed, Te: trailers kept, Connection/Upgrade restored for upgrades, an empty User-Agent when
// absent, and X-Forwarded-For rewritten as Go's ReverseProxy does.
import { canonicalHeaderKeyBytes } from "../http/header";
import { hashIfNeeded, keyHash, KeyValProfile } from "../model/keyval";
import { profileBegin, profileEndInto, profileFeed, profileFeedChar, SimpleValProfile } from "../model/simpleval";
import { goStringFromUtf8 } from "../text/utf8";
import { KeyGroups } from "./grouping";
import { InternTable } from "./intern";
import { profileValueCached } from "./valuecache";

/** Most header lines a record may carry (a longer list is refused). */
export const MAX_HEADER_LINES = 1024;
// Room for the lines the normalisation adds (Te, Connection, Upgrade, User-Agent, X-Forwarded-For).
const CAPACITY = MAX_HEADER_LINES + 8;

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
const K_TRANSFER_ENCODING: u32 = 512;
const K_COOKIE: u32 = 1024;

function classify(name: string): u32 {
  switch (name.length) {
    case 2: return name == "Te" ? K_TE | K_HOP : 0;
    case 4: return name == "Host" ? K_HOST : 0;
    case 6: return name == "Cookie" ? K_COOKIE : 0;
    case 7: return name == "Upgrade" ? K_UPGRADE | K_HOP : name == "Trailer" ? K_HOP : 0;
    case 10: return name == "Connection" ? K_CONNECTION | K_HOP : name == "Keep-Alive" ? K_HOP : name == "User-Agent" ? K_UA : name == "Set-Cookie" ? K_COOKIE : 0;
    case 12: return name == "Content-Type" ? K_CONTENT_TYPE : 0;
    case 14: return name == "Content-Length" ? K_CONTENT_LENGTH : 0;
    case 15: return name == "X-Forwarded-For" ? K_XFF : 0;
    case 16: return name == "Proxy-Connection" ? K_HOP : 0;
    case 17: return name == "Transfer-Encoding" ? K_HOP | K_TRANSFER_ENCODING : 0;
    case 18: return name == "Proxy-Authenticate" ? K_HOP : 0;
    case 19: return name == "Proxy-Authorization" ? K_HOP : 0;
    default: return 0;
  }
}

const names = new InternTable();
const cookieNames = new InternTable();
let cookieNameHash: u32 = 0;

/** The KeyVal key of a cookie name (interned, so repeated names allocate nothing), its hash in cookieNameHash. */
function cookieName(ptr: usize, len: i32): string {
  const slot = cookieNames.findSlot(ptr, len);
  if (slot >= 0) {
    cookieNameHash = cookieNames.keyHashAt(slot);
    return cookieNames.keyAt(slot);
  }
  const name = goStringFromUtf8(ptr, len);
  cookieNames.add(ptr, len, name, 0);
  const key = hashIfNeeded(name);
  cookieNameHash = keyHash(key);
  return key;
}
const XFF = "X-Forwarded-For";
const XFF_HASH = keyHash(XFF);

/**
 * The canonical name for raw name bytes (interned), with its kind in `nameKind`, its keyHash in
 * `nameHash`, and its KeyVal key and that key's hash in `nameKey` and `nameKeyHash`.
 */
let nameKind: u32 = 0;
let nameHash: u32 = 0;
let nameKey: string = "";
let nameKeyHash: u32 = 0;
function canonicalName(ptr: usize, len: i32): string {
  const slot = names.findSlot(ptr, len);
  if (slot >= 0) {
    nameKind = names.tagAt(slot);
    nameHash = names.hashAt(slot);
    nameKey = names.keyAt(slot);
    nameKeyHash = names.keyHashAt(slot);
    return names.valueAt(slot);
  }
  const name = canonicalHeaderKeyBytes(ptr, len);
  nameKind = classify(name);
  names.add(ptr, len, name, nameKind);
  describe(name);
  return name;
}

// Header names a host may send as a reference (an index into this list) instead of their bytes:
// the names of nearly every request and response. Lower-case here; the canonical form and
// everything the profile needs of it are computed once, when first used. The list is part of the
// ABI (docs/abi.md): a host reads it from the header_names export, so only its order matters.
const WELL_KNOWN: StaticArray<string> = [
  "accept", "accept-charset", "accept-encoding", "accept-language", "access-control-request-headers",
  "access-control-request-method", "authorization", "cache-control", "connection", "content-encoding",
  "content-language", "content-length", "content-type", "cookie", "date", "dnt", "etag", "expect",
  "expires", "forwarded", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "keep-alive", "last-modified", "location", "origin", "pragma", "priority",
  "range", "referer", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "sec-fetch-dest",
  "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "server", "set-cookie", "te", "traceparent",
  "transfer-encoding", "upgrade", "upgrade-insecure-requests", "user-agent", "vary", "via",
  "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "x-request-id",
  "access-control-allow-origin", "content-security-policy", "strict-transport-security",
  "x-content-type-options", "x-frame-options",
];
export const WELL_KNOWN_COUNT: i32 = WELL_KNOWN.length;

// Per well-known name: the interned canonical string, its kind, hash, KeyVal key and key hash.
const knownNames = new StaticArray<string>(WELL_KNOWN.length);
const knownKinds = new StaticArray<u32>(WELL_KNOWN.length);
const knownHashes = new StaticArray<u32>(WELL_KNOWN.length);
const knownKeys = new StaticArray<string>(WELL_KNOWN.length);
const knownKeyHashes = new StaticArray<u32>(WELL_KNOWN.length);
let knownReady = false;

function prepareWellKnown(): void {
  for (let i = 0; i < WELL_KNOWN.length; i++) {
    const bytes = String.UTF8.encode(unchecked(WELL_KNOWN[i]));
    const name = canonicalName(changetype<usize>(bytes), bytes.byteLength);
    unchecked((knownNames[i] = name));
    unchecked((knownKinds[i] = nameKind));
    unchecked((knownHashes[i] = nameHash));
    unchecked((knownKeys[i] = nameKey));
    unchecked((knownKeyHashes[i] = nameKeyHash));
  }
  knownReady = true;
}

/** The canonical names of the well-known list, in order, one per line (header_names export). */
export function wellKnownNames(): string {
  if (!knownReady) prepareWellKnown();
  let out = "";
  for (let i = 0; i < WELL_KNOWN.length; i++) out += (i > 0 ? "\n" : "") + unchecked(knownNames[i]);
  return out;
}

/** Set nameHash, nameKey and nameKeyHash for a name that is not interned. */
function describe(name: string): void {
  nameHash = keyHash(name);
  nameKey = hashIfNeeded(name);
  nameKeyHash = nameKey === name ? nameHash : keyHash(nameKey);
}

@inline function isOWS(c: u8): bool {
  return c == 32 || c == 9;
}

@inline function lower(c: u8): u8 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

// The token found by nextToken: [tokenStart, tokenEnd) of the value, trimmed.
let tokenStart: i32 = 0;
let tokenEnd: i32 = 0;

/**
 * Find the comma-separated token of [p, p+n) that starts at `start` (trimmed into tokenStart and
 * tokenEnd) and return where the next one starts: call while start <= n, from 0.
 */
function nextToken(p: usize, n: i32, start: i32): i32 {
  let end = start;
  while (end < n && load<u8>(p + <usize>end) != 44) end++;
  let a = start;
  let b = end;
  while (a < b && isOWS(load<u8>(p + <usize>a))) a++;
  while (b > a && isOWS(load<u8>(p + <usize>(b - 1)))) b--;
  tokenStart = a;
  tokenEnd = b;
  return end + 1;
}

/** Header lines as (canonical name, value bytes); removal only marks a line dead. */
export class HeaderTable {
  names: StaticArray<string> = new StaticArray<string>(CAPACITY);
  ptrs: StaticArray<usize> = new StaticArray<usize>(CAPACITY);
  lens: StaticArray<i32> = new StaticArray<i32>(CAPACITY);
  live: StaticArray<bool> = new StaticArray<bool>(CAPACITY);
  kinds: StaticArray<u32> = new StaticArray<u32>(CAPACITY);
  // keyHash of each name; each name's KeyVal key and its keyHash.
  hashes: StaticArray<u32> = new StaticArray<u32>(CAPACITY);
  keys: StaticArray<string> = new StaticArray<string>(CAPACITY);
  keyHashes: StaticArray<u32> = new StaticArray<u32>(CAPACITY);
  count: i32 = 0;
  /** Union of the kinds of the lines added: a kind not in it needs no search. */
  present: u32 = 0;
  private groups: KeyGroups = new KeyGroups();
  // Values the normalisation makes up (the rewritten X-Forwarded-For, constants) live here.
  private synth: ArrayBuffer = new ArrayBuffer(1024);
  private synthLen: i32 = 0;

  reset(): void {
    this.count = 0;
    this.present = 0;
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
    const name = canonicalName(namePtr, nameLen);
    this.push(name, nameKind, valPtr, valLen);
  }

  /** Add a line whose name is well-known name `id` (< WELL_KNOWN_COUNT): no name bytes to read. */
  addKnown(id: i32, valPtr: usize, valLen: i32): void {
    if (!knownReady) prepareWellKnown();
    while (valLen > 0 && isOWS(load<u8>(valPtr))) {
      valPtr++;
      valLen--;
    }
    while (valLen > 0 && isOWS(load<u8>(valPtr + <usize>(valLen - 1)))) valLen--;
    nameHash = unchecked(knownHashes[id]);
    nameKey = unchecked(knownKeys[id]);
    nameKeyHash = unchecked(knownKeyHashes[id]);
    this.push(unchecked(knownNames[id]), unchecked(knownKinds[id]), valPtr, valLen);
  }

  add(name: string, ptr: usize, len: i32): void {
    describe(name);
    this.push(name, classify(name), ptr, len);
  }

  /** Append a line; its name's hashes and key are those left in nameHash, nameKey, nameKeyHash. */
  private push(name: string, kind: u32, ptr: usize, len: i32): void {
    const i = this.count;
    if (i >= CAPACITY) return;
    const o = <usize>i << 2;
    // The same name objects usually sit in the same rows request after request: those rows are
    // not stored again (a reference store carries the collector's write barrier).
    if (load<usize>(changetype<usize>(this.names) + o) != changetype<usize>(name)) unchecked((this.names[i] = name));
    if (load<usize>(changetype<usize>(this.keys) + o) != changetype<usize>(nameKey)) unchecked((this.keys[i] = nameKey));
    store<u32>(changetype<usize>(this.hashes) + o, nameHash);
    store<u32>(changetype<usize>(this.keyHashes) + o, nameKeyHash);
    store<u32>(changetype<usize>(this.kinds) + o, kind);
    store<usize>(changetype<usize>(this.ptrs) + o, ptr);
    store<i32>(changetype<usize>(this.lens) + o, len);
    store<u8>(changetype<usize>(this.live) + <usize>i, 1);
    this.count = i + 1;
    this.present |= kind;
  }

  removeKind(kind: u32): void {
    if ((this.present & kind) == 0) return;
    for (let i = 0; i < this.count; i++) if (unchecked(this.kinds[i]) & kind) unchecked((this.live[i] = false));
  }

  findKind(kind: u32): i32 {
    if ((this.present & kind) == 0) return -1;
    for (let i = 0; i < this.count; i++) if (unchecked(this.live[i]) && unchecked(this.kinds[i]) & kind) return i;
    return -1;
  }

  lastKind(kind: u32): i32 {
    if ((this.present & kind) == 0) return -1;
    for (let i = this.count - 1; i >= 0; i--) if (unchecked(this.live[i]) && unchecked(this.kinds[i]) & kind) return i;
    return -1;
  }

  /** The first live Content-Type line, or -1. */
  contentType(): i32 {
    return this.findKind(K_CONTENT_TYPE);
  }

  /** The request's Host line: its index, -1 when there is none, -2 when there are several. */
  hostLine(): i32 {
    const first = this.findKind(K_HOST);
    if (first < 0) return -1;
    return this.lastKind(K_HOST) == first ? first : -2;
  }

  contentLength(): i32 {
    return this.findKind(K_CONTENT_LENGTH);
  }

  /** The last live X-Forwarded-For line, or -1. */
  lastForwardedFor(): i32 {
    return this.lastKind(K_XFF);
  }

  /** Go's client moves Transfer-Encoding out of a response's header map. */
  removeTransferEncoding(): void {
    this.removeKind(K_TRANSFER_ENCODING);
  }

  addConst(name: string, value: string): void {
    const at = this.synthLen;
    const base = changetype<usize>(this.synth) + <usize>at;
    for (let i = 0; i < value.length; i++) store<u8>(base + <usize>i, <u8>value.charCodeAt(i));
    this.synthLen += value.length;
    this.add(name, base, value.length);
  }

  /** Remove the lines named `name`, whose keyHash is `hash`. */
  private removeName(name: string, hash: u32): void {
    for (let i = 0; i < this.count; i++) {
      if (unchecked(this.hashes[i]) != hash) continue;
      const n = unchecked(this.names[i]);
      if (n === name || n == name) unchecked((this.live[i] = false));
    }
  }

  valueString(i: i32): string {
    return goStringFromUtf8(unchecked(this.ptrs[i]), unchecked(this.lens[i]));
  }

  /** Whether any line of the kind lists `token` (ASCII case-insensitive) in its comma list. */
  private hasToken(kind: u32, token: string): bool {
    for (let i = 0; i < this.count; i++) {
      if (!unchecked(this.live[i]) || (unchecked(this.kinds[i]) & kind) == 0) continue;
      const p = unchecked(this.ptrs[i]);
      const n = unchecked(this.lens[i]);
      let start = 0;
      while (start <= n) {
        start = nextToken(p, n, start);
        if (tokenEnd - tokenStart != token.length) continue;
        let same = true;
        for (let k = 0; k < token.length && same; k++) same = lower(load<u8>(p + <usize>(tokenStart + k))) == <u8>token.charCodeAt(k);
        if (same) return true;
      }
    }
    return false;
  }

  /** Remove every header named in the Connection lines. */
  private removeConnectionNamed(): void {
    const count = this.count;
    for (let i = 0; i < count; i++) {
      if (!unchecked(this.live[i]) || (unchecked(this.kinds[i]) & K_CONNECTION) == 0) continue;
      const p = unchecked(this.ptrs[i]);
      const n = unchecked(this.lens[i]);
      let start = 0;
      while (start <= n) {
        start = nextToken(p, n, start);
        if (tokenEnd > tokenStart) {
          const name = canonicalName(p + <usize>tokenStart, tokenEnd - tokenStart);
          this.removeName(name, nameHash);
        }
      }
    }
  }

  /**
   * Apply Go's ReverseProxy rules. Returns whether the client had sent X-Forwarded-For lines
   * (then the rewritten value is a comma list, which the original's HopIp cannot parse).
   */
  normaliseRequest(remotePtr: usize, remoteLen: i32): bool {
    let total = 64 + remoteLen;
    if (this.present & K_XFF) for (let i = 0; i < this.count; i++) total += unchecked(this.lens[i]) + 2;
    this.reserveSynth(total);
    this.removeKind(K_HOST);
    const upgrade = this.findKind(K_UPGRADE);
    const upgrading = upgrade >= 0 && this.hasToken(K_CONNECTION, "upgrade");
    const teTrailers = this.findKind(K_TE) >= 0 && this.hasToken(K_TE, "trailers");
    if (this.present & K_CONNECTION) this.removeConnectionNamed();
    this.removeKind(K_HOP);
    if (teTrailers) this.addConst("Te", "trailers");
    if (upgrading) {
      this.addConst("Connection", "Upgrade");
      this.add("Upgrade", unchecked(this.ptrs[upgrade]), unchecked(this.lens[upgrade]));
    }
    if (this.findKind(K_UA) < 0) this.add("User-Agent", changetype<usize>(this.synth), 0);
    if (remoteLen == 0) return this.findKind(K_XFF) >= 0;
    // X-Forwarded-For: the client's values joined with ", ", then ", <peer>" (or just the peer).
    const base = changetype<usize>(this.synth);
    const start = this.synthLen;
    let at = start;
    let prior = false;
    if (this.present & K_XFF) {
      for (let i = 0; i < this.count; i++) {
        if (!unchecked(this.live[i]) || (unchecked(this.kinds[i]) & K_XFF) == 0) continue;
        if (prior) {
          store<u8>(base + <usize>at, 44);
          store<u8>(base + <usize>(at + 1), 32);
          at += 2;
        }
        memory.copy(base + <usize>at, unchecked(this.ptrs[i]), <usize>unchecked(this.lens[i]));
        at += unchecked(this.lens[i]);
        prior = true;
        unchecked((this.live[i] = false));
      }
      if (prior) {
        store<u8>(base + <usize>at, 44);
        store<u8>(base + <usize>(at + 1), 32);
        at += 2;
      }
    }
    memory.copy(base + <usize>at, remotePtr, <usize>remoteLen);
    at += remoteLen;
    this.synthLen = at;
    // Every proxied request gets this line: its name's kind and hash are worked out once.
    nameHash = XFF_HASH;
    nameKey = XFF;
    nameKeyHash = XFF_HASH;
    this.push(XFF, K_XFF, base + <usize>start, at - start);
    return prior;
  }

  /** Fill `into` (reused) with the live lines; returns it, or null when there are none. */
  profile(into: KeyValProfile | null): KeyValProfile | null {
    const n = this.count;
    const groups = this.groups;
    groups.computeLines(this.names, this.hashes, this.live, n);
    const kv = into != null ? into : new KeyValProfile();
    kv.beginRefill();
    const live = changetype<usize>(this.live);
    const ptrs = changetype<usize>(this.ptrs);
    const lens = changetype<usize>(this.lens);
    for (let i = 0; i < n; i++) {
      if (load<u8>(live + <usize>i) == 0 || groups.isFollower(i)) continue;
      const o = <usize>i << 2;
      const slot = kv.pushSlotKeyed(changetype<string>(load<usize>(changetype<usize>(this.keys) + o)), load<u32>(changetype<usize>(this.keyHashes) + o));
      let j = groups.nextOf(i);
      if (j < 0) {
        profileValueCached(load<usize>(ptrs + o), load<i32>(lens + o), slot);
        if (load<u32>(changetype<usize>(this.kinds) + o) & K_COOKIE) this.profileCookies(i, slot);
        continue;
      }
      profileBegin();
      profileFeed(load<usize>(ptrs + o), load<i32>(lens + o));
      for (; j >= 0; j = groups.nextOf(j)) {
        profileFeedChar(32);
        profileFeed(load<usize>(ptrs + (<usize>j << 2)), load<i32>(lens + (<usize>j << 2)));
      }
      profileEndInto(slot);
      if (load<u32>(changetype<usize>(this.kinds) + o) & K_COOKIE) this.profileCookies(i, slot);
    }
    kv.endRefill();
    return kv.filledCount() == 0 ? null : kv;
  }

  /**
   * Profile the cookies of Cookie line `first` and the lines joined to it (`name=value; …`), or of
   * Set-Cookie lines (the first `name=value` of each; attributes are the server's), by name.
   */
  private profileCookies(first: i32, into: SimpleValProfile): void {
    const kv = into.reusableCookies();
    kv.beginRefill();
    const setCookie = unchecked(this.names[first]).length == 10;
    for (let i = first; i >= 0; i = this.groups.nextOf(i)) {
      const p = unchecked(this.ptrs[i]);
      const n = unchecked(this.lens[i]);
      let start = 0;
      while (start < n) {
        let end = start;
        while (end < n && load<u8>(p + <usize>end) != 59) end++;
        let a = start;
        let b = end;
        while (a < b && isOWS(load<u8>(p + <usize>a))) a++;
        while (b > a && isOWS(load<u8>(p + <usize>(b - 1)))) b--;
        if (b > a) {
          let eq = a;
          while (eq < b && load<u8>(p + <usize>eq) != 61) eq++;
          // A piece without "=" is all name (an unknown name then alerts).
          const name = cookieName(p + <usize>a, eq - a);
          const slot = kv.pushSlotKeyed(name, cookieNameHash);
          const v = eq < b ? eq + 1 : b;
          profileValueCached(p + <usize>v, b - v, slot);
        }
        if (setCookie) break;
        start = end + 1;
      }
    }
    kv.endRefill();
    into.cookies = kv.filledCount() == 0 ? null : kv;
  }
}
