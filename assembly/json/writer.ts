// A compact JSON writer whose bytes are identical to Go's encoding/json.Marshal: HTML-safe string
// escaping, []byte as padded standard base64, float64 in Go's shortest form. Commas are automatic.

import { JsonKind, JsonValue } from "./value";
import { compareUtf8 } from "../text/utf8";
import { shortestDigitsString } from "../text/gofmt";

const HEX = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// For each ASCII byte: 0 = emitted raw, 1 = emitted as \u00XX, else the letter after the backslash.
// Go ≤ 1.21 (upstream v0.6.1) writes \b and \f as \u0008 and \u000c, so only \n \r \t \" \\ are short.
const ESCAPE = new StaticArray<u8>(128);
function initEscape(): void {
  for (let i = 0; i < 0x20; i++) ESCAPE[i] = 1;
  ESCAPE[0x0a] = 0x6e; // \n
  ESCAPE[0x0d] = 0x72; // \r
  ESCAPE[0x09] = 0x74; // \t
  ESCAPE[0x22] = 0x22; // \"
  ESCAPE[0x5c] = 0x5c; // \\
  ESCAPE[0x3c] = 1; // <
  ESCAPE[0x3e] = 1; // >
  ESCAPE[0x26] = 1; // &
}
initEscape();

export class JsonWriter {
  private buf: ArrayBuffer = new ArrayBuffer(1024);
  private len: i32 = 0;
  // True when the next value or key at the current level must be preceded by a comma. Opening a
  // container clears it, closing one sets it (the container is then a complete value of its parent).
  private needComma: bool = false;
  // True between key() and the value that belongs to it.
  private afterKey: bool = false;
  /** Set when a value Go refuses to encode (NaN, ±Inf) was written (as null); Go's Marshal fails then. */
  unsupported: bool = false;

  reset(): void {
    this.len = 0;
    this.needComma = false;
    this.afterKey = false;
    this.unsupported = false;
    if (this.buf.byteLength > (1 << 20)) this.buf = new ArrayBuffer(1024);
  }

