// Route table (docs/routes.md): the routes (method + path template) a service serves and the
// parameter names each uses — query keys and body fields — learned from piles like everything else;
// value shapes stay in the service-wide tables. Everything is bounded: routes (beyond the bound, a
// catch-all route per method), names per route (beyond, the route accepts any name) and names in
// all. The original has no route table: without one, nothing here is consulted.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { MAX_TEMPLATE_BYTES } from "../http/route";
import { lengthOf, refAt, u32At } from "../arrays";
import { compareUtf8 } from "../text/utf8";
import { BodyProfile } from "./body";
import { MAX_KEY_CAP, MAX_ROUTE_CAP } from "./caps";
import { Decision, decideChild, decideInner } from "./decision";
import { KeyIndex } from "./keyindex";
import { keyHash, KeyValProfile } from "./keyval";
import { POLICY_ALERT, POLICY_IGNORE, POLICY_SERVICE, unknownParamPolicy, unknownRoutePolicy } from "./policy";
import { ReqProfile } from "./req";
import { asArray, asObject, enter, fail, field, leave, readBool, readString, readU32 } from "./wire";

/** The template of a method's catch-all route. */
export const CATCH_ALL = "{*}";
/** Methods with a catch-all of their own; every other method shares the class OTHER_METHODS. */
const STANDARD_METHODS: StaticArray<string> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
export const OTHER_METHODS: u8 = 9;
const METHOD_CLASSES = 10;
/** Routes a pile holds; a later new route is piled in its method's catch-all. */
export const MAX_PILE_ROUTES = 1024;
/** Names of one location (query or body) of one route that a pile holds; beyond, any name. */
export const MAX_PILE_NAMES = 256;
/** Longest parameter name: a KeyVal key (longer keys are named by their hash, keyval.ts). */
const MAX_NAME_LENGTH = 64;
/** Names one pile or table holds in all its routes together. */
export const MAX_NAMES = 16384;
/** Longest method kept in a route ("{method}" stands for longer ones and for non-tokens). */
export const MAX_METHOD_BYTES = 16;
/** Longest route key: METHOD, one space, template. */
export const MAX_ROUTE_KEY_BYTES = MAX_METHOD_BYTES + 1 + MAX_TEMPLATE_BYTES;

/** The method class of a route key (the index of a standard method, else OTHER_METHODS). */
export function methodClassOf(route: string): u8 {
  const sp = route.indexOf(" ");
  for (let i = 0; i < STANDARD_METHODS.length; i++) {
    const m = STANDARD_METHODS[i];
    if (sp == m.length && route.startsWith(m)) return <u8>i;
  }
  return OTHER_METHODS;
}

function catchAllKey(cls: u8): string {
  return (cls == OTHER_METHODS ? "*" : STANDARD_METHODS[cls]) + " " + CATCH_ALL;
}

function isCatchAll(route: string): bool {
  return route.endsWith(" " + CATCH_ALL);
}

/** Parameter names seen at one location of a route; `open` once more were seen than kept. */
export class NameSet {
  index: KeyIndex = new KeyIndex();
  open: bool = false;

  // @ts-ignore: decorator
  @inline has(k: string, h: u32): bool {
    return this.open || this.index.findAliased(k, h) >= 0;
  }

  /** Read-only from now on (a prepared table): lookups by alias. */
  freeze(): void {
    this.index.freeze();
  }

  write(w: JsonWriter): void {
    const names = this.index.keys.slice(0);
    names.sort((a: string, b: string): i32 => compareUtf8(a, b));
    w.beginArray();
    for (let i = 0; i < names.length; i++) w.string(names[i]);
    w.endArray();
  }
}

/** One route: its key ("METHOD TEMPLATE"), sessions piled (piles only), names by location. */
export class RouteEntry {
  key: string;
  count: u32 = 0;
  query: NameSet = new NameSet();
  body: NameSet = new NameSet();

  constructor(key: string) {
    this.key = key;
  }

  write(w: JsonWriter, withCount: bool): void {
    w.beginObject();
    if (withCount) {
      w.key("count");
      w.uint(this.count);
    }
    w.key("query");
    this.query.write(w);
    w.key("body");
    this.body.write(w);
    if (this.query.open) {
      w.key("anyQuery");
      w.bool(true);
    }
    if (this.body.open) {
      w.key("anyBody");
      w.bool(true);
    }
    w.endObject();
  }
}

