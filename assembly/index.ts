// The Guard core's wasm exports (documented in docs/abi.md). Inputs arrive in the input buffer of
// io.ts; JSON and strings leave through its output buffer; objects are named by handles.
import { inputPtr, setOutputString } from "./io";
import { wellKnownNames } from "./ingest/headers";
import { Table } from "./handles";
import { LiveSession } from "./live";
import { ingestBadHost, ingestError, ingestRequest, ingestResponse } from "./ingest/request";
import { RecordReader } from "./ingest/record";
import { JsonKind, JsonValue } from "./json/value";
import { JsonLimits, jsonError, parseJson } from "./json/reader";
import { JsonWriter } from "./json/writer";
import { Decision } from "./model/decision";
import { Ctrl, CTRL_ALERT, CTRL_FORCE, CTRL_LEARN, GuardianSpec } from "./model/guardian";
import { PodProfile } from "./model/pod";
import { limitCodeSigned } from "./model/limit";
import { Caps } from "./model/caps";
import { MAX_SLACK, POLICY_SERVICE, resetDecidePolicy } from "./model/policy";
import { SECTION_ALL, SECTION_ENVELOP, SECTION_POD, SECTION_REQ, SECTION_REQBODY, SECTION_RESP, SECTION_RESPBODY, SessionDataPile } from "./model/session";
import { asArray, asObject, decodeError, enter, fail, field, leave, readBool, readI64, readString, readU32, resetDecodeErrors } from "./model/wire";

export { inputBuffer, outputPtr, outputLen } from "./io";
export { introspect } from "./introspect";

const guardians = new Table<GuardianSpec>();
const piles = new Table<SessionDataPile>();
const sessions = new Table<LiveSession>();
const pods = new Table<PodProfile>();
const writer = new JsonWriter();
const wireLimits = new JsonLimits();
wireLimits.maxDepth = 64;
wireLimits.maxBytes = 256 << 20;

/** Parse the input buffer as one JSON document of the wire format, or report why not. */
function parseWire(len: i32): JsonValue | null {
  resetDecodeErrors();
  const v = parseJson(inputPtr(), len, wireLimits, false);
  if (v == null) setOutputString("malformed JSON: " + jsonError);
  return v;
}

function decodeFailed(): bool {
  const err = decodeError();
  if (err == null) return false;
  setOutputString(err!);
  return true;
}

function writeOut(): void {
  setOutputString(writer.toString());
}

// ---- Guardians ------------------------------------------------------------------------------

export function guardian_load(len: i32): i32 {
  const v = parseWire(len);
  if (v == null) return -1;
  const g = GuardianSpec.read(v);
  if (decodeFailed()) return -1;
  g.prepare();
  return guardians.add(g);
}

export function guardian_default(): i32 {
  return guardians.add(GuardianSpec.defaults());
}

export function guardian_write(gid: i32): void {
  const g = guardians.get(gid);
  writer.reset();
  if (g == null) writer.null();
  else g.write(writer);
  writeOut();
}

export function guardian_control(gid: i32): i32 {
  const g = guardians.get(gid);
  return g == null ? 0 : g.controlMask();
}

/** Set the five flags; the policies and slack (docs/routes.md) are kept. */
export function guardian_set_control(gid: i32, mask: i32): void {
  const g = guardians.get(gid);
  if (g == null) return;
  const c = g.control;
  if (c == null) g.control = Ctrl.ofMask(mask);
  else c.setMask(mask);
}

/** unknownRoute | unknownParam << 4 | slack << 8 (policies: 0 alert, 1 ignore, 2 service-wide). */
export function guardian_policy(gid: i32): i32 {
  const g = guardians.get(gid);
  if (g == null) return 0;
  const c = g.control;
  if (c == null) return 0;
  return <i32>c.unknownRoute | (<i32>c.unknownParam << 4) | (<i32>c.slack << 8);
}

