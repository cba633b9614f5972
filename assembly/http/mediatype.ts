// Go mime.ParseMediaType: same lower-cased media type and parameters for
// valid input, null on exactly the inputs Go rejects. Ported step by step from Go's algorithm.
import { goStringFromUtf8, utf8ByteLength, writeUtf8 } from "../text/utf8";

/** Current Go (mime/mediatype.go): "Duplicate parameter names are incorrect, but we allow them if
 *  they are equal." Older Go releases rejected every duplicate; set false for that behaviour. */
// @ts-ignore: decorator
@inline const ALLOW_EQUAL_DUPLICATES: bool = true;

export class MediaType {
  type: string = "";
  /** Parameter names (lower-cased) in order of first appearance; values in paramVals. */
  paramKeys: Array<string> = new Array<string>();
  paramVals: Array<string> = new Array<string>();
}

/** Go unicode.IsSpace. */
function isSpace(c: i32): bool {
  if (c <= 0xff) return c == 32 || (c >= 9 && c <= 13) || c == 0x85 || c == 0xa0;
  return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

function isTSpecial(c: i32): bool {
  // ()<>@,;:\"/[]?=
  return c == 40 || c == 41 || c == 60 || c == 62 || c == 64 || c == 44 || c == 59 || c == 58 ||
    c == 92 || c == 34 || c == 47 || c == 91 || c == 93 || c == 63 || c == 61;
}

function isTokenChar(c: i32): bool {
  return c > 0x20 && c < 0x7f && !isTSpecial(c);
}

// @ts-ignore: decorator
@inline function at(s: string, i: i32): i32 {
  return <i32>load<u16>(changetype<usize>(s) + (<usize>i << 1));
}

function skipSpace(s: string, i: i32): i32 {
  const n = s.length;
  while (i < n && isSpace(at(s, i))) i++;
  return i;
}

function tokenEnd(s: string, i: i32): i32 {
  const n = s.length;
  while (i < n && isTokenChar(at(s, i))) i++;
  return i;
}

/** Go strings.ToLower, restricted to what can matter here: ASCII plus the two non-ASCII runes
 *  whose lower case is ASCII (U+0130 → 'i', U+212A KELVIN SIGN → 'k'). */
function goLower(s: string): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = at(s, i);
    if ((c >= 65 && c <= 90) || c == 0x130 || c == 0x212a) break;
  }
  if (i == n) return s;
  const out = changetype<usize>(__new(<usize>n << 1, idof<string>()));
  memory.copy(out, changetype<usize>(s), <usize>n << 1);
  for (; i < n; i++) {
    const c = at(s, i);
    if (c >= 65 && c <= 90) store<u16>(out + (<usize>i << 1), <u16>(c + 32));
    else if (c == 0x130) store<u16>(out + (<usize>i << 1), 105);
    else if (c == 0x212a) store<u16>(out + (<usize>i << 1), 107);
  }
  return changetype<string>(out);
}

function trimSpace(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isSpace(at(s, a))) a++;
  while (b > a && isSpace(at(s, b - 1))) b--;
  return a == 0 && b == s.length ? s : s.substring(a, b);
}

function checkMediaType(s: string): bool {
  const n = s.length;
  const t = tokenEnd(s, 0);
  if (t == 0) return false; // no media type
  if (t == n) return true;
  if (at(s, t) != 47) return false; // expected slash
  const u = tokenEnd(s, t + 1);
  if (u == t + 1) return false; // expected token after slash
  return u == n; // unexpected content after media subtype
}

// Results of consumeMediaParam.
let pKey: string = "";
let pVal: string = "";
let pRest: i32 = 0;

function consumeValue(s: string, i: i32): bool {
  const n = s.length;
  if (i >= n) return false;
  if (at(s, i) != 34) {
    const e = tokenEnd(s, i);
    if (e == i) return false;
    pVal = s.substring(i, e);
    pRest = e;
    return true;
  }
  // quoted-string: collect runs between escapes
  let val = "";
  let runStart = i + 1;
  for (let k = i + 1; k < n; k++) {
    const c = at(s, k);
    if (c == 34) {
      pVal = val + s.substring(runStart, k);
      pRest = k + 1;
      return true;
    }
    if (c == 92 && k + 1 < n && isTSpecial(at(s, k + 1))) {
      val += s.substring(runStart, k);
      runStart = k + 1; // keep the escaped character
      k++;
      continue;
    }
    if (c == 13 || c == 10) return false;
  }
  return false; // no closing quote
}

function consumeMediaParam(s: string, i: i32): bool {
  const n = s.length;
  i = skipSpace(s, i);
  if (i >= n || at(s, i) != 59) return false;
  i = skipSpace(s, i + 1);
  const e = tokenEnd(s, i);
  if (e == i) return false;
  pKey = goLower(s.substring(i, e));
  i = skipSpace(s, e);
  if (i >= n || at(s, i) != 61) return false;
  i = skipSpace(s, i + 1);
  return consumeValue(s, i);
}

