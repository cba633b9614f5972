// The SimpleVal profile of the %v text of a JSON value inside a body's leaf (an array, a number, a
// string with escapes …), tallied while the value is scanned, without writing the text.
//
// SimpleVal counters compose: the counts of two pieces of text add up, and only the class change
// and the flagged character pairs ("0x", "--" …) across the seam need the last character of the
// first piece and the first of the second. So the pieces of the text are tallied as they are
// scanned, and the members of an object, which print sorted by key ("map[k1:v1 k2:v2]"), are each
// tallied alone and joined in key order. Anything unusual — a repeated key, a key that needs
// decoding, a syntax error — gives up (-1), and the caller profiles the value from its text.
//
// Everything here works on module globals and raw addresses: a managed reference held in a local
// (`this` included) costs a shadow-stack store at each use under the incremental runtime.
import { decodeRune, runeLen } from "../text/utf8";
import { goNumberTextBytes } from "../text/gonumber";
import { formatFloatV, parseFloatGo } from "../text/gofmt";
import {
  SimpleValProfile, T_LETTER, T_NONE, T_SPECIAL, T_UNICODE, asciiClass, pairFlags, profileBegin, profileEndCountsInto, profileMarkBlock,
} from "../model/simpleval";

/** Nesting deeper than this is not profiled (the body faults). */
export const MAX_BODY_DEPTH = 128;

// Per byte, for tallying runs of plain string bytes: in the high word its SimpleVal type (bits
// 0-2), whether it may end a flagged pair (bit 3: "0x", "/*", "*\/", "--"), and whether a run stops
// at it (bit 4: a quote, a backslash, a control byte, DEL or a non-ASCII byte); in the low word the
// flag bit of a special.
const B_PAIR: u32 = 8;
const B_STOP: u32 = 16;
const BYTE_INFO = new StaticArray<u64>(256);
const byteInfo = changetype<usize>(BYTE_INFO);

function initByteInfo(): void {
  for (let c = 0; c < 256; c++) {
    let hi: u32 = B_STOP;
    let lo: u32 = 0;
    if (c != 34 && c != 92 && c >= 32 && c < 127) {
      const cls = asciiClass(c);
      hi = <u32>(cls & 7);
      if (hi == T_SPECIAL) lo = (<u32>1) << (cls >> 3);
      if (c == 47 || c == 42 || c == 45 || c == 120 || c == 88) hi |= B_PAIR;
    }
    BYTE_INFO[c] = ((<u64>hi) << 32) | <u64>lo;
  }
}
initByteInfo();

// The value's bytes.
let src: usize = 0;
let srcEnd: i32 = 0;

// The running tally: counters, the last code point and its type (T_NONE before the first).
let letters: u32 = 0;
let digits: u32 = 0;
let spaces: u32 = 0;
let specials: u32 = 0;
let nonReadables: u32 = 0;
let unicodes: u32 = 0;
let sequences: u32 = 0;
let flags: u32 = 0;
let last: i32 = -1;
let lastType: i32 = T_NONE;

// A staged tally (an object member's or a constant word's): its counters, then the first and the
// last code point of its text and their types, and for a member where its key lies in the body.
const R_LETTERS = 0;
const R_DIGITS = 4;
const R_SPACES = 8;
const R_SPECIALS = 12;
const R_NONREADABLES = 16;
const R_UNICODES = 20;
const R_SEQUENCES = 24;
const R_FLAGS = 28;
const R_FIRST = 32;
const R_FIRST_TYPE = 36;
const R_LAST = 40;
const R_LAST_TYPE = 44;
const R_KEY_AT = 48;
const R_KEY_LEN = 52;
const ROW_BYTES = 56;

// The members of the objects being tallied, as a stack of rows: an object's members are the rows
// from where it started to the top (nested objects' rows come and go above them). `order` holds,
// at the same indices, the rows sorted by key.
let rowBuf = new ArrayBuffer(64 * ROW_BYTES);
let orderBuf = new ArrayBuffer(64 * 4);
let spareBuf = new ArrayBuffer(64 * 4);
let rows: usize = changetype<usize>(rowBuf);
let order: usize = changetype<usize>(orderBuf);
let rowCap: i32 = 64;
let rowTop: i32 = 0;

