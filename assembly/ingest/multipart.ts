// multipart/form-data by its grammar (RFC 2046 §5.1.1 framing, RFC 7578, RFC 2183 / RFC 2045
// parameters, RFC 8187 ext-values): every part under its field name, in order — a field by its
// value, a file (a non-empty filename) as "<media type> <size> <file name>" (docs/compatibility.md). What
// common parsers (Go's mime/multipart, WHATWG/undici, busboy) would read differently is a failure,
// which the gate records as the fault FailedMultipart: the boundary text anywhere but in a
// delimiter line, a part without exactly one valid form-data disposition, a repeated parameter,
// a quoted name with a backslash or a %22/%0D/%0A, a transfer encoding. Every count is capped.
import { QueryValues } from "../http/query";
import { decodeRune, goStringFromUtf8, runeLen } from "../text/utf8";
import { mediaTypeAt } from "./mediatypes";

/** Most parts a body may have. */
export const MAX_PARTS = 1000;
/** Most header lines a part may have. */
export const MAX_PART_HEADERS = 32;
/** Most parameters a Content-Disposition may have. */
export const MAX_DISPOSITION_PARAMS = 16;
const MAX_BOUNDARY = 70;
const DEFAULT_FILE_TYPE = "application/octet-stream";

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

@inline function isOWS(c: u8): bool {
  return c == 32 || c == 9;
}

@inline function lower(c: u8): u8 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** RFC 2045 token: printable ASCII except space and tspecials ()<>@,;:\"/[]?= */
function isTokenByte(c: u8): bool {
  if (c <= 32 || c >= 127) return false;
  switch (c) {
    case 40: case 41: case 60: case 62: case 64: case 44: case 59: case 58: case 92: case 34: case 47: case 91: case 93: case 63: case 61:
      return false;
    default:
      return true;
  }
}

/** RFC 8187 attr-char. */
function isAttrChar(c: u8): bool {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  switch (c) {
    case 33: case 35: case 36: case 38: case 43: case 45: case 46: case 94: case 95: case 96: case 124: case 126:
      return true;
    default:
      return false;
  }
}

@inline function hexv(c: u8): i32 {
  if (c >= 48 && c <= 57) return <i32>c - 48;
  if (c >= 97 && c <= 102) return <i32>c - 87;
  if (c >= 65 && c <= 70) return <i32>c - 55;
  return -1;
}

function tokenEnd(p: usize, i: i32, to: i32): i32 {
  while (i < to && isTokenByte(at(p, i))) i++;
  return i;
}

function skipOWS(p: usize, i: i32, to: i32): i32 {
  while (i < to && isOWS(at(p, i))) i++;
  return i;
}

/** Whether [from, to) is `word` (lower-case ASCII) in any case. */
function isWord(p: usize, from: i32, to: i32, word: string): bool {
  if (to - from != word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(at(p, from + i)) != <u8>word.charCodeAt(i)) return false;
  return true;
}

/** Whether [a, a+n) and [b, b+n) are the same ASCII text in any case. */
function sameWord(p: usize, a: i32, b: i32, n: i32): bool {
  for (let i = 0; i < n; i++) if (lower(at(p, a + i)) != lower(at(p, b + i))) return false;
  return true;
}

/** The first occurrence of `pat` (patLen bytes) in [from, len), or -1. */
function findBytes(p: usize, from: i32, len: i32, pat: usize, patLen: i32): i32 {
  const first = load<u8>(pat);
  const last = len - patLen;
  for (let i = from; i <= last; i++) {
    if (at(p, i) != first) continue;
    if (memory.compare(p + <usize>i, pat, <usize>patLen) == 0) return i;
  }
  return -1;
}

// Decoded parameter values are written here.
let scratch = new ArrayBuffer(256);

function scratchFor(n: i32): usize {
  if (scratch.byteLength < n) scratch = new ArrayBuffer(n);
  return changetype<usize>(scratch);
}

// What a Content-Disposition parse found (parseDisposition).
let dispName: string | null = null;
let dispFile = false;
/** The part's file name (filename* over filename), when dispFile. */
let dispFilename = "";
// Set by the value readers: where the value ended, and its decoded length in scratch (-1: invalid).
let valueEnd: i32 = 0;
let valueLen: i32 = 0;
// Set by readQuoted: whether the raw quoted text holds what parsers read differently in a name.
let valueAmbiguous = false;

