// Key caps (docs/routes.md): how many keys a key/value table learns by name, per table kind, how
// unknown header names are learned, and how many routes a route table keeps. A learned criteria
// records the caps it was learned with ("caps"); without that record the original's 7 apply.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { asObject, enter, fail, field, leave, readString, readU32 } from "./wire";

/** The kinds of key/value tables: headers (request and response, media type parameters) … */
export const TABLE_HEADERS: u8 = 0;
/** … and parameters (query, form and JSON body fields). */
export const TABLE_PARAMS: u8 = 1;

/** The original's cap: at most 7 keys learned by name in every table. */
export const ORIGINAL_KEY_CAP = 7;
/** Hard bounds (the cap exists because of a security audit: memory stays bounded). */
export const MAX_KEY_CAP = 256;
export const MAX_ROUTE_CAP = 1024;

/** Unknown header names alert unless the table overflowed its cap (then the catch-all judges). */
export const HEADERS_ALERT = 0;
/** Every header name and value also trains the catch-all: unknown names pass when they fit it. */
export const HEADERS_SHAPE = 1;

// Defaults of new learning (docs/routes.md says how the header defaults were measured).
export const DEFAULT_PARAM_CAP = 64;
export const DEFAULT_HEADER_CAP = 64;
export const DEFAULT_ROUTE_CAP = 256;
export const DEFAULT_UNKNOWN_HEADERS = HEADERS_ALERT;

export class Caps {
  params: i32 = DEFAULT_PARAM_CAP;
  headers: i32 = DEFAULT_HEADER_CAP;
  routes: i32 = DEFAULT_ROUTE_CAP;
  unknownHeaders: i32 = DEFAULT_UNKNOWN_HEADERS;

  /** Caps within their bounds, or null (the reason is the caller's to report). */
  static of(params: i32, headers: i32, routes: i32, unknownHeaders: i32): Caps | null {
    if (params < 1 || params > MAX_KEY_CAP || headers < 1 || headers > MAX_KEY_CAP) return null;
    if (routes < 0 || routes > MAX_ROUTE_CAP || unknownHeaders < HEADERS_ALERT || unknownHeaders > HEADERS_SHAPE) return null;
    const c = new Caps();
    c.params = params;
    c.headers = headers;
    c.routes = routes;
    c.unknownHeaders = unknownHeaders;
    return c;
  }

  copy(): Caps {
    return Caps.of(this.params, this.headers, this.routes, this.unknownHeaders)!;
  }

  equals(o: Caps): bool {
    return this.params == o.params && this.headers == o.headers && this.routes == o.routes && this.unknownHeaders == o.unknownHeaders;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("params");
    w.uint(this.params);
    w.key("headers");
    w.uint(this.headers);
    w.key("routes");
    w.uint(this.routes);
    w.key("unknownHeaders");
    w.string(this.unknownHeaders == HEADERS_SHAPE ? "shape" : "alert");
    w.endObject();
  }

  static read(v: JsonValue | null): Caps {
    const o = asObject(v, "the caps a criteria was learned with");
    const c = new Caps();
    c.params = readCap(o, "params", DEFAULT_PARAM_CAP, 1, MAX_KEY_CAP);
    c.headers = readCap(o, "headers", DEFAULT_HEADER_CAP, 1, MAX_KEY_CAP);
    c.routes = readCap(o, "routes", DEFAULT_ROUTE_CAP, 0, MAX_ROUTE_CAP);
    const u = readString(field(o, "unknownHeaders"), "alert");
    if (u == "shape") c.unknownHeaders = HEADERS_SHAPE;
    else if (u != "alert") {
      enter("unknownHeaders");
      fail("expected alert or shape, got \"" + u + "\"");
      leave();
    }
    return c;
  }
}

function readCap(o: JsonValue | null, name: string, dflt: i32, min: i32, max: i32): i32 {
  const n = readU32(field(o, name), <u32>dflt);
  if (n < <u32>min || n > <u32>max) {
    enter(name);
    fail("expected an integer from " + min.toString() + " to " + max.toString() + ", got " + n.toString());
    leave();
    return dflt;
  }
  return <i32>n;
}

// The caps of the criteria being learned or prepared (the original's while none is set): the
// key/value tables read them, so that no constructor or decoder has to carry them.
let paramCap: i32 = ORIGINAL_KEY_CAP;
let headerCap: i32 = ORIGINAL_KEY_CAP;
let headerShape: bool = false;
let guardCaps: bool = false;

/** Learn and prepare with these caps (null: the original's) until the next call. */
export function useCaps(c: Caps | null): void {
  guardCaps = c != null;
  paramCap = c == null ? ORIGINAL_KEY_CAP : c.params;
  headerCap = c == null ? ORIGINAL_KEY_CAP : c.headers;
  headerShape = c != null && c.unknownHeaders == HEADERS_SHAPE;
}

/** Whether keys are kept by name while a table has room whatever their score (Guard's caps). */
export function keysKeptWhileRoom(): bool {
  return guardCaps;
}

/** Keys a table of this kind learns by name. */
export function keyCap(kind: u8): i32 {
  return kind == TABLE_PARAMS ? paramCap : headerCap;
}

/** Whether a table of this kind trains its catch-all with every key (unknownHeaders: shape). */
export function catchAllLearnsEveryKey(kind: u8): bool {
  return kind == TABLE_HEADERS && headerShape;
}
