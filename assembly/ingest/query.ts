// A raw query string profiled as Go's url.ParseQuery would hand it to the original (reference
// §5.2): pieces split on '&', a piece with ';' or a bad escape dropped, '+' as space, values of a
// repeated key joined with one space. Values are profiled from the unescaped bytes in place.
import { KeyValProfile } from "../model/keyval";
import { profileBegin, profileEndInto, profileFeed, profileFeedChar } from "../model/simpleval";
import { goStringFromUtf8 } from "../text/utf8";
import { KeyGroups } from "./grouping";
import { InternTable } from "./intern";

const queryKeys = new InternTable();

/** The string of a decoded query key, shared between requests that use the same key. */
function internedKey(ptr: usize, len: i32): string {
  const known = queryKeys.find(ptr, len);
  if (known != null) return known;
  const key = goStringFromUtf8(ptr, len);
  queryKeys.add(ptr, len, key, 0);
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
  private keys: Array<string> = new Array<string>();
  private valPtrs: Array<usize> = new Array<usize>();
  private valLens: Array<i32> = new Array<i32>();
  private groups: KeyGroups = new KeyGroups();

  /** The KeyVal profile of a raw query (filling `into` when given), or null when it has no valid piece. */
  profile(ptr: usize, len: i32, into: KeyValProfile | null): KeyValProfile | null {
    if (len <= 0) return null;
    if (len > this.buf.byteLength) this.buf = new ArrayBuffer(len);
    this.keys.length = 0;
    this.valPtrs.length = 0;
    this.valLens.length = 0;
    const base = changetype<usize>(this.buf);
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
            this.keys.push(internedKey(base + <usize>keyAt, keyLen));
            this.valPtrs.push(base + <usize>valAt);
            this.valLens.push(valLen);
            out = valAt + valLen;
          }
        }
      }
      start = end + 1;
    }
    const keys = this.keys;
    const n = keys.length;
    if (n == 0) return null;
    const kv = into != null ? into : new KeyValProfile();
    kv.clearForReuse();
    const groups = this.groups;
    groups.compute(keys);
    const next = groups.next;
    for (let i = 0; i < n; i++) {
      if (unchecked(groups.follower[i])) continue;
      profileBegin();
      profileFeed(this.valPtrs[i], this.valLens[i]);
      for (let j = unchecked(next[i]); j >= 0; j = unchecked(next[j])) {
        profileFeedChar(32);
        profileFeed(this.valPtrs[j], this.valLens[j]);
      }
      profileEndInto(kv.pushSlot(keys[i]));
    }
    return kv;
  }
}
