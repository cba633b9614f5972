// SimpleVal: the profile of one short string — character classes, special-char
// flags, unicode blocks and class changes — each counter stored as its Limit code.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { decodeRune, runeLen } from "../text/utf8";
import { Decision, decideChild } from "./decision";
import { slackSteps } from "./policy";
import { decideFlags, flagsScore } from "./asciiflags";
import { copyFlagSlice, decideFlagSlice, flagSliceScore, mergeFlagSlice } from "./flagslice";
import { LimitConfig, LimitPile, codeBitsAdd, codeBitsMax, limitCode, writeCodeBits } from "./limit";
import { asObject, enter, field, leave, readBytes, readU32, readU32Array, readU8 } from "./wire";
import { KeyValConfig, KeyValPile, KeyValProfile, writeKeyValProfile } from "./keyval";
import { TABLE_HEADERS } from "./caps";
import { JsonKind } from "../json/value";
import { ADDRESS_FLAGS, ADDRESS_MARKS, TOKEN_ADDRESSES, TOKEN_KIND_NAMES, TOKEN_KINDS, TOKEN_SPECIAL_FLAGS, isAddressList, isAddressListString, tokenKinds, tokenKindsOfString } from "./token";

export const T_LETTER: u8 = 0;
export const T_DIGIT: u8 = 1;
export const T_SPACE: u8 = 2;
export const T_SPECIAL: u8 = 3;
export const T_NONREADABLE: u8 = 4;
export const T_UNICODE: u8 = 5;
export const T_NONE: u8 = 255;

// For each ASCII code: class in the low 3 bits; for specials the flag bit number in the high 5.
const ASCII_CLASS = new StaticArray<u8>(128);
function initClasses(): void {
  for (let c = 0; c < 128; c++) {
    let t: u8 = T_SPECIAL;
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) t = T_LETTER;
    else if (c >= 48 && c <= 57) t = T_DIGIT;
    else if (c == 32) t = T_SPACE;
    else if (c < 32 || c == 127) t = T_NONREADABLE;
    ASCII_CLASS[c] = t;
  }
  const specials = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  const bits: StaticArray<u8> = [0, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 16, 18, 19, 21, 20, 21, 22, 23, 24, 26, 25, 26, 27];
  for (let i = 0; i < specials.length; i++) {
    const c = specials.charCodeAt(i);
    ASCII_CLASS[c] = T_SPECIAL | (bits[i] << 3);
  }
}
initClasses();

/**
 * The class byte of an ASCII code: its T_ type in the low 3 bits, for a special its flag bit
 * number above. For callers that tally text given out of order (the JSON body profiler).
 */
// @ts-ignore: decorator
@inline export function asciiClass(c: i32): i32 {
  return <i32>unchecked(ASCII_CLASS[c]);
}

/** The flags set by code point `cp` following `prev`, of its type `t` ("0x", "/*", "*\/", "--"). */
// @ts-ignore: decorator
@inline export function pairFlags(prev: i32, cp: i32, t: i32): u32 {
  if (t == T_LETTER) return (cp | 0x20) == 120 && prev == 48 ? 1 << 31 : 0;
  if (t == T_SPECIAL) return (cp == 47 && prev == 42) || (cp == 42 && prev == 47) || (cp == 45 && prev == 45) ? 1 << 30 : 0;
  return 0;
}

/** Accumulates one string's counters; reused across strings so profiling allocates nothing. */
class Profiler {
  letters: u32 = 0;
  digits: u32 = 0;
  spaces: u32 = 0;
  specials: u32 = 0;
  nonReadables: u32 = 0;
  unicodes: u32 = 0;
  sequences: u32 = 0;
  flags: u32 = 0;
  prev: i32 = -1;
  prevType: u8 = T_NONE;
  unicodeWords: StaticArray<u32> = new StaticArray<u32>(272);
  unicodeLen: i32 = 0;

  /** Store counters a caller tallied in locals (feedBytes) or by itself (profileEndCountsInto). */
  @inline setCounts(letters: u32, digits: u32, spaces: u32, specials: u32, nonReadables: u32, unicodes: u32, sequences: u32, flags: u32): void {
    this.letters = letters;
    this.digits = digits;
    this.spaces = spaces;
    this.specials = specials;
    this.nonReadables = nonReadables;
    this.unicodes = unicodes;
    this.sequences = sequences;
    this.flags = flags;
  }

  @inline reset(): void {
    this.letters = 0;
    this.digits = 0;
    this.spaces = 0;
    this.specials = 0;
    this.nonReadables = 0;
    this.unicodes = 0;
    this.sequences = 0;
    this.flags = 0;
    this.prev = -1;
    this.prevType = T_NONE;
    this.unicodeLen = 0;
  }

