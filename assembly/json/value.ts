// The JSON document tree produced by reader.ts, plus the few accessors that reproduce how Go's
// encoding/json fills a struct field from a decoded value (key matching, integer range checks).

export const enum JsonKind { Null = 0, Bool = 1, Number = 2, String = 3, Array = 4, Object = 5 }

// Shared empty arrays for scalar nodes: never mutated (containers always get their own arrays).
const NO_VALUES: Array<JsonValue> = [];
const NO_KEYS: Array<string> = [];

/** First type/range error met by the as*() accessors since the last clearJsonDecodeError(); "" if none.
 *  Like Go, the first error is kept and decoding goes on. */
export let jsonDecodeError: string = "";

export function clearJsonDecodeError(): void {
  jsonDecodeError = "";
}

function decodeFailure(msg: string): void {
  if (jsonDecodeError.length == 0) jsonDecodeError = msg;
}

function kindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "bool";
    case JsonKind.Number: return "number";
    case JsonKind.String: return "string";
    case JsonKind.Array: return "array";
    default: return "object";
  }
}

// ASCII case folding, the part of Go's struct-field matching that matters for ASCII field names.
function equalFoldAscii(a: string, b: string): bool {
  const n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x == y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x != y || x < 0x61 || x > 0x7a) return false;
  }
  return true;
}

export class JsonValue {
  kind: JsonKind;
  bool: bool = false;
  num: f64 = 0;
  /** Number text exactly as written in the input. */
  raw: string = "";
  str: string = "";
  /** Array elements (Array kind only). */
  items: Array<JsonValue> = NO_VALUES;
  /** Object members in input order, duplicates kept (Object kind only). */
  keys: Array<string> = NO_KEYS;
  vals: Array<JsonValue> = NO_VALUES;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  static newNull(): JsonValue { return new JsonValue(JsonKind.Null); }

  static newBool(b: bool): JsonValue {
    const v = new JsonValue(JsonKind.Bool);
    v.bool = b;
    return v;
  }

  static newString(s: string): JsonValue {
    const v = new JsonValue(JsonKind.String);
    v.str = s;
    return v;
  }

  static newNumber(num: f64, raw: string): JsonValue {
    const v = new JsonValue(JsonKind.Number);
    v.num = num;
    v.raw = raw;
    return v;
  }

  static newArray(): JsonValue {
    const v = new JsonValue(JsonKind.Array);
    v.items = new Array<JsonValue>();
    return v;
  }

  static newObject(): JsonValue {
    const v = new JsonValue(JsonKind.Object);
    v.keys = new Array<string>();
    v.vals = new Array<JsonValue>();
    return v;
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isObject(): bool { return this.kind == JsonKind.Object; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isString(): bool { return this.kind == JsonKind.String; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isBool(): bool { return this.kind == JsonKind.Bool; }

  /** Number of array elements or object members (duplicates counted); 0 for scalars. */
  get size(): i32 {
    if (this.kind == JsonKind.Array) return this.items.length;
    if (this.kind == JsonKind.Object) return this.keys.length;
    return 0;
  }

  /** The member a Go struct field named `key` is filled from: Go assigns every member whose key equals
   *  the field name exactly or up to ASCII case, in input order, so the last such member wins
   *  (`{"Digits":1,"digits":2}` fills `Digits` with 2). Null for non-objects and absent keys. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const keys = this.keys;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = unchecked(keys[i]);
      if (k == key || equalFoldAscii(k, key)) return unchecked(this.vals[i]);
    }
    return null;
  }

  /** The last member whose key is exactly `key` (map semantics: a Go map keeps the last duplicate). */
  getExact(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const keys = this.keys;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (unchecked(keys[i]) == key) return unchecked(this.vals[i]);
    }
    return null;
  }

  /** Go's rules for decoding into a uint of `bits` bits (8, 16, 32, 64): null keeps `def` silently;
   *  anything but an integer literal in range keeps `def` and records an error (Go: UnmarshalTypeError). */
  asUint(bits: i32, def: u64): u64 {
    if (this.kind == JsonKind.Null) return def;
    if (this.kind != JsonKind.Number) {
      decodeFailure("cannot unmarshal " + kindName(this.kind) + " into uint" + bits.toString());
      return def;
    }
    const raw = this.raw;
    const n = raw.length;
    let acc: u64 = 0;
    let ok = n > 0;
    for (let i = 0; i < n && ok; i++) {
      const c = raw.charCodeAt(i);
      if (c < 0x30 || c > 0x39) { ok = false; break; }
      const d = <u64>(c - 0x30);
      if (acc > (u64.MAX_VALUE - d) / 10) { ok = false; break; }
      acc = acc * 10 + d;
    }
    if (ok && bits < 64 && acc > ((<u64>1 << <u64>bits) - 1)) ok = false;
    if (!ok) {
      decodeFailure("cannot unmarshal number " + raw + " into uint" + bits.toString());
      return def;
    }
    return acc;
  }

  /** Go's rules for decoding into an int of `bits` bits (8, 16, 32, 64); see asUint. */
  asInt(bits: i32, def: i64): i64 {
    if (this.kind == JsonKind.Null) return def;
    if (this.kind != JsonKind.Number) {
      decodeFailure("cannot unmarshal " + kindName(this.kind) + " into int" + bits.toString());
      return def;
    }
    const raw = this.raw;
    const n = raw.length;
    let i = 0;
    const neg = n > 0 && raw.charCodeAt(0) == 0x2d;
    if (neg) i = 1;
    let ok = i < n;
    let acc: u64 = 0;
    // magnitude limit: 2^(bits-1) for negatives, 2^(bits-1)-1 otherwise
    const limit: u64 = (<u64>1 << <u64>(bits - 1)) - (neg ? 0 : 1);
    for (; i < n && ok; i++) {
      const c = raw.charCodeAt(i);
      if (c < 0x30 || c > 0x39) { ok = false; break; }
      const d = <u64>(c - 0x30);
      if (acc > (limit - d) / 10 || d > limit) { ok = false; break; }
      acc = acc * 10 + d;
    }
    if (!ok) {
      decodeFailure("cannot unmarshal number " + raw + " into int" + bits.toString());
      return def;
    }
    return neg ? -(<i64>acc) : <i64>acc;
  }

  /** Go's rules for decoding into a float64 (the reader already rejected ±Inf). */
  asF64(def: f64): f64 {
    if (this.kind == JsonKind.Null) return def;
    if (this.kind != JsonKind.Number) {
      decodeFailure("cannot unmarshal " + kindName(this.kind) + " into float64");
      return def;
    }
    return this.num;
  }

  asBool(def: bool): bool {
    if (this.kind == JsonKind.Null) return def;
    if (this.kind != JsonKind.Bool) {
      decodeFailure("cannot unmarshal " + kindName(this.kind) + " into bool");
      return def;
    }
    return this.bool;
  }

  asString(def: string): string {
    if (this.kind == JsonKind.Null) return def;
    if (this.kind != JsonKind.String) {
      decodeFailure("cannot unmarshal " + kindName(this.kind) + " into string");
      return def;
    }
    return this.str;
  }
}
