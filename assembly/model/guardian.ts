// GuardianSpec: configured and learned criteria, the sample count and the five
// control flags. Criteria are prepared once when loaded or learned, never on the request path.
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { SessionDataConfig, SessionDataPile } from "./session";
import { asObject, enter, fail, field, leave, readBool, readU32 } from "./wire";

export const CTRL_ALERT = 1;
export const CTRL_BLOCK = 2;
export const CTRL_LEARN = 4;
export const CTRL_FORCE = 8;
export const CTRL_AUTO = 16;
export const MAX_SAMPLES: u32 = 1000000;

export class Ctrl {
  alert: bool = false;
  block: bool = false;
  learn: bool = false;
  force: bool = false;
  auto: bool = false;

  mask(): i32 {
    return (this.alert ? CTRL_ALERT : 0) | (this.block ? CTRL_BLOCK : 0) | (this.learn ? CTRL_LEARN : 0) |
      (this.force ? CTRL_FORCE : 0) | (this.auto ? CTRL_AUTO : 0);
  }

  static ofMask(m: i32): Ctrl {
    const c = new Ctrl();
    c.alert = (m & CTRL_ALERT) != 0;
    c.block = (m & CTRL_BLOCK) != 0;
    c.learn = (m & CTRL_LEARN) != 0;
    c.force = (m & CTRL_FORCE) != 0;
    c.auto = (m & CTRL_AUTO) != 0;
    return c;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("alert");
    w.bool(this.alert);
    w.key("block");
    w.bool(this.block);
    w.key("learn");
    w.bool(this.learn);
    w.key("force");
    w.bool(this.force);
    w.key("auto");
    w.bool(this.auto);
    w.endObject();
  }

  static read(v: JsonValue | null): Ctrl {
    const o = asObject(v, "a control object");
    const c = new Ctrl();
    enter("alert"); c.alert = readBool(field(o, "alert"), false); leave();
    enter("block"); c.block = readBool(field(o, "block"), false); leave();
    enter("learn"); c.learn = readBool(field(o, "learn"), false); leave();
    enter("force"); c.force = readBool(field(o, "force"), false); leave();
    enter("auto"); c.auto = readBool(field(o, "auto"), false); leave();
    return c;
  }
}

export class GuardianSpec {
  configured: SessionDataConfig | null = null;
  learned: SessionDataConfig | null = null;
  samples: u32 = 0;
  control: Ctrl | null = null;
  private emptyCriteria: SessionDataConfig = new SessionDataConfig();

  /** The service's default: no criteria; auto, learn, force and alert on; block off. */
  static defaults(): GuardianSpec {
    const g = new GuardianSpec();
    g.control = Ctrl.ofMask(CTRL_ALERT | CTRL_LEARN | CTRL_FORCE | CTRL_AUTO);
    return g;
  }

  controlMask(): i32 {
    const c = this.control;
    return c == null ? 0 : c.mask();
  }

  /** Learned criteria when control.auto, else configured; an empty (inactive) config when absent. */
  criteria(): SessionDataConfig {
    const c = this.control;
    const chosen = c != null && c.auto ? this.learned : this.configured;
    return chosen == null ? this.emptyCriteria : chosen;
  }

  prepare(): void {
    const c = this.configured;
    if (c != null) c.prepare();
    const l = this.learned;
    if (l != null) l.prepare();
  }

  /** Widen `learned` by a pile (as guard-service does) and count its samples, capped. */
  learn(p: SessionDataPile): void {
    let l = this.learned;
    if (l == null) {
      l = new SessionDataConfig();
      this.learned = l;
    }
    if (p.count == 0) return;
    l.learn(p);
    const total = <u64>this.samples + <u64>p.count;
    this.samples = total > <u64>MAX_SAMPLES ? MAX_SAMPLES : <u32>total;
    l.prepare();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("configured");
    const c = this.configured;
    if (c == null) w.null();
    else c.write(w);
    const l = this.learned;
    if (l != null) {
      w.key("learned");
      l.write(w);
    }
    w.key("samples");
    w.uint(this.samples);
    w.key("control");
    const ctl = this.control;
    if (ctl == null) w.null();
    else ctl.write(w);
    w.endObject();
  }

  /** Read a GuardianSpec, or a whole Guardian object (its `spec`). */
  static read(v: JsonValue | null): GuardianSpec {
    const g = new GuardianSpec();
    let o = asObject(v, "a GuardianSpec or Guardian object");
    if (o == null) {
      fail("a Guardian must be a JSON object");
      return g;
    }
    const kind = field(o, "kind");
    const spec = field(o, "spec");
    const isObject = kind != null && kind.kind == JsonKind.String;
    const wrapped = isObject || (spec != null && spec.kind == JsonKind.Object && field(o, "configured") == null && field(o, "learned") == null);
    if (wrapped) {
      if (isObject && kind!.str != "Guardian") fail("kind " + kind!.str + " is not a Guardian");
      enter("spec");
      o = asObject(spec, "the Guardian's spec");
      if (o == null) {
        fail("the Guardian object has no spec");
        leave();
        return g;
      }
    }
    const cf = field(o, "configured");
    if (cf != null && cf.kind != JsonKind.Null) { enter("configured"); g.configured = SessionDataConfig.read(cf); leave(); }
    const lf = field(o, "learned");
    if (lf != null && lf.kind != JsonKind.Null) { enter("learned"); g.learned = SessionDataConfig.read(lf); leave(); }
    enter("samples"); g.samples = readU32(field(o, "samples"), 0); leave();
    if (g.samples > MAX_SAMPLES) g.samples = MAX_SAMPLES;
    const ctl = field(o, "control");
    if (ctl != null && ctl.kind != JsonKind.Null) { enter("control"); g.control = Ctrl.read(ctl); leave(); }
    if (wrapped) leave();
    return g;
  }
}
