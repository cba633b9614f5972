// A raw query string profiled as Go's url.ParseQuery would hand it to the original: pieces split on
// '&', a piece with ';' or a bad escape dropped, '+' as space, values of a repeated key joined with
// one space. Values are profiled from the unescaped bytes in place.
import { hashIfNeeded, keyHash, KeyValProfile } from "../model/keyval";
import { profileBegin, profileEndInto, profileFeed, profileFeedChar } from "../model/simpleval";
import { goStringFromUtf8 } from "../text/utf8";
import { KeyGroups } from "./grouping";
import { InternTable } from "./intern";
import { profileValueCached } from "./valuecache";

const queryKeys = new InternTable();

// What internedKey found besides the key: its keyHash, its KeyVal key and that key's hash.
let foundHash: u32 = 0;
let foundKey: string = "";
let foundKeyHash: u32 = 0;

/** The string of a decoded query key, shared between requests that use the same key. */
function internedKey(ptr: usize, len: i32): string {
  const slot = queryKeys.findSlot(ptr, len);
  if (slot >= 0) {
    foundHash = queryKeys.hashAt(slot);
    foundKey = queryKeys.keyAt(slot);
    foundKeyHash = queryKeys.keyHashAt(slot);
    return queryKeys.valueAt(slot);
  }
  const key = goStringFromUtf8(ptr, len);
  queryKeys.add(ptr, len, key, 0);
  foundHash = keyHash(key);
  foundKey = hashIfNeeded(key);
  foundKeyHash = foundKey === key ? foundHash : keyHash(foundKey);
  return key;
}

@inline function hexValue(c: u8): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Query-unescape [p, p+n) into dst; the length, or -1 on an invalid escape. */
function unescapeInto(p: usize, n: i32, dst: usize): i32 {
  let w = 0;
  let i = 0;
  while (i < n) {
    const c = load<u8>(p + <usize>i);
    if (c == 37) {
      if (i + 2 >= n) return -1;
      const h = hexValue(load<u8>(p + <usize>(i + 1)));
      const l = hexValue(load<u8>(p + <usize>(i + 2)));
      if (h < 0 || l < 0) return -1;
      store<u8>(dst + <usize>w, <u8>((h << 4) | l));
      i += 3;
    } else {
      store<u8>(dst + <usize>w, c == 43 ? 32 : c);
      i++;
    }
    w++;
  }
  return w;
}

export class QueryScan {
  private buf: ArrayBuffer = new ArrayBuffer(1024);
  // Per valid piece: key, its keyHash, KeyVal key and that key's hash, and the value's bytes.
  private cap: i32 = 0;
  private keys: StaticArray<string> = new StaticArray<string>(0);
  private hashes: StaticArray<u32> = new StaticArray<u32>(0);
  private kvKeys: StaticArray<string> = new StaticArray<string>(0);
  private kvHashes: StaticArray<u32> = new StaticArray<u32>(0);
  private valPtrs: StaticArray<usize> = new StaticArray<usize>(0);
  private valLens: StaticArray<i32> = new StaticArray<i32>(0);
  private groups: KeyGroups = new KeyGroups();

  /** Double the room for pieces, keeping the first n. */
  private grow(n: i32): void {
    const cap = this.cap < 16 ? 16 : this.cap << 1;
    const keys = new StaticArray<string>(cap);
    const hashes = new StaticArray<u32>(cap);
    const kvKeys = new StaticArray<string>(cap);
    const kvHashes = new StaticArray<u32>(cap);
    const valPtrs = new StaticArray<usize>(cap);
    const valLens = new StaticArray<i32>(cap);
    for (let i = 0; i < n; i++) {
      unchecked((keys[i] = unchecked(this.keys[i])));
      unchecked((hashes[i] = unchecked(this.hashes[i])));
      unchecked((kvKeys[i] = unchecked(this.kvKeys[i])));
      unchecked((kvHashes[i] = unchecked(this.kvHashes[i])));
      unchecked((valPtrs[i] = unchecked(this.valPtrs[i])));
      unchecked((valLens[i] = unchecked(this.valLens[i])));
    }
    this.keys = keys;
    this.hashes = hashes;
    this.kvKeys = kvKeys;
    this.kvHashes = kvHashes;
    this.valPtrs = valPtrs;
    this.valLens = valLens;
    this.cap = cap;
  }

  /** The KeyVal profile of a raw query (filling `into` when given), or null when it has no valid piece. */
  profile(ptr: usize, len: i32, into: KeyValProfile | null): KeyValProfile | null {
    if (len <= 0) return null;
    if (len > this.buf.byteLength) this.buf = new ArrayBuffer(len);
    const base = changetype<usize>(this.buf);
    let n = 0;
    let out = 0;
    let start = 0;
    while (start < len) {
      let end = start;
      let semicolon = false;
      let eq = -1;
      while (end < len) {
        const c = load<u8>(ptr + <usize>end);
        if (c == 38) break;
        if (c == 59) semicolon = true;
        if (c == 61 && eq < 0) eq = end;
        end++;
      }
      if (end > start && !semicolon) {
        const keyEnd = eq < 0 ? end : eq;
        const keyLen = unescapeInto(ptr + <usize>start, keyEnd - start, base + <usize>out);
        if (keyLen >= 0) {
          const keyAt = out;
          const valAt = keyAt + keyLen;
          const valLen = eq < 0 ? 0 : unescapeInto(ptr + <usize>(eq + 1), end - eq - 1, base + <usize>valAt);
          if (valLen >= 0) {
            if (n >= this.cap) this.grow(n);
            const keys = this.keys;
            unchecked((keys[n] = internedKey(base + <usize>keyAt, keyLen)));
            unchecked((this.hashes[n] = foundHash));
            unchecked((this.kvKeys[n] = foundKey));
            unchecked((this.kvHashes[n] = foundKeyHash));
            unchecked((this.valPtrs[n] = base + <usize>valAt));
            unchecked((this.valLens[n] = valLen));
            n++;
            out = valAt + valLen;
          }
        }
      }
      start = end + 1;
    }
    if (n == 0) return null;
    const keys = this.keys;
    const kvKeys = this.kvKeys;
    const kvHashes = this.kvHashes;
    const valPtrs = this.valPtrs;
    const valLens = this.valLens;
    const kv = into != null ? into : new KeyValProfile();
    kv.beginRefill();
    const groups = this.groups;
    groups.computeLines(keys, this.hashes, null, n);
    for (let i = 0; i < n; i++) {
      if (groups.isFollower(i)) continue;
      const slot = kv.pushSlotKeyed(unchecked(kvKeys[i]), unchecked(kvHashes[i]));
      let j = groups.nextOf(i);
      if (j < 0) {
        profileValueCached(unchecked(valPtrs[i]), unchecked(valLens[i]), slot);
        continue;
      }
      profileBegin();
      profileFeed(unchecked(valPtrs[i]), unchecked(valLens[i]));
      for (; j >= 0; j = groups.nextOf(j)) {
        profileFeedChar(32);
        profileFeed(unchecked(valPtrs[j]), unchecked(valLens[j]));
      }
      profileEndInto(slot);
    }
    kv.endRefill();
    return kv;
  }
}