function isHex(c: i32): bool {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function unhex(c: i32): i32 {
  if (c <= 57) return c - 48;
  if (c >= 97) return c - 87;
  return c - 55;
}

let pctOk = true;

/** Go mime percentHexUnescape; sets pctOk = false on a malformed escape. */
function percentHexUnescape(s: string): string {
  const n = s.length;
  let percents = 0;
  for (let i = 0; i < n; ) {
    if (at(s, i) != 37) {
      i++;
      continue;
    }
    percents++;
    if (i + 2 >= n || !isHex(at(s, i + 1)) || !isHex(at(s, i + 2))) {
      pctOk = false;
      return "";
    }
    i += 3;
  }
  pctOk = true;
  if (percents == 0) return s;
  // Work on the UTF-8 bytes: %XX becomes one raw byte, other characters keep their encoding.
  const buf = new Uint8Array(utf8ByteLength(s));
  const bp = buf.dataStart;
  writeUtf8(s, bp);
  const bn = buf.length;
  let w = 0;
  for (let r = 0; r < bn; ) {
    const b = <i32>load<u8>(bp + <usize>r);
    if (b == 37) {
      store<u8>(bp + <usize>w, <u8>((unhex(<i32>load<u8>(bp + <usize>r + 1)) << 4) | unhex(<i32>load<u8>(bp + <usize>r + 2))));
      r += 3;
    } else {
      store<u8>(bp + <usize>w, <u8>b);
      r++;
    }
    w++;
  }
  return goStringFromUtf8(bp, w);
}

let decOk = true;

/** Go mime decode2231Enc: charset'lang'pct-encoded; only utf-8 / us-ascii. */
function decode2231Enc(v: string): string {
  decOk = false;
  const q1 = v.indexOf("'");
  if (q1 < 0) return "";
  const q2 = v.indexOf("'", q1 + 1);
  if (q2 < 0) return "";
  const charset = goLower(v.substring(0, q1));
  if (charset.length == 0) return "";
  if (charset != "us-ascii" && charset != "utf-8") return "";
  const r = percentHexUnescape(v.substring(q2 + 1));
  if (!pctOk) return "";
  decOk = true;
  return r;
}

function setParam(mt: MediaType, index: Map<string, i32>, k: string, v: string): void {
  if (index.has(k)) {
    mt.paramVals[index.get(k)] = v;
    return;
  }
  index.set(k, mt.paramKeys.length);
  mt.paramKeys.push(k);
  mt.paramVals.push(v);
}

/** Go mime.ParseMediaType; null on any error Go reports. */
export function parseMediaType(v: string): MediaType | null {
  const n = v.length;
  const semi = v.indexOf(";");
  const baseEnd = semi < 0 ? n : semi;
  const mtype = trimSpace(goLower(baseEnd == n ? v : v.substring(0, baseEnd)));
  if (!checkMediaType(mtype)) return null;
  const res = new MediaType();
  res.type = mtype;
  if (baseEnd == n) return res;

  const index = new Map<string, i32>();
  let cont: Map<string, string> | null = null; // keys containing '*': full key → value
  let contBases: Array<string> | null = null; // their base names, in order of first appearance
  let pos = baseEnd;
  while (pos < n) {
    pos = skipSpace(v, pos);
    if (pos >= n) break;
    if (!consumeMediaParam(v, pos)) {
      // Ignore a trailing semicolon; anything else is an error.
      const t = skipSpace(v, pos);
      if (t < n && at(v, t) == 59 && skipSpace(v, t + 1) == n) break;
      return null;
    }
    const key = pKey;
    const star = key.indexOf("*");
    if (star >= 0) {
      if (cont === null) {
        cont = new Map<string, string>();
        contBases = new Array<string>();
      }
      const c = changetype<Map<string, string>>(cont);
      if (c.has(key)) {
        if (!ALLOW_EQUAL_DUPLICATES || c.get(key) != pVal) return null; // duplicate parameter name
      }
      c.set(key, pVal);
      const bn = key.substring(0, star);
      if (!c.has("\u0000base:" + bn)) {
        c.set("\u0000base:" + bn, "");
        contBases!.push(bn);
      }
    } else {
      if (index.has(key)) {
        if (!ALLOW_EQUAL_DUPLICATES || res.paramVals[index.get(key)] != pVal) return null; // duplicate parameter name
      } else {
        index.set(key, res.paramKeys.length);
        res.paramKeys.push(key);
        res.paramVals.push(pVal);
      }
    }
    pos = pRest;
  }
  if (cont === null) return res;
  const c = changetype<Map<string, string>>(cont);
  const bases = contBases!;
  for (let b = 0; b < bases.length; b++) {
    const key = bases[b];
    const single = key + "*";
    if (c.has(single)) {
      const d = decode2231Enc(c.get(single));
      if (decOk) setParam(res, index, key, d);
      continue;
    }
    let buf = "";
    let valid = false;
    for (let k = 0; k <= c.size; k++) {
      const simple = key + "*" + k.toString();
      if (c.has(simple)) {
        valid = true;
        buf += c.get(simple);
        continue;
      }
      const enc = simple + "*";
      if (!c.has(enc)) break;
      valid = true;
      if (k == 0) {
        const d = decode2231Enc(c.get(enc));
        if (decOk) buf += d;
      } else {
        const d = percentHexUnescape(c.get(enc));
        if (pctOk) buf += d;
      }
    }
    if (valid) setParam(res, index, key, buf);
  }
  return res;
}
