// SessionData: one request/response exchange. In the config, a section that was never learned is
// null and not enforced (difference 8 of docs/compatibility.md); only the request is always
// present. Two optional members are Guard's (docs/routes.md): the pile's and the config's route
// table (absent: no route checks) and the caps a config was learned with (absent: the original's).
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { BodyConfig, BodyPile, BodyProfile } from "./body";
import { Readiness } from "./readiness";
import { Caps, DEFAULT_PARAM_CAP, DEFAULT_ROUTE_CAP, useCaps } from "./caps";
import { Decision, decideChild } from "./decision";
import { EnvelopConfig, EnvelopPile, EnvelopProfile } from "./envelop";
import { PodConfig, PodPile, PodProfile } from "./pod";
import { ReqConfig, ReqPile, ReqProfile } from "./req";
import { RespConfig, RespPile, RespProfile } from "./resp";
import { RoutePile, RouteTable } from "./routes";
import { asObject, enter, field, leave, readBool, readU32 } from "./wire";

export const SECTION_REQ = 1;
export const SECTION_RESP = 2;
export const SECTION_REQBODY = 4;
export const SECTION_RESPBODY = 8;
export const SECTION_ENVELOP = 16;
export const SECTION_POD = 32;
export const SECTION_ALL = 63;

export class SessionDataProfile {
  req: ReqProfile = new ReqProfile();
  resp: RespProfile = new RespProfile();
  reqbody: BodyProfile = new BodyProfile();
  respbody: BodyProfile = new BodyProfile();
  envelop: EnvelopProfile = new EnvelopProfile();
  pod: PodProfile = new PodProfile();

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("req");
    this.req.write(w);
    w.key("resp");
    this.resp.write(w);
    w.key("reqbody");
    this.reqbody.write(w);
    w.key("respbody");
    this.respbody.write(w);
    w.key("envelop");
    this.envelop.write(w);
    w.key("pod");
    this.pod.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): SessionDataProfile {
    const o = asObject(v, "a session profile");
    const p = new SessionDataProfile();
    enter("req"); p.req = ReqProfile.read(field(o, "req")); leave();
    enter("resp"); p.resp = RespProfile.read(field(o, "resp")); leave();
    enter("reqbody"); p.reqbody = BodyProfile.read(field(o, "reqbody")); leave();
    enter("respbody"); p.respbody = BodyProfile.read(field(o, "respbody")); leave();
    enter("envelop"); p.envelop = EnvelopProfile.read(field(o, "envelop")); leave();
    enter("pod"); p.pod = PodProfile.read(field(o, "pod")); leave();
    return p;
  }
}

export class SessionDataPile {
  count: u32 = 0;
  req: ReqPile = new ReqPile();
  resp: RespPile = new RespPile();
  reqbody: BodyPile = new BodyPile();
  respbody: BodyPile = new BodyPile();
  envelop: EnvelopPile = new EnvelopPile();
  pod: PodPile = new PodPile();
  routes: RoutePile = new RoutePile();

  /** Add a session; `sections` says which parts were profiled (others are left out). */
  add(p: SessionDataProfile, sections: i32): void {
    this.count++;
    this.req.add(p.req);
    this.routes.add(p.req, sections & SECTION_REQBODY ? p.reqbody : null);
    if (sections & SECTION_RESP) this.resp.add(p.resp);
    if (sections & SECTION_REQBODY) this.reqbody.add(p.reqbody);
    if (sections & SECTION_RESPBODY) this.respbody.add(p.respbody);
    if (sections & SECTION_ENVELOP) this.envelop.add(p.envelop);
    if (sections & SECTION_POD) this.pod.add(p.pod);
  }

  merge(o: SessionDataPile): void {
    this.count += o.count;
    this.req.merge(o.req);
    this.resp.merge(o.resp);
    this.reqbody.merge(o.reqbody);
    this.respbody.merge(o.respbody);
    this.envelop.merge(o.envelop);
    this.pod.merge(o.pod);
    this.routes.merge(o.routes);
  }