  @inline feed(cp: i32): void {
    let t: u8;
    if (cp < 128) {
      const cls = unchecked(ASCII_CLASS[cp]);
      t = cls & 7;
      if (t == T_LETTER) {
        this.letters++;
        if ((cp == 120 || cp == 88) && this.prev == 48) this.flags |= 1 << 31;
      } else if (t == T_DIGIT) {
        this.digits++;
      } else if (t == T_SPACE) {
        this.spaces++;
      } else if (t == T_NONREADABLE) {
        this.nonReadables++;
      } else {
        this.specials++;
        this.flags |= (<u32>1) << (cls >> 3);
        const prev = this.prev;
        if ((cp == 47 && prev == 42) || (cp == 42 && prev == 47) || (cp == 45 && prev == 45)) this.flags |= 1 << 30;
      }
    } else {
      t = T_UNICODE;
      this.unicodes++;
      this.markBlock(cp);
    }
    if (t != this.prevType) {
      this.sequences++;
      this.prevType = t;
    }
    this.prev = cp;
  }

  /** Record the unicode block of a code point ≥ 128. */
  markBlock(cp: i32): void {
    const block = (cp >> 7) - 1;
    const word = block >> 5;
    while (this.unicodeLen <= word) unchecked((this.unicodeWords[this.unicodeLen++] = 0));
    unchecked((this.unicodeWords[word] |= (<u32>1) << (block & 31)));
  }

  finish(p: SimpleValProfile): void {
    p.letters = limitCode(this.letters);
    p.digits = limitCode(this.digits);
    p.spaces = limitCode(this.spaces);
    p.specialChars = limitCode(this.specials);
    p.nonReadables = limitCode(this.nonReadables);
    p.unicodes = limitCode(this.unicodes);
    p.sequences = limitCode(this.sequences);
    p.flags = this.flags;
    p.token = 0;
    p.tokenLen = 0;
    p.cookies = null;
    if (this.unicodeLen > 0) {
      const n = this.unicodeLen;
      const u = new Array<u32>(n);
      for (let i = 0; i < n; i++) unchecked((u[i] = this.unicodeWords[i]));
      p.unicodeFlags = u;
    } else {
      p.unicodeFlags = null;
    }
  }
}

const profiler = new Profiler();

/** The profiler's loop over bytes, with its counters in locals (stored back at the end). */
function feedBytes(ptr: usize, len: i32, skip: i32): void {
  const pr = profiler;
  let letters = pr.letters;
  let digits = pr.digits;
  let spaces = pr.spaces;
  let specials = pr.specials;
  let nonReadables = pr.nonReadables;
  let unicodes = pr.unicodes;
  let sequences = pr.sequences;
  let flags = pr.flags;
  let prev = pr.prev;
  let prevType = <i32>pr.prevType;
  let i = 0;
  while (i < len) {
    let cp = <i32>load<u8>(ptr + <usize>i);
    let t: i32;
    if (cp < 0x80) {
      i++;
      if (cp == skip) continue;
      const cls = <i32>unchecked(ASCII_CLASS[cp]);
      t = cls & 7;
      if (t == T_LETTER) {
        letters++;
        if ((cp | 0x20) == 120 && prev == 48) flags |= 1 << 31;
      } else if (t == T_SPECIAL) {
        specials++;
        flags |= (<u32>1) << (cls >> 3);
        if ((cp == 47 && prev == 42) || (cp == 42 && prev == 47) || (cp == 45 && prev == 45)) flags |= 1 << 30;
      } else if (t == T_DIGIT) {
        digits++;
      } else if (t == T_SPACE) {
        spaces++;
      } else {
        nonReadables++;
      }
    } else {
      cp = decodeRune(ptr + <usize>i, len - i);
      i += runeLen;
      t = T_UNICODE;
      unicodes++;
      pr.markBlock(cp);
    }
    if (t != prevType) {
      sequences++;
      prevType = t;
    }
    prev = cp;
  }
  pr.setCounts(letters, digits, spaces, specials, nonReadables, unicodes, sequences, flags);
  pr.prev = prev;
  pr.prevType = <u8>prevType;
}

/**
 * Profile a value given in pieces (repeated header lines or query values, joined with one space
 * as the original joins them) without building the joined string: begin, feed, end.
 */
export function profileBegin(): void {
  profiler.reset();
}

export function profileFeed(ptr: usize, len: i32): void {
  feedBytes(ptr, len, -1);
}

export function profileFeedChar(c: i32): void {
  profiler.feed(c);
}

export function profileEnd(): SimpleValProfile {
  const p = new SimpleValProfile();
  profiler.finish(p);
  return p;
}