function growRows(): void {
  const cap = rowCap * 2;
  const nextRows = new ArrayBuffer(cap * ROW_BYTES);
  memory.copy(changetype<usize>(nextRows), rows, <usize>rowCap * ROW_BYTES);
  rowBuf = nextRows;
  rows = changetype<usize>(nextRows);
  orderBuf = new ArrayBuffer(cap * 4);
  order = changetype<usize>(orderBuf);
  spareBuf = new ArrayBuffer(cap * 4);
  rowCap = cap;
}

// The tallies of the constant words of the %v text.
const WORDS = new StaticArray<u8>(4 * ROW_BYTES);
const words = changetype<usize>(WORDS);
const W_MAP = words;
const W_TRUE = words + ROW_BYTES;
const W_FALSE = words + 2 * ROW_BYTES;
const W_NIL = words + 3 * ROW_BYTES;

// A number's %v text.
let numBuf = new ArrayBuffer(64);

@inline function tallyReset(): void {
  letters = 0;
  digits = 0;
  spaces = 0;
  specials = 0;
  nonReadables = 0;
  unicodes = 0;
  sequences = 0;
  flags = 0;
  last = -1;
  lastType = T_NONE;
}

/** Tally one ASCII character. */
function ascii(c: i32): void {
  const cls = asciiClass(c);
  const t = cls & 7;
  if (t == T_LETTER) letters++;
  else if (t == T_SPECIAL) {
    specials++;
    flags |= (<u32>1) << (cls >> 3);
  } else if (t == 1) digits++;
  else if (t == 2) spaces++;
  else nonReadables++;
  flags |= pairFlags(last, c, t);
  if (t != lastType) {
    sequences++;
    lastType = t;
  }
  last = c;
}

/** Tally a space (between members and elements). */
@inline function space(): void {
  spaces++;
  sequences += <u32>(lastType != 2);
  lastType = 2;
  last = 32;
}

/** Tally a special that ends no flagged pair (":", "[", "]"), its flag bit given. */
@inline function special(c: i32, flag: u32): void {
  specials++;
  flags |= flag;
  sequences += <u32>(lastType != T_SPECIAL);
  lastType = T_SPECIAL;
  last = c;
}

// The flag bits of ":", "[" and "]".
const FLAG_COLON: u32 = (<u32>1) << (asciiClass(58) >> 3);
const FLAG_OPEN: u32 = (<u32>1) << (asciiClass(91) >> 3);
const FLAG_CLOSE: u32 = (<u32>1) << (asciiClass(93) >> 3);

/** Tally one code point ≥ 128. */
function rune(cp: i32): void {
  unicodes++;
  profileMarkBlock(cp);
  if (lastType != T_UNICODE) {
    sequences++;
    lastType = T_UNICODE;
  }
  last = cp;
}

/**
 * Tally the bytes at [p, end) of `at` up to the first a run stops at (see BYTE_INFO); returns its
 * index, or end. At most 65535 bytes, so that the counts packed in 16 bits cannot overflow.
 */
@inline function run(at: usize, p: i32, end: i32): i32 {
  let counts: u64 = 0;
  let f = flags;
  let seq = sequences;
  let lt = lastType;
  let prev = last;
  while (p < end) {
    const c = <i32>load<u8>(at + <usize>p);
    const info = load<u64>(byteInfo + (<usize>c << 3));
    const hi = <u32>(info >> 32);
    if ((hi & B_STOP) != 0) break;
    const t = <i32>(hi & 7);
    counts += (<u64>1) << (<u64>(t << 4));
    f |= <u32>info;
    if ((hi & B_PAIR) != 0) f |= pairFlags(prev, c, t);
    seq += <u32>(t != lt);
    lt = t;
    prev = c;
    p++;
  }
  letters += <u32>(counts & 0xffff);
  digits += <u32>((counts >> 16) & 0xffff);
  spaces += <u32>((counts >> 32) & 0xffff);
  specials += <u32>(counts >> 48);
  flags = f;
  sequences = seq;
  lastType = lt;
  last = prev;
  return p;
}

