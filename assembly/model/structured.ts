// Structured: the profile of a decoded JSON (or form) value. Objects become a KeyVal of leaf texts
// keyed by their full path "a:b:c" (difference 4 of docs/compatibility.md); top-level arrays are
// profiled element by element (difference 3); leaves use Go's %v text, top-level numbers Go's %f.
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { formatFloatF6, formatFloatV } from "../text/gofmt";
import { compareUtf8 } from "../text/utf8";
import { goNumberTextFromLiteral } from "../text/gonumber";
import { Decision, decideChild, decideInner } from "./decision";
import { TABLE_PARAMS } from "./caps";
import { KeyValConfig, KeyValPile, KeyValProfile, writeKeyValProfile } from "./keyval";
import { SimpleValConfig, SimpleValPile, SimpleValProfile } from "./simpleval";
import { asArray, asObject, enter, fail, field, leave, readString } from "./wire";

export const KIND_EMPTY = "";
export const KIND_OBJECT = "object";
export const KIND_ARRAY = "array";
export const KIND_NUMBER = "number";
export const KIND_BOOLEAN = "boolean";
export const KIND_STRING = "string";
export const KIND_MULTI = "multi";

function isValueKind(k: string): bool {
  return k == KIND_ARRAY || k == KIND_NUMBER || k == KIND_BOOLEAN || k == KIND_STRING;
}

/** Go's default %v text of a decoded JSON value. */
export function goValueText(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.String: return v.str;
    case JsonKind.Number: {
      const fast = v.raw.length > 0 ? goNumberTextFromLiteral(v.raw) : null;
      return fast != null ? fast : formatFloatV(v.num);
    }
    case JsonKind.Bool: return v.bool ? "true" : "false";
    case JsonKind.Null: return "<nil>";
    default: {
      const parts = new Array<string>();
      appendValueText(v, parts);
      return parts.join("");
    }
  }
}

function appendValueText(v: JsonValue, parts: Array<string>): void {
  if (v.kind == JsonKind.Array) {
    parts.push("[");
    for (let i = 0; i < v.items.length; i++) {
      if (i > 0) parts.push(" ");
      appendValueText(v.items[i], parts);
    }
    parts.push("]");
  } else if (v.kind == JsonKind.Object) {
    // Go prints a map with its keys sorted; a duplicated key holds its last value.
    const last = lastValues(v);
    const keys = last.keys();
    keys.sort((a: string, b: string): i32 => compareUtf8(a, b));
    parts.push("map[");
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) parts.push(" ");
      parts.push(keys[i]);
      parts.push(":");
      appendValueText(last.get(keys[i]), parts);
    }
    parts.push("]");
  } else {
    parts.push(goValueText(v));
  }
}

function lastValues(o: JsonValue): Map<string, JsonValue> {
  const m = new Map<string, JsonValue>();
  for (let i = 0; i < o.keys.length; i++) m.set(o.keys[i], o.vals[i]);
  return m;
}

export class StructuredProfile {
  kind: string = KIND_EMPTY;
  vals: Array<SimpleValProfile> | null = null;
  kv: KeyValProfile | null = null;
  // Storage kept across refills of a pooled session's profile (reusableKv, reusableVals).
  private storeKv: KeyValProfile | null = null;
  private storeVals: Array<SimpleValProfile> | null = null;
  private spareVals: Array<SimpleValProfile> | null = null;

  /** Empty this profile (kind "") for refilling; its storage is kept. */
  clearForReuse(): void {
    this.kind = KIND_EMPTY;
    this.vals = null;
    this.kv = null;
  }

  /**
   * The KeyVal profile of the last refill, begun to be refilled (KeyValProfile.beginRefill): the
   * caller fills it with pushSlotKeyed and ends with endRefill.
   */
  reusableKv(): KeyValProfile {
    let kv = this.storeKv;
    if (kv == null) {
      kv = new KeyValProfile();
      this.storeKv = kv;
    }
    kv.beginRefill();
    return kv;
  }

  /** An empty list of values to fill with reusableVal, reusing the one of the last refill. */
  reusableVals(): Array<SimpleValProfile> {
    let vals = this.storeVals;
    if (vals == null) {
      vals = new Array<SimpleValProfile>();
      this.storeVals = vals;
    }
    vals.length = 0;
    return vals;
  }

  /** A profile to fill as value i of the list (reused across refills). */
  reusableVal(i: i32): SimpleValProfile {
    let spare = this.spareVals;
    if (spare == null) {
      spare = new Array<SimpleValProfile>();
      this.spareVals = spare;
    }
    if (i < spare.length) return unchecked(spare[i]);
    const p = new SimpleValProfile();
    spare.push(p);
    return p;
  }