/** Record the unicode block of a code point ≥ 128 for the profile begun with profileBegin. */
export function profileMarkBlock(cp: i32): void {
  profiler.markBlock(cp);
}

/**
 * Finish the profile begun with profileBegin into `p`, from counters the caller tallied itself
 * (its unicode blocks given with profileMarkBlock).
 */
export function profileEndCountsInto(p: SimpleValProfile, letters: u32, digits: u32, spaces: u32, specials: u32, nonReadables: u32, unicodes: u32, sequences: u32, flags: u32): void {
  profiler.setCounts(letters, digits, spaces, specials, nonReadables, unicodes, sequences, flags);
  profiler.finish(p);
}

/** Finish into an existing profile (a reused slot of a pooled session). */
export function profileEndInto(p: SimpleValProfile): void {
  profiler.finish(p);
}

export class SimpleValProfile {
  digits: u8 = 0;
  letters: u8 = 0;
  spaces: u8 = 0;
  specialChars: u8 = 0;
  nonReadables: u8 = 0;
  unicodes: u8 = 0;
  sequences: u8 = 0;
  flags: u32 = 0;
  unicodeFlags: Array<u32> | null = null;
  /** Token kinds (token.ts) when the value is a token, else 0; and its length in bytes. */
  token: u8 = 0;
  tokenLen: u32 = 0;
  /** The cookies of a Cookie or Set-Cookie header value, by name (ingest/headers.ts), else null. */
  cookies: KeyValProfile | null = null;
  // Kept while cookies is null, so a pooled session refills the same object.
  private cookieStore: KeyValProfile | null = null;

  /** Storage for this value's cookies, refilled in place. */
  reusableCookies(): KeyValProfile {
    let kv = this.cookieStore;
    if (kv == null) {
      kv = new KeyValProfile();
      this.cookieStore = kv;
    }
    return kv;
  }

  /** Set the token kinds of the bytes just profiled into this profile (finish cleared them). */
  // @ts-ignore: decorator
  @inline classifyToken(ptr: usize, len: i32): void {
    if (this.mayBeAddresses()) {
      if (isAddressList(ptr, len)) {
        this.token = TOKEN_ADDRESSES;
        this.tokenLen = <u32>len;
        return;
      }
    }
    if (len >= 8 && this.mayBeToken()) {
      const k = tokenKinds(ptr, len);
      if (k != 0) {
        this.token = k;
        this.tokenLen = <u32>len;
      }
    }
  }

  /** Cheap filter on the counters: no space, control or non-ASCII, only token punctuation. */
  // @ts-ignore: decorator
  @inline mayBeToken(): bool {
    return this.spaces == 0 && this.nonReadables == 0 && this.unicodes == 0 && (this.flags & ~TOKEN_SPECIAL_FLAGS) == 0;
  }

  /** Cheap filter for an address list: a `.` or `:`, only address punctuation, no control or non-ASCII. */
  // @ts-ignore: decorator
  @inline mayBeAddresses(): bool {
    return this.digits != 0 && (this.flags & ~ADDRESS_FLAGS) == 0 && (this.flags & ADDRESS_MARKS) != 0 && this.nonReadables == 0 && this.unicodes == 0;
  }

  /** Profile UTF-8 bytes with Go's iteration rule (an invalid byte is one U+FFFD). */
  static ofBytes(ptr: usize, len: i32): SimpleValProfile {
    const p = new SimpleValProfile();
    p.profileBytes(ptr, len);
    return p;
  }

  static ofString(s: string): SimpleValProfile {
    const p = new SimpleValProfile();
    p.profileString(s);
    return p;
  }

  profileBytes(ptr: usize, len: i32): void {
    this.profileBytesSkipping(ptr, len, -1);
  }

  /** Profile bytes as if every occurrence of the ASCII byte `skip` were removed. */
  profileBytesSkipping(ptr: usize, len: i32, skip: i32): void {
    profiler.reset();
    feedBytes(ptr, len, skip);
    profiler.finish(this);
    if (skip < 0) this.classifyToken(ptr, len);
  }

  profileString(s: string): void {
    this.profileStringSkipping(s, -1);
  }

