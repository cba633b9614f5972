// Limit (reference §2.1): an exponential one-byte counter code; pile = list of codes; config = max.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideInner } from "./decision";
import { readBytes, readU8 } from "./wire";

/** Encode a raw count into its code: exact below 16, each further block of 16 halves resolution. */
export function limitCode(v: u64): u8 {
  if (v >= 1015792) return 255;
  let base: u64 = 0;
  while (v >= 16) {
    base += 16;
    v = (v - 16) >> 1;
  }
  const c = v + base;
  return c > 255 ? 255 : <u8>c;
}

/** Signed durations and lengths: a negative value saturates like Go's uint conversion. */
export function limitCodeSigned(v: i64): u8 {
  return v < 0 ? 255 : limitCode(<u64>v);
}

export function writeCodes(w: JsonWriter, codes: Array<u8> | null): void {
  if (codes == null) w.null();
  else w.bytesBase64(codes.dataStart, codes.length);
}

export function appendCodes(dst: Array<u8> | null, src: Array<u8> | null): Array<u8> | null {
  if (src == null) return dst;
  const out = dst == null ? new Array<u8>() : dst;
  const n = src.length;
  for (let i = 0; i < n; i++) out.push(src[i]);
  return out;
}

export function maxCode(codes: Array<u8> | null, start: u8): u8 {
  let m = start;
  if (codes == null) return m;
  for (let i = 0, n = codes.length; i < n; i++) if (codes[i] > m) m = codes[i];
  return m;
}

export class LimitPile {
  codes: Array<u8> | null = null;

  add(code: u8): void {
    let c = this.codes;
    if (c == null) {
      c = new Array<u8>();
      this.codes = c;
    }
    c.push(code);
  }

  merge(o: LimitPile): void {
    this.codes = appendCodes(this.codes, o.codes);
  }

  clear(): void {
    this.codes = null;
  }

  write(w: JsonWriter): void {
    writeCodes(w, this.codes);
  }

  static read(v: JsonValue | null): LimitPile {
    const p = new LimitPile();
    p.codes = readBytes(v);
    return p;
  }
}

export class LimitConfig {
  max: u8 = 0;

  learn(p: LimitPile): void {
    this.max = maxCode(p.codes, this.max);
  }

  fuse(o: LimitConfig): void {
    if (o.max > this.max) this.max = o.max;
  }

  decide(code: u8): Decision | null {
    if (code <= this.max) return null;
    return decideInner(null, "Limit out of Range: " + code.toString());
  }

  score(): u32 {
    return this.max;
  }

  write(w: JsonWriter): void {
    w.uint(this.max);
  }

  static read(v: JsonValue | null): LimitConfig {
    const c = new LimitConfig();
    c.max = readU8(v, 0);
    return c;
  }
}