  /**
   * The original's profile of a decoded value: an object member whose value is null is left out.
   * With `keepNulls` (how Guard profiles bodies, docs/compatibility.md) its key is kept and its
   * value profiled as Go's %v text of nil, "<nil>", as a null inside an array always was.
   */
  static of(v: JsonValue | null, keepNulls: bool = false): StructuredProfile {
    const p = new StructuredProfile();
    if (v == null) return p;
    switch (v.kind) {
      case JsonKind.Null:
        break;
      case JsonKind.Object: {
        p.kind = KIND_OBJECT;
        const kv = new KeyValProfile();
        addObject(kv, "", v, keepNulls);
        p.kv = kv;
        break;
      }
      case JsonKind.Array: {
        p.kind = KIND_ARRAY;
        const vals = new Array<SimpleValProfile>(v.items.length);
        for (let i = 0; i < v.items.length; i++) vals[i] = SimpleValProfile.ofString(goValueText(v.items[i]));
        p.vals = vals;
        break;
      }
      case JsonKind.Number:
        p.kind = KIND_NUMBER;
        p.vals = single(SimpleValProfile.ofString(formatFloatF6(v.num)));
        break;
      case JsonKind.Bool:
        p.kind = KIND_BOOLEAN;
        p.vals = single(SimpleValProfile.ofString(v.bool ? "true" : "false"));
        break;
      default:
        p.kind = KIND_STRING;
        p.vals = single(SimpleValProfile.ofString(v.str));
    }
    return p;
  }

  /** A submitted form (Go's postForm): each field's values printed as Go prints a []string. */
  static ofForm(keys: Array<string>, values: Array<Array<string>>): StructuredProfile {
    const p = new StructuredProfile();
    p.kind = KIND_OBJECT;
    const kv = new KeyValProfile();
    for (let i = 0; i < keys.length; i++) {
      const vs = values[i];
      const sv = SimpleValProfile.ofString("[" + vs.join(" ") + "]");
      // A single value (a CSRF token field) is a token by its own characters, not the brackets.
      if (vs.length == 1) sv.classifyTokenString(vs[0]);
      kv.set(keys[i], sv);
    }
    p.kv = kv;
    return p;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kind");
    w.string(this.kind);
    w.key("vals");
    const vals = this.vals;
    if (vals == null) w.null();
    else {
      w.beginArray();
      for (let i = 0; i < vals.length; i++) vals[i].write(w);
      w.endArray();
    }
    w.key("kv");
    writeKeyValProfile(w, this.kv);
    w.endObject();
  }

  static read(v: JsonValue | null): StructuredProfile {
    const o = asObject(v, "a structured profile");
    const p = new StructuredProfile();
    p.kind = readKind(field(o, "kind"));
    const items = asArray(field(o, "vals"), "a list of SimpleVal profiles");
    if (items != null) {
      const vals = new Array<SimpleValProfile>(items.length);
      for (let i = 0; i < items.length; i++) vals[i] = SimpleValProfile.read(items[i]);
      p.vals = vals;
    }
    enter("kv");
    p.kv = KeyValProfile.read(field(o, "kv"));
    leave();
    return p;
  }
}

function single(p: SimpleValProfile): Array<SimpleValProfile> {
  const a = new Array<SimpleValProfile>(1);
  a[0] = p;
  return a;
}

function addObject(kv: KeyValProfile, prefix: string, o: JsonValue, keepNulls: bool): void {
  for (let i = 0; i < o.keys.length; i++) {
    const key = prefix.length == 0 ? o.keys[i] : prefix + ":" + o.keys[i];
    const v = o.vals[i];
    if (v.kind == JsonKind.Null && !keepNulls) continue;
    // An empty object is a leaf ("map[]"), as in the gate's body profiler (ingest/jsonbody.ts).
    if (v.kind == JsonKind.Object && v.keys.length > 0) addObject(kv, key, v, keepNulls);
    else kv.set(key, SimpleValProfile.ofString(goValueText(v)));
  }
}

function readKind(v: JsonValue | null): string {
  const k = readString(v, "");
  if (k == KIND_EMPTY || k == KIND_OBJECT || k == KIND_MULTI || isValueKind(k)) return k;
  fail("unknown structured kind \"" + k + "\"");
  return KIND_MULTI;
}

export class StructuredPile {
  kind: string = KIND_EMPTY;
  val: SimpleValPile | null = null;
  kv: KeyValPile = new KeyValPile();