/** Routes by key with the bounds of a pile or a table; catch-alls are not counted as routes. */
class RouteSet {
  index: KeyIndex = new KeyIndex();
  entries: Array<RouteEntry> = new Array<RouteEntry>();
  /** Routes that are not catch-alls. */
  routes: i32 = 0;
  /** Names held by all routes. */
  names: i32 = 0;

  // @ts-ignore: decorator
  @inline find(k: string, h: u32): RouteEntry | null {
    const e = this.index.find(k, h);
    return e < 0 ? null : refAt(this.entries, e);
  }

  /**
   * The entry of a route, made when new: in its method's catch-all when `maxRoutes` are held. A
   * catch-all key is taken as its method class's (`FOO {*}` is `* {*}`): at most one per class.
   */
  entryFor(k: string, h: u32, maxRoutes: i32): RouteEntry {
    const found = this.find(k, h);
    if (found != null) return found;
    if (isCatchAll(k)) return this.catchAll(methodClassOf(k));
    if (this.routes >= maxRoutes) return this.catchAll(methodClassOf(k));
    this.routes++;
    return this.made(k, h);
  }

  catchAll(cls: u8): RouteEntry {
    const k = catchAllKey(cls);
    const h = keyHash(k);
    const found = this.find(k, h);
    return found != null ? found : this.made(k, h);
  }

  private made(k: string, h: u32): RouteEntry {
    const e = new RouteEntry(k);
    this.index.insert(k, h);
    this.entries.push(e);
    return e;
  }

  /** Add a name to a set of one of these routes, within `max` per set and MAX_NAMES in all. */
  addName(set: NameSet, k: string, h: u32, max: i32): void {
    if (set.open) return;
    if (set.index.find(k, h) >= 0) return;
    if (set.index.size >= max || this.names >= MAX_NAMES) {
      set.open = true;
      return;
    }
    set.index.insert(k, h);
    this.names++;
  }

  /** Add every name of `from` to `to`. */
  addNames(to: NameSet, from: NameSet, max: i32): void {
    if (from.open) to.open = true;
    const keys = from.index.keys;
    const hashes = from.index.hashes;
    for (let i = 0, n = lengthOf(keys); i < n && !to.open; i++) this.addName(to, refAt(keys, i), u32At(hashes, i), max);
  }

  /** Add a profile's keys (hashes kept with them, or computed) as names. */
  addProfileNames(to: NameSet, kv: KeyValProfile | null, max: i32): void {
    if (kv == null) return;
    const keys = kv.keys;
    const n = lengthOf(keys);
    const hashes = lengthOf(kv.hashes) == n ? kv.hashes : null;
    for (let i = 0; i < n && !to.open; i++) {
      const k = refAt(keys, i);
      const h = hashes != null ? u32At(hashes, i) : keyHash(k);
      // Usually a name piled before, as the same (interned) object: found at its first probe.
      if (to.index.find(k, h) < 0) this.addName(to, k, h, max);
    }
  }

  /** Entries ordered by key, byte-wise (how the wire writes them). */
  sorted(): Array<RouteEntry> {
    const out = this.entries.slice(0);
    out.sort((a: RouteEntry, b: RouteEntry): i32 => compareUtf8(a.key, b.key));
    return out;
  }

  write(w: JsonWriter, withCount: bool): void {
    const order = this.sorted();
    w.beginObject();
    for (let i = 0; i < order.length; i++) {
      w.key(order[i].key);
      order[i].write(w, withCount);
    }
    w.endObject();
  }

  /** Read routes, refusing more than the bounds allow (an error, never a silent fold). */
  static read(v: JsonValue | null, maxRoutes: i32, maxNames: i32, withCount: bool): RouteSet {
    const set = new RouteSet();
    const o = asObject(v, "a map of routes");
    if (o == null) return set;
    for (let i = 0; i < o.keys.length; i++) {
      const key = o.keys[i];
      enter(key);
      if (!validRouteKey(key)) {
        fail("a route is METHOD, one space and a path template of at most " + MAX_ROUTE_KEY_BYTES.toString() + " bytes");
        leave();
        break;
      }
      const e = set.entryFor(key, keyHash(key), MAX_ROUTE_CAP + 1);
      if (set.routes > maxRoutes) {
        fail("more than " + maxRoutes.toString() + " routes");
        leave();
        break;
      }
      const ro = asObject(o.vals[i], "a route");
      if (withCount) e.count = addCount(e.count, readU32(field(ro, "count"), 0));
      enter("query");
      set.readNames(e.query, field(ro, "query"), maxNames);
      leave();
      enter("body");
      set.readNames(e.body, field(ro, "body"), maxNames);
      leave();
      enter("anyQuery");
      if (readBool(field(ro, "anyQuery"), false)) e.query.open = true;
      leave();
      enter("anyBody");
      if (readBool(field(ro, "anyBody"), false)) e.body.open = true;
      leave();
      leave();
    }
    return set;
  }