/** Set the policies and slack (as guardian_policy packs them); -1 with a reason when out of range. */
export function guardian_set_policy(gid: i32, unknownRoute: i32, unknownParam: i32, slack: i32): i32 {
  const g = guardians.get(gid);
  if (g == null) {
    setOutputString("unknown Guardian");
    return -1;
  }
  if (unknownRoute < 0 || unknownRoute > <i32>POLICY_SERVICE || unknownParam < 0 || unknownParam > <i32>POLICY_SERVICE || slack < 0 || slack > MAX_SLACK) {
    setOutputString("policies are 0 (alert), 1 (ignore) or 2 (service-wide); slack is 0 to " + MAX_SLACK.toString());
    return -1;
  }
  let c = g.control;
  if (c == null) {
    c = new Ctrl();
    g.control = c;
  }
  c.unknownRoute = <u8>unknownRoute;
  c.unknownParam = <u8>unknownParam;
  c.slack = <u8>slack;
  return 0;
}

/** 1 when control.block applies now (with auto: once the learned rules are ready), else 0. */
export function guardian_blocks(gid: i32): i32 {
  const g = guardians.get(gid);
  return g != null && g.blocks() ? 1 : 0;
}

/**
 * Readiness of the learned rules: (samples learned since they last widened, capped at 2^30 − 1)
 * × 2 + 1 when ready; -1 when readiness is not tracked.
 */
export function guardian_stable(gid: i32): i32 {
  const g = guardians.get(gid);
  if (g == null) return -1;
  const l = g.learned;
  if (l == null) return -1;
  const r = l.readiness;
  return r == null ? -1 : (<i32>min<u32>(r.stable, (1 << 30) - 1) << 1) | (r.ready ? 1 : 0);
}

export function guardian_samples(gid: i32): u32 {
  const g = guardians.get(gid);
  return g == null ? 0 : g.samples;
}

/** Learn with the caps `learned` records (the original's learning when it records none). */
export function guardian_learn(gid: i32, pid: i32): void {
  const g = guardians.get(gid);
  const p = piles.get(pid);
  if (g != null && p != null) g.learn(p, null);
}

/**
 * Learn with these caps: parameters and headers 1–256 keys by name, routes 0–1024 (0: no route
 * table), unknownHeaders 0 alert / 1 shape. -1 with a reason when one is out of range.
 */
export function guardian_learn_caps(gid: i32, pid: i32, params: i32, headers: i32, routes: i32, unknownHeaders: i32): i32 {
  const caps = Caps.of(params, headers, routes, unknownHeaders);
  if (caps == null) {
    setOutputString("caps out of range: parameters and headers 1 to 256, routes 0 to 1024, unknown headers alert or shape");
    return -1;
  }
  const g = guardians.get(gid);
  const p = piles.get(pid);
  if (g == null || p == null) {
    setOutputString("unknown Guardian or pile");
    return -1;
  }
  g.learn(p, caps);
  return 0;
}

export function guardian_free(gid: i32): void {
  guardians.release(gid);
}

// ---- Piles ----------------------------------------------------------------------------------

export function pile_new(): i32 {
  return piles.add(new SessionDataPile());
}

export function pile_load(len: i32): i32 {
  const v = parseWire(len);
  if (v == null) return -1;
  if (v.kind != JsonKind.Object) {
    setOutputString("a pile must be a JSON object");
    return -1;
  }
  const p = SessionDataPile.read(v);
  if (decodeFailed()) return -1;
  return piles.add(p);
}

export function pile_write(pid: i32): void {
  const p = piles.get(pid);
  writer.reset();
  if (p == null) writer.null();
  else p.write(writer);
  writeOut();
}

export function pile_merge(dst: i32, src: i32): void {
  const d = piles.get(dst);
  const s = piles.get(src);
  if (d != null && s != null && d !== s) d.merge(s);
}

export function pile_clear(pid: i32): void {
  const p = piles.get(pid);
  if (p != null) p.clear();
}

export function pile_count(pid: i32): u32 {
  const p = piles.get(pid);
  return p == null ? 0 : p.count;
}

export function pile_add(pid: i32, sid: i32): void {
  const p = piles.get(pid);
  const s = sessions.get(sid);
  if (p != null && s != null) p.add(s.profile, s.profiled);
}

export function pile_free(pid: i32): void {
  piles.release(pid);
}

// ---- Sessions -------------------------------------------------------------------------------

// Freed sessions are reused: a request then allocates only what its own profile needs.
const sessionPool = new Array<LiveSession>();
const SESSION_POOL_MAX = 1024;

export function session_new(): i32 {
  return sessions.add(sessionPool.length > 0 ? sessionPool.pop() : new LiveSession());
}