  profileStringSkipping(s: string, skip: i32): void {
    const pr = profiler;
    pr.reset();
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let cp = <i32>s.charCodeAt(i);
      if (cp == skip) continue;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        if (cp <= 0xdbff && i + 1 < n) {
          const lo = <i32>s.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i++;
          } else {
            cp = 0xfffd;
          }
        } else {
          cp = 0xfffd;
        }
      }
      pr.feed(cp);
    }
    pr.finish(this);
    if (skip < 0 && (this.mayBeAddresses() || (n >= 8 && this.mayBeToken()))) this.classifyTokenString(s);
  }

  /** Set the token kinds of `s` (the profiled value, or the one value a form field printed as [s]). */
  classifyTokenString(s: string): void {
    const k = this.mayBeAddresses() && isAddressListString(s) ? TOKEN_ADDRESSES : tokenKindsOfString(s);
    if (k != 0) {
      this.token = k;
      this.tokenLen = <u32>s.length;
    }
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("Digits");
    w.uint(this.digits);
    w.key("Letters");
    w.uint(this.letters);
    w.key("Spaces");
    w.uint(this.spaces);
    w.key("SpecialChars");
    w.uint(this.specialChars);
    w.key("NonReadables");
    w.uint(this.nonReadables);
    w.key("Unicodes");
    w.uint(this.unicodes);
    w.key("Sequences");
    w.uint(this.sequences);
    w.key("Flags");
    w.uint(this.flags);
    w.key("UnicodeFlags");
    writeU32List(w, this.unicodeFlags);
    if (this.token != 0) {
      w.key("token");
      w.uint(this.token);
      w.key("tokenLen");
      w.uint(this.tokenLen);
    }
    if (this.cookies != null) {
      w.key("cookies");
      writeKeyValProfile(w, this.cookies);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): SimpleValProfile {
    const o = asObject(v, "a SimpleVal profile");
    const p = new SimpleValProfile();
    p.digits = readU8(field(o, "Digits"), 0);
    p.letters = readU8(field(o, "Letters"), 0);
    p.spaces = readU8(field(o, "Spaces"), 0);
    p.specialChars = readU8(field(o, "SpecialChars"), 0);
    p.nonReadables = readU8(field(o, "NonReadables"), 0);
    p.unicodes = readU8(field(o, "Unicodes"), 0);
    p.sequences = readU8(field(o, "Sequences"), 0);
    p.flags = readU32(field(o, "Flags"), 0);
    p.unicodeFlags = readU32Array(field(o, "UnicodeFlags"));
    p.token = readU8(field(o, "token"), 0);
    p.tokenLen = readU32(field(o, "tokenLen"), 0);
    const cv = field(o, "cookies");
    if (cv != null && cv.kind != JsonKind.Null) {
      enter("cookies");
      p.cookies = KeyValProfile.read(cv);
      leave();
    }
    return p;
  }
}

export function writeU32List(w: JsonWriter, list: Array<u32> | null): void {
  if (list == null) {
    w.null();
    return;
  }
  w.beginArray();
  for (let i = 0; i < list.length; i++) w.uint(list[i]);
  w.endArray();
}


// The counters of a SimpleVal pile, in wire order.
const C_DIGITS = 0;
const C_LETTERS = 1;
const C_SPACES = 2;
const C_SPECIALS = 3;
const C_NONREADABLES = 4;
const C_UNICODES = 5;
const C_SEQUENCES = 6;
const COUNTERS = 7;
const ALL_COUNTERS: u32 = (1 << COUNTERS) - 1;
// Each counter's code set is 4 words (256 bits).
// @ts-ignore: decorator
@inline const SET_BYTES: i32 = 32;
const COUNTER_NAMES: StaticArray<string> = ["Digits", "Letters", "Spaces", "SpecialChars", "NonReadables", "Unicodes", "Sequences"];

export class SimpleValPile {
  // The seven counters' code sets (see limit.ts CodeSet) side by side in one block, SET_BYTES
  // each in wire order; bit i of `present` says whether set i was ever added to. An absent set is
  // null on the wire, as the original's nil list. One block instead of seven objects: adding a
  // profile is seven OR-stores and allocates nothing.
  private codes: StaticArray<u64> = new StaticArray<u64>(COUNTERS * 4);
  private present: u32 = 0;
  flags: u32 = 0;
  unicodeFlags: Array<u32> | null = null;
  // Tokens (Guard's, optional on the wire): the kinds every token value fitted (their
  // intersection: associative, so piles learn the same however they were split), how many values
  // were tokens, and the length band.
  tokenKinds: u8 = 0;
  tokenCount: u32 = 0;
  tokenMin: u32 = 0;
  tokenMax: u32 = 0;
  /** Cookies by name, when the values were Cookie or Set-Cookie headers. */
  cookies: KeyValPile | null = null;

  // @ts-ignore: decorator
  @inline private setAt(counter: i32): usize {
    return changetype<usize>(this.codes) + <usize>(counter * SET_BYTES);
  }

  /** True when the counter's code set exists (was added to, merged or read), even if empty. */
  has(counter: i32): bool {
    return (this.present & (1 << counter)) != 0;
  }

  /** The largest code a counter saw, or `start` when larger or the set is absent (Limit's learn). */
  maxCode(counter: i32, start: u8): u8 {
    if (!this.has(counter)) return start;
    const m = codeBitsMax(this.setAt(counter));
    return m > <i32>start ? <u8>m : start;
  }

