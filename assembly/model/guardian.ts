// GuardianSpec: configured and learned criteria, the sample count and the five control flags —
// plus Guard's optional control members (docs/routes.md): the policies for unknown routes and
// parameter names and the slack on learned limits. Criteria are prepared once when loaded or
// learned, never on the request path.
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Caps } from "./caps";
import { MAX_SLACK, POLICY_ALERT, policyName, policyOf, resetDecidePolicy, useDecidePolicy } from "./policy";
import { RouteTable } from "./routes";
import { Readiness } from "./readiness";
import { xxh3_64 } from "../text/xxh3";
import { setReadinessView } from "./simpleval";
import { SessionDataConfig, SessionDataPile } from "./session";
import { asObject, enter, fail, field, leave, readBool, readString, readU32 } from "./wire";

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
  /** What an unknown route does (policy.ts); written only when not the default (alert). */
  unknownRoute: u8 = POLICY_ALERT;
  /** What an unknown parameter name on a known route does. */
  unknownParam: u8 = POLICY_ALERT;
  /** Steps every learned limit is widened by when deciding (0–16). */
  slack: u8 = 0;

  /** Set the five flags from a mask, keeping the rest. */
  setMask(m: i32): void {
    this.alert = (m & CTRL_ALERT) != 0;
    this.block = (m & CTRL_BLOCK) != 0;
    this.learn = (m & CTRL_LEARN) != 0;
    this.force = (m & CTRL_FORCE) != 0;
    this.auto = (m & CTRL_AUTO) != 0;
  }

  /** Alert on unknown routes and names, no slack: what is in force between decisions. */
  hasDefaultPolicy(): bool {
    return this.unknownRoute == POLICY_ALERT && this.unknownParam == POLICY_ALERT && this.slack == 0;
  }

  /** Decide with this control's policies and slack until resetDecidePolicy(). */
  useForDeciding(): void {
    useDecidePolicy(this.slack, this.unknownRoute, this.unknownParam);
  }

  mask(): i32 {
    return (this.alert ? CTRL_ALERT : 0) | (this.block ? CTRL_BLOCK : 0) | (this.learn ? CTRL_LEARN : 0) |
      (this.force ? CTRL_FORCE : 0) | (this.auto ? CTRL_AUTO : 0);
  }

  static ofMask(m: i32): Ctrl {
    const c = new Ctrl();
    c.setMask(m);
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
    if (this.unknownRoute != POLICY_ALERT) {
      w.key("unknownRoute");
      w.string(policyName(this.unknownRoute));
    }
    if (this.unknownParam != POLICY_ALERT) {
      w.key("unknownParam");
      w.string(policyName(this.unknownParam));
    }
    if (this.slack != 0) {
      w.key("slack");
      w.uint(this.slack);
    }
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
    c.unknownRoute = readPolicy(o, "unknownRoute");
    c.unknownParam = readPolicy(o, "unknownParam");
    const slack = readU32(field(o, "slack"), 0);
    if (slack <= <u32>MAX_SLACK) c.slack = <u8>slack;
    else {
      enter("slack");
      fail("expected an integer from 0 to " + MAX_SLACK.toString() + ", got " + slack.toString());
      leave();
    }
    return c;
  }
}

function readPolicy(o: JsonValue | null, name: string): u8 {
  const s = readString(field(o, name), "alert");
  const p = policyOf(s);
  if (p != 255) return p;
  enter(name);
  fail("expected alert, ignore or service-wide, got \"" + s + "\"");
  leave();
  return POLICY_ALERT;
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

  /** Whether the learned rules are ready (readiness.ts): true when they do not track readiness. */
  learnedReady(): bool {
    const l = this.learned;
    if (l == null) return true;
    const r = l.readiness;
    return r == null || r.ready;
  }

  /** control.block as it applies: with auto, only once the learned rules are ready. */
  blocks(): bool {
    const c = this.control;
    if (c == null || !c.block) return false;
    return !c.auto || this.learnedReady();
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

  /**
   * Widen `learned` by a pile (as guard-service does) and count its samples, capped. Without caps
   * it learns with what `learned` records (the original's 7 keys and no route table when it
   * records nothing); with caps it learns with them and records them. A route table is started
   * only by the first pile learned, and only when that pile carries routes: one started later
   * would not know the routes seen before and would alert on them (docs/routes.md). Caps routes 0
   * drop the route table.
   */
  learn(p: SessionDataPile, caps: Caps | null): void {
    let l = this.learned;
    const fresh = l == null || !l.active;
    if (l == null) {
      l = new SessionDataConfig();
      this.learned = l;
    }
    if (p.count == 0) return;
    if (caps != null) {
      if (caps.routes == 0) l.routes = null;
      else if (fresh && l.routes == null && !p.routes.isEmpty()) l.routes = new RouteTable();
      const recorded = l.caps;
      if (recorded == null || !recorded.equals(caps)) {
        l.caps = caps.copy();
        l.prepare();
      }
    }
    // Guard's learning (with caps) tracks readiness from a fresh start; criteria that already
    // track it keep doing so. Whether the rules widened: their wire form before and after.
    let readiness = l.readiness;
    if (readiness == null && caps != null && fresh) {
      readiness = new Readiness();
      l.readiness = readiness;
    }
    const before = readiness != null ? rulesHash(l) : 0;
    l.learn(p);
    if (readiness != null) readiness.record(p.count, rulesHash(l) != before);
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

const hashWriter = new JsonWriter();

/** A hash of the rules of a criteria (its wire form without the readiness record). */
function rulesHash(c: SessionDataConfig): u64 {
  const r = c.readiness;
  c.readiness = null;
  hashWriter.reset();
  setReadinessView(true);
  c.write(hashWriter);
  setReadinessView(false);
  c.readiness = r;
  return xxh3_64(hashWriter.ptr(), hashWriter.length());
}