export function session_request(sid: i32, len: i32): i32 {
  const s = sessions.get(sid);
  if (s == null) {
    setOutputString("unknown session");
    return -1;
  }
  if (!ingestRequest(inputPtr(), len, s.profile.req, s.profile.reqbody)) {
    setOutputString(ingestError);
    // -2: a well-formed record of a malformed request (its Host lines), which a gate answers with 400.
    return ingestBadHost ? -2 : -1;
  }
  s.profiled |= SECTION_REQ | SECTION_REQBODY;
  return 0;
}

export function session_response(sid: i32, len: i32): i32 {
  const s = sessions.get(sid);
  if (s == null) {
    setOutputString("unknown session");
    return -1;
  }
  if (!ingestResponse(inputPtr(), len, s.profile.resp, s.profile.respbody)) {
    setOutputString(ingestError);
    return -1;
  }
  s.profiled |= SECTION_RESP | SECTION_RESPBODY;
  return 0;
}

export function session_envelop(sid: i32, responseSeconds: i32, completionSeconds: i32): void {
  const s = sessions.get(sid);
  if (s == null) return;
  const e = s.profile.envelop;
  e.responseTime = limitCodeSigned(<i64>responseSeconds);
  e.completionTime = limitCodeSigned(<i64>completionSeconds);
  s.profiled |= SECTION_ENVELOP;
}

export function session_pod(sid: i32, podId: i32): void {
  const s = sessions.get(sid);
  const p = pods.get(podId);
  if (s == null || p == null) return;
  s.profile.pod = p;
  s.profiled |= SECTION_POD;
}

/** Decide sections against the Guardian's criteria; returns the session's accumulated result. */
export function session_decide(sid: i32, gid: i32, sections: i32): i32 {
  const s = sessions.get(sid);
  const g = guardians.get(gid);
  if (s == null || g == null) return -1;
  // With control.alert off nothing alerts (difference 2 of docs/compatibility.md); an inactive
  // criteria decides nothing.
  if ((g.controlMask() & CTRL_ALERT) == 0) return s.result();
  const criteria = g.criteria();
  if (!criteria.active) return s.result();
  // The Guardian's policies and slack hold for this decision only (the defaults are in force
  // between decisions, so a Guardian with the defaults has nothing to set).
  const ctl = g.control!;
  if (ctl.hasDefaultPolicy()) return s.decide(criteria, sections & SECTION_ALL);
  ctl.useForDeciding();
  const result = s.decide(criteria, sections & SECTION_ALL);
  resetDecidePolicy();
  return result;
}

/** session_finish flags: the exchange completed (its envelope is profiled and decided). */
const FINISH_COMPLETE = 1;
/** session_finish flags: pile the session when the Guardian learns it (a completed exchange only). */
const FINISH_PILE = 2;

/**
 * The end of an exchange in one call, as the gate runs it: when complete, session_envelop and
 * session_decide(Envelop); then the session's result (session_decide with no section); then, when
 * asked and the exchange is complete, pile_add if the Guardian's control learns the session (learn
 * on, and the session clean or force on: difference 1 of docs/compatibility.md). Returns the
 * result; -1 for an unknown session or Guardian (nothing done).
 */
export function session_finish(sid: i32, gid: i32, responseSeconds: i32, completionSeconds: i32, pid: i32, flags: i32): i32 {
  if (sessions.get(sid) == null || guardians.get(gid) == null) return -1;
  if (flags & FINISH_COMPLETE) {
    session_envelop(sid, responseSeconds, completionSeconds);
    session_decide(sid, gid, SECTION_ENVELOP);
  }
  const result = session_decide(sid, gid, 0);
  if ((flags & (FINISH_COMPLETE | FINISH_PILE)) == (FINISH_COMPLETE | FINISH_PILE)) {
    const control = guardians.get(gid)!.controlMask();
    if ((control & CTRL_LEARN) != 0 && (result == 0 || (control & CTRL_FORCE) != 0)) pile_add(pid, sid);
  }
  return result;
}

export function session_decision(sid: i32, format: i32): void {
  const s = sessions.get(sid);
  let d: Decision | null = null;
  if (s != null) d = s.decision;
  if (format == 0) {
    setOutputString(d == null ? "" : d.sortedString(""));
    return;
  }
  writer.reset();
  if (d == null) writer.null();
  else d.write(writer);
  writeOut();
}