  private readNames(to: NameSet, v: JsonValue | null, max: i32): void {
    const items = asArray(v, "a list of parameter names");
    if (items == null) return;
    if (items.length > max || this.names + items.length > MAX_NAMES) {
      fail("more than " + (items.length > max ? max : MAX_NAMES).toString() + " parameter names");
      return;
    }
    for (let i = 0; i < items.length; i++) {
      const k = readString(items[i], "");
      if (k.length > MAX_NAME_LENGTH) {
        fail("a parameter name has at most " + MAX_NAME_LENGTH.toString() + " characters (longer keys are named by their hash)");
        return;
      }
      this.addName(to, k, keyHash(k), max);
    }
  }
}

/** METHOD, a space, a template; no longer than a request's route can be (one unit per byte). */
/** Session counts saturate instead of wrapping around. */
// @ts-ignore: decorator
@inline function addCount(a: u32, b: u32): u32 {
  const s = <u64>a + <u64>b;
  return s > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>s;
}

function validRouteKey(key: string): bool {
  const sp = key.indexOf(" ");
  return sp > 0 && key.length <= MAX_ROUTE_KEY_BYTES;
}

/** The names of a request body: the fields of a structured object body (form or JSON). */
function bodyNames(body: BodyProfile | null): KeyValProfile | null {
  if (body == null) return null;
  const s = body.structured;
  return s == null ? null : s.kv;
}

/** Routes piled by a gate (or merged by the service): null until the first session with a route. */
export class RoutePile {
  set: RouteSet | null = null;

  /** Pile a session's route and names (its body's only when the body was profiled). */
  add(req: ReqProfile, body: BodyProfile | null): void {
    const route = req.route;
    if (route.length == 0) return;
    let set = this.set;
    if (set == null) {
      set = new RouteSet();
      this.set = set;
    }
    const e = set.entryFor(route, req.routeHash, MAX_PILE_ROUTES);
    e.count = addCount(e.count, 1);
    set.addProfileNames(e.query, req.qs.kv, MAX_PILE_NAMES);
    set.addProfileNames(e.body, bodyNames(body), MAX_PILE_NAMES);
  }

  merge(o: RoutePile): void {
    const os = o.set;
    if (os == null) return;
    let set = this.set;
    if (set == null) {
      set = new RouteSet();
      this.set = set;
    }
    const entries = os.entries;
    for (let i = 0, n = lengthOf(entries); i < n; i++) {
      const from = refAt(entries, i);
      const to = set.entryFor(from.key, keyHash(from.key), MAX_PILE_ROUTES);
      to.count = addCount(to.count, from.count);
      set.addNames(to.query, from.query, MAX_PILE_NAMES);
      set.addNames(to.body, from.body, MAX_PILE_NAMES);
    }
  }

  clear(): void {
    this.set = null;
  }

  isEmpty(): bool {
    return this.set == null;
  }

  /** Entries in the order learning takes them: most sessions first, then by key. */
  byCount(): Array<RouteEntry> {
    const set = this.set;
    if (set == null) return new Array<RouteEntry>();
    const out = set.sorted();
    out.sort((a: RouteEntry, b: RouteEntry): i32 => (a.count > b.count ? -1 : a.count < b.count ? 1 : compareUtf8(a.key, b.key)));
    return out;
  }

  write(w: JsonWriter): void {
    const set = this.set;
    if (set == null) w.null();
    else set.write(w, true);
  }

  static read(v: JsonValue | null): RoutePile {
    const p = new RoutePile();
    if (v == null) return p;
    if (asObject(v, "a map of routes") == null) return p;
    p.set = RouteSet.read(v, MAX_PILE_ROUTES, MAX_PILE_NAMES, true);
    return p;
  }
}

