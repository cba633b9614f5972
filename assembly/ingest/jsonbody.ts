// Profiles a JSON body in one pass over its bytes, as Go's json.Decoder would have handed the first
// value to the original but without building a tree: leaves are profiled from their decoded bytes
// and object keys carry their full path (difference 4 of docs/compatibility.md). A leaf's %v text
// is tallied while scanned (jsontally.ts); only when that gives up is the text written here.
import { KeyValProfile, hashIfNeeded, keyHash } from "../model/keyval";
import { SimpleValProfile } from "../model/simpleval";
import { KIND_ARRAY, KIND_BOOLEAN, KIND_NUMBER, KIND_OBJECT, KIND_STRING, StructuredProfile } from "../model/structured";
import { formatFloatF6, formatFloatV, parseFloatGo } from "../text/gofmt";
import { goNumberTextBytes } from "../text/gonumber";
import { decodeRune, runeLen } from "../text/utf8";
import { InternTable, SLOTS } from "./intern";
import { MAX_BODY_DEPTH, numberEnd, tallyLeaf, tallyProfileInto } from "./jsontally";
import { compareUtf8, goStringFromUtf8, writeUtf8, utf8ByteLength } from "../text/utf8";

export { MAX_BODY_DEPTH };

/** A growable byte buffer for the text of one leaf. */
class TextBuf {
  buf: ArrayBuffer = new ArrayBuffer(1024);
  len: i32 = 0;

  @inline ptr(): usize {
    return changetype<usize>(this.buf);
  }

  cap: i32 = 1024;

  @inline ensure(extra: i32): void {
    if (this.len + extra > this.cap) this.grow(this.len + extra);
  }