/** Forget everything profiled and decided, so the same handle serves the next exchange. */
export function session_reset(sid: i32): void {
  const s = sessions.get(sid);
  if (s != null) s.reset();
}

/** The well-known header names a record may refer to by index, one per line (docs/abi.md). */
export function header_names(): void {
  setOutputString(wellKnownNames());
}

export function session_free(sid: i32): void {
  const s = sessions.get(sid);
  if (s == null) return;
  sessions.release(sid);
  if (sessionPool.length < SESSION_POOL_MAX) {
    s.reset();
    sessionPool.push(s);
  }
}

// ---- Pod ------------------------------------------------------------------------------------

const podReader = new RecordReader();

export function pod_load(len: i32): i32 {
  const r = podReader;
  r.reset(inputPtr(), len);
  const p = new PodProfile();
  for (let i = 0; i < 6; i++) {
    if (r.u8() == 0) continue;
    const n = r.bytes();
    if (r.bad) break;
    p.setTable(i, r.at, n);
  }
  return pods.add(p);
}

export function pod_decide(podId: i32, gid: i32): i32 {
  const p = pods.get(podId);
  const g = guardians.get(gid);
  if (p == null || g == null) return -1;
  if ((g.controlMask() & CTRL_ALERT) == 0) return 0;
  const criteria = g.criteria();
  const pc = criteria.pod;
  if (!criteria.active || pc == null) return 0;
  g.control!.useForDeciding();
  const d = pc.decide(p);
  resetDecidePolicy();
  writer.reset();
  if (d == null) writer.null();
  else d.write(writer);
  writeOut();
  return d == null ? 0 : d.result;
}

export function pod_free(podId: i32): void {
  pods.release(podId);
}

// ---- Sync messages --------------------------------------------------------------------------

/**
 * Decode a SyncMessageReq: returns a pile handle (-1 when the message has no pile), or -2 on
 * error with the reason in the output. On success the output holds {"alerts":[…],"compromised":b}
 * with every alert validated and re-encoded.
 */
export function sync_load(len: i32): i32 {
  const v = parseWire(len);
  if (v == null) return -2;
  const o = asObject(v, "a sync message");
  if (o == null) {
    setOutputString("a sync message must be a JSON object");
    return -2;
  }
  const pv = field(o, "pile");
  let pile: SessionDataPile | null = null;
  if (pv != null && pv.kind != JsonKind.Null) {
    enter("pile");
    pile = SessionDataPile.read(pv);
    leave();
  }
  writer.reset();
  writer.beginObject();
  writer.key("alerts");
  enter("alerts");
  const alerts = asArray(field(o, "alerts"), "a list of alerts");
  if (alerts == null) writer.null();
  else {
    writer.beginArray();
    for (let i = 0; i < alerts.length; i++) {
      enter("[" + i.toString() + "]");
      const a = asObject(alerts[i], "an alert");
      writer.beginObject();
      writer.key("decision");
      enter("decision");
      const d = Decision.read(field(a, "decision"));
      leave();
      if (d == null) writer.null();
      else d.write(writer);
      writer.key("time");
      writer.int(readI64(field(a, "time"), 0));
      writer.key("level");
      writer.string(readString(field(a, "level"), ""));
      writer.key("count");
      writer.uint(readU32(field(a, "count"), 0));
      writer.endObject();
      leave();
    }
    writer.endArray();
  }
  leave();
  writer.key("compromised");
  writer.bool(readBool(field(o, "compromised"), false));
  writer.endObject();
  if (decodeFailed()) return -2;
  writeOut();
  return pile == null ? -1 : piles.add(pile!);
}

/**
 * Free every object no handle or global reaches. The runtime is the minimal one (docs/abi.md,
 * "Memory"): it never collects by itself, so the host calls this between calls, when the heap
 * count it reads from `heap_bytes` has grown enough — never from inside a call, where objects
 * held only by the core's locals would be freed under it.
 */
export function heap_collect(): void {
  __collect();
}

/** Live handles, for leak checks in tests and metrics. */
export function live_handles(): i32 {
  return guardians.live() + piles.live() + sessions.live() + pods.live();
}


/**
 * TEST ONLY: trap (`unreachable`), as an internal bug would. No input reaches it: hosts call it
 * only from tests, to exercise their recovery from a trapped instance (docs/abi.md).
 */
export function debug_trap(): void {
  unreachable();
}