/**
 * A quoted-string at i (its opening quote), unescaped into scratch: RFC 822 quoted-pairs, no CR
 * or LF (a header line holds none). valueAmbiguous: a backslash (Go unescapes only tspecials,
 * WHATWG nothing, RFC and busboy everything) or a %22 / %0D / %0A (WHATWG decodes them).
 */
function readQuoted(p: usize, i: i32, to: i32): void {
  const out = scratchFor(to - i);
  let n = 0;
  valueAmbiguous = false;
  i++;
  while (i < to) {
    const c = at(p, i);
    if (c == 34) {
      valueEnd = i + 1;
      valueLen = n;
      return;
    }
    if (c == 92) {
      valueAmbiguous = true;
      if (i + 1 >= to) break;
      i++;
    } else if (c == 37 && i + 2 < to) {
      const h = at(p, i + 1);
      const l = lower(at(p, i + 2));
      if ((h == 50 && l == 50) || (h == 48 && (l == 97 || l == 100))) valueAmbiguous = true;
    }
    store<u8>(out + <usize>n, at(p, i));
    n++;
    i++;
  }
  valueLen = -1;
}

/**
 * An RFC 8187 ext-value at i: charset "'" [language] "'" *( attr-char / %HH ), percent-decoded
 * into scratch. `strict` (name*): UTF-8 only, no language, valid UTF-8 (the one form every parser
 * decodes alike); else UTF-8 or US-ASCII (Go's set).
 */
function readExtValue(p: usize, i: i32, to: i32, strict: bool): void {
  const start = i;
  let end = i;
  while (end < to && !isOWS(at(p, end)) && at(p, end) != 59) end++;
  valueEnd = end;
  valueLen = -1;
  let q1 = start;
  while (q1 < end && at(p, q1) != 39) q1++;
  if (q1 >= end) return;
  let q2 = q1 + 1;
  while (q2 < end && at(p, q2) != 39) q2++;
  if (q2 >= end) return;
  const utf8 = isWord(p, start, q1, "utf-8");
  if (!utf8 && (strict || !isWord(p, start, q1, "us-ascii"))) return;
  if (strict && q2 != q1 + 1) return;
  const out = scratchFor(end - q2);
  let n = 0;
  for (let k = q2 + 1; k < end; k++) {
    const c = at(p, k);
    if (c == 37) {
      if (k + 2 >= end) return;
      const h = hexv(at(p, k + 1));
      const l = hexv(at(p, k + 2));
      if ((h | l) < 0) return;
      store<u8>(out + <usize>n, <u8>((h << 4) | l));
      k += 2;
    } else if (isAttrChar(c)) {
      store<u8>(out + <usize>n, c);
    } else {
      return;
    }
    n++;
  }
  if (strict) {
    for (let k = 0; k < n; k += runeLen) {
      if (decodeRune(out + <usize>k, n - k) == 0xfffd && runeLen == 1) return;
    }
  }
  valueLen = n;
}

// Parameter names seen in one disposition: start, length and whether starred.
const paramAt = new StaticArray<i32>(MAX_DISPOSITION_PARAMS);
const paramLen = new StaticArray<i32>(MAX_DISPOSITION_PARAMS);
const paramStar = new StaticArray<bool>(MAX_DISPOSITION_PARAMS);

/**
 * Parse a Content-Disposition value [from, to) (trimmed): "form-data" and its parameters. Sets
 * dispName (null when there is none) and dispFile; false when it is malformed or ambiguous.
 */