  private grow(need: i32): void {
    let cap = this.cap;
    while (cap < need) cap <<= 1;
    const next = new ArrayBuffer(cap);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.len);
    this.buf = next;
    this.cap = cap;
  }

  byte(b: u8): void {
    this.ensure(1);
    store<u8>(this.ptr() + <usize>this.len, b);
    this.len++;
  }

  bytes(p: usize, n: i32): void {
    this.ensure(n);
    memory.copy(this.ptr() + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) store<u8>(this.ptr() + <usize>(this.len + i), <u8>s.charCodeAt(i));
    this.len += s.length;
  }

  text(s: string): void {
    this.ensure(utf8ByteLength(s));
    this.len += writeUtf8(s, this.ptr() + <usize>this.len);
  }

  rune(cp: i32): void {
    this.ensure(4);
    const p = this.ptr() + <usize>this.len;
    if (cp < 0x80) {
      store<u8>(p, <u8>cp);
      this.len += 1;
    } else if (cp < 0x800) {
      store<u8>(p, <u8>(0xc0 | (cp >> 6)));
      store<u8>(p + 1, <u8>(0x80 | (cp & 0x3f)));
      this.len += 2;
    } else if (cp < 0x10000) {
      store<u8>(p, <u8>(0xe0 | (cp >> 12)));
      store<u8>(p + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
      store<u8>(p + 2, <u8>(0x80 | (cp & 0x3f)));
      this.len += 3;
    } else {
      store<u8>(p, <u8>(0xf0 | (cp >> 18)));
      store<u8>(p + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
      store<u8>(p + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
      store<u8>(p + 3, <u8>(0x80 | (cp & 0x3f)));
      this.len += 4;
    }
  }

  toProfile(): SimpleValProfile {
    return SimpleValProfile.ofBytes(this.ptr(), this.len);
  }
}

@inline function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// A staged member: five i32 fields in a row of Stage.rows.
const KEY_AT = 0;
const KEY_LEN = 1;
const KEY_HASH = 2;
const VAL_AT = 3;
const VAL_LEN = 4;
const ROW = 5;

/** The members of one object being printed with %v, at one nesting depth: key and value bytes. */
class Stage {
  text: TextBuf = new TextBuf();
  rows: StaticArray<i32> = new StaticArray<i32>(16 * ROW);
  count: i32 = 0;
  order: StaticArray<i32> = new StaticArray<i32>(16);
  // The key sequence sorted last time and its order: objects in an array usually repeat it.
  private lastKeys: TextBuf = new TextBuf();
  private lastRows: StaticArray<i32> = new StaticArray<i32>(16 * ROW);
  private lastOrder: StaticArray<i32> = new StaticArray<i32>(16);
  private lastCount: i32 = -1;

  reset(): void {
    this.text.len = 0;
    this.count = 0;
  }

  @inline field(i: i32, f: i32): i32 {
    return unchecked(this.rows[i * ROW + f]);
  }

  /** Record a member whose key is at [keyAt, keyAt+keyLen) and value follows it in text. */
  set(keyAt: i32, keyLen: i32, valAt: i32, valLen: i32): void {
    const base = this.text.ptr();
    let h: u32 = 2166136261;
    for (let i = 0; i < keyLen; i++) h = (h ^ <u32>load<u8>(base + <usize>(keyAt + i))) * 16777619;
    const n = this.count;
    const rows = this.rows;
    for (let i = 0; i < n; i++) {
      const r = i * ROW;
      if (<u32>unchecked(rows[r + KEY_HASH]) != h || unchecked(rows[r + KEY_LEN]) != keyLen) continue;
      if (memory.compare(base + <usize>unchecked(rows[r + KEY_AT]), base + <usize>keyAt, <usize>keyLen) == 0) {
        // A repeated key keeps its last value, as in a Go map.
        unchecked((rows[r + VAL_AT] = valAt));
        unchecked((rows[r + VAL_LEN] = valLen));
        return;
      }
    }
    if ((n + 1) * ROW > rows.length) this.grow();
    const r = n * ROW;
    const w = this.rows;
    unchecked((w[r + KEY_AT] = keyAt));
    unchecked((w[r + KEY_LEN] = keyLen));
    unchecked((w[r + KEY_HASH] = <i32>h));
    unchecked((w[r + VAL_AT] = valAt));
    unchecked((w[r + VAL_LEN] = valLen));
    this.count = n + 1;
  }

  private grow(): void {
    const cap = (this.rows.length / ROW) * 2;
    const rows = new StaticArray<i32>(cap * ROW);
    memory.copy(changetype<usize>(rows), changetype<usize>(this.rows), <usize>this.rows.length << 2);
    this.rows = rows;
    this.order = new StaticArray<i32>(cap);
  }

  private sameKeysAsLast(): bool {
    const n = this.count;
    if (n != this.lastCount) return false;
    const base = this.text.ptr();
    const last = this.lastKeys.ptr();
    let at = 0;
    for (let i = 0; i < n; i++) {
      const r = i * ROW;
      const len = this.field(i, KEY_LEN);
      if (this.field(i, KEY_HASH) != unchecked(this.lastRows[r + KEY_HASH]) || len != unchecked(this.lastRows[r + KEY_LEN])) return false;
      if (memory.compare(base + <usize>this.field(i, KEY_AT), last + <usize>at, <usize>len) != 0) return false;
      at += len;
    }
    return true;
  }

  /** Member indices by key, byte-wise (Go sorts map keys as byte strings). */
  sortedOrder(): StaticArray<i32> {
    const n = this.count;
    if (this.sameKeysAsLast()) return this.lastOrder;
    const order = this.order;
    for (let i = 0; i < n; i++) unchecked((order[i] = i));
    const base = this.text.ptr();
    for (let i = 1; i < n; i++) {
      const x = unchecked(order[i]);
      let j = i - 1;
      while (j >= 0) {
        const y = unchecked(order[j]);
        if (compareBytes(base, this.field(y, KEY_AT), this.field(y, KEY_LEN), this.field(x, KEY_AT), this.field(x, KEY_LEN)) <= 0) break;
        unchecked((order[j + 1] = y));
        j--;
      }
      unchecked((order[j + 1] = x));
    }
    // Remember this key sequence and its order for the next object.
    if (this.lastRows.length < this.rows.length) {
      this.lastRows = new StaticArray<i32>(this.rows.length);
      this.lastOrder = new StaticArray<i32>(this.order.length);
    }
    this.lastKeys.len = 0;
    for (let i = 0; i < n; i++) {
      const r = i * ROW;
      this.lastKeys.bytes(base + <usize>this.field(i, KEY_AT), this.field(i, KEY_LEN));
      unchecked((this.lastRows[r + KEY_LEN] = this.field(i, KEY_LEN)));
      unchecked((this.lastRows[r + KEY_HASH] = this.field(i, KEY_HASH)));
      unchecked((this.lastOrder[i] = unchecked(order[i])));
    }
    this.lastCount = n;
    return order;
  }
}

function compareBytes(base: usize, a: i32, an: i32, b: i32, bn: i32): i32 {
  const n = an < bn ? an : bn;
  const c = memory.compare(base + <usize>a, base + <usize>b, <usize>n);
  if (c != 0) return c;
  return an - bn;
}

const stages = new Array<Stage>();

class JsonBodyScanner {
  ptr: usize = 0;
  len: i32 = 0;
  pos: i32 = 0;
  ok: bool = true;
  text: TextBuf = new TextBuf();
  keyBuf: TextBuf = new TextBuf();
  kv: KeyValProfile = new KeyValProfile();

  @inline peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.ptr + <usize>this.pos) : -1;
  }

  skipWs(): void {
    // (In locals: a field of `this` costs a shadow-stack store at each use.)
    let p = this.pos;
    const n = this.len;
    const base = this.ptr;
    while (p < n) {
      const c = load<u8>(base + <usize>p);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      p++;
    }
    this.pos = p;
  }

  fail(): void {
    this.ok = false;
    this.pos = this.len;
  }

  expect(word: string): void {
    const n = word.length;
    if (this.pos + n > this.len) {
      this.fail();
      return;
    }
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.ptr + <usize>(this.pos + i)) != word.charCodeAt(i)) {
        this.fail();
        return;
      }
    }
    this.pos += n;
  }

  /**
   * After a member or element: true at a comma (another follows), false at the closing byte
   * `close` (consumed) or on a syntax error (then ok is false).
   */
  nextMember(close: i32): bool {
    this.skipWs();
    const d = this.peek();
    if (d == 44) {
      this.pos++;
      return true;
    }
    if (d == close) this.pos++;
    else this.fail();
    return false;
  }

  /** Decode a JSON string (at its opening quote) into `out`. */
  readString(out: TextBuf): void {
    this.pos++;
    while (this.ok) {
      if (this.pos >= this.len) {
        this.fail();
        return;
      }
      // Copy the run of plain bytes in one go; invalid UTF-8 becomes U+FFFD as Go decodes it.
      // (In locals: a field of `this` costs a shadow-stack store at each use.)
      let start = this.pos;
      let p = start;
      const n = this.len;
      const base = this.ptr;
      while (p < n) {
        const c = load<u8>(base + <usize>p);
        if (c == 34 || c == 92 || c < 32) break;
        if (c >= 0x80) {
          const cp = decodeRune(base + <usize>p, n - p);
          if (cp == 0xfffd && runeLen == 1) {
            if (p > start) out.bytes(base + <usize>start, p - start);
            out.rune(0xfffd);
            p++;
            start = p;
            continue;
          }
          p += runeLen;
          continue;
        }
        p++;
      }
      this.pos = p;
      if (p > start) out.bytes(base + <usize>start, p - start);
      if (this.pos >= this.len) {
        this.fail();
        return;
      }
      const c = <i32>load<u8>(this.ptr + <usize>this.pos);
      if (c == 34) {
        this.pos++;
        return;
      }
      if (c < 32) {
        this.fail();
        return;
      }
      // An escape.
      if (this.pos + 1 >= this.len) {
        this.fail();
        return;
      }
      const e = <i32>load<u8>(this.ptr + <usize>(this.pos + 1));
      this.pos += 2;
      switch (e) {
        case 34: out.byte(34); break;
        case 92: out.byte(92); break;
        case 47: out.byte(47); break;
        case 98: out.byte(8); break;
        case 102: out.byte(12); break;
        case 110: out.byte(10); break;
        case 114: out.byte(13); break;
        case 116: out.byte(9); break;
        case 117: {
          let cp = this.hex4();
          if (cp < 0) return;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            // A high surrogate pairs only with an escaped low one; alone it is U+FFFD (Go).
            if (this.pos + 6 <= this.len && load<u8>(this.ptr + <usize>this.pos) == 92 && load<u8>(this.ptr + <usize>(this.pos + 1)) == 117) {
              const save = this.pos;
              this.pos += 2;
              const lo = this.hex4();
              if (lo < 0) return;
              if (lo >= 0xdc00 && lo <= 0xdfff) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              else {
                this.pos = save;
                cp = 0xfffd;
              }
            } else {
              cp = 0xfffd;
            }
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cp = 0xfffd;
          }
          out.rune(cp);
          break;
        }
        default:
          this.fail();
          return;
      }
    }
  }

  hex4(): i32 {
    if (this.pos + 4 > this.len) {
      this.fail();
      return -1;
    }
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const h = hexValue(<i32>load<u8>(this.ptr + <usize>(this.pos + i)));
      if (h < 0) {
        this.fail();
        return -1;
      }
      v = (v << 4) | h;
    }
    this.pos += 4;
    return v;
  }

  /** Validate a JSON number at pos; returns its length (0 on a syntax error). */
  scanNumber(): i32 {
    const end = numberEnd(this.ptr, this.pos, this.len);
    if (end < 0) return 0;
    const n = end - this.pos;
    this.pos = end;
    return n;
  }

  /** Append Go's %v text of a number literal; false when it is not a finite float64. */
  numberText(start: i32, n: i32, out: TextBuf, fixed: bool): bool {
    const at = this.ptr + <usize>start;
    if (!fixed) {
      out.ensure(n + 32);
      const written = goNumberTextBytes(at, n, out.ptr() + <usize>out.len);
      if (written >= 0) {
        out.len += written;
        return true;
      }
    }
    const x = parseFloatGo(at, n);
    if (!isFinite(x)) return false;
    out.ascii(fixed ? formatFloatF6(x) : formatFloatV(x));
    return true;
  }

  /**
   * Append Go's %v text of the value at pos (an array element or a value inside an array):
   * arrays print as "[a b]", objects as "map[k:v]" with sorted keys, null as "<nil>".
   */
  leafText(out: TextBuf, depth: i32, fixed: bool): void {
    if (depth > MAX_BODY_DEPTH) {
      this.fail();
      return;
    }
    this.skipWs();
    const c = this.peek();
    if (c == 34) {
      this.readString(out);
    } else if (c == 116) {
      this.expect("true");
      out.ascii("true");
    } else if (c == 102) {
      this.expect("false");
      out.ascii("false");
    } else if (c == 110) {
      this.expect("null");
      out.ascii("<nil>");
    } else if (c == 91) {
      this.pos++;
      out.byte(91);
      this.skipWs();
      if (this.peek() == 93) {
        this.pos++;
        out.byte(93);
        return;
      }
      let first = true;
      while (this.ok) {
        if (!first) out.byte(32);
        first = false;
        this.leafText(out, depth + 1, false);
        if (!this.nextMember(93)) {
          if (this.ok) out.byte(93);
          return;
        }
      }
    } else if (c == 123) {
      this.objectText(out, depth);
    } else if (c == 45 || (c >= 48 && c <= 57)) {
      const start = this.pos;
      const n = this.scanNumber();
      if (n == 0 || !this.numberText(start, n, out, fixed)) this.fail();
    } else {
      this.fail();
    }
  }

  /**
   * Append Go's %v text of an object: "map[k1:v1 k2:v2]" with keys sorted byte-wise and a
   * repeated key holding its last value. Member texts are staged in a buffer of this depth.
   */
  objectText(out: TextBuf, depth: i32): void {
    if (depth > MAX_BODY_DEPTH) {
      this.fail();
      return;
    }
    while (stages.length <= depth) stages.push(new Stage());
    const stage = unchecked(stages[depth]);
    stage.reset();
    this.pos++;
    this.skipWs();
    if (this.peek() == 125) {
      this.pos++;
      out.ascii("map[]");
      return;
    }
    while (this.ok) {
      this.skipWs();
      if (this.peek() != 34) {
        this.fail();
        return;
      }
      const keyAt = stage.text.len;
      this.readString(stage.text);
      if (!this.ok) return;
      const keyLen = stage.text.len - keyAt;
      this.skipWs();
      if (this.peek() != 58) {
        this.fail();
        return;
      }
      this.pos++;
      const valAt = stage.text.len;
      this.leafText(stage.text, depth + 1, false);
      if (!this.ok) return;
      stage.set(keyAt, keyLen, valAt, stage.text.len - valAt);
      if (!this.nextMember(125)) break;
    }
    if (!this.ok) return;
    const order = stage.sortedOrder();
    out.ascii("map[");
    const base = stage.text.ptr();
    for (let i = 0; i < stage.count; i++) {
      const k = unchecked(order[i]);
      if (i > 0) out.byte(32);
      out.bytes(base + <usize>stage.field(k, KEY_AT), stage.field(k, KEY_LEN));
      out.byte(58);
      out.bytes(base + <usize>stage.field(k, VAL_AT), stage.field(k, VAL_LEN));
    }
    out.byte(93);
  }

  /** Members of an object at pos, recorded under `prefix:key` paths. */
  object(prefixLen: i32, depth: i32): void {
    if (depth > MAX_BODY_DEPTH) {
      this.fail();
      return;
    }
    this.pos++;
    this.skipWs();
    if (this.peek() == 125) {
      this.pos++;
      return;
    }
    while (this.ok) {
      this.skipWs();
      if (this.peek() != 34) {
        this.fail();
        return;
      }
      // The member's path "parent:child" is built in keyBuf after the parent's path.
      this.keyBuf.len = prefixLen;
      if (prefixLen > 0) this.keyBuf.byte(58);
      this.readString(this.keyBuf);
      if (!this.ok) return;
      const pathLen = this.keyBuf.len;
      this.skipWs();
      if (this.peek() != 58) {
        this.fail();
        return;
      }
      this.pos++;
      this.skipWs();
      const c = this.peek();
      if (c == 123 && !this.emptyObject()) {
        this.object(pathLen, depth + 1);
      } else {
        // An empty object has no member to carry its key: it is a leaf, Go's %v text "map[]", so
        // that a key added with `{}` as its value is seen (the original sees it as a structured
        // member too).
        // (null too: its key is kept, its value profiled as Go's %v text "<nil>".)
        // The fast path tallies the value's %v text (a string's decoded bytes) without writing
        // it; when it gives up, the text is written and profiled.
        const end = tallyLeaf(this.ptr, this.len, this.pos, depth + 1);
        if (end >= 0) {
          this.pos = end;
          tallyProfileInto(this.memberSlot(pathLen));
        } else {
          this.text.len = 0;
          this.leafText(this.text, depth + 1, false);
          if (this.ok) this.memberSlot(pathLen).profileBytes(this.text.ptr(), this.text.len);
        }
      }
      if (!this.nextMember(125)) return;
    }
  }

  /** Whether the object at pos has no member (`{`, white space, `}`). */
  emptyObject(): bool {
    let p = this.pos + 1;
    const n = this.len;
    const base = this.ptr;
    while (p < n) {
      const c = load<u8>(base + <usize>p);
      if (c != 32 && c != 9 && c != 10 && c != 13) return c == 125;
      p++;
    }
    return false;
  }

  /**
   * The profile to fill for the member whose path is in keyBuf: a new slot of kv, or the one of
   * the same key set earlier in this body (a repeated key keeps its last value, as in a Go map).
   */
  memberSlot(pathLen: i32): SimpleValProfile {
    const key = pathKey(this.keyBuf.ptr(), pathLen);
    const kv = this.kv;
    const slot = paths.lastSlot;
    if (!irregularKeys && slot >= 0 && paths.lastTag == 0) {
      if (unchecked(seenPaths[slot]) != bodyStamp) {
        unchecked((seenPaths[slot] = bodyStamp));
        // The interned path carries its KeyVal key and hash: nothing to hash per member.
        return kv.pushSlotKeyed(paths.keyAt(slot), paths.keyHashAt(slot));
      }
    }
    // From here on keyIndex holds every key of the body: later paths are all looked up in it.
    irregularKeys = true;
    const k = hashIfNeeded(key);
    let index = keyIndex;
    const filled = kv.filledCount();
    if (index == null) {
      index = new Map<string, i32>();
      const keys = kv.keys;
      for (let i = 0; i < filled; i++) index.set(unchecked(keys[i]), i);
      keyIndex = index;
    }
    if (index.has(k)) return unchecked(kv.vals[index.get(k)]);
    index.set(k, filled);
    return kv.pushSlotKeyed(k, keyHash(k));
  }
}