/** Append a staged tally to the running one. */
function appendRow(r: usize): void {
  letters += load<u32>(r, R_LETTERS);
  digits += load<u32>(r, R_DIGITS);
  spaces += load<u32>(r, R_SPACES);
  specials += load<u32>(r, R_SPECIALS);
  nonReadables += load<u32>(r, R_NONREADABLES);
  unicodes += load<u32>(r, R_UNICODES);
  const first = load<i32>(r, R_FIRST);
  const firstType = load<i32>(r, R_FIRST_TYPE);
  flags |= load<u32>(r, R_FLAGS) | pairFlags(last, first, firstType);
  sequences += load<u32>(r, R_SEQUENCES) - <u32>(firstType == lastType);
  last = load<i32>(r, R_LAST);
  lastType = load<i32>(r, R_LAST_TYPE);
}

/** Stage the running tally (its text began with `first`, of type `firstType`). */
@inline function storeRow(r: usize, first: i32, firstType: i32): void {
  store<u32>(r, letters, R_LETTERS);
  store<u32>(r, digits, R_DIGITS);
  store<u32>(r, spaces, R_SPACES);
  store<u32>(r, specials, R_SPECIALS);
  store<u32>(r, nonReadables, R_NONREADABLES);
  store<u32>(r, unicodes, R_UNICODES);
  store<u32>(r, sequences, R_SEQUENCES);
  store<u32>(r, flags, R_FLAGS);
  store<i32>(r, first, R_FIRST);
  store<i32>(r, firstType, R_FIRST_TYPE);
  store<i32>(r, last, R_LAST);
  store<i32>(r, lastType, R_LAST_TYPE);
}

function initWord(r: usize, s: string): void {
  tallyReset();
  for (let i = 0; i < s.length; i++) ascii(s.charCodeAt(i));
  const c = s.charCodeAt(0);
  storeRow(r, c, asciiClass(c) & 7);
}
initWord(W_MAP, "map[");
initWord(W_TRUE, "true");
initWord(W_FALSE, "false");
initWord(W_NIL, "<nil>");

@inline function skipWs(p: i32): i32 {
  while (p < srcEnd) {
    const c = load<u8>(src + <usize>p);
    if (c > 32 || (c != 32 && c != 9 && c != 10 && c != 13)) return p;
    p++;
  }
  return p;
}

@inline function byteAt(p: i32): i32 {
  return p < srcEnd ? <i32>load<u8>(src + <usize>p) : -1;
}

/** Where the JSON number at p ends, or -1 when it is not one (Go's grammar). */
export function numberEnd(at: usize, p: i32, end: i32): i32 {
  if (p < end && load<u8>(at + <usize>p) == 45) p++;
  if (p >= end) return -1;
  const c = load<u8>(at + <usize>p);
  if (c == 48) p++;
  else if (c >= 49 && c <= 57) {
    while (p < end && <u32>load<u8>(at + <usize>p) - 48 < 10) p++;
  } else return -1;
  if (p < end && load<u8>(at + <usize>p) == 46) {
    p++;
    const f = p;
    while (p < end && <u32>load<u8>(at + <usize>p) - 48 < 10) p++;
    if (p == f) return -1;
  }
  if (p < end && (load<u8>(at + <usize>p) | 0x20) == 101) {
    p++;
    if (p < end && (load<u8>(at + <usize>p) == 43 || load<u8>(at + <usize>p) == 45)) p++;
    const e = p;
    while (p < end && <u32>load<u8>(at + <usize>p) - 48 < 10) p++;
    if (p == e) return -1;
  }
  return p;
}

