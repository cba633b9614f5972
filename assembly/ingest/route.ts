// The route of a request (docs/routes.md): "METHOD TEMPLATE" of its method and decoded path,
// interned so that the same route is the same string request after request (no allocation once
// seen), with its keyHash and method class. The intern table is bounded: a flood of new routes
// costs a string each, not memory that stays.
import { templatePath } from "../http/route";
import { keyHash } from "../model/keyval";
import { ReqProfile } from "../model/req";
import { MAX_METHOD_BYTES, MAX_ROUTE_KEY_BYTES, methodClassOf } from "../model/routes";
import { goStringFromUtf8 } from "../text/utf8";
import { InternTable } from "./intern";

const routes = new InternTable(MAX_ROUTE_KEY_BYTES);
const keyBuf = new ArrayBuffer(MAX_ROUTE_KEY_BYTES);
const NOT_A_TOKEN = "{method}";

/** An HTTP token character (RFC 9110): what a method is made of. */
// @ts-ignore: decorator
@inline function isTokenChar(c: u8): bool {
  if (c >= 48 && c <= 57) return true;
  const l = c | 32;
  if (l >= 97 && l <= 122) return true;
  // ! # $ % & ' * + - . ^ _ ` | ~
  return c == 33 || (c >= 35 && c <= 39) || c == 42 || c == 43 || c == 45 || c == 46 || c == 94 || c == 95 || c == 96 || c == 124 || c == 126;
}

/** Write the method (or {method} for a long or odd one) at the start of the key; its length. */
function writeMethod(dst: usize, ptr: usize, len: i32): i32 {
  let ok = len > 0 && len <= MAX_METHOD_BYTES;
  for (let i = 0; i < len && ok; i++) ok = isTokenChar(load<u8>(ptr + <usize>i));
  if (ok) {
    for (let i = 0; i < len; i++) store<u8>(dst + <usize>i, load<u8>(ptr + <usize>i));
    return len;
  }
  for (let i = 0; i < NOT_A_TOKEN.length; i++) store<u8>(dst + <usize>i, <u8>NOT_A_TOKEN.charCodeAt(i));
  return NOT_A_TOKEN.length;
}

/** Set the request's route from its method and decoded path bytes. */
export function profileRoute(req: ReqProfile, methodPtr: usize, methodLen: i32, pathPtr: usize, pathLen: i32): void {
  const dst = changetype<usize>(keyBuf);
  let n = writeMethod(dst, methodPtr, methodLen);
  store<u8>(dst + <usize>n, 32);
  n++;
  n += templatePath(pathPtr, pathLen, dst + <usize>n);
  const slot = routes.findSlot(dst, n);
  if (slot >= 0) {
    const route = routes.valueAt(slot);
    // A pooled session usually held the same route last time: no store, no write barrier.
    if (changetype<usize>(req.route) != changetype<usize>(route)) req.route = route;
    req.routeHash = routes.hashAt(slot);
    req.methodClass = <u8>routes.tagAt(slot);
    return;
  }
  const route = goStringFromUtf8(dst, n);
  const cls = methodClassOf(route);
  routes.add(dst, n, route, cls);
  req.route = route;
  req.routeHash = keyHash(route);
  req.methodClass = cls;
}
