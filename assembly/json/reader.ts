// A bounded JSON reader that builds a JsonValue tree with the syntax and string semantics of Go's
// encoding/json (json.Unmarshal for whole inputs, json.Decoder.Decode for request bodies).
// Iterative (explicit container stack), so hostile nesting cannot exhaust the wasm stack.

import { JsonKind, JsonValue } from "./value";
import { decodeRune, runeLen, goStringFromUtf8 } from "../text/utf8";
import { parseFloatGo } from "../text/gofmt";

export class JsonLimits {
  maxDepth: i32 = 128;
  maxBytes: i32 = 16 << 20;
  maxNodes: i32 = 1 << 20;
  /** Cap on one string (key or value), measured on its encoded bytes between the quotes. */
  maxStringBytes: i32 = 8 << 20;
}

/** Message of the last failure of parseJson: what went wrong and at which byte offset. */
export let jsonError: string = "";

// Parser state for the current call (module globals: one parse at a time, no closures needed).
let base: usize = 0;
let end: usize = 0;
let pos: usize = 0;
let nodes: i32 = 0;
let maxNodes: i32 = 0;
let maxStringBytes: i32 = 0;
let failed = false;

// Scratch for strings with escapes: decoded UTF-16 never has more code units than encoded bytes.
const SCRATCH_KEEP: i32 = 64 * 1024;
let scratch = new ArrayBuffer(SCRATCH_KEEP);

function quoteByte(c: i32): string {
  if (c == 0x27) return "'\\''";
  if (c >= 0x20 && c < 0x7f) return "'" + String.fromCharCode(c) + "'";
  const hex = "0123456789abcdef";
  return "'\\x" + hex.charAt((c >> 4) & 15) + hex.charAt(c & 15) + "'";
}

function fail(msg: string): void {
  if (failed) return;
  failed = true;
  jsonError = msg;
}

function failAt(at: usize, context: string): void {
  if (at >= end) {
    fail("unexpected end of JSON input");
  } else {
    fail("invalid character " + quoteByte(<i32>load<u8>(at)) + " " + context + " at offset " + (<i32>(at - base)).toString());
  }
}

// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

function skipSpace(): void {
  while (pos < end && isSpace(<u32>load<u8>(pos))) pos++;
}

function countNode(): bool {
  if (++nodes > maxNodes) {
    fail("more than " + maxNodes.toString() + " JSON values");
    return false;
  }
  return true;
}

function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

// Four hex digits at p (already validated by the scanner).
function hex4(p: usize): i32 {
  return (hexVal(load<u8>(p)) << 12) | (hexVal(load<u8>(p + 1)) << 8) | (hexVal(load<u8>(p + 2)) << 4) | hexVal(load<u8>(p + 3));
}

/** Reads the string whose opening quote is at pos; leaves pos after the closing quote. */
function readString(): string | null {
  const start = pos + 1;
  let p = start;
  let escapes = false;
  while (true) {
    if (p >= end) { fail("unexpected end of JSON input"); return null; }
    const c = <u32>load<u8>(p);
    if (c == 0x22) break;
    if (c < 0x20) { failAt(p, "in string literal"); return null; }
    if (c == 0x5c) {
      escapes = true;
      if (p + 1 >= end) { fail("unexpected end of JSON input"); return null; }
      const e = <u32>load<u8>(p + 1);
      if (e == 0x75) {
        for (let i: usize = 2; i < 6; i++) {
          if (p + i >= end) { fail("unexpected end of JSON input"); return null; }
          if (hexVal(load<u8>(p + i)) < 0) { failAt(p + i, "in \\u hexadecimal character escape"); return null; }
        }
        p += 6;
        continue;
      }
      if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) {
        failAt(p + 1, "in string escape code");
        return null;
      }
      p += 2;
      continue;
    }
    p++;
  }
  const len = <i32>(p - start);
  if (len > maxStringBytes) {
    fail("string of more than " + maxStringBytes.toString() + " bytes at offset " + (<i32>(pos - base)).toString());
    return null;
  }
  pos = p + 1;
  if (!escapes) return goStringFromUtf8(start, len);
  return unescape(start, p);
}