  add(p: SimpleValProfile): void {
    const base = changetype<usize>(this.codes);
    codeBitsAdd(base + <usize>(C_DIGITS * SET_BYTES), p.digits);
    codeBitsAdd(base + <usize>(C_LETTERS * SET_BYTES), p.letters);
    codeBitsAdd(base + <usize>(C_SPACES * SET_BYTES), p.spaces);
    codeBitsAdd(base + <usize>(C_SPECIALS * SET_BYTES), p.specialChars);
    codeBitsAdd(base + <usize>(C_NONREADABLES * SET_BYTES), p.nonReadables);
    codeBitsAdd(base + <usize>(C_UNICODES * SET_BYTES), p.unicodes);
    codeBitsAdd(base + <usize>(C_SEQUENCES * SET_BYTES), p.sequences);
    this.present = ALL_COUNTERS;
    this.flags |= p.flags;
    const u = p.unicodeFlags;
    if (u != null) this.unicodeFlags = mergeFlagSlice(this.unicodeFlags, u);
    const t = p.token;
    if (t != 0) this.addToken(t, p.tokenLen, 1);
    const c = p.cookies;
    if (c != null) {
      let kv = this.cookies;
      if (kv == null) {
        kv = new KeyValPile();
        this.cookies = kv;
      }
      kv.add(c);
    }
  }

  /** Pile `count` token values of these kinds, lengths len..hi. */
  private addToken(kinds: u8, len: u32, count: u32, hi: u32 = 0): void {
    const max = hi > len ? hi : len;
    if (this.tokenCount == 0) {
      this.tokenKinds = kinds & TOKEN_KINDS;
      this.tokenMin = len;
      this.tokenMax = max;
    } else {
      this.tokenKinds &= kinds;
      if (len < this.tokenMin) this.tokenMin = len;
      if (max > this.tokenMax) this.tokenMax = max;
    }
    this.tokenCount = satAdd(this.tokenCount, count);
  }

  merge(o: SimpleValPile): void {
    const from = o.present;
    if (from != 0) {
      const dst = changetype<usize>(this.codes);
      const src = changetype<usize>(o.codes);
      for (let i = 0; i < COUNTERS * 4; i++) {
        if ((from & (1 << (i >> 2))) == 0) continue;
        const at = <usize>i << 3;
        store<u64>(dst + at, load<u64>(dst + at) | load<u64>(src + at));
      }
      this.present |= from;
    }
    this.flags |= o.flags;
    this.unicodeFlags = mergeFlagSlice(this.unicodeFlags, o.unicodeFlags);
    if (o.tokenCount > 0) this.addToken(o.tokenKinds, o.tokenMin, o.tokenCount, o.tokenMax);
    const oc = o.cookies;
    if (oc != null) {
      let kv = this.cookies;
      if (kv == null) {
        kv = new KeyValPile();
        this.cookies = kv;
      }
      kv.merge(oc);
    }
  }

  clear(): void {
    memory.fill(changetype<usize>(this.codes), 0, <usize>(COUNTERS * SET_BYTES));
    this.present = 0;
    this.flags = 0;
    this.unicodeFlags = null;
    this.tokenKinds = 0;
    this.tokenCount = 0;
    this.tokenMin = 0;
    this.tokenMax = 0;
    this.cookies = null;
  }



  write(w: JsonWriter): void {
    w.beginObject();
    for (let i = 0; i < COUNTERS; i++) {
      w.key(unchecked(COUNTER_NAMES[i]));
      if (this.has(i)) writeCodeBits(w, this.setAt(i));
      else w.null();
    }
    w.key("Flags");
    w.uint(this.flags);
    w.key("UnicodeFlags");
    writeU32List(w, this.unicodeFlags);
    // Guard's optional members: the original's decoder ignores them.
    if (this.tokenCount > 0) {
      w.key("token");
      w.beginObject();
      w.key("kinds");
      w.uint(this.tokenKinds);
      w.key("count");
      w.uint(this.tokenCount);
      w.key("min");
      w.uint(this.tokenMin);
      w.key("max");
      w.uint(this.tokenMax);
      w.endObject();
    }
    const c = this.cookies;
    if (c != null) {
      w.key("cookies");
      c.write(w);
    }
    w.endObject();
  }

  /** Read one counter's code list (null or absent leaves the set absent). */
  private readCounter(counter: i32, v: JsonValue | null): void {
    const list = readBytes(v);
    if (list == null) return;
    this.present |= 1 << counter;
    const at = this.setAt(counter);
    for (let i = 0; i < list.length; i++) codeBitsAdd(at, unchecked(list[i]));
  }

