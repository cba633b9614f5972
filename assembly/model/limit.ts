// Limit: an exponential one-byte counter code; pile = list of codes; config = max.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideInner } from "./decision";
import { slackSteps } from "./policy";
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

/**
 * The codes a pile saw, as a set. The original keeps every code of every sample in a list; only
 * the smallest and largest ever matter (Limit learns the max, Count the min and max), so a set of
 * at most 256 codes learns the same and keeps a pile's size independent of its sample count. The
 * wire form is the list of distinct codes, ascending (the original reads any list).
 */
export class CodeSet {
  private w0: u64 = 0;
  private w1: u64 = 0;
  private w2: u64 = 0;
  private w3: u64 = 0;

  // The four words, in order, as the codeBits functions below read them.
  // @ts-ignore: decorator
  @inline private words(): usize {
    return changetype<usize>(this) + offsetof<CodeSet>("w0");
  }

  add(code: u8): void {
    codeBitsAdd(this.words(), code);
  }

  or(o: CodeSet): void {
    this.w0 |= o.w0;
    this.w1 |= o.w1;
    this.w2 |= o.w2;
    this.w3 |= o.w3;
  }

  isEmpty(): bool {
    return (this.w0 | this.w1 | this.w2 | this.w3) == 0;
  }

  /** The largest code, or -1 when empty. */
  max(): i32 {
    return codeBitsMax(this.words());
  }

  /** The smallest code, or -1 when empty. */
  min(): i32 {
    if (this.w0 != 0) return <i32>ctz<u64>(this.w0);
    if (this.w1 != 0) return 64 + <i32>ctz<u64>(this.w1);
    if (this.w2 != 0) return 128 + <i32>ctz<u64>(this.w2);
    if (this.w3 != 0) return 192 + <i32>ctz<u64>(this.w3);
    return -1;
  }

  /** Write the codes ascending at dst (room for 256); returns how many. */
  writeTo(dst: usize): i32 {
    return codeBitsTo(this.words(), dst);
  }
}

/**
 * The same 256-bit set as four words at `words` (a pile keeping several sets inline): write its
 * codes ascending at dst (room for 256); returns how many.
 */
export function codeBitsTo(words: usize, dst: usize): i32 {
  let n = 0;
  for (let word = 0; word < 4; word++) {
    let bits = load<u64>(words + (<usize>word << 3));
    while (bits != 0) {
      const b = <i32>ctz<u64>(bits);
      store<u8>(dst + <usize>n, <u8>(word * 64 + b));
      n++;
      bits &= bits - 1;
    }
  }
  return n;
}

/** The largest code of the four-word set at `words`, or -1 when empty. */
export function codeBitsMax(words: usize): i32 {
  for (let word = 3; word >= 0; word--) {
    const bits = load<u64>(words + (<usize>word << 3));
    if (bits != 0) return word * 64 + 63 - <i32>clz<u64>(bits);
  }
  return -1;
}

/** Add a code to the four-word set at `words`. */
// @ts-ignore: decorator
@inline export function codeBitsAdd(words: usize, code: u8): void {
  const at = words + ((<usize>code >> 6) << 3);
  store<u64>(at, load<u64>(at) | ((<u64>1) << (<u64>code & 63)));
}

/** Write the four-word set at `words` as its wire form (base64 of the codes, ascending). */
export function writeCodeBits(w: JsonWriter, words: usize): void {
  const n = codeBitsTo(words, changetype<usize>(codeBuf));
  w.bytesBase64(changetype<usize>(codeBuf), n);
}

const codeBuf = new StaticArray<u8>(256);

export function writeCodes(w: JsonWriter, codes: CodeSet | null): void {
  if (codes == null) {
    w.null();
    return;
  }
  const n = codes.writeTo(changetype<usize>(codeBuf));
  w.bytesBase64(changetype<usize>(codeBuf), n);
}

/** Add a code, creating the set on first use (null = never added, as the original's nil list). */
export function addCode(set: CodeSet | null, code: u8): CodeSet {
  const s = set == null ? new CodeSet() : set;
  s.add(code);
  return s;
}

export function appendCodes(dst: CodeSet | null, src: CodeSet | null): CodeSet | null {
  if (src == null) return dst;
  const out = dst == null ? new CodeSet() : dst;
  out.or(src);
  return out;
}

export function maxCode(codes: CodeSet | null, start: u8): u8 {
  if (codes == null) return start;
  const m = codes.max();
  return m > <i32>start ? <u8>m : start;
}

/** A code list read from the wire (base64 or numbers), as a set. */
export function readCodes(v: JsonValue | null): CodeSet | null {
  const list = readBytes(v);
  if (list == null) return null;
  const set = new CodeSet();
  for (let i = 0; i < list.length; i++) set.add(unchecked(list[i]));
  return set;
}

export class LimitPile {
  codes: CodeSet | null = null;

  add(code: u8): void {
    this.codes = addCode(this.codes, code);
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
    p.codes = readCodes(v);
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
    if (<i32>code <= <i32>this.max + slackSteps()) return null;
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