// Go's unquote: escapes decoded, unpaired surrogate escapes and invalid UTF-8 bytes become U+FFFD.
function unescape(p: usize, stop: usize): string {
  const need = <i32>(stop - p) << 1;
  if (need > scratch.byteLength) scratch = new ArrayBuffer(need);
  const out = changetype<usize>(scratch);
  let o = out;
  while (p < stop) {
    const c = <u32>load<u8>(p);
    if (c == 0x5c) {
      const e = <u32>load<u8>(p + 1);
      let u: i32 = 0;
      switch (e) {
        case 0x62: u = 0x08; break;
        case 0x66: u = 0x0c; break;
        case 0x6e: u = 0x0a; break;
        case 0x72: u = 0x0d; break;
        case 0x74: u = 0x09; break;
        case 0x75: {
          u = hex4(p + 2);
          if (u >= 0xd800 && u < 0xe000) {
            // A pair needs a high surrogate followed by an escaped low one; anything else is U+FFFD.
            if (u < 0xdc00 && p + 12 <= stop && load<u8>(p + 6) == 0x5c && load<u8>(p + 7) == 0x75) {
              const lo = hex4(p + 8);
              if (lo >= 0xdc00 && lo < 0xe000) {
                store<u16>(o, <u16>u);
                store<u16>(o + 2, <u16>lo);
                o += 4;
                p += 12;
                continue;
              }
            }
            u = 0xfffd;
          }
          store<u16>(o, <u16>u);
          o += 2;
          p += 6;
          continue;
        }
        default: u = <i32>e; // " \ /
      }
      store<u16>(o, <u16>u);
      o += 2;
      p += 2;
      continue;
    }
    if (c < 0x80) {
      store<u16>(o, <u16>c);
      o += 2;
      p++;
      continue;
    }
    const r = decodeRune(p, <i32>(stop - p));
    let n = runeLen;
    if (n < 1) n = 1;
    if (r >= 0x10000) {
      const v = r - 0x10000;
      store<u16>(o, <u16>(0xd800 | (v >> 10)));
      store<u16>(o + 2, <u16>(0xdc00 | (v & 0x3ff)));
      o += 4;
    } else {
      store<u16>(o, <u16>r);
      o += 2;
    }
    p += <usize>n;
  }
  const s = String.UTF16.decodeUnsafe(out, o - out);
  if (scratch.byteLength > SCRATCH_KEEP) scratch = new ArrayBuffer(SCRATCH_KEEP);
  return s;
}