  static read(v: JsonValue | null): SimpleValPile {
    const o = asObject(v, "a SimpleVal pile");
    const p = new SimpleValPile();
    for (let i = 0; i < COUNTERS; i++) p.readCounter(i, field(o, unchecked(COUNTER_NAMES[i])));
    p.flags = readU32(field(o, "Flags"), 0);
    p.unicodeFlags = readU32Array(field(o, "UnicodeFlags"));
    const tv = field(o, "token");
    if (tv != null && tv.kind != JsonKind.Null) {
      enter("token");
      const t = asObject(tv, "a token pile");
      const count = readU32(field(t, "count"), 0);
      if (count > 0) {
        p.tokenKinds = readU8(field(t, "kinds"), 0) & TOKEN_KINDS;
        p.tokenCount = count;
        p.tokenMin = readU32(field(t, "min"), 0);
        p.tokenMax = readU32(field(t, "max"), 0);
        if (p.tokenMax < p.tokenMin) p.tokenMax = p.tokenMin;
      }
      leave();
    }
    const cv = field(o, "cookies");
    if (cv != null && cv.kind != JsonKind.Null) {
      enter("cookies");
      p.cookies = KeyValPile.read(cv);
      leave();
    }
    return p;
  }
}

function satAdd(a: u32, b: u32): u32 {
  const s = <u64>a + <u64>b;
  return s > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>s;
}

/** A learned token length band widened by a quarter each way (random lengths vary a little). */
// @ts-ignore: decorator
@inline function tokenLenFits(len: u32, min: u32, max: u32): bool {
  return len + (min >> 2) >= min && len <= max + (max >> 2) + 2;
}

// KeyValConfig.decide, called through a function reference: a direct call would make SimpleVal's
// decide recursive, and it would no longer be inlined into KeyVal's loop (keyval.ts sets it).
let cookieTableDecider: (c: KeyValConfig, p: KeyValProfile) => Decision | null = noCookieTable;
function noCookieTable(c: KeyValConfig, p: KeyValProfile): Decision | null {
  return null;
}
export function setCookieTableDecider(f: (c: KeyValConfig, p: KeyValProfile) => Decision | null): void {
  cookieTableDecider = f;
}

// Set while a criteria is written for readiness (model/guardian.ts rulesHash), never for the wire.
let readinessView = false;
export function setReadinessView(on: bool): void {
  readinessView = on;
}

export class SimpleValConfig {
  digits: u8 = 0;
  letters: u8 = 0;
  spaces: u8 = 0;
  specialChars: u8 = 0;
  nonReadables: u8 = 0;
  unicodes: u8 = 0;
  sequences: u8 = 0;
  flags: u32 = 0;
  unicodeFlags: Array<u32> | null = null;
  /** Guard's token rule (token.ts): the kinds and length band a value may fit instead; 0 = none. */
  tokenKinds: u8 = 0;
  tokenMin: u32 = 0;
  tokenMax: u32 = 0;
  /** Guard's per-cookie rules of a Cookie / Set-Cookie header: when set, they replace the counters. */
  cookies: KeyValConfig | null = null;
  private cachedScore: u32 = 0;

  learn(p: SimpleValPile): void {
    this.digits = p.maxCode(C_DIGITS, this.digits);
    this.letters = p.maxCode(C_LETTERS, this.letters);
    this.spaces = p.maxCode(C_SPACES, this.spaces);
    this.specialChars = p.maxCode(C_SPECIALS, this.specialChars);
    this.nonReadables = p.maxCode(C_NONREADABLES, this.nonReadables);
    this.unicodes = p.maxCode(C_UNICODES, this.unicodes);
    this.sequences = p.maxCode(C_SEQUENCES, this.sequences);
    this.flags |= p.flags;
    this.unicodeFlags = mergeFlagSlice(this.unicodeFlags, p.unicodeFlags);
    if (p.tokenCount > 0) this.learnToken(p.tokenKinds, p.tokenMin, p.tokenMax);
    const pc = p.cookies;
    if (pc != null) {
      let c = this.cookies;
      if (c == null) {
        c = new KeyValConfig();
        c.tableKind = TABLE_HEADERS;
        this.cookies = c;
      }
      c.learn(pc);
      c.prepare();
    }
  }

  /**
   * Narrow the kinds to those every learned token fitted and widen the length band. A rule whose
   * kinds became empty stays empty (tokenMax > 0 marks it learned): learning is the same in any
   * order of piles.
   */
  private learnToken(kinds: u8, min: u32, max: u32): void {
    if (this.tokenMax == 0) {
      this.tokenKinds = kinds & TOKEN_KINDS;
      this.tokenMin = min;
      this.tokenMax = max;
      return;
    }
    this.tokenKinds &= kinds;
    if (min < this.tokenMin) this.tokenMin = min;
    if (max > this.tokenMax) this.tokenMax = max;
  }