  ptr(): usize { return changetype<usize>(this.buf); }
  length(): i32 { return this.len; }
  toString(): string { return String.UTF8.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len); }

  private ensure(n: i32): usize {
    const need = this.len + n;
    if (need > this.buf.byteLength) {
      let cap = this.buf.byteLength << 1;
      while (cap < need) cap <<= 1;
      const nb = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(nb), changetype<usize>(this.buf), <usize>this.len);
      this.buf = nb;
    }
    return changetype<usize>(this.buf) + <usize>this.len;
  }

  private byte(b: u32): void {
    const p = this.ensure(1);
    store<u8>(p, <u8>b);
    this.len++;
  }

  private ascii(s: string): void {
    const n = s.length;
    const p = this.ensure(n);
    for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
    this.len += n;
  }

  private beginValue(): void {
    if (this.afterKey) this.afterKey = false;
    else if (this.needComma) this.byte(0x2c);
  }

  beginObject(): void { this.beginValue(); this.byte(0x7b); this.needComma = false; }
  endObject(): void { this.byte(0x7d); this.needComma = true; }
  beginArray(): void { this.beginValue(); this.byte(0x5b); this.needComma = false; }
  endArray(): void { this.byte(0x5d); this.needComma = true; }

  /** `"k":` with the comma before it when needed. */
  key(k: string): void {
    if (this.needComma) this.byte(0x2c);
    this.quoted(k);
    this.byte(0x3a);
    this.afterKey = true;
    this.needComma = true;
  }

  string(s: string): void {
    this.beginValue();
    this.quoted(s);
    this.needComma = true;
  }

  bool(b: bool): void {
    this.beginValue();
    this.ascii(b ? "true" : "false");
    this.needComma = true;
  }

  null(): void {
    this.beginValue();
    this.ascii("null");
    this.needComma = true;
  }

  int(v: i64): void {
    this.beginValue();
    if (v < 0) {
      this.byte(0x2d);
      this.digits(<u64>0 - <u64>v);
    } else {
      this.digits(<u64>v);
    }
    this.needComma = true;
  }

  uint(v: u64): void {
    this.beginValue();
    this.digits(v);
    this.needComma = true;
  }

  /** A trusted, already encoded JSON fragment. */
  rawJson(s: string): void {
    this.beginValue();
    const n = String.UTF8.byteLength(s, false);
    const p = this.ensure(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p, false);
    this.len += n;
    this.needComma = true;
  }

  /** A Go []byte: standard base64 with padding, as a JSON string. */
  bytesBase64(ptr: usize, n: i32): void {
    this.beginValue();
    const out = this.ensure(((n + 2) / 3) * 4 + 2);
    let o = out;
    store<u8>(o++, 0x22);
    const b64 = changetype<usize>(B64);
    let i = 0;
    for (; i + 3 <= n; i += 3) {
      const x = (<u32>load<u8>(ptr + i) << 16) | (<u32>load<u8>(ptr + i + 1) << 8) | <u32>load<u8>(ptr + i + 2);
      store<u8>(o, load<u16>(b64 + ((x >> 18) << 1)));
      store<u8>(o + 1, load<u16>(b64 + (((x >> 12) & 63) << 1)));
      store<u8>(o + 2, load<u16>(b64 + (((x >> 6) & 63) << 1)));
      store<u8>(o + 3, load<u16>(b64 + ((x & 63) << 1)));
      o += 4;
    }
    const rest = n - i;
    if (rest > 0) {
      let x = <u32>load<u8>(ptr + i) << 16;
      if (rest == 2) x |= <u32>load<u8>(ptr + i + 1) << 8;
      store<u8>(o, load<u16>(b64 + ((x >> 18) << 1)));
      store<u8>(o + 1, load<u16>(b64 + (((x >> 12) & 63) << 1)));
      store<u8>(o + 2, rest == 2 ? <u8>load<u16>(b64 + (((x >> 6) & 63) << 1)) : <u8>0x3d);
      store<u8>(o + 3, 0x3d);
      o += 4;
    }
    store<u8>(o++, 0x22);
    this.len += <i32>(o - out);
    this.needComma = true;
  }

  /** A Go []byte that may be nil: null, or its base64 string. */
  bytesOrNull(arr: Uint8Array | null): void {
    if (arr == null) this.null();
    else this.bytesBase64(arr.dataStart, arr.length);
  }

  /** A Go float64: shortest round-trip digits, exponent form below 1e-6 and from 1e21 on. */
  number(v: f64): void {
    this.beginValue();
    this.needComma = true;
    if (!isFinite(v)) {
      this.unsupported = true;
      this.ascii("null");
      return;
    }
    if (v == 0) {
      this.ascii(1 / v < 0 ? "-0" : "0");
      return;
    }
    if (v < 0) this.byte(0x2d);
    const a = Math.abs(v);
    if (a < 9007199254740992 && a == Math.floor(a)) {
      // Below 2^53 an integral float64 is its own shortest form.
      this.digits(<u64>a);
      return;
    }
    const point = shortestDigits(a);
    const n = ndigits;
    const p = this.ensure(n + 32);
    let o = p;
    if (a < 1e-6 || a >= 1e21) {
      store<u8>(o++, load<u8>(digitBuf));
      if (n > 1) {
        store<u8>(o++, 0x2e);
        for (let i = 1; i < n; i++) store<u8>(o++, load<u8>(digitBuf + i));
      }
      store<u8>(o++, 0x65);
      let e = point - 1;
      if (e < 0) { store<u8>(o++, 0x2d); e = -e; } else store<u8>(o++, 0x2b);
      if (e >= 100) store<u8>(o++, <u8>(0x30 + e / 100));
      if (e >= 10) store<u8>(o++, <u8>(0x30 + (e / 10) % 10));
      store<u8>(o++, <u8>(0x30 + e % 10));
    } else if (point <= 0) {
      store<u8>(o++, 0x30);
      store<u8>(o++, 0x2e);
      for (let i = point; i < 0; i++) store<u8>(o++, 0x30);
      for (let i = 0; i < n; i++) store<u8>(o++, load<u8>(digitBuf + i));
    } else {
      for (let i = 0; i < n || i < point; i++) {
        if (i == point) store<u8>(o++, 0x2e);
        store<u8>(o++, i < n ? load<u8>(digitBuf + i) : <u8>0x30);
      }
    }
    this.len += <i32>(o - p);
  }

  private digits(v: u64): void {
    const p = this.ensure(20);
    let n = 1;
    for (let t = v; t >= 10; t /= 10) n++;
    let o = p + <usize>n;
    do {
      store<u8>(--o, <u8>(0x30 + v % 10));
      v /= 10;
    } while (v != 0);
    this.len += n;
  }

  private quoted(s: string): void {
    const n = s.length;
    let o = this.ensure(n * 6 + 4);
    const start = o;
    const src = changetype<usize>(s);
    store<u8>(o++, 0x22);
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u16>(src + (<usize>i << 1));
      if (c < 0x80) {
        const e = unchecked(ESCAPE[c]);
        if (e == 0) {
          store<u8>(o++, <u8>c);
        } else if (e == 1) {
          store<u8>(o, 0x5c);
          store<u8>(o + 1, 0x75);
          store<u8>(o + 2, 0x30);
          store<u8>(o + 3, 0x30);
          store<u8>(o + 4, <u8>HEX.charCodeAt(c >> 4));
          store<u8>(o + 5, <u8>HEX.charCodeAt(c & 15));
          o += 6;
        } else {
          store<u8>(o, 0x5c);
          store<u8>(o + 1, e);
          o += 2;
        }
      } else if (c < 0x800) {
        store<u8>(o, <u8>(0xc0 | (c >> 6)));
        store<u8>(o + 1, <u8>(0x80 | (c & 0x3f)));
        o += 2;
      } else if (c >= 0xd800 && c < 0xe000) {
        const next: u32 = i + 1 < n ? <u32>load<u16>(src + (<usize>(i + 1) << 1)) : 0;
        if (c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          const r = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          store<u8>(o, <u8>(0xf0 | (r >> 18)));
          store<u8>(o + 1, <u8>(0x80 | ((r >> 12) & 0x3f)));
          store<u8>(o + 2, <u8>(0x80 | ((r >> 6) & 0x3f)));
          store<u8>(o + 3, <u8>(0x80 | (r & 0x3f)));
          o += 4;
          i++;
        } else {
          // Lone surrogate: Go sees invalid UTF-8 there and writes \ufffd.
          store<u64>(o, 0x6666_6675_5c); // \ufff
          store<u8>(o + 5, 0x64); // d
          o += 6;
        }
      } else if (c == 0x2028 || c == 0x2029) {
        store<u64>(o, 0x3230_3275_5c); // \u202
        store<u8>(o + 5, c == 0x2028 ? 0x38 : 0x39);
        o += 6;
      } else {
        store<u8>(o, <u8>(0xe0 | (c >> 12)));
        store<u8>(o + 1, <u8>(0x80 | ((c >> 6) & 0x3f)));
        store<u8>(o + 2, <u8>(0x80 | (c & 0x3f)));
        o += 3;
      }
    }
    store<u8>(o++, 0x22);
    this.len += <i32>(o - start);
  }
}