@inline function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Four hex digits at p as a number, or -1. */
function hexAt(p: i32): i32 {
  if (p + 4 > srcEnd) return -1;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const h = hexValue(<i32>load<u8>(src + <usize>(p + i)));
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/**
 * Tally the %v text of the value at `pos` of the body [ptr, ptr+len), nested `depth` deep; returns
 * where it ends, or -1 to give up. Then tallyProfileInto gives its profile.
 */
export function tallyLeaf(ptr: usize, len: i32, pos: i32, depth: i32): i32 {
  src = ptr;
  srcEnd = len;
  rowTop = 0;
  profileBegin();
  tallyReset();
  return tallyValue(pos, depth);
}

/** Fill `p` with the profile of the value tallied last. */
export function tallyProfileInto(p: SimpleValProfile): void {
  profileEndCountsInto(p, letters, digits, spaces, specials, nonReadables, unicodes, sequences, flags);
}

function tallyValue(p: i32, depth: i32): i32 {
  if (depth > MAX_BODY_DEPTH) return -1;
  p = skipWs(p);
  const c = byteAt(p);
  if (c == 34) return tallyString(p);
  if (c == 123) return tallyObject(p, depth);
  if (c == 91) return tallyArray(p, depth);
  if (c == 45 || (c >= 48 && c <= 57)) return tallyNumber(p);
  if (c == 116) {
    if (p + 4 > srcEnd || load<u32>(src + <usize>p) != 0x65757274) return -1; // "true"
    appendRow(W_TRUE);
    return p + 4;
  }
  if (c == 102) {
    if (p + 5 > srcEnd || load<u32>(src + <usize>p + 1) != 0x65736c61) return -1; // "alse"
    appendRow(W_FALSE);
    return p + 5;
  }
  if (c == 110) {
    if (p + 4 > srcEnd || load<u32>(src + <usize>p) != 0x6c6c756e) return -1; // "null"
    appendRow(W_NIL);
    return p + 4;
  }
  return -1;
}

/** "[e1 e2 …]" */
function tallyArray(p: i32, depth: i32): i32 {
  p++;
  special(91, FLAG_OPEN);
  p = skipWs(p);
  if (byteAt(p) == 93) {
    special(93, FLAG_CLOSE);
    return p + 1;
  }
  let more = true;
  while (more) {
    p = tallyValue(p, depth + 1);
    if (p < 0) return -1;
    p = skipWs(p);
    const d = byteAt(p);
    if (d == 44) space();
    else if (d == 93) {
      special(93, FLAG_CLOSE);
      more = false;
    } else return -1;
    p++;
  }
  return p;
}

function tallyNumber(p: i32): i32 {
  const end = numberEnd(src, p, srcEnd);
  if (end < 0) return -1;
  if (isOwnText(p, end)) {
    run(src, p, end);
    return end;
  }
  const n = end - p;
  if (numBuf.byteLength < n + 32) numBuf = new ArrayBuffer(n + 32);
  const out = changetype<usize>(numBuf);
  const written = goNumberTextBytes(src + <usize>p, n, out);
  if (written >= 0) {
    run(out, 0, written);
    return end;
  }
  const x = parseFloatGo(src + <usize>p, n);
  if (!isFinite(x)) return -1;
  const s = formatFloatV(x);
  for (let i = 0; i < s.length; i++) ascii(s.charCodeAt(i));
  return end;
}

/**
 * Whether the %v text of the number literal [p, end) is the literal itself (as goNumberTextBytes
 * would write it): no exponent, at most 6 integer digits and none leading, a fraction not ending in
 * 0, at most 15 digits, and under 1 at most 3 zeros leading the fraction (no exponent form).
 */
function isOwnText(p: i32, end: i32): bool {
  if (load<u8>(src + <usize>p) == 45) p++;
  const intAt = p;
  while (p < end && <u32>load<u8>(src + <usize>p) - 48 < 10) p++;
  const intDigits = p - intAt;
  if (intDigits > 6 || (intDigits > 1 && load<u8>(src + <usize>intAt) == 48)) return false;
  if (p == end) return true;
  if (load<u8>(src + <usize>p) != 46) return false;
  const fracAt = p + 1;
  p = fracAt;
  while (p < end && <u32>load<u8>(src + <usize>p) - 48 < 10) p++;
  if (p != end || load<u8>(src + <usize>(end - 1)) == 48 || intDigits + (end - fracAt) > 15) return false;
  if (load<u8>(src + <usize>intAt) != 48) return true;
  let zeros = 0;
  while (fracAt + zeros < end && load<u8>(src + <usize>(fracAt + zeros)) == 48) zeros++;
  return zeros <= 3;
}

/** The decoded text of the string at p (its opening quote). */
function tallyString(p: i32): i32 {
  const q = tallyChars(p + 1, false);
  return q < 0 ? -1 : q + 1;
}

/**
 * Tally the characters of a string from p to its closing quote and return where that is, or -1.
 * A key (used in place, undecoded) gives up at an escape or an invalid byte.
 */
function tallyChars(p: i32, key: bool): i32 {
  const n = srcEnd;
  while (p < n) {
    const end = n - p > 0xffff ? p + 0xffff : n;
    p = run(src, p, end);
    if (p < end) {
      const c = <i32>load<u8>(src + <usize>p);
      if (c == 34) return p;
      if (c == 92) {
        if (key) return -1;
        p = tallyEscape(p);
        if (p < 0) return -1;
      } else if (c >= 0x80) {
        const cp = decodeRune(src + <usize>p, n - p);
        if (key && cp == 0xfffd && runeLen == 1) return -1;
        p += runeLen;
        rune(cp);
      } else if (c == 127) {
        ascii(c);
        p++;
      } else {
        return -1;
      }
    }
  }
  return -1;
}

/** The escape at p (its backslash), decoded as the text path decodes it. */
function tallyEscape(p: i32): i32 {
  const n = srcEnd;
  if (p + 1 >= n) return -1;
  const e = <i32>load<u8>(src + <usize>(p + 1));
  p += 2;
  let d = -1;
  switch (e) {
    case 34: d = 34; break;
    case 92: d = 92; break;
    case 47: d = 47; break;
    case 98: d = 8; break;
    case 102: d = 12; break;
    case 110: d = 10; break;
    case 114: d = 13; break;
    case 116: d = 9; break;
    case 117: {
      let cp = hexAt(p);
      if (cp < 0) return -1;
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        // A high surrogate pairs only with an escaped low one; alone it is U+FFFD (Go).
        const hi = cp;
        cp = 0xfffd;
        if (p + 6 <= n && load<u8>(src + <usize>p) == 92 && load<u8>(src + <usize>(p + 1)) == 117) {
          const lo = hexAt(p + 2);
          if (lo < 0) return -1;
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          }
        }
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = 0xfffd;
      }
      d = cp;
      break;
    }
    default:
      return -1;
  }
  if (d < 0x80) ascii(d);
  else rune(d);
  return p;
}