function parseDisposition(p: usize, from: i32, to: i32): bool {
  let i = tokenEnd(p, from, to);
  if (!isWord(p, from, i, "form-data")) return false;
  let name: string | null = null;
  let nameStar: string | null = null;
  let fileLen = -1;
  let fileStarLen = -1;
  let filePlain = "";
  let fileStar = "";
  let params = 0;
  while (true) {
    i = skipOWS(p, i, to);
    if (i >= to) break;
    if (at(p, i) != 59) return false;
    i = skipOWS(p, i + 1, to);
    if (i >= to) break; // a trailing ";"
    // RFC 2231 attribute: a token without "*", "'" and "%"; then "*" for an ext-value.
    const a = i;
    while (i < to && isTokenByte(at(p, i)) && at(p, i) != 42 && at(p, i) != 39 && at(p, i) != 37) i++;
    const n = i - a;
    if (n == 0) return false;
    const star = i < to && at(p, i) == 42;
    if (star) i++;
    if (i >= to || at(p, i) != 61) return false;
    i = skipOWS(p, i + 1, to);
    if (params >= MAX_DISPOSITION_PARAMS) return false;
    for (let k = 0; k < params; k++) {
      if (unchecked(paramLen[k]) == n && unchecked(paramStar[k]) == star && sameWord(p, unchecked(paramAt[k]), a, n)) return false;
    }
    unchecked((paramAt[params] = a));
    unchecked((paramLen[params] = n));
    unchecked((paramStar[params] = star));
    params++;
    const isName = isWord(p, a, a + n, "name");
    const isFilename = !isName && isWord(p, a, a + n, "filename");
    if (star) {
      readExtValue(p, i, to, isName);
    } else if (i < to && at(p, i) == 34) {
      readQuoted(p, i, to);
      if (isName && valueAmbiguous) return false;
    } else {
      valueEnd = tokenEnd(p, i, to);
      valueLen = valueEnd - i;
      if (valueLen == 0) return false;
      memory.copy(scratchFor(valueLen), p + <usize>i, <usize>valueLen);
    }
    if (valueLen < 0) return false;
    i = valueEnd;
    if (isName) {
      const v = goStringFromUtf8(changetype<usize>(scratch), valueLen);
      if (star) nameStar = v;
      else name = v;
    } else if (isFilename) {
      // The name a service may store the file under: kept (filename* over filename), decided.
      const v = goStringFromUtf8(changetype<usize>(scratch), valueLen);
      if (star) {
        fileStarLen = valueLen;
        fileStar = v;
      } else {
        fileLen = valueLen;
        filePlain = v;
      }
    }
  }
  // name and name*: Go takes name*, WHATWG the last one; they must agree.
  if (name != null && nameStar != null && name != nameStar) return false;
  dispName = nameStar != null ? nameStar : name;
  // filename* wins over filename (RFC 8187 §4.2, Go, WHATWG); a file needs a non-empty name.
  dispFile = (fileStarLen >= 0 ? fileStarLen : fileLen) > 0;
  dispFilename = fileStarLen >= 0 ? fileStar : filePlain;
  return true;
}

/** Append a part's value under its name (values of a repeated name in order). */
function addValue(out: QueryValues, index: Map<string, i32>, name: string, value: string): void {
  if (index.has(name)) {
    unchecked(out.values[index.get(name)]).push(value);
    return;
  }
  index.set(name, out.keys.length);
  out.keys.push(name);
  const vals = new Array<string>();
  vals.push(value);
  out.values.push(vals);
}

// One part's headers, as parseHeaders found them.
let typeAt: i32 = -1;
let typeLen: i32 = 0;

/**
 * A part's header lines from `pos` up to and including the empty line: returns where the content
 * starts, or -1 when a line is malformed, a header that must be single is repeated, or there is
 * no Content-Disposition. Sets dispName, dispFile, typeAt and typeLen.
 */