const NO_ENTRIES = new StaticArray<RouteEntry | null>(METHOD_CLASSES);
/**
 * Routes remembered by the identity of the request's route string (direct-mapped by hash): at
 * least twice as many slots as the table has routes, so that routes in use rarely evict each other
 * (at 64 slots, a table of 100 routes in use missed often enough to cost 0.05 µs a decision).
 */
const MIN_ROUTE_ALIASES = 64;
const MAX_ROUTE_ALIASES = 4096;
const NO_ROUTE_ALIASES = new StaticArray<string | null>(0);
const NO_ALIASED_ENTRIES = new StaticArray<RouteEntry | null>(0);

/** The learned routes of a criteria, and the decisions on a request's route and names. */
export class RouteTable {
  set: RouteSet = new RouteSet();
  // Built by prepare(): each method's catch-all, and every name of every route by location (what
  // the service-wide policy judges unknown names by).
  private catchAlls: StaticArray<RouteEntry | null> = NO_ENTRIES;
  private serviceQuery: NameSet = new NameSet();
  private serviceBody: NameSet = new NameSet();
  // A request's route string (interned by the ingest, the same object request after request) and
  // the entry that decides it, by the route's hash: the decide path's lookup is then two loads.
  private aliasRoutes: StaticArray<string | null> = NO_ROUTE_ALIASES;
  private aliasEntries: StaticArray<RouteEntry | null> = NO_ALIASED_ENTRIES;
  private aliasMask: u32 = 0;

  /** Widen by a pile: at most `maxRoutes` routes and `maxNames` names per route and location. */
  learn(p: RoutePile, maxRoutes: i32, maxNames: i32): void {
    const order = p.byCount();
    const set = this.set;
    for (let i = 0; i < order.length; i++) {
      const from = unchecked(order[i]);
      const to = set.entryFor(from.key, keyHash(from.key), maxRoutes);
      set.addNames(to.query, from.query, maxNames);
      set.addNames(to.body, from.body, maxNames);
    }
  }

  prepare(): void {
    const catchAlls = new StaticArray<RouteEntry | null>(METHOD_CLASSES);
    const query = new NameSet();
    const body = new NameSet();
    const entries = this.set.entries;
    for (let i = 0, n = lengthOf(entries); i < n; i++) {
      const e = refAt(entries, i);
      if (isCatchAll(e.key)) catchAlls[methodClassOf(e.key)] = e;
      unionInto(query, e.query);
      unionInto(body, e.body);
      e.query.freeze();
      e.body.freeze();
    }
    query.freeze();
    body.freeze();
    this.catchAlls = catchAlls;
    this.serviceQuery = query;
    this.serviceBody = body;
    let slots = MIN_ROUTE_ALIASES;
    while (slots < MAX_ROUTE_ALIASES && slots < 2 * lengthOf(entries)) slots <<= 1;
    this.aliasRoutes = new StaticArray<string | null>(slots);
    this.aliasEntries = new StaticArray<RouteEntry | null>(slots);
    this.aliasMask = <u32>(slots - 1);
  }

  /** The entry deciding a request: its route, else its method's catch-all, else null. */
  // @ts-ignore: decorator
  @inline private entryOf(req: ReqProfile): RouteEntry | null {
    const aliases = this.aliasRoutes;
    const slot = <usize>(req.routeHash & this.aliasMask);
    if (aliases.length != 0 && load<usize>(changetype<usize>(aliases) + (slot << alignof<usize>())) == changetype<usize>(req.route)) {
      return changetype<RouteEntry>(load<usize>(changetype<usize>(this.aliasEntries) + (slot << alignof<usize>())));
    }
    return this.resolve(req);
  }

  /** entryOf's lookup when the route string is not remembered: found entries are remembered. */
  private resolve(req: ReqProfile): RouteEntry | null {
    let e = this.set.find(req.route, req.routeHash);
    if (e == null) e = unchecked(this.catchAlls[req.methodClass]);
    if (e != null && this.aliasRoutes.length != 0) {
      const slot = <i32>(req.routeHash & this.aliasMask);
      unchecked((this.aliasRoutes[slot] = req.route));
      unchecked((this.aliasEntries[slot] = e));
    }
    return e;
  }