  /** Learn one profile directly (used for key names and tests). */
  learnProfile(p: SimpleValProfile): void {
    const pile = new SimpleValPile();
    pile.add(p);
    this.learn(pile);
  }

  fuse(o: SimpleValConfig): void {
    if (o.digits > this.digits) this.digits = o.digits;
    if (o.letters > this.letters) this.letters = o.letters;
    if (o.spaces > this.spaces) this.spaces = o.spaces;
    if (o.specialChars > this.specialChars) this.specialChars = o.specialChars;
    if (o.nonReadables > this.nonReadables) this.nonReadables = o.nonReadables;
    if (o.unicodes > this.unicodes) this.unicodes = o.unicodes;
    if (o.sequences > this.sequences) this.sequences = o.sequences;
    this.flags |= o.flags;
    this.unicodeFlags = mergeFlagSlice(this.unicodeFlags, o.unicodeFlags);
    if (o.tokenMax != 0) this.learnToken(o.tokenKinds, o.tokenMin, o.tokenMax);
  }

  prepare(): void {
    const c = this.cookies;
    if (c != null) c.prepare();
  }

  /** Cached the first time it is non-zero and never invalidated, as the original's. */
  score(): u32 {
    if (this.cachedScore != 0) return this.cachedScore;
    const s: u32 =
      4 * (<u32>this.specialChars + <u32>this.nonReadables + <u32>this.sequences + flagsScore(this.flags) + flagSliceScore(this.unicodeFlags)) +
      <u32>this.digits + <u32>this.letters + <u32>this.spaces + <u32>this.unicodes;
    this.cachedScore = s;
    return s;
  }

  // @ts-ignore: decorator
  @inline decide(p: SimpleValProfile): Decision | null {
    if (this.cookies != null) return this.decideCookies(p);
    // Inlined fast path: nothing exceeds the config.
    if (
      p.letters <= this.letters && p.digits <= this.digits && p.spaces <= this.spaces &&
      p.specialChars <= this.specialChars && p.nonReadables <= this.nonReadables &&
      p.unicodes <= this.unicodes && p.sequences <= this.sequences &&
      (p.flags & ~this.flags) == 0 && p.unicodeFlags == null
    ) return null;
    return this.decideExceeding(p);
  }

  /** A Cookie header judged cookie by cookie (names learned, values by their own rules). */
  private decideCookies(p: SimpleValProfile): Decision | null {
    const pc = p.cookies;
    // A value without cookies (a profile made elsewhere) is judged by the counters.
    if (pc == null) return this.decideExceeding(p);
    return decideChild(null, cookieTableDecider(this.cookies!, pc), "Cookies");
  }

  private decideExceeding(p: SimpleValProfile): Decision | null {
    // A token of a learned kind and length passes whatever its character counts.
    // An address list has no length band: a chain is as long as the proxies a client is behind.
    const tk = this.tokenKinds;
    const fit = p.token & tk;
    if (fit != 0 && (fit == TOKEN_ADDRESSES || tokenLenFits(p.tokenLen, this.tokenMin, this.tokenMax))) return null;
    if (
      p.letters <= this.letters && p.digits <= this.digits && p.spaces <= this.spaces &&
      p.specialChars <= this.specialChars && p.nonReadables <= this.nonReadables &&
      p.unicodes <= this.unicodes && p.sequences <= this.sequences &&
      (p.flags & ~this.flags) == 0 && p.unicodeFlags == null
    ) return null;
    // A Guardian's slack (usually 0) widens the counters: checked here, off the fast path.
    const s = slackSteps();
    if (
      s > 0 && <i32>p.letters <= <i32>this.letters + s && <i32>p.digits <= <i32>this.digits + s &&
      <i32>p.spaces <= <i32>this.spaces + s && <i32>p.specialChars <= <i32>this.specialChars + s &&
      <i32>p.nonReadables <= <i32>this.nonReadables + s && <i32>p.unicodes <= <i32>this.unicodes + s &&
      <i32>p.sequences <= <i32>this.sequences + s && (p.flags & ~this.flags) == 0 && p.unicodeFlags == null
    ) return null;
    let d: Decision | null = null;
    d = decideChild(d, limitDecide(p.letters, this.letters), "Letters");
    d = decideChild(d, limitDecide(p.digits, this.digits), "Digits");
    d = decideChild(d, limitDecide(p.spaces, this.spaces), "Spaces");
    d = decideChild(d, limitDecide(p.specialChars, this.specialChars), "SpecialChars");
    d = decideChild(d, limitDecide(p.nonReadables, this.nonReadables), "NonReadables");
    d = decideChild(d, limitDecide(p.unicodes, this.unicodes), "Unicodes");
    d = decideChild(d, limitDecide(p.sequences, this.sequences), "Sequences");
    d = decideChild(d, decideFlags(p.flags, this.flags), "Special Chars Used");
    d = decideChild(d, decideFlagSlice(p.unicodeFlags, this.unicodeFlags), "Unicode Blocks");
    return d;
  }