function parseHeaders(p: usize, pos: i32, len: i32): i32 {
  let disposition = false;
  let encoding = false;
  typeAt = -1;
  typeLen = 0;
  for (let lines = 0; lines <= MAX_PART_HEADERS; lines++) {
    let end = pos;
    while (end < len && at(p, end) != 13 && at(p, end) != 10) end++;
    // Lines end with CRLF; a bare CR or LF is read differently by different parsers.
    if (end + 1 >= len || at(p, end) != 13 || at(p, end + 1) != 10) return -1;
    if (end == pos) return disposition ? end + 2 : -1;
    if (lines == MAX_PART_HEADERS) return -1;
    // name ":" OWS value OWS; no folded lines, no space before the colon.
    const nameEnd = tokenEnd(p, pos, end);
    if (nameEnd == pos || nameEnd >= end || at(p, nameEnd) != 58) return -1;
    const vs = skipOWS(p, nameEnd + 1, end);
    let ve = end;
    while (ve > vs && isOWS(at(p, ve - 1))) ve--;
    if (isWord(p, pos, nameEnd, "content-disposition")) {
      if (disposition || !parseDisposition(p, vs, ve)) return -1;
      disposition = true;
    } else if (isWord(p, pos, nameEnd, "content-type")) {
      if (typeAt >= 0) return -1;
      typeAt = vs;
      typeLen = ve - vs;
    } else if (isWord(p, pos, nameEnd, "content-transfer-encoding")) {
      // WHATWG parsers decode base64, Go quoted-printable: only the identity encodings agree.
      if (encoding || !(isWord(p, vs, ve, "7bit") || isWord(p, vs, ve, "8bit") || isWord(p, vs, ve, "binary"))) return -1;
      encoding = true;
    }
    pos = end + 2;
  }
  return -1;
}

/**
 * The value a file part is profiled by: its media type (lower-case), its size in bytes and its
 * file name — the name a service may store it under (a path in it is what the Guardian must see).
 */
function fileValue(p: usize, size: i32): string {
  let type = DEFAULT_FILE_TYPE;
  if (typeAt >= 0) {
    const mt = mediaTypeAt(p + <usize>typeAt, typeLen).parsed;
    type = mt == null ? "none" : mt.type;
  }
  return type + " " + size.toString() + " " + dispFilename;
}

/** Whether [i, len) is transport padding then CRLF (or, when `closing`, the end of the body). */
function endOfDelimiterLine(p: usize, i: i32, len: i32, closing: bool): i32 {
  i = skipOWS(p, i, len);
  if (closing && i == len) return i;
  if (i + 1 < len && at(p, i) == 13 && at(p, i + 1) == 10) return i + 2;
  return -1;
}

/** The form's parts by name, in order, or null when the body is not well formed (see above). */
export function parseMultipartForm(ptr: usize, len: i32, boundary: string): QueryValues | null {
  const bn = String.UTF8.byteLength(boundary);
  if (bn == 0 || bn > MAX_BOUNDARY) return null;
  const bytes = String.UTF8.encode(boundary);
  const b = changetype<usize>(bytes);
  // The first delimiter starts the body or follows the preamble's CRLF; the boundary text
  // appears nowhere before it (a parser that searches for it would start elsewhere).
  let at0 = findBytes(ptr, 0, len, b, bn);
  if (at0 < 2 || at(ptr, at0 - 1) != 45 || at(ptr, at0 - 2) != 45) return null;
  if (at0 != 2 && (at0 < 4 || at(ptr, at0 - 4) != 13 || at(ptr, at0 - 3) != 10)) return null;
  const out = new QueryValues();
  const index = new Map<string, i32>();
  let pos = at0 + bn;
  for (let parts = 0; parts <= MAX_PARTS; parts++) {
    if (pos + 1 < len && at(ptr, pos) == 45 && at(ptr, pos + 1) == 45) {
      // The close delimiter: then padding, and the end or a CRLF before the epilogue.
      return endOfDelimiterLine(ptr, pos + 2, len, true) < 0 ? null : out;
    }
    if (parts == MAX_PARTS) return null;
    const headersAt = endOfDelimiterLine(ptr, pos, len, false);
    if (headersAt < 0) return null;
    const contentAt = parseHeaders(ptr, headersAt, len);
    if (contentAt < 0) return null;
    // The next boundary text must be the next delimiter: CRLF "--" boundary, after the headers.
    const next = findBytes(ptr, headersAt, len, b, bn);
    if (next < contentAt + 4) return null;
    if (at(ptr, next - 4) != 13 || at(ptr, next - 3) != 10 || at(ptr, next - 2) != 45 || at(ptr, next - 1) != 45) return null;
    const size = next - 4 - contentAt;
    const name = dispName;
    if (name == null) return null;
    addValue(out, index, name, dispFile ? fileValue(ptr, size) : goStringFromUtf8(ptr + <usize>contentAt, size));
    pos = next + bn;
  }
  return null;
}