  add(p: StructuredProfile): void {
    if (this.kind == KIND_EMPTY) {
      if (p.kind == KIND_EMPTY) return;
      this.adopt(p.kind);
    }
    if (this.kind != p.kind) {
      this.kind = KIND_MULTI;
      return;
    }
    if (this.kind == KIND_OBJECT) {
      this.kv.add(p.kv);
      return;
    }
    const vals = p.vals;
    if (vals == null) return;
    let val = this.val;
    if (val == null) {
      val = new SimpleValPile();
      this.val = val;
    }
    if (this.kind == KIND_ARRAY) {
      for (let i = 0; i < vals.length; i++) val.add(vals[i]);
    } else if (vals.length > 0) {
      val.add(vals[0]);
    }
  }

  private adopt(kind: string): void {
    this.kind = kind;
    if (isValueKind(kind) && this.val == null) this.val = new SimpleValPile();
  }

  merge(o: StructuredPile): void {
    if (this.kind == KIND_EMPTY) this.adopt(o.kind);
    if (this.kind != o.kind) {
      this.kind = KIND_MULTI;
      return;
    }
    if (this.kind == KIND_OBJECT) {
      this.kv.merge(o.kv);
    } else if (isValueKind(this.kind)) {
      const ov = o.val;
      if (ov == null) return;
      let val = this.val;
      if (val == null) {
        val = new SimpleValPile();
        this.val = val;
      }
      val.merge(ov);
    }
  }

  clear(): void {
    this.kind = KIND_EMPTY;
    this.val = null;
    this.kv = new KeyValPile();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kind");
    w.string(this.kind);
    w.key("val");
    const val = this.val;
    if (val == null) w.null();
    else val.write(w);
    w.key("kv");
    this.kv.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): StructuredPile {
    const o = asObject(v, "a structured pile");
    const p = new StructuredPile();
    p.kind = readKind(field(o, "kind"));
    const val = field(o, "val");
    if (val != null && val.kind != JsonKind.Null) {
      enter("val");
      p.val = SimpleValPile.read(val);
      leave();
    }
    enter("kv");
    p.kv = KeyValPile.read(field(o, "kv"));
    leave();
    return p;
  }
}

export class StructuredConfig {
  kind: string = KIND_EMPTY;
  val: SimpleValConfig | null = null;
  kv: KeyValConfig = paramsTable();

  learn(p: StructuredPile): void {
    if (this.kind == KIND_EMPTY) {
      this.kind = p.kind;
      if (isValueKind(p.kind) && this.val == null) this.val = new SimpleValConfig();
    }
    if (this.kind != p.kind) {
      this.kind = KIND_MULTI;
      return;
    }
    if (this.kind == KIND_OBJECT) {
      this.kv.learn(p.kv);
    } else if (isValueKind(this.kind)) {
      const pv = p.val;
      if (pv == null) return;
      this.valConfig().learn(pv);
    }
  }

  private valConfig(): SimpleValConfig {
    let val = this.val;
    if (val == null) {
      val = new SimpleValConfig();
      this.val = val;
    }
    return val;
  }

  prepare(): void {
    if (this.kind == KIND_OBJECT) this.kv.prepare();
    else if (isValueKind(this.kind)) this.valConfig().prepare();
  }

  decide(p: StructuredProfile): Decision | null {
    if (this.kind != p.kind) {
      if (this.kind == KIND_MULTI) return null;
      return decideInner(null, "Structured -  kind mismatch allowed " + this.kind + " has " + p.kind);
    }
    if (this.kind == KIND_OBJECT) return decideChild(null, this.kv.decide(p.kv), "Structured KeyVal:");
    const vals = p.vals;
    if (vals == null || !isValueKind(this.kind)) return null;
    // A config without val (hand-written or decoded null) decides as an empty one (the original
    // crashed on it; docs/compatibility.md).
    const val = this.valConfig();
    if (this.kind == KIND_ARRAY) {
      let d: Decision | null = null;
      for (let i = 0; i < vals.length; i++) d = decideChild(d, val.decide(vals[i]), "Structured - array val");
      return d;
    }
    if (vals.length == 0) return null;
    return decideChild(null, val.decide(vals[0]), "Structured - val");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kind");
    w.string(this.kind);
    w.key("val");
    const val = this.val;
    if (val == null) w.null();
    else val.write(w);
    w.key("kv");
    this.kv.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): StructuredConfig {
    const o = asObject(v, "a structured config");
    const c = new StructuredConfig();
    c.kind = readKind(field(o, "kind"));
    const val = field(o, "val");
    if (val != null && val.kind != JsonKind.Null) {
      enter("val");
      c.val = SimpleValConfig.read(val);
      leave();
    }
    enter("kv");
    c.kv = KeyValConfig.read(field(o, "kv"));
    c.kv.tableKind = TABLE_PARAMS;
    leave();
    return c;
  }
}

/** Body fields (form and JSON) are parameters: their cap is the parameters' (caps.ts). */
function paramsTable(): KeyValConfig {
  const c = new KeyValConfig();
  c.tableKind = TABLE_PARAMS;
  return c;
}