// ---- float64 → shortest decimal digits ----

// Digits of the last shortestDigits() call (ASCII, no leading/trailing zeros) and their count.
const digitBuf = memory.data(40);
let ndigits: i32 = 0;

/** Go's shortest round-trip digits of `a` (> 0, finite) into digitBuf/ndigits; returns the decimal
 *  point position (a = 0.d1d2…dn × 10^point). The exact digit generation lives in text/gofmt. */
function shortestDigits(a: f64): i32 {
  const s = shortestDigitsString(a); // "<digits>e<point>"
  const len = s.length;
  let n = 0;
  while (n < len && s.charCodeAt(n) != 0x65) {
    store<u8>(digitBuf + n, <u8>s.charCodeAt(n));
    n++;
  }
  ndigits = n;
  return I32.parseInt(s.substring(n + 1));
}

/** A copy of `keys` sorted as Go sorts map keys: byte-wise on UTF-8 (= code point order). */
export function sortKeysUtf8(keys: Array<string>): Array<string> {
  const copy = keys.slice(0);
  copy.sort(compareUtf8);
  return copy;
}

let sortingKeys: Array<string> = [];
function compareKeyIndex(a: i32, b: i32): i32 {
  const c = compareUtf8(unchecked(sortingKeys[a]), unchecked(sortingKeys[b]));
  return c != 0 ? c : a - b;
}