  clone(): SimpleValConfig {
    const c = new SimpleValConfig();
    c.fuse(this);
    c.unicodeFlags = copyFlagSlice(this.unicodeFlags);
    c.tokenKinds = this.tokenKinds;
    c.tokenMin = this.tokenMin;
    c.tokenMax = this.tokenMax;
    c.cookies = this.cookies;
    return c;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    // Readiness compares rules that decide: the counts of a token-valued key or of a Cookie judged
    // by cookie keep widening with every rare draw, but they no longer decide its tokens.
    if (!readinessView || (this.tokenMax == 0 && this.cookies == null)) this.writeCounts(w);
    this.writeGuardRules(w);
    w.endObject();
  }

  private writeCounts(w: JsonWriter): void {
    w.key("digits");
    w.uint(this.digits);
    w.key("letters");
    w.uint(this.letters);
    w.key("spaces");
    w.uint(this.spaces);
    w.key("schars");
    w.uint(this.specialChars);
    w.key("nonreadables");
    w.uint(this.nonReadables);
    w.key("unicodes");
    w.uint(this.unicodes);
    w.key("sequences");
    w.uint(this.sequences);
    w.key("flags");
    w.uint(this.flags);
    w.key("unicodeFlags");
    writeU32List(w, this.unicodeFlags);
  }

  /** Guard's optional members (docs/tokens.md): the original's decoder ignores them. */
  private writeGuardRules(w: JsonWriter): void {
    if (this.tokenMax != 0) {
      w.key("token");
      w.beginObject();
      w.key("kinds");
      w.beginArray();
      for (let i = 0; i < TOKEN_KIND_NAMES.length; i++) if (<i32>this.tokenKinds & (1 << i)) w.string(unchecked(TOKEN_KIND_NAMES[i]));
      w.endArray();
      w.key("min");
      w.uint(this.tokenMin);
      w.key("max");
      w.uint(this.tokenMax);
      w.endObject();
    }
    const c = this.cookies;
    if (c != null) {
      w.key("cookies");
      c.write(w);
    }
  }

  static read(v: JsonValue | null): SimpleValConfig {
    const o = asObject(v, "a SimpleVal config");
    const c = new SimpleValConfig();
    c.digits = readU8(field(o, "digits"), 0);
    c.letters = readU8(field(o, "letters"), 0);
    c.spaces = readU8(field(o, "spaces"), 0);
    c.specialChars = readU8(field(o, "schars"), 0);
    c.nonReadables = readU8(field(o, "nonreadables"), 0);
    c.unicodes = readU8(field(o, "unicodes"), 0);
    c.sequences = readU8(field(o, "sequences"), 0);
    c.flags = readU32(field(o, "flags"), 0);
    c.unicodeFlags = readU32Array(field(o, "unicodeFlags"));
    const tv = field(o, "token");
    if (tv != null && tv.kind != JsonKind.Null) {
      enter("token");
      const t = asObject(tv, "a token rule");
      c.tokenKinds = readTokenKinds(field(t, "kinds"));
      c.tokenMin = readU32(field(t, "min"), 0);
      c.tokenMax = readU32(field(t, "max"), 0);
      if (c.tokenMax < c.tokenMin) c.tokenMax = c.tokenMin;
      leave();
    }
    const cv = field(o, "cookies");
    if (cv != null && cv.kind != JsonKind.Null) {
      enter("cookies");
      const kc = KeyValConfig.read(cv);
      kc.tableKind = TABLE_HEADERS;
      c.cookies = kc;
      leave();
    }
    return c;
  }
}

const limitScratch = new LimitConfig();

function limitDecide(code: u8, max: u8): Decision | null {
  limitScratch.max = max;
  return limitScratch.decide(code);
}

export { LimitPile };

/** Token kind names (unknown names are skipped: a later Guard may know more kinds). */
function readTokenKinds(v: JsonValue | null): u8 {
  if (v == null || v.kind != JsonKind.Array) return 0;
  const items = v.items;
  let kinds: u8 = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.kind != JsonKind.String) continue;
    for (let k = 0; k < TOKEN_KIND_NAMES.length; k++) if (it.str == unchecked(TOKEN_KIND_NAMES[k])) kinds |= <u8>(<i32>1 << k);
  }
  return kinds;
}
