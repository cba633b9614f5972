// Path templating (docs/routes.md): a request path becomes its route template. Segments that are
// values — numeric ids, UUIDs, hex hashes, dates, versions, e-mail addresses, long tokens — become
// a placeholder, so /items/123 and /items/456 are one route /items/{id}; words stay as they are, so
// /admin and /about never merge. Works on the decoded path's bytes and allocates nothing.

/** Longest template; a longer one is the single placeholder {long}. */
export const MAX_TEMPLATE_BYTES = 512;
/** Longest segment kept as a word; a longer one that is no other value is {long}. */
const MAX_WORD_BYTES = 64;
/** Longest file extension kept after a templated stem (/img/123.jpeg → /img/{id}.jpeg). */
const MAX_EXTENSION_BYTES = 8;

const WORD: i32 = 0;
const ID: i32 = 1;
const UUID: i32 = 2;
const HEX: i32 = 3;
const DATE: i32 = 4;
const VERSION: i32 = 5;
const EMAIL: i32 = 6;
const TOKEN: i32 = 7;
const LONG: i32 = 8;
const TEXT: i32 = 9;
const PLACEHOLDERS: StaticArray<string> = ["", "{id}", "{uuid}", "{hex}", "{date}", "{version}", "{email}", "{token}", "{long}", "{text}"];

const SLASH: u8 = 47;

// @ts-ignore: decorator
@inline function isDigit(c: u8): bool {
  return c >= 48 && c <= 57;
}

// @ts-ignore: decorator
@inline function isHexLetter(c: u8): bool {
  const l = c | 32;
  return l >= 97 && l <= 102;
}

// @ts-ignore: decorator
@inline function isLetter(c: u8): bool {
  const l = c | 32;
  return l >= 97 && l <= 122;
}

/** Run of decimal digits starting at i: its end. */
function digitsFrom(p: usize, i: i32, n: i32): i32 {
  while (i < n && isDigit(load<u8>(p + <usize>i))) i++;
  return i;
}

/** 8-4-4-4-12 hexadecimal digits. */
function isUuid(p: usize, n: i32): bool {
  if (n != 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = load<u8>(p + <usize>i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != 45) return false;
    } else if (!isDigit(c) && !isHexLetter(c)) return false;
  }
  return true;
}

/** YYYY-MM, YYYY-MM-DD, or YYYY-MM-DD followed by a time (T, space or _ then anything). */
function isDate(p: usize, n: i32): bool {
  if (n < 7 || digitsFrom(p, 0, 4) != 4 || load<u8>(p + 4) != 45 || digitsFrom(p, 5, 7) != 7) return false;
  if (n == 7) return true;
  if (n < 10 || load<u8>(p + 7) != 45 || digitsFrom(p, 8, 10) != 10) return false;
  if (n == 10) return true;
  const t = load<u8>(p + 10);
  return t == 84 || t == 116 || t == 32 || t == 95;
}

/** v1, v2.3, V1beta2, v10rc1, or dotted numbers such as 1.2 and 1.2.3. */
function isVersion(p: usize, n: i32): bool {
  let i = 0;
  const lead = load<u8>(p);
  const v = lead == 118 || lead == 86;
  if (v) i = 1;
  let j = digitsFrom(p, i, n);
  if (j == i) return false;
  let dots = 0;
  while (j < n && load<u8>(p + <usize>j) == 46) {
    const k = digitsFrom(p, j + 1, n);
    if (k == j + 1) return false;
    j = k;
    dots++;
  }
  if (j == n) return v || dots > 0;
  // A pre-release suffix after v-numbers: letters then digits (v1beta2, v3rc1, v2alpha).
  if (!v) return false;
  const k = j;
  while (j < n && isLetter(load<u8>(p + <usize>j))) j++;
  if (j == k) return false;
  return digitsFrom(p, j, n) == n;
}

/** local@domain.tld of letters, digits and . _ - + (one @, a dot in the domain). */
function isEmail(p: usize, n: i32): bool {
  let at = -1;
  let dotAfter = false;
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 64) {
      if (at >= 0) return false;
      at = i;
    } else if (c == 46) {
      if (at >= 0 && i > at + 1 && i < n - 1) dotAfter = true;
    } else if (!(isLetter(c) || isDigit(c) || c == 95 || c == 45 || c == 43)) return false;
  }
  return at > 0 && dotAfter;
}

// Byte classes, one table lookup per byte: what a segment's scan accumulates.
const C_DIGIT: u8 = 1;
const C_LETTER: u8 = 2;
const C_HEX: u8 = 4; // a–f, A–F (also C_LETTER)
const C_DOT: u8 = 8;
const C_ID_PUNCT: u8 = 16; // - _ = ~ (ids and tokens use them)
const C_OTHER: u8 = 32; // anything else
const C_AT: u8 = 64; // @ (also C_OTHER)
const C_BRACE: u8 = 128; // { } (also C_OTHER)

function byteClasses(): StaticArray<u8> {
  const t = new StaticArray<u8>(256);
  for (let c = 0; c < 256; c++) {
    let f: u8 = C_OTHER;
    if (c >= 48 && c <= 57) f = C_DIGIT;
    else if ((c | 32) >= 97 && (c | 32) <= 122) f = (c | 32) <= 102 ? C_LETTER | C_HEX : C_LETTER;
    else if (c == 46) f = C_DOT;
    else if (c == 45 || c == 95 || c == 61 || c == 126) f = C_ID_PUNCT;
    else if (c == 64) f = C_OTHER | C_AT;
    else if (c == 123 || c == 125) f = C_OTHER | C_BRACE;
    t[c] = f;
  }
  return t;
}
const CLASSES = byteClasses();