/** Byte-wise order of two keys in the body (Go sorts map keys as byte strings). */
@inline function compareKeys(a: i32, an: i32, b: i32, bn: i32): i32 {
  const n = an < bn ? an : bn;
  for (let i = 0; i < n; i++) {
    const x = <i32>load<u8>(src + <usize>(a + i));
    const y = <i32>load<u8>(src + <usize>(b + i));
    if (x != y) return x - y;
  }
  return an - bn;
}

@inline function rowKeyOrder(a: i32, b: i32): i32 {
  const ar = rows + <usize>a * ROW_BYTES;
  const br = rows + <usize>b * ROW_BYTES;
  return compareKeys(load<i32>(ar, R_KEY_AT), load<i32>(ar, R_KEY_LEN), load<i32>(br, R_KEY_AT), load<i32>(br, R_KEY_LEN));
}

/**
 * Put the rows [bottom, top) in key order into order[bottom, top); false at a repeated key.
 * Insertion sort for the few members of most objects, a merge sort for wide ones.
 */
function sortRows(bottom: i32, top: i32): bool {
  if (top - bottom <= 16) {
    for (let i = bottom; i < top; i++) {
      let j = i - 1;
      while (j >= bottom) {
        const y = load<i32>(order + (<usize>j << 2));
        const cmp = rowKeyOrder(y, i);
        if (cmp == 0) return false;
        if (cmp < 0) break;
        store<i32>(order + (<usize>(j + 1) << 2), y);
        j--;
      }
      store<i32>(order + (<usize>(j + 1) << 2), i);
    }
    return true;
  }
  // Bottom-up merge sort between order and a spare buffer of the same size.
  let from = order;
  let to = changetype<usize>(spareBuf);
  for (let i = bottom; i < top; i++) store<i32>(from + (<usize>i << 2), i);
  for (let width = 1; width < top - bottom; width <<= 1) {
    for (let lo = bottom; lo < top; lo += 2 * width) {
      const mid = min(lo + width, top);
      const hi = min(lo + 2 * width, top);
      let a = lo;
      let b = mid;
      let k = lo;
      while (k < hi) {
        let take = 0;
        if (a < mid && b < hi) {
          const x = load<i32>(from + (<usize>a << 2));
          const y = load<i32>(from + (<usize>b << 2));
          const cmp = rowKeyOrder(x, y);
          if (cmp == 0) return false;
          take = cmp < 0 ? x : y;
          if (cmp < 0) a++;
          else b++;
        } else if (a < mid) {
          take = load<i32>(from + (<usize>a << 2));
          a++;
        } else {
          take = load<i32>(from + (<usize>b << 2));
          b++;
        }
        store<i32>(to + (<usize>k << 2), take);
        k++;
      }
    }
    const t = from;
    from = to;
    to = t;
  }
  // Twins that never met in a merge sit side by side now.
  for (let i = bottom + 1; i < top; i++) {
    if (rowKeyOrder(load<i32>(from + (<usize>(i - 1) << 2)), load<i32>(from + (<usize>i << 2))) == 0) return false;
  }
  if (from != order) memory.copy(order + (<usize>bottom << 2), from + (<usize>bottom << 2), <usize>(top - bottom) << 2);
  return true;
}