// The interned member paths this body has set, by intern slot: a slot holds the body's stamp
// once its path is set. From a path that is set again, is not interned, or is hashed as a key on,
// the body's paths are looked up by key in keyIndex (as KeyValProfile.set does).
const seenPaths = new StaticArray<u32>(SLOTS);
let bodyStamp: u32 = 0;
let irregularKeys = false;
let keyIndex: Map<string, i32> | null = null;

function nextBody(): void {
  bodyStamp++;
  if (bodyStamp == 0) {
    for (let i = 0; i < SLOTS; i++) unchecked((seenPaths[i] = 0));
    bodyStamp = 1;
  }
  irregularKeys = false;
  keyIndex = null;
}

const scanner = new JsonBodyScanner();
const paths = new InternTable();

/** The string of a member path, shared between bodies of the same shape. */
function pathKey(ptr: usize, len: i32): string {
  const known = paths.find(ptr, len);
  if (known != null) return known;
  const key = goStringFromUtf8(ptr, len);
  paths.add(ptr, len, key, hashIfNeeded(key) != key ? 1 : 0);
  return key;
}

/** Whether the body last given to profileJsonBody has data after its first value. */
export let jsonBodyTrailing = false;

/**
 * After the first value (at s.pos): null when Go's decoder would have refused the body, which it
 * does when a scalar runs into other bytes ("12abc", "truex", "\"a\"b"). Otherwise `p`, with
 * jsonBodyTrailing set when anything but whitespace follows (data the original ignored and a
 * streaming or NDJSON reader does not).
 */