/**
 * Writes a parsed value back. goMap=true encodes objects as Go encodes a map[string]any decoded
 * from them (keys sorted, last duplicate wins) and numbers as float64; goMap=false keeps member
 * order and duplicates and copies number text as written. Iterative: any depth the reader allowed
 * is fine (recursion would overflow AssemblyScript's shadow stack after a few thousand levels).
 */
export function writeJsonValue(w: JsonWriter, root: JsonValue, goMap: bool): void {
  const open = new Array<JsonValue>(); // containers being written
  const next = new Array<i32>(); // index of the next member / element to write in each
  const orders = new Array<Array<i32>>(); // member order of each open object (goMap)
  let v: JsonValue = root;
  while (true) {
    // Write v: a scalar completely, a container's opening (then descend into it).
    switch (v.kind) {
      case JsonKind.Null: w.null(); break;
      case JsonKind.Bool: w.bool(v.bool); break;
      case JsonKind.Number: if (goMap) w.number(v.num); else w.rawJson(v.raw); break;
      case JsonKind.String: w.string(v.str); break;
      case JsonKind.Array: {
        w.beginArray();
        open.push(v);
        next.push(0);
        orders.push(NO_ORDER);
        break;
      }
      default: {
        w.beginObject();
        open.push(v);
        next.push(0);
        orders.push(goMap ? memberOrder(v.keys) : NO_ORDER);
      }
    }
    // Find the next value to write, closing finished containers.
    let found = false;
    while (open.length > 0) {
      const top = unchecked(open[open.length - 1]);
      const at = open.length - 1;
      const i = unchecked(next[at]);
      if (top.kind == JsonKind.Array) {
        if (i < top.items.length) {
          next[at] = i + 1;
          v = unchecked(top.items[i]);
          found = true;
          break;
        }
        w.endArray();
      } else {
        const order = unchecked(orders[at]);
        const n = goMap ? order.length : top.keys.length;
        if (i < n) {
          next[at] = i + 1;
          const idx = goMap ? unchecked(order[i]) : i;
          w.key(unchecked(top.keys[idx]));
          v = unchecked(top.vals[idx]);
          found = true;
          break;
        }
        w.endObject();
      }
      open.pop();
      next.pop();
      orders.pop();
    }
    if (!found) return;
  }
}

const NO_ORDER = new Array<i32>(0);

// Member indices in Go map order: keys sorted by UTF-8 bytes, only the last of equal keys kept.
function memberOrder(keys: Array<string>): Array<i32> {
  const n = keys.length;
  const order = new Array<i32>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  sortingKeys = keys;
  order.sort(compareKeyIndex);
  const kept = new Array<i32>();
  for (let i = 0; i < n; i++) {
    const idx = unchecked(order[i]);
    // equal keys are adjacent and in input order
    if (i + 1 < n && unchecked(keys[unchecked(order[i + 1])]) == unchecked(keys[idx])) continue;
    kept.push(idx);
  }
  return kept;
}
