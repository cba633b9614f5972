// Body: faults, or an unstructured text, or a structured (JSON / form) value.
// Faults are cleared with the pile (difference 6 of docs/compatibility.md).
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideChild, decideInner } from "./decision";
import { SetConfig, SetPile, SetProfile } from "./set";
import { SimpleValConfig, SimpleValPile, SimpleValProfile } from "./simpleval";
import { StructuredConfig, StructuredPile, StructuredProfile } from "./structured";
import { asObject, enter, field, leave } from "./wire";

export const FAULT_TOO_LARGE = "TooLargeBody";
export const FAULT_UNKNOWN_SIZE = "UnknownSizeBody";
export const FAULT_JSON = "FailedJsonDecode";
/** Guard's own: a JSON body with data after its first value (docs/compatibility.md). */
export const FAULT_JSON_TRAILING = "JsonTrailingData";
export const FAULT_MULTIPART = "FailedMultipart";
export const FAULT_URLENCODED = "FailedUrlencoded";
export const FAULT_UNSTRUCTURED = "FailedUnstructured";

function present(v: JsonValue | null): bool {
  return v != null && v.kind != JsonKind.Null;
}

const EMPTY_FAULTS = new SetProfile();

export class BodyProfile {
  faults: SetProfile = new SetProfile();
  unstructured: SimpleValProfile | null = null;
  structured: StructuredProfile | null = null;
  // Kept when structured is null, so a pooled session refills the same objects request after request.
  private store: StructuredProfile | null = null;

  /** Storage for refilling the structured profile in place. */
  reusableStructured(): StructuredProfile {
    let s = this.store;
    if (s == null) {
      s = new StructuredProfile();
      this.store = s;
    }
    return s;
  }

  profileFault(fault: string): void {
    this.faults = SetProfile.ofString(fault);
  }

  profileUnstructured(p: SimpleValProfile): void {
    this.structured = null;
    this.unstructured = p;
  }

  profileStructured(p: StructuredProfile): void {
    this.unstructured = null;
    this.structured = p;
  }

  isEmpty(): bool {
    return this.faults.list == null && this.unstructured == null && this.structured == null;
  }

  reset(): void {
    this.faults = EMPTY_FAULTS;
    this.unstructured = null;
    this.structured = null;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("Faults");
    this.faults.write(w);
    w.key("unstructured");
    const u = this.unstructured;
    if (u == null) w.null();
    else u.write(w);
    w.key("structured");
    const s = this.structured;
    if (s == null) w.null();
    else s.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): BodyProfile {
    const o = asObject(v, "a body profile");
    const p = new BodyProfile();
    enter("Faults");
    p.faults = SetProfile.read(field(o, "Faults"));
    leave();
    const u = field(o, "unstructured");
    if (present(u)) {
      enter("unstructured");
      p.unstructured = SimpleValProfile.read(u);
      leave();
    }
    const s = field(o, "structured");
    if (present(s)) {
      enter("structured");
      p.structured = StructuredProfile.read(s);
      leave();
    }
    return p;
  }
}

export class BodyPile {
  faults: SetPile = new SetPile();
  unstructured: SimpleValPile | null = null;
  structured: StructuredPile | null = null;

  add(p: BodyProfile): void {
    this.faults.add(p.faults);
    const u = p.unstructured;
    if (u != null) {
      let pu = this.unstructured;
      if (pu == null) {
        pu = new SimpleValPile();
        this.unstructured = pu;
      }
      pu.add(u);
    }
    const s = p.structured;
    if (s != null) {
      let ps = this.structured;
      if (ps == null) {
        ps = new StructuredPile();
        this.structured = ps;
      }
      ps.add(s);
    }
  }

  merge(o: BodyPile): void {
    this.faults.merge(o.faults);
    const u = o.unstructured;
    if (u != null) {
      let pu = this.unstructured;
      if (pu == null) {
        pu = new SimpleValPile();
        this.unstructured = pu;
      }
      pu.merge(u);
    }
    const s = o.structured;
    if (s != null) {
      let ps = this.structured;
      if (ps == null) {
        ps = new StructuredPile();
        this.structured = ps;
      }
      ps.merge(s);
    }
  }

  clear(): void {
    this.faults.clear();
    this.unstructured = null;
    this.structured = null;
  }

  isEmpty(): bool {
    return this.faults.isEmpty() && this.unstructured == null && this.structured == null;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("faults");
    this.faults.write(w);
    w.key("unstructured");
    const u = this.unstructured;
    if (u == null) w.null();
    else u.write(w);
    w.key("structured");
    const s = this.structured;
    if (s == null) w.null();
    else s.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): BodyPile {
    const o = asObject(v, "a body pile");
    const p = new BodyPile();
    enter("faults");
    p.faults = SetPile.read(field(o, "faults"));
    leave();
    const u = field(o, "unstructured");
    if (present(u)) {
      enter("unstructured");
      p.unstructured = SimpleValPile.read(u);
      leave();
    }
    const s = field(o, "structured");
    if (present(s)) {
      enter("structured");
      p.structured = StructuredPile.read(s);
      leave();
    }
    return p;
  }
}

export class BodyConfig {
  faults: SetConfig = new SetConfig();
  unstructured: SimpleValConfig | null = null;
  structured: StructuredConfig | null = null;

  learn(p: BodyPile): void {
    this.faults.learn(p.faults);
    const u = p.unstructured;
    if (u != null) {
      let cu = this.unstructured;
      if (cu == null) {
        cu = new SimpleValConfig();
        this.unstructured = cu;
      }
      cu.learn(u);
    }
    const s = p.structured;
    if (s != null) {
      let cs = this.structured;
      if (cs == null) {
        cs = new StructuredConfig();
        this.structured = cs;
      }
      cs.learn(s);
    }
  }

  prepare(): void {
    this.faults.prepare();
    const u = this.unstructured;
    if (u != null) u.prepare();
    const s = this.structured;
    if (s != null) s.prepare();
  }

  decide(p: BodyProfile): Decision | null {
    let d = decideChild(null, this.faults.decide(p.faults), "Body Faults");
    const ps = p.structured;
    if (ps != null) {
      const cs = this.structured;
      if (cs != null) d = decideChild(d, cs.decide(ps), "Body");
      else d = decideInner(d, "Structured Body not allowed");
    }
    const pu = p.unstructured;
    if (pu != null) {
      const cu = this.unstructured;
      if (cu != null) d = decideChild(d, cu.decide(pu), "Body");
      else d = decideInner(d, "Unstructured Body not allowed");
    }
    return d;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("faults");
    this.faults.write(w);
    w.key("unstructured");
    const u = this.unstructured;
    if (u == null) w.null();
    else u.write(w);
    w.key("structured");
    const s = this.structured;
    if (s == null) w.null();
    else s.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): BodyConfig {
    const o = asObject(v, "a body config");
    const c = new BodyConfig();
    enter("faults");
    c.faults = SetConfig.read(field(o, "faults"));
    leave();
    const u = field(o, "unstructured");
    if (present(u)) {
      enter("unstructured");
      c.unstructured = SimpleValConfig.read(u);
      leave();
    }
    const s = field(o, "structured");
    if (present(s)) {
      enter("structured");
      c.structured = StructuredConfig.read(s);
      leave();
    }
    return c;
  }
}