// What the last scan of a segment (or stem) counted: module globals, no object per segment.
let digits = 0;
let letters = 0;
let hexLetters = 0;
let classes: u8 = 0; // every class seen (OR)
let ats = 0;
let lastDot = -1;

/**
 * Scan a segment from p up to the next '/' (or `max` bytes): counts and classes in the globals
 * above; returns its length.
 */
function scan(p: usize, max: i32): i32 {
  const table = changetype<usize>(CLASSES);
  let acc: u8 = 0;
  let d = 0;
  let l = 0;
  let h = 0;
  let at = 0;
  let dot = -1;
  let i = 0;
  for (; i < max; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == SLASH) break;
    const f = load<u8>(table + <usize>c);
    acc |= f;
    d += f & C_DIGIT;
    l += (f >> 1) & 1;
    h += (f >> 2) & 1;
    if (f & (C_DOT | C_AT)) {
      if (f & C_DOT) dot = i;
      else at++;
    }
  }
  digits = d;
  letters = l;
  hexLetters = h;
  classes = acc;
  ats = at;
  lastDot = dot;
  return i;
}

/**
 * The class of [p, p+n) by the counts of its scan: a value class, or WORD. The strict classes have
 * a fixed form; `loose` adds the two judged by proportions (mostly digits, long mixed runs).
 */
function classOf(p: usize, n: i32, loose: bool): i32 {
  if (digits == n) return ID;
  if (n == 36 && isUuid(p, n)) return UUID;
  if (n >= 7 && digits + hexLetters == n && digits > 0 && hexLetters > 0) return HEX;
  if (digits > 0 && isDate(p, n)) return DATE;
  if (digits > 0 && isVersion(p, n)) return VERSION;
  if (ats == 1 && isEmail(p, n)) return EMAIL;
  if (!loose || (classes & C_OTHER) != 0) return WORD;
  // Mostly digits (ORD-2024-000123, A123456): an identifier with a prefix.
  if (digits >= 5 && digits * 2 >= n) return ID;
  // Long mixed runs of letters and digits (base64url ids, slugs with a hash, JWTs).
  if (n >= 16 && digits > 0 && letters > 0) return TOKEN;
  return WORD;
}

// Where the stem of the last classified segment ends (its extension follows).
let stemEnd: i32 = 0;

/** Whether what follows the dot at `dot` is a file extension: 1 to 8 letters or digits. */
function isExtension(p: usize, dot: i32, n: i32): bool {
  const ext = n - dot - 1;
  if (dot <= 0 || ext < 1 || ext > MAX_EXTENSION_BYTES) return false;
  for (let i = dot + 1; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (!(isLetter(c) || isDigit(c))) return false;
  }
  return true;
}

/**
 * The class of the segment just scanned, [p, p+n); for a value with a file extension, stemEnd
 * marks where the extension starts.
 */
function segmentClass(p: usize, n: i32): i32 {
  stemEnd = n;
  const seen = classes;
  if (n == 0) return WORD;
  // A literal brace would read as a placeholder: such a segment is a class of its own.
  if (seen & C_BRACE) return TEXT;
  // Every value class but the e-mail address has a digit: most words end here.
  if ((seen & (C_DIGIT | C_AT)) == 0) return n > MAX_WORD_BYTES ? LONG : WORD;
  const strict = classOf(p, n, false);
  if (strict != WORD) return strict;
  const dot = lastDot;
  if (dot > 0 && isExtension(p, dot, n)) {
    scan(p, dot);
    const stem = classOf(p, dot, true);
    if (stem != WORD) {
      stemEnd = dot;
      return stem;
    }
    scan(p, n);
  }
  const loose = classOf(p, n, true);
  if (loose != WORD) return loose;
  return n > MAX_WORD_BYTES ? LONG : WORD;
}

/** Copy a few bytes (a segment): a loop costs less than a bulk copy at these sizes. */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, n: i32): void {
  if (n > 32) memory.copy(dst, src, <usize>n);
  else for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, load<u8>(src + <usize>i));
}

/** Write an ASCII string's characters as bytes (raw reads of its UTF-16 units). */
function writeAscii(dst: usize, at: i32, s: string): i32 {
  const n = s.length;
  const src = changetype<usize>(s);
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>(at + i), <u8>load<u16>(src + (<usize>i << 1)));
  return at + n;
}

/**
 * Write the template of the decoded path [ptr, ptr+len) at dst, which has room for
 * MAX_TEMPLATE_BYTES bytes; returns its length. Slashes (empty segments too) are kept as they are.
 */
export function templatePath(ptr: usize, len: i32, dst: usize): i32 {
  let w = 0;
  let i = 0;
  while (true) {
    const n = scan(ptr + <usize>i, len - i);
    const e = i + n;
    const cls = segmentClass(ptr + <usize>i, n);
    const tail = n - stemEnd;
    const size = cls == WORD ? n : unchecked(PLACEHOLDERS[cls]).length + tail;
    if (w + size + 1 > MAX_TEMPLATE_BYTES) return writeAscii(dst, 0, PLACEHOLDERS[LONG]);
    if (cls == WORD) {
      copyBytes(dst + <usize>w, ptr + <usize>i, n);
      w += n;
    } else {
      w = writeAscii(dst, w, unchecked(PLACEHOLDERS[cls]));
      copyBytes(dst + <usize>w, ptr + <usize>(i + stemEnd), tail);
      w += tail;
    }
    if (e >= len) return w;
    store<u8>(dst + <usize>w, SLASH);
    w++;
    i = e + 1;
  }
  return w;
}