function afterFirstValue(s: JsonBodyScanner, p: StructuredProfile, scalar: bool): StructuredProfile | null {
  if (!s.ok) return null;
  if (scalar && s.pos < s.len) {
    const c = load<u8>(s.ptr + <usize>s.pos);
    if (c != 32 && c != 9 && c != 10 && c != 13) return null;
  }
  s.skipWs();
  jsonBodyTrailing = s.pos < s.len;
  return p;
}

/**
 * The structured profile of a JSON body's first value, or null when it is not valid JSON; data
 * after that value sets jsonBodyTrailing. The profile is `reuse` refilled (a pooled session's
 * storage), or a new one.
 */
export function profileJsonBody(ptr: usize, len: i32, reuse: StructuredProfile | null = null): StructuredProfile | null {
  jsonBodyTrailing = false;
  const s = scanner;
  s.ptr = ptr;
  s.len = len;
  s.pos = 0;
  s.ok = true;
  s.skipWs();
  const c = s.peek();
  let p: StructuredProfile;
  if (reuse != null) {
    p = reuse;
    p.clearForReuse();
  } else {
    p = new StructuredProfile();
  }
  if (c == 123) {
    nextBody();
    const kv = p.reusableKv();
    s.kv = kv;
    s.keyBuf.len = 0;
    s.object(0, 1);
    kv.endRefill();
    if (!s.ok) return null;
    p.kind = KIND_OBJECT;
    p.kv = kv;
    return afterFirstValue(s, p, false);
  }
  if (c == 91) {
    s.pos++;
    const vals = p.reusableVals();
    s.skipWs();
    if (s.peek() == 93) {
      s.pos++;
    } else {
      while (s.ok) {
        const v = p.reusableVal(vals.length);
        const end = tallyLeaf(ptr, len, s.pos, 2);
        if (end >= 0) {
          s.pos = end;
          tallyProfileInto(v);
        } else {
          s.text.len = 0;
          s.leafText(s.text, 2, false);
          if (!s.ok) break;
          v.profileBytes(s.text.ptr(), s.text.len);
        }
        vals.push(v);
        if (!s.nextMember(93)) break;
      }
    }
    if (!s.ok) return null;
    p.kind = KIND_ARRAY;
    p.vals = vals;
    return afterFirstValue(s, p, false);
  }
  if (c == 110) {
    s.expect("null");
    return afterFirstValue(s, p, true);
  }
  s.text.len = 0;
  s.leafText(s.text, 1, true);
  if (!s.ok) return null;
  p.kind = c == 34 ? KIND_STRING : c == 116 || c == 102 ? KIND_BOOLEAN : KIND_NUMBER;
  const vals = p.reusableVals();
  const v = p.reusableVal(0);
  v.profileBytes(s.text.ptr(), s.text.len);
  vals.push(v);
  p.vals = vals;
  return afterFirstValue(s, p, true);
}