  /** Decide the request's route and query names; the verdict is added to `d` (the request's). */
  // @ts-ignore: decorator
  @inline decideRequest(req: ReqProfile, d: Decision | null): Decision | null {
    // The usual case in one inlined pass: a known route whose query names are all its own.
    let e: RouteEntry | null = null;
    if (req.route.length != 0) e = this.entryOf(req);
    return e != null && allKnown(req.qs.kv, e.query) ? d : this.decideRequestSlow(req, e, d);
  }

  private decideRequestSlow(req: ReqProfile, e: RouteEntry | null, d: Decision | null): Decision | null {
    if (req.route.length == 0) return d;
    if (e == null) {
      const policy = unknownRoutePolicy();
      if (policy == POLICY_ALERT) return decideChild(d, decideInner(null, "Route is not known"), "Route " + req.route);
      if (policy == POLICY_IGNORE) return d;
    }
    return this.decideNames(d, req.route, req.qs.kv, e != null ? e.query : null, this.serviceQuery, "Query parameter ");
  }

  /** Decide the request body's names against its route; added to `d` (the body's verdict). */
  // @ts-ignore: decorator
  @inline decideBody(req: ReqProfile, body: BodyProfile, d: Decision | null): Decision | null {
    const s = body.structured;
    let e: RouteEntry | null = null;
    if (s != null && req.route.length != 0) e = this.entryOf(req);
    return s == null || (e != null && allKnown(s.kv, e.body)) ? d : this.decideBodySlow(req, s.kv, e, d);
  }

  private decideBodySlow(req: ReqProfile, names: KeyValProfile | null, e: RouteEntry | null, d: Decision | null): Decision | null {
    if (req.route.length == 0) return d;
    // An unknown route already alerted (or is ignored) with the request; the service-wide policy
    // judges its body's names as it judged its query's.
    if (e == null && unknownRoutePolicy() != POLICY_SERVICE) return d;
    return this.decideNames(d, req.route, names, e != null ? e.body : null, this.serviceBody, "Body parameter ");
  }

  /**
   * Each name of `kv` must be one of the route's (`known`), or, by the policy for unknown names
   * (and always on an unknown route: known == null), one of the service's.
   */
  private decideNames(d: Decision | null, route: string, kv: KeyValProfile | null, known: NameSet | null, service: NameSet, what: string): Decision | null {
    if (kv == null) return d;
    const keys = kv.keys;
    const n = lengthOf(keys);
    const hashes = lengthOf(kv.hashes) == n ? kv.hashes : null;
    let rd: Decision | null = null;
    for (let i = 0; i < n; i++) {
      const k = refAt(keys, i);
      const h = hashes != null ? u32At(hashes, i) : keyHash(k);
      if (known != null) {
        if (known.has(k, h)) continue;
        const policy = unknownParamPolicy();
        if (policy == POLICY_IGNORE) continue;
        if (policy == POLICY_ALERT) {
          rd = decideInner(rd, what + k + " is not known on this route");
          continue;
        }
      }
      if (!service.has(k, h)) rd = decideInner(rd, what + k + " is not known in the service");
    }
    return rd == null ? d : decideChild(d, rd, "Route " + route);
  }

  write(w: JsonWriter): void {
    this.set.write(w, false);
  }

  static read(v: JsonValue | null): RouteTable {
    const t = new RouteTable();
    t.set = RouteSet.read(v, MAX_ROUTE_CAP, MAX_KEY_CAP, false);
    return t;
  }
}

/** Whether every key of a profile is a name of the set (no keys: true). */
// @ts-ignore: decorator
@inline function allKnown(kv: KeyValProfile | null, names: NameSet): bool {
  let all = true;
  if (kv != null && !names.open) {
    const keys = kv.keys;
    const n = lengthOf(keys);
    const hashes = kv.hashes;
    if (lengthOf(hashes) != n) all = false;
    for (let i = 0; i < n && all; i++) all = names.index.findAliased(refAt(keys, i), u32At(hashes, i)) >= 0;
  }
  return all;
}

/** Add every name of a route's set to a service-wide set (open when any route's is). */
function unionInto(to: NameSet, from: NameSet): void {
  if (from.open) to.open = true;
  const keys = from.index.keys;
  const hashes = from.index.hashes;
  for (let i = 0, n = lengthOf(keys); i < n; i++) to.index.insert(refAt(keys, i), u32At(hashes, i));
}
