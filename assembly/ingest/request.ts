// Profiles a request or response given as a binary record (docs/abi.md) the way the original's
// gate saw it (reference §5): normalised headers, Go's path and query rules, and bodies by media
// type — JSON, form, multipart or text — into the session's profile.
import { parseMediaType } from "../http/mediatype";
import { unescapePathBytes } from "../http/path";
import { parseQuery, QueryValues } from "../http/query";
import { canonicalHeaderKey } from "../http/header";
import { JsonLimits, jsonError, parseJson } from "../json/reader";
import { parseIP } from "../net/ip";
import { BodyProfile, FAULT_JSON, FAULT_MULTIPART, FAULT_URLENCODED } from "../model/body";
import { IpSetProfile } from "../model/ipset";
import { KeyValProfile } from "../model/keyval";
import { KvSectionProfile } from "../model/kvsection";
import { MediaTypeProfile } from "../model/mediatype";
import { contentLengthCode, ReqProfile } from "../model/req";
import { RespProfile } from "../model/resp";
import { SetProfile } from "../model/set";
import { SimpleValProfile } from "../model/simpleval";
import { StructuredProfile } from "../model/structured";
import { UrlProfile } from "../model/url";
import { HeaderList, normaliseRequestHeaders, trimOWS } from "./headers";
import { parseMultipartForm } from "./multipart";
import { RecordReader } from "./record";

export const MAX_HEADER_LINES = 1024;
const BODY_NONE = 0;
const BODY_BYTES = 1;
const BODY_FAULT = 2;

const reader = new RecordReader();
const headers = new HeaderList();
const bodyLimits = new JsonLimits();
let pathBuf = new ArrayBuffer(4096);

/** Error of the last ingest call ("" when it succeeded). */
export let ingestError: string = "";

function readHeaders(r: RecordReader, h: HeaderList): bool {
  h.reset();
  const n = r.u32();
  if (n > <u32>MAX_HEADER_LINES) {
    ingestError = "more than " + MAX_HEADER_LINES.toString() + " header lines";
    return false;
  }
  for (let i: u32 = 0; i < n; i++) {
    const name = r.string();
    const value = r.string();
    if (r.bad) break;
    h.push(canonicalHeaderKey(name), trimOWS(value));
  }
  return true;
}

/** Header lines grouped by name, values joined with one space (reference §3.1.2). */
function headersProfile(h: HeaderList): KvSectionProfile {
  const p = new KvSectionProfile();
  const kv = new KeyValProfile();
  const names = h.names;
  const n = names.length;
  for (let i = 0; i < n; i++) {
    const name = names[i];
    let seen = false;
    for (let j = 0; j < i; j++) {
      if (names[j] == name) {
        seen = true;
        break;
      }
    }
    if (seen) continue;
    let value = h.values[i];
    for (let j = i + 1; j < n; j++) if (names[j] == name) value += " " + h.values[j];
    kv.set(name, SimpleValProfile.ofString(value));
  }
  p.kv = kv.keys.length == 0 ? null : kv;
  return p;
}

function queryProfile(q: QueryValues): KvSectionProfile {
  const p = new KvSectionProfile();
  if (q.keys.length == 0) return p;
  const kv = new KeyValProfile();
  for (let i = 0; i < q.keys.length; i++) kv.set(q.keys[i], SimpleValProfile.ofString(q.values[i].join(" ")));
  p.kv = kv;
  return p;
}

function parseContentLength(v: string | null): i64 {
  if (v == null || v.length == 0 || v.length > 18) return -1;
  let n: i64 = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + <i64>(c - 48);
  }
  return n;
}

/** Go's url.ParseQuery reports an error for a ';' or a bad escape; ParseForm passes it on. */
function formHasError(ptr: usize, len: i32): bool {
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c == 59) return true;
    if (c == 37) {
      if (i + 2 >= len || !isHex(load<u8>(ptr + <usize>(i + 1))) || !isHex(load<u8>(ptr + <usize>(i + 2)))) return true;
    }
  }
  return false;
}

