// Test harness for assembly/json: thin exports over the reader and writer, driven by test/json.test.ts.
// Convention: inputs arrive in the io input buffer; results leave through the output buffer;
// the return value is 1 on success, 0 on failure (the output then holds the error message).

import { inputPtr, setOutputBytes, setOutputString } from "../io";
import { JsonLimits, jsonError, parseJson } from "../json/reader";
import { JsonValue, jsonDecodeError, clearJsonDecodeError } from "../json/value";
import { JsonWriter, sortKeysUtf8, writeJsonValue } from "../json/writer";

export { inputBuffer, outputPtr, outputLen } from "../io";

const w = new JsonWriter();
const defaults = new JsonLimits();

function emit(): i32 {
  setOutputBytes(w.ptr(), w.length());
  return 1;
}

function failed(): i32 {
  setOutputString(jsonError);
  return 0;
}

/** Parse then write back. mode bit 0: firstValueOnly; bit 1: Go map form (sorted keys, float64 numbers). */
export function t_roundtrip(len: i32, mode: i32): i32 {
  const v = parseJson(inputPtr(), len, defaults, (mode & 1) != 0);
  if (v == null) return failed();
  w.reset();
  writeJsonValue(w, v, (mode & 2) != 0);
  return emit();
}

/** Parse with explicit limits (≤ 0 keeps the default); writes back in input form. */
export function t_limits(len: i32, maxDepth: i32, maxNodes: i32, maxStringBytes: i32, maxBytes: i32, first: i32): i32 {
  const l = new JsonLimits();
  if (maxDepth > 0) l.maxDepth = maxDepth;
  if (maxNodes > 0) l.maxNodes = maxNodes;
  if (maxStringBytes > 0) l.maxStringBytes = maxStringBytes;
  if (maxBytes > 0) l.maxBytes = maxBytes;
  const v = parseJson(inputPtr(), len, l, first != 0);
  if (v == null) return failed();
  w.reset();
  writeJsonValue(w, v, false);
  return emit();
}

/** Parse only (for fuzzing and big inputs): 1 or 0 with the error as output. */
export function t_parse(len: i32, first: i32): i32 {
  const v = parseJson(inputPtr(), len, defaults, first != 0);
  if (v == null) return failed();
  setOutputString("");
  return 1;
}

/** Input: a JSON object, then the key as UTF-8 from byte `split`. exact=1 uses getExact. */
export function t_get(len: i32, split: i32, exact: i32): i32 {
  const v = parseJson(inputPtr(), split, defaults, false);
  if (v == null) return failed();
  const key = String.UTF8.decodeUnsafe(inputPtr() + <usize>split, <usize>(len - split));
  const f = exact != 0 ? v.getExact(key) : v.get(key);
  if (f == null) {
    setOutputString("<absent>");
    return 1;
  }
  w.reset();
  writeJsonValue(w, f, false);
  return emit();
}

/** Decodes the input value with the Go field rules: kind 0 uint<bits>, 1 int<bits>, 2 float64, 3 bool, 4 string.
 *  Output: the value, or "default" then "|" and the recorded error when there is one. */
export function t_as(len: i32, kind: i32, bits: i32): i32 {
  const v = parseJson(inputPtr(), len, defaults, false);
  if (v == null) return failed();
  clearJsonDecodeError();
  let s: string;
  switch (kind) {
    case 0: s = v.asUint(bits, 7).toString(); break;
    case 1: s = v.asInt(bits, -7).toString(); break;
    case 2: s = v.asF64(0.5).toString(); break;
    case 3: s = v.asBool(true) ? "true" : "false"; break;
    default: s = v.asString("def");
  }
  if (jsonDecodeError.length > 0) s += "|" + jsonDecodeError;
  setOutputString(s);
  return 1;
}

/** Input: UTF-16LE code units (lone surrogates allowed); output: the Go-encoded JSON string. */
export function t_string16(bytes: i32): i32 {
  const s = String.UTF16.decodeUnsafe(inputPtr(), <usize>bytes);
  w.reset();
  w.string(s);
  return emit();
}

export function t_number(v: f64): i32 {
  w.reset();
  w.number(v);
  if (w.unsupported) {
    setOutputString("unsupported");
    return 0;
  }
  return emit();
}

export function t_int(v: i64, u: u64): i32 {
  w.reset();
  w.beginArray();
  w.int(v);
  w.uint(u);
  w.endArray();
  return emit();
}

/** Input bytes → base64 string; isNull writes a nil []byte. */
export function t_base64(len: i32, isNull: i32): i32 {
  w.reset();
  if (isNull != 0) {
    w.bytesOrNull(null);
  } else {
    const a = new Uint8Array(len);
    memory.copy(a.dataStart, inputPtr(), <usize>len);
    w.bytesOrNull(a);
  }
  return emit();
}

/** Input: a JSON array of strings; output: the array sorted in UTF-8 byte order. */
export function t_sort(len: i32): i32 {
  const v = parseJson(inputPtr(), len, defaults, false);
  if (v == null) return failed();
  const keys = new Array<string>();
  for (let i = 0; i < v.items.length; i++) keys.push(v.items[i].str);
  const sorted = sortKeysUtf8(keys);
  w.reset();
  w.beginArray();
  for (let i = 0; i < sorted.length; i++) w.string(sorted[i]);
  w.endArray();
  return emit();
}

/** A nested document built with every writer method, to check comma placement. */
export function t_structure(): i32 {
  w.reset();
  w.beginObject();
  w.key("a");
  w.beginArray();
  w.int(1);
  w.beginObject();
  w.key("b");
  w.null();
  w.endObject();
  w.beginArray();
  w.endArray();
  w.beginArray();
  w.bool(false);
  w.beginArray();
  w.endArray();
  w.endArray();
  w.endArray();
  w.key("c");
  w.beginObject();
  w.endObject();
  w.key("d");
  w.string("x");
  w.key("e");
  w.bool(true);
  w.key("f");
  const bytes = new Uint8Array(4);
  bytes[0] = 1; bytes[1] = 2; bytes[2] = 3; bytes[3] = 255;
  w.bytesOrNull(bytes);
  w.key("g");
  w.bytesOrNull(null);
  w.key("h");
  w.rawJson("{\"x\":[1,2]}");
  w.key("i");
  w.uint(18446744073709551615);
  w.key("j");
  w.number(0.5);
  w.key("k");
  w.beginObject();
  w.key("l");
  w.beginObject();
  w.key("m");
  w.int(-9223372036854775808);
  w.endObject();
  w.key("n");
  w.number(1e21);
  w.endObject();
  w.endObject();
  // A second top-level document after reset must start clean.
  const first = w.toString();
  w.reset();
  w.beginArray();
  w.endArray();
  setOutputString(first + " " + w.toString());
  return 1;
}

// Keep the JsonValue type referenced for readers of this file (accessors are exercised via t_get/t_as).
export function t_nodeSize(): i32 {
  return offsetof<JsonValue>();
}