  clear(): void {
    this.count = 0;
    this.req.clear();
    this.resp.clear();
    this.reqbody.clear();
    this.respbody.clear();
    this.envelop.clear();
    this.pod.clear();
    this.routes.clear();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("count");
    w.uint(this.count);
    w.key("req");
    this.req.write(w);
    w.key("resp");
    this.resp.write(w);
    w.key("reqbody");
    this.reqbody.write(w);
    w.key("respbody");
    this.respbody.write(w);
    w.key("envelop");
    this.envelop.write(w);
    w.key("pod");
    this.pod.write(w);
    // Guard's: absent from the original's piles (and ignored by its decoder).
    if (!this.routes.isEmpty()) {
      w.key("routes");
      this.routes.write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): SessionDataPile {
    const o = asObject(v, "a session pile");
    const p = new SessionDataPile();
    enter("count"); p.count = readU32(field(o, "count"), 0); leave();
    enter("req"); p.req = ReqPile.read(field(o, "req")); leave();
    enter("resp"); p.resp = RespPile.read(field(o, "resp")); leave();
    enter("reqbody"); p.reqbody = BodyPile.read(field(o, "reqbody")); leave();
    enter("respbody"); p.respbody = BodyPile.read(field(o, "respbody")); leave();
    enter("envelop"); p.envelop = EnvelopPile.read(field(o, "envelop")); leave();
    enter("pod"); p.pod = PodPile.read(field(o, "pod")); leave();
    const routes = field(o, "routes");
    if (present(routes)) { enter("routes"); p.routes = RoutePile.read(routes); leave(); }
    return p;
  }
}

function present(v: JsonValue | null): bool {
  return v != null && v.kind != JsonKind.Null;
}

export class SessionDataConfig {
  active: bool = false;
  req: ReqConfig = new ReqConfig();
  resp: RespConfig | null = null;
  reqbody: BodyConfig | null = null;
  respbody: BodyConfig | null = null;
  envelop: EnvelopConfig | null = null;
  pod: PodConfig | null = null;
  /** The caps this criteria was learned with; null: the original's (7 keys by name). */
  caps: Caps | null = null;
  /** The routes and their parameter names; null: no route checks (the original). */
  routes: RouteTable | null = null;
  /** How settled the learned rules are (readiness.ts); null: not tracked (counts as ready). */
  readiness: Readiness | null = null;

  /** A config with every section present (the original's zero value). */
  static full(): SessionDataConfig {
    const c = new SessionDataConfig();
    c.resp = new RespConfig();
    c.reqbody = new BodyConfig();
    c.respbody = new BodyConfig();
    c.envelop = new EnvelopConfig();
    c.pod = new PodConfig();
    return c;
  }

  learn(p: SessionDataPile): void {
    const caps = this.caps;
    useCaps(caps);
    this.active = true;
    this.req.learn(p.req);
    if (!p.resp.isEmpty()) {
      let c = this.resp;
      if (c == null) {
        c = new RespConfig();
        this.resp = c;
      }
      c.learn(p.resp);
    }
    if (!p.reqbody.isEmpty()) {
      let c = this.reqbody;
      if (c == null) {
        c = new BodyConfig();
        this.reqbody = c;
      }
      c.learn(p.reqbody);
    }
    if (!p.respbody.isEmpty()) {
      let c = this.respbody;
      if (c == null) {
        c = new BodyConfig();
        this.respbody = c;
      }
      c.learn(p.respbody);
    }
    if (!p.envelop.isEmpty()) {
      let c = this.envelop;
      if (c == null) {
        c = new EnvelopConfig();
        this.envelop = c;
      }
      c.learn(p.envelop);
    }
    if (!p.pod.isEmpty()) {
      let c = this.pod;
      if (c == null) {
        c = new PodConfig();
        this.pod = c;
      }
      c.learn(p.pod);
    }
    const routes = this.routes;
    if (routes != null) routes.learn(p.routes, caps != null ? caps.routes : DEFAULT_ROUTE_CAP, caps != null ? caps.params : DEFAULT_PARAM_CAP);
    useCaps(null);
  }

