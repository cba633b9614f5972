// Decoding the original's wire JSON into model objects: Go's encoding/json rules (case-insensitive
// field names, null leaves a value unchanged, base64 or number arrays for byte slices) and one
// error slot that names the first offending field.
import { JsonKind, JsonValue } from "../json/value";
import { base64Decode } from "../text/base64";

let firstError: string | null = null;
const path = new Array<string>();

export function resetDecodeErrors(): void {
  firstError = null;
  path.length = 0;
}

export function decodeError(): string | null {
  return firstError;
}

// The name of the last field looked up, so that a bad scalar is reported by its own name.
let lastField: string = "";

/** Fail on the value of the field last looked up with field(). */
function failField(msg: string): void {
  if (lastField.length > 0) {
    path.push(lastField);
    fail(msg);
    path.pop();
  } else {
    fail(msg);
  }
}

export function fail(msg: string): void {
  if (firstError == null) {
    const where = path.length > 0 ? path.join(".") + ": " : "";
    firstError = where + msg;
  }
}

export function enter(name: string): void {
  path.push(name);
  lastField = "";
}

export function leave(): void {
  path.pop();
}

export function isNull(v: JsonValue | null): bool {
  return v == null || v.kind == JsonKind.Null;
}

/** A field of an object (null when absent or when the container is not an object). */
export function field(obj: JsonValue | null, name: string): JsonValue | null {
  lastField = name;
  if (obj == null || obj.kind != JsonKind.Object) return null;
  return obj.get(name);
}

/** Require an object (or null); any other kind is an error and reads as null. */
export function asObject(v: JsonValue | null, what: string): JsonValue | null {
  if (v == null || v.kind == JsonKind.Null) return null;
  if (v.kind != JsonKind.Object) {
    fail("expected " + what + " (an object)");
    return null;
  }
  return v;
}

export function asArray(v: JsonValue | null, what: string): Array<JsonValue> | null {
  if (v == null || v.kind == JsonKind.Null) return null;
  if (v.kind != JsonKind.Array) {
    fail("expected " + what + " (an array)");
    return null;
  }
  return v.items;
}

function integral(v: JsonValue, max: f64, what: string): f64 {
  if (v.kind != JsonKind.Number) {
    failField("expected " + what + ", got " + kindName(v.kind));
    return 0;
  }
  const n = v.num;
  if (!(n >= 0) || n > max || Math.floor(n) != n) {
    failField("number " + v.raw + " out of range for " + what);
    return 0;
  }
  return n;
}

export function readU8(v: JsonValue | null, dflt: u8): u8 {
  if (v == null || v.kind == JsonKind.Null) return dflt;
  return <u8>integral(v, 255, "a code (0–255)");
}

export function readU32(v: JsonValue | null, dflt: u32): u32 {
  if (v == null || v.kind == JsonKind.Null) return dflt;
  return <u32>integral(v, 4294967295, "an unsigned 32-bit integer");
}

export function readI64(v: JsonValue | null, dflt: i64): i64 {
  if (v == null || v.kind == JsonKind.Null) return dflt;
  if (v.kind != JsonKind.Number || Math.floor(v.num) != v.num || Math.abs(v.num) > 9007199254740991) {
    failField("expected an integer");
    return dflt;
  }
  return <i64>v.num;
}

export function readBool(v: JsonValue | null, dflt: bool): bool {
  if (v == null || v.kind == JsonKind.Null) return dflt;
  if (v.kind != JsonKind.Bool) {
    failField("expected true or false, got " + kindName(v.kind));
    return dflt;
  }
  return v.bool;
}

export function readString(v: JsonValue | null, dflt: string): string {
  if (v == null || v.kind == JsonKind.Null) return dflt;
  if (v.kind != JsonKind.String) {
    failField("expected a string, got " + kindName(v.kind));
    return dflt;
  }
  return v.str;
}

/** A Go []byte: base64 text, or a JSON array of numbers 0–255; null stays null. */
export function readBytes(v: JsonValue | null): Array<u8> | null {
  if (v == null || v.kind == JsonKind.Null) return null;
  if (v.kind == JsonKind.String) {
    const raw = base64Decode(v.str);
    if (raw == null) {
      failField("invalid base64 data");
      return null;
    }
    const out = new Array<u8>(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw[i];
    return out;
  }
  if (v.kind == JsonKind.Array) {
    const items = v.items;
    const out = new Array<u8>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = readU8(items[i], 0);
    return out;
  }
  failField("expected base64 text or an array of bytes");
  return null;
}

export function readU32Array(v: JsonValue | null): Array<u32> | null {
  const items = asArray(v, "a list of numbers");
  if (items == null) return null;
  const out = new Array<u32>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = readU32(items[i], 0);
  return out;
}

export function readStringArray(v: JsonValue | null): Array<string> | null {
  const items = asArray(v, "a list of strings");
  if (items == null) return null;
  const out = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = readString(items[i], "");
  return out;
}

export function kindName(k: JsonKind): string {
  switch (k) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "a boolean";
    case JsonKind.Number: return "a number";
    case JsonKind.String: return "a string";
    case JsonKind.Array: return "an array";
    default: return "an object";
  }
}