/** Reads the number starting at pos (JSON grammar); leaves pos after it. */
function readNumber(): JsonValue | null {
  const start = pos;
  let p = pos;
  if (load<u8>(p) == 0x2d) {
    p++;
    if (p >= end) { fail("unexpected end of JSON input"); return null; }
    if (!isDigit(load<u8>(p))) { failAt(p, "in numeric literal"); return null; }
  }
  let simple = true;
  if (load<u8>(p) == 0x30) {
    p++;
  } else {
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  if (p < end && load<u8>(p) == 0x2e) {
    simple = false;
    p++;
    if (p >= end) { fail("unexpected end of JSON input"); return null; }
    if (!isDigit(load<u8>(p))) { failAt(p, "after decimal point in numeric literal"); return null; }
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  if (p < end && (load<u8>(p) | 0x20) == 0x65) {
    simple = false;
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    if (p >= end) { fail("unexpected end of JSON input"); return null; }
    if (!isDigit(load<u8>(p))) { failAt(p, "in exponent of numeric literal"); return null; }
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  pos = p;
  const len = <i32>(p - start);
  const raw = String.UTF8.decodeUnsafe(start, <usize>len);
  let num: f64;
  const neg = load<u8>(start) == 0x2d;
  if (simple && len - (neg ? 1 : 0) <= 15) {
    // Integers below 10^15 are exact in f64.
    let acc: i64 = 0;
    for (let q = start + (neg ? 1 : 0); q < p; q++) acc = acc * 10 + <i64>(load<u8>(q) - 0x30);
    num = neg ? -(<f64>acc) : <f64>acc;
  } else {
    num = parseFloatGo(start, len);
    if (!isFinite(num)) {
      fail("cannot unmarshal number " + raw + " into float64");
      return null;
    }
  }
  return JsonValue.newNumber(num, raw);
}

function matchLiteral(lit: string): bool {
  const n = <usize>lit.length;
  for (let i: usize = 0; i < n; i++) {
    const at = pos + i;
    if (at >= end) { fail("unexpected end of JSON input"); return false; }
    if (<u32>load<u8>(at) != <u32>lit.charCodeAt(<i32>i)) { failAt(at, "in literal " + lit + " (expecting '" + lit.charAt(<i32>i) + "')"); return false; }
  }
  pos += n;
  return true;
}

/**
 * Parses the JSON text at [ptr, ptr+len). Whole mode (firstValueOnly=false) is json.Unmarshal:
 * only whitespace may follow the value. firstValueOnly=true is json.Decoder.Decode: the first
 * complete value is returned and whatever follows is ignored. Returns null with jsonError set on
 * a syntax error, a number overflowing float64, or an exceeded limit.
 */
export function parseJson(ptr: usize, len: i32, limits: JsonLimits, firstValueOnly: bool): JsonValue | null {
  jsonError = "";
  failed = false;
  if (len < 0) len = 0;
  if (len > limits.maxBytes) {
    jsonError = "input larger than " + limits.maxBytes.toString() + " bytes";
    return null;
  }
  base = ptr;
  pos = ptr;
  end = ptr + <usize>len;
  nodes = 0;
  maxNodes = limits.maxNodes;
  maxStringBytes = limits.maxStringBytes;
  const maxDepth = limits.maxDepth;
  const stack = new Array<JsonValue>();
  let result: JsonValue | null = null;

  // Each turn of the outer loop reads one value (after any '[' / '{' / ',' / ':'), then closes
  // every container that this value completes.
  let done = false;
  while (!done) {
    skipSpace();
    if (pos >= end) { fail("unexpected end of JSON input"); return null; }
    const c = <u32>load<u8>(pos);
    let v: JsonValue | null = null;
    if (c == 0x7b || c == 0x5b) {
      if (!countNode()) return null;
      if (stack.length >= maxDepth) {
        fail("nesting deeper than " + maxDepth.toString() + " at offset " + (<i32>(pos - base)).toString());
        return null;
      }
      pos++;
      skipSpace();
      if (c == 0x5b) {
        const arr = JsonValue.newArray();
        if (pos < end && load<u8>(pos) == 0x5d) {
          pos++;
          v = arr;
        } else {
          stack.push(arr);
          continue;
        }
      } else {
        const obj = JsonValue.newObject();
        if (pos < end && load<u8>(pos) == 0x7d) {
          pos++;
          v = obj;
        } else {
          stack.push(obj);
          if (!readKey(obj)) return null;
          continue;
        }
      }
    } else if (c == 0x22) {
      if (!countNode()) return null;
      const s = readString();
      if (s == null) return null;
      v = JsonValue.newString(s);
    } else if (c == 0x2d || isDigit(c)) {
      if (!countNode()) return null;
      v = readNumber();
      if (v == null) return null;
    } else if (c == 0x74) {
      if (!countNode() || !matchLiteral("true")) return null;
      v = JsonValue.newBool(true);
    } else if (c == 0x66) {
      if (!countNode() || !matchLiteral("false")) return null;
      v = JsonValue.newBool(false);
    } else if (c == 0x6e) {
      if (!countNode() || !matchLiteral("null")) return null;
      v = JsonValue.newNull();
    } else {
      failAt(pos, "looking for beginning of value");
      return null;
    }

    // Attach the completed value; close containers it completes.
    while (true) {
      if (stack.length == 0) {
        result = v;
        done = true;
        break;
      }
      const top = unchecked(stack[stack.length - 1]);
      if (top.kind == JsonKind.Array) top.items.push(v);
      else top.vals.push(v);
      skipSpace();
      if (pos >= end) { fail("unexpected end of JSON input"); return null; }
      const d = <u32>load<u8>(pos);
      if (d == 0x2c) {
        pos++;
        if (top.kind == JsonKind.Object) {
          skipSpace();
          if (!readKey(top)) return null;
        }
        break; // read the next element
      }
      if (top.kind == JsonKind.Array) {
        if (d != 0x5d) { failAt(pos, "after array element"); return null; }
      } else {
        if (d != 0x7d) { failAt(pos, "after object key:value pair"); return null; }
      }
      pos++;
      stack.pop();
      v = top;
    }
  }

  if (!firstValueOnly) {
    skipSpace();
    if (pos < end) { failAt(pos, "after top-level value"); return null; }
  }
  return result;
}

// Reads `"key"` and the following ':' (pos at the opening quote after whitespace).
function readKey(obj: JsonValue): bool {
  if (pos >= end) { fail("unexpected end of JSON input"); return false; }
  if (load<u8>(pos) != 0x22) { failAt(pos, "looking for beginning of object key string"); return false; }
  const k = readString();
  if (k == null) return false;
  skipSpace();
  if (pos >= end) { fail("unexpected end of JSON input"); return false; }
  if (load<u8>(pos) != 0x3a) { failAt(pos, "after object key"); return false; }
  pos++;
  obj.keys.push(k);
  return true;
}