  prepare(): void {
    useCaps(this.caps);
    this.req.prepare();
    const resp = this.resp;
    if (resp != null) resp.prepare();
    const rb = this.reqbody;
    if (rb != null) rb.prepare();
    const sb = this.respbody;
    if (sb != null) sb.prepare();
    const pod = this.pod;
    if (pod != null) pod.prepare();
    const routes = this.routes;
    if (routes != null) routes.prepare();
    useCaps(null);
  }

  /** Decide the selected sections; sections that were never learned are not enforced. */
  decide(p: SessionDataProfile, sections: i32): Decision | null {
    let d: Decision | null = null;
    const routes = this.routes;
    if (sections & SECTION_REQ) {
      let rd = this.req.decide(p.req);
      if (routes != null) rd = routes.decideRequest(p.req, rd);
      d = decideChild(d, rd, "Req");
    }
    const resp = this.resp;
    if (sections & SECTION_RESP && resp != null) d = decideChild(d, resp.decide(p.resp), "Resp");
    const rb = this.reqbody;
    if (sections & SECTION_REQBODY && rb != null) {
      let bd = rb.decide(p.reqbody);
      if (routes != null) bd = routes.decideBody(p.req, p.reqbody, bd);
      d = decideChild(d, bd, "ReqBody");
    }
    const sb = this.respbody;
    if (sections & SECTION_RESPBODY && sb != null) d = decideChild(d, sb.decide(p.respbody), "RespBody");
    const env = this.envelop;
    if (sections & SECTION_ENVELOP && env != null) d = decideChild(d, env.decide(p.envelop), "Envelop");
    const pod = this.pod;
    if (sections & SECTION_POD && pod != null) d = decideChild(d, pod.decide(p.pod), "Pod");
    return d;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("active");
    w.bool(this.active);
    w.key("req");
    this.req.write(w);
    w.key("resp");
    const resp = this.resp;
    if (resp == null) w.null();
    else resp.write(w);
    w.key("reqbody");
    const rb = this.reqbody;
    if (rb == null) w.null();
    else rb.write(w);
    w.key("respbody");
    const sb = this.respbody;
    if (sb == null) w.null();
    else sb.write(w);
    w.key("envelop");
    const env = this.envelop;
    if (env == null) w.null();
    else env.write(w);
    w.key("pod");
    const pod = this.pod;
    if (pod == null) w.null();
    else pod.write(w);
    // Guard's additions (docs/routes.md), written only when present: the original ignores them.
    const caps = this.caps;
    if (caps != null) {
      w.key("caps");
      caps.write(w);
    }
    const routes = this.routes;
    if (routes != null) {
      w.key("routes");
      routes.write(w);
    }
    const readiness = this.readiness;
    if (readiness != null) {
      w.key("readiness");
      readiness.write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): SessionDataConfig {
    const o = asObject(v, "a session config");
    const c = new SessionDataConfig();
    enter("active"); c.active = readBool(field(o, "active"), false); leave();
    enter("req"); c.req = ReqConfig.read(field(o, "req")); leave();
    const resp = field(o, "resp");
    if (present(resp)) { enter("resp"); c.resp = RespConfig.read(resp); leave(); }
    const rb = field(o, "reqbody");
    if (present(rb)) { enter("reqbody"); c.reqbody = BodyConfig.read(rb); leave(); }
    const sb = field(o, "respbody");
    if (present(sb)) { enter("respbody"); c.respbody = BodyConfig.read(sb); leave(); }
    const env = field(o, "envelop");
    if (present(env)) { enter("envelop"); c.envelop = EnvelopConfig.read(env); leave(); }
    const pod = field(o, "pod");
    if (present(pod)) { enter("pod"); c.pod = PodConfig.read(pod); leave(); }
    const caps = field(o, "caps");
    if (present(caps)) { enter("caps"); c.caps = Caps.read(caps); leave(); }
    const routes = field(o, "routes");
    if (present(routes)) { enter("routes"); c.routes = RouteTable.read(routes); leave(); }
    const readiness = field(o, "readiness");
    if (present(readiness)) { enter("readiness"); c.readiness = Readiness.read(readiness); leave(); }
    return c;
  }
}