function isHex(c: u8): bool {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Profile a body by its media type (reference §5.4); multipart and forms for requests only. */
export function profileBody(body: BodyProfile, ptr: usize, len: i32, contentType: string, isRequest: bool): void {
  const mt = parseMediaType(contentType);
  const type = mt == null ? "application/octet-stream" : mt.type;
  if (type == "application/json") {
    bodyLimits.maxBytes = len + 1;
    const v = parseJson(ptr, len, bodyLimits, true);
    if (v == null) body.profileFault(FAULT_JSON);
    else body.profileStructured(StructuredProfile.of(v));
    return;
  }
  if (isRequest && type == "application/x-www-form-urlencoded") {
    if (formHasError(ptr, len)) {
      body.profileFault(FAULT_URLENCODED);
      return;
    }
    const q = parseQuery(ptr, len);
    body.profileStructured(StructuredProfile.ofForm(q.keys, q.values));
    return;
  }
  if (isRequest && type == "multipart/form-data") {
    let boundary = "";
    if (mt != null) {
      const at = mt.paramKeys.indexOf("boundary");
      if (at >= 0) boundary = mt.paramVals[at];
    }
    const form = parseMultipartForm(ptr, len, boundary);
    if (form == null) body.profileFault(FAULT_MULTIPART);
    else body.profileStructured(StructuredProfile.ofForm(form.keys, form.values));
    return;
  }
  body.profileUnstructured(SimpleValProfile.ofBytes(ptr, len));
}

function readBody(r: RecordReader, body: BodyProfile, contentType: string, isRequest: bool): i64 {
  const kind = r.u8();
  if (kind == BODY_BYTES) {
    const n = r.bytes();
    if (!r.bad && n > 0) profileBody(body, r.at, n, contentType, isRequest);
    return n;
  }
  if (kind == BODY_FAULT) {
    body.profileFault(r.string());
  } else if (kind != BODY_NONE) {
    r.bad = true;
  }
  return -1;
}

/** Profile a request record into req and reqBody; false (with ingestError) on a bad record. */
export function ingestRequest(ptr: usize, len: i32, req: ReqProfile, reqBody: BodyProfile): bool {
  ingestError = "";
  const r = reader;
  r.reset(ptr, len);
  if (r.u32() != 1) {
    ingestError = "unknown request record version";
    return false;
  }
  const method = r.string();
  const proto = r.string();
  const pathLen = r.bytes();
  const pathAt = r.at;
  const queryLen = r.bytes();
  const queryAt = r.at;
  const remote = r.string();
  if (!readHeaders(r, headers)) return false;
  if (r.bad) {
    ingestError = "truncated request record";
    return false;
  }
  if (method.length == 0) {
    ingestError = "the request has no method";
    return false;
  }
  if (pathLen > pathBuf.byteLength) pathBuf = new ArrayBuffer(pathLen);
  const decodedLen = unescapePathBytes(pathAt, pathLen, changetype<usize>(pathBuf));
  if (decodedLen < 0) {
    ingestError = "invalid percent-encoding in the path";
    return false;
  }
  const remoteIP = remote.length > 0 ? parseIP(remote) : null;
  normaliseRequestHeaders(headers, remote);
  const contentType = headers.first("Content-Type");
  const ct = contentType == null ? "" : contentType;

  req.cip = IpSetProfile.ofIP(remoteIP);
  const xff = headers.all("X-Forwarded-For");
  req.hopip = xff.length > 0 ? IpSetProfile.ofString(xff[xff.length - 1]) : new IpSetProfile();
  req.method = SetProfile.ofString(method);
  req.proto = SetProfile.ofString(proto.length == 0 ? "HTTP/1.1" : proto);
  req.mediatype = MediaTypeProfile.of(ct);
  req.url = UrlProfile.ofBytes(changetype<usize>(pathBuf), decodedLen);
  req.qs = queryProfile(parseQuery(queryAt, queryLen));
  req.headers = headersProfile(headers);

  const bodyLen = readBody(r, reqBody, ct, true);
  if (r.bad) {
    ingestError = "truncated request record";
    return false;
  }
  const length = bodyLen >= 0 ? bodyLen : parseContentLength(headers.first("Content-Length"));
  req.contentlength = contentLengthCode(length);
  return true;
}

/** Profile a response record into resp and respBody. */
export function ingestResponse(ptr: usize, len: i32, resp: RespProfile, respBody: BodyProfile): bool {
  ingestError = "";
  const r = reader;
  r.reset(ptr, len);
  r.u32(); // status: not part of the profile (as in the original)
  if (!readHeaders(r, headers)) return false;
  if (r.bad) {
    ingestError = "truncated response record";
    return false;
  }
  // Go's client moves Transfer-Encoding out of the header map.
  headers.remove("Transfer-Encoding");
  const contentType = headers.first("Content-Type");
  const ct = contentType == null ? "" : contentType;
  resp.headers = headersProfile(headers);
  resp.mediatype = MediaTypeProfile.of(ct);
  const bodyLen = readBody(r, respBody, ct, false);
  if (r.bad) {
    ingestError = "truncated response record";
    return false;
  }
  const length = bodyLen >= 0 ? bodyLen : parseContentLength(headers.first("Content-Length"));
  resp.contentlength = contentLengthCode(length);
  return true;
}

export { jsonError };