/**
 * "map[k1:v1 k2:v2]": each member ("k:v") tallied alone into a row, then the rows joined sorted
 * by key. A repeated key gives up (Go keeps its last value; the text path does that).
 */
function tallyObject(p: i32, depth: i32): i32 {
  if (depth > MAX_BODY_DEPTH) return -1;
  // The tally this object continues, kept aside while its members are tallied alone.
  const sLetters = letters;
  const sDigits = digits;
  const sSpaces = spaces;
  const sSpecials = specials;
  const sNonReadables = nonReadables;
  const sUnicodes = unicodes;
  const sSequences = sequences;
  const sFlags = flags;
  const sLast = last;
  const sLastType = lastType;
  const bottom = rowTop;
  const n = srcEnd;
  p = skipWs(p + 1);
  if (byteAt(p) == 125) {
    p++;
  } else {
    let more = true;
    while (more) {
      p = skipWs(p);
      if (byteAt(p) != 34) return -1;
      // The key, used where it lies: one that needs decoding (an escape, a control or an invalid
      // byte) gives up.
      const keyAt = p + 1;
      tallyReset();
      // The member's text starts with its key's first character, or with ":".
      let first = 58;
      let firstType = <i32>T_SPECIAL;
      if (keyAt < n) {
        const c = <i32>load<u8>(src + <usize>keyAt);
        if (c < 0x80) {
          if (c != 34) {
            first = c;
            firstType = asciiClass(c) & 7;
          }
        } else {
          first = decodeRune(src + <usize>keyAt, n - keyAt);
          firstType = T_UNICODE;
        }
      }
      p = tallyChars(keyAt, true);
      if (p < 0) return -1;
      const keyLen = p - keyAt;
      p = skipWs(p + 1);
      if (byteAt(p) != 58) return -1;
      special(58, FLAG_COLON);
      p = tallyValue(p + 1, depth + 1);
      if (p < 0) return -1;
      if (rowTop == rowCap) growRows();
      const r = rows + <usize>rowTop * ROW_BYTES;
      rowTop++;
      storeRow(r, first, firstType);
      store<i32>(r, keyAt, R_KEY_AT);
      store<i32>(r, keyLen, R_KEY_LEN);
      p = skipWs(p);
      const d = byteAt(p);
      if (d == 125) more = false;
      else if (d != 44) return -1;
      p++;
    }
  }
  // The members by key; a repeated key gives up.
  const top = rowTop;
  if (!sortRows(bottom, top)) return -1;
  letters = sLetters;
  digits = sDigits;
  spaces = sSpaces;
  specials = sSpecials;
  nonReadables = sNonReadables;
  unicodes = sUnicodes;
  sequences = sSequences;
  flags = sFlags;
  last = sLast;
  lastType = sLastType;
  appendRow(W_MAP);
  for (let i = bottom; i < top; i++) {
    if (i > bottom) space();
    appendRow(rows + <usize>load<i32>(order + (<usize>i << 2)) * ROW_BYTES);
  }
  special(93, FLAG_CLOSE);
  rowTop = bottom;
  return p;
}
