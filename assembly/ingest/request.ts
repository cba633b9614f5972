// Profiles a request or response given as a binary record (docs/abi.md) the way the original's
// gate saw it: normalised headers, Go's path and query rules, and bodies by media
// type — JSON, form, multipart or text — into the session's profile.
import { MediaType } from "../http/mediatype";
import { unescapePathBytes } from "../http/path";
import { parseQuery } from "../http/query";
import { parseIP } from "../net/ip";
import { bytesHash } from "../text/bytehash";
import { goStringFromUtf8 } from "../text/utf8";
import { BodyProfile, FAULT_JSON, FAULT_JSON_TRAILING, FAULT_MULTIPART, FAULT_URLENCODED } from "../model/body";
import { ignoredIP, IpSetProfile } from "../model/ipset";
import { KvSectionProfile } from "../model/kvsection";
import { contentLengthCode, ReqProfile } from "../model/req";
import { RespProfile } from "../model/resp";
import { SetProfile } from "../model/set";
import { SimpleValProfile } from "../model/simpleval";
import { StructuredProfile } from "../model/structured";
import { UrlProfile } from "../model/url";
import { HeaderTable, MAX_HEADER_LINES, WELL_KNOWN_COUNT } from "./headers";
import { HOST_NONE_SET, hostSet } from "./host";
import { parseMultipartForm } from "./multipart";
import { QueryScan } from "./query";
import { jsonBodyTrailing, profileJsonBody } from "./jsonbody";
import { profileRoute } from "./route";
import { KnownMediaType, mediaTypeAt } from "./mediatypes";
import { RecordReader } from "./record";

const BODY_NONE = 0;
const BODY_BYTES = 1;
const BODY_FAULT = 2;

const reader = new RecordReader();
const headers = new HeaderTable();
const query = new QueryScan();
let pathBuf = new ArrayBuffer(4096);

/** Error of the last ingest call ("" when it succeeded). */
export let ingestError: string = "";
/** Whether the last failed ingest call failed on the request's Host lines (docs/abi.md). */
export let ingestBadHost: bool = false;

const NAME_REF: u32 = 0x80000000;
/** Version 2: header lines as a table of lengths, then their bytes (docs/abi.md). */
const REQUEST_RECORD_VERSION: u32 = 2;

function readHeaders(r: RecordReader, h: HeaderTable): bool {
  h.reset();
  const n = r.u32();
  if (n > <u32>MAX_HEADER_LINES) {
    ingestError = "more than " + MAX_HEADER_LINES.toString() + " header lines";
    return false;
  }
  // n × (u32 name tag, u32 value length), then the bytes of every line in order: the name's (when
  // the tag is its length) and the value's (docs/abi.md). A name tag with the top bit set is the
  // index of a well-known name, and no name bytes follow.
  const count = <i32>n;
  const table = r.pos;
  if (<i64>table + (<i64>count << 3) > <i64>r.len) {
    r.bad = true;
    return true;
  }
  const base = r.ptr;
  let at = table + (count << 3);
  for (let i = 0; i < count; i++) {
    const tag = load<u32>(base + <usize>(table + (i << 3)));
    const valueLen = load<u32>(base + <usize>(table + (i << 3) + 4));
    if ((tag & NAME_REF) != 0) {
      const id = <i32>(tag & ~NAME_REF);
      if (id >= WELL_KNOWN_COUNT) {
        ingestError = "header name reference " + id.toString() + " is not a well-known name";
        return false;
      }
      if (<u64>valueLen > <u64>(r.len - at)) {
        r.bad = true;
        return true;
      }
      h.addKnown(id, base + <usize>at, <i32>valueLen);
      at += <i32>valueLen;
      continue;
    }
    if (<u64>tag + <u64>valueLen > <u64>(r.len - at)) {
      r.bad = true;
      return true;
    }
    h.addRaw(base + <usize>at, <i32>tag, base + <usize>(at + <i32>tag), <i32>valueLen);
    at += <i32>tag + <i32>valueLen;
  }
  r.pos = at;
  return true;
}

// Profiles are never mutated once made, so one made from the same text can be shared.
const EMPTY_IPS = new IpSetProfile();

/** The client-address profiles of recent peers (a small direct-mapped cache). */
class RemoteCache {
  private keys: StaticArray<string | null> = new StaticArray<string | null>(64);
  private cips: StaticArray<IpSetProfile> = new StaticArray<IpSetProfile>(64);
  private hops: StaticArray<IpSetProfile> = new StaticArray<IpSetProfile>(64);
  cip: IpSetProfile = EMPTY_IPS;
  hop: IpSetProfile = EMPTY_IPS;

  /** Profiles of a peer address; false when the text is not an IP address. */
  lookup(ptr: usize, len: i32): bool {
    const slot = <i32>(bytesHash(ptr, len) & 63);
    const key = unchecked(this.keys[slot]);
    if (key != null && key.length == len) {
      let same = true;
      const kp = changetype<usize>(key);
      for (let i = 0; i < len && same; i++) same = load<u16>(kp + (<usize>i << 1)) == <u16>load<u8>(ptr + <usize>i);
      if (same) {
        this.cip = unchecked(this.cips[slot]);
        this.hop = unchecked(this.hops[slot]);
        return true;
      }
    }
    const text = goStringFromUtf8(ptr, len);
    const ip = parseIP(text);
    if (ip == null) return false;
    // One parse for both: the hop profile of a parsed address is ofString's without the parse.
    if (ignoredIP(ip)) {
      this.cip = EMPTY_IPS;
      this.hop = EMPTY_IPS;
    } else {
      this.cip = IpSetProfile.ofIP(ip);
      this.hop = IpSetProfile.ofParsed(ip);
    }
    unchecked((this.keys[slot] = text));
    unchecked((this.cips[slot] = this.cip));
    unchecked((this.hops[slot] = this.hop));
    return true;
  }
}

const remotes = new RemoteCache();

/** A Set profile of a short token, reusing the constant for the common ones. */
const COMMON_TOKENS: StaticArray<string> = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"];
const COMMON_SETS: StaticArray<SetProfile> = [
  SetProfile.ofString("GET"), SetProfile.ofString("POST"), SetProfile.ofString("PUT"), SetProfile.ofString("DELETE"), SetProfile.ofString("PATCH"),
  SetProfile.ofString("HEAD"), SetProfile.ofString("OPTIONS"), SetProfile.ofString("HTTP/1.1"), SetProfile.ofString("HTTP/1.0"), SetProfile.ofString("HTTP/2.0"),
];

function tokenSet(ptr: usize, len: i32): SetProfile {
  for (let i = 0; i < COMMON_TOKENS.length; i++) {
    const t = COMMON_TOKENS[i];
    if (t.length != len) continue;
    let same = true;
    const tp = changetype<usize>(t);
    for (let k = 0; k < len && same; k++) same = <u16>load<u8>(ptr + <usize>k) == load<u16>(tp + (<usize>k << 1));
    if (same) return COMMON_SETS[i];
  }
  return SetProfile.ofString(goStringFromUtf8(ptr, len));
}

/** The Host token of the request (hostSet), or null with ingestError set when it is malformed. */
function hostProfile(h: HeaderTable): SetProfile | null {
  const i = h.hostLine();
  if (i == -1) return HOST_NONE_SET;
  if (i == -2) {
    ingestError = "the request has more than one Host header line";
    return null;
  }
  const p = unchecked(h.ptrs[i]);
  const n = unchecked(h.lens[i]);
  const set = hostSet(p, n);
  if (set == null) {
    const shown = n > 100 ? goStringFromUtf8(p, 100) + "…" : goStringFromUtf8(p, n);
    ingestError = "the Host header \"" + shown + "\" is not a valid host[:port] (RFC 3986)";
  }
  return set;
}

function parseContentLength(h: HeaderTable): i64 {
  const i = h.contentLength();
  if (i < 0) return -1;
  const p = h.ptrs[i];
  const n = h.lens[i];
  if (n == 0 || n > 18) return -1;
  let v: i64 = 0;
  for (let k = 0; k < n; k++) {
    const c = load<u8>(p + <usize>k);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + <i64>(c - 48);
  }
  return v;
}

/** The media type of the first Content-Type line ("" when there is none). */
function contentTypeOf(h: HeaderTable): KnownMediaType {
  const i = h.contentType();
  return i < 0 ? mediaTypeAt(0, 0) : mediaTypeAt(unchecked(h.ptrs[i]), unchecked(h.lens[i]));
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

/** Profile a body by its media type: JSON, forms and multipart (requests only), anything else as text. */
export function profileBody(body: BodyProfile, ptr: usize, len: i32, mt: MediaType | null, isRequest: bool): void {
  const type = mt == null ? "application/octet-stream" : mt.type;
  if (type == "application/json") {
    const p = profileJsonBody(ptr, len, body.reusableStructured());
    if (p == null) {
      body.profileFault(FAULT_JSON);
      return;
    }
    body.profileStructured(p);
    if (jsonBodyTrailing) body.profileFault(FAULT_JSON_TRAILING);
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

function readBody(r: RecordReader, body: BodyProfile, contentType: KnownMediaType, isRequest: bool): i64 {
  const kind = r.u8();
  if (kind == BODY_BYTES) {
    const n = r.bytes();
    if (!r.bad && n > 0) profileBody(body, r.at, n, contentType.parsed, isRequest);
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
  ingestBadHost = false;
  const r = reader;
  r.reset(ptr, len);
  if (r.u32() != REQUEST_RECORD_VERSION) {
    ingestError = "unknown request record version";
    return false;
  }
  const methodLen = r.bytes();
  const methodAt = r.at;
  const protoLen = r.bytes();
  const protoAt = r.at;
  const pathLen = r.bytes();
  const pathAt = r.at;
  const queryLen = r.bytes();
  const queryAt = r.at;
  const remoteLen = r.bytes();
  const remoteAt = r.at;
  if (!readHeaders(r, headers)) return false;
  if (r.bad) {
    ingestError = "truncated request record";
    return false;
  }
  if (methodLen == 0) {
    ingestError = "the request has no method";
    return false;
  }
  if (pathLen > pathBuf.byteLength) pathBuf = new ArrayBuffer(pathLen);
  const decodedLen = unescapePathBytes(pathAt, pathLen, changetype<usize>(pathBuf));
  if (decodedLen < 0) {
    ingestError = "invalid percent-encoding in the path";
    return false;
  }
  if (remoteLen > 0 && !remotes.lookup(remoteAt, remoteLen)) {
    ingestError = "the client address \"" + goStringFromUtf8(remoteAt, remoteLen) + "\" is not an IP address";
    return false;
  }
  // The Host line is decided (the normalisation then drops it, as the original's gate never saw it).
  const host = hostProfile(headers);
  if (host == null) {
    ingestBadHost = true;
    return false;
  }
  const clientSentXff = headers.normaliseRequest(remoteAt, remoteLen);
  const ct = contentTypeOf(headers);

  // HopIp is the last X-Forwarded-For line. After the rewrite it is the peer alone, or a comma
  // list (client hops + peer) that does not parse as one address (so it fails as
  // the original's did for a list).
  if (remoteLen > 0) {
    req.cip = remotes.cip;
    req.hopip = clientSentXff ? EMPTY_IPS : remotes.hop;
  } else {
    req.cip = EMPTY_IPS;
    const last = headers.lastForwardedFor();
    req.hopip = last >= 0 ? IpSetProfile.ofString(headers.valueString(last)) : EMPTY_IPS;
  }
  req.method = tokenSet(methodAt, methodLen);
  req.proto = protoLen == 0 ? COMMON_SETS[7] : tokenSet(protoAt, protoLen);
  req.host = host;
  req.mediatype = ct.profile;
  req.url.profileBytes(changetype<usize>(pathBuf), decodedLen);
  profileRoute(req, methodAt, methodLen, changetype<usize>(pathBuf), decodedLen);
  // The session's own profile objects are refilled in place (sessions are pooled).
  req.qs.kv = query.profile(queryAt, queryLen, req.qs.reusable());
  req.headers.kv = headers.profile(req.headers.reusable());

  const bodyLen = readBody(r, reqBody, ct, true);
  if (r.bad) {
    ingestError = "truncated request record";
    return false;
  }
  req.contentlength = contentLengthCode(bodyLen >= 0 ? bodyLen : parseContentLength(headers));
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
  headers.removeTransferEncoding();
  const ct = contentTypeOf(headers);
  resp.headers.kv = headers.profile(resp.headers.reusable());
  resp.mediatype = ct.profile;
  const bodyLen = readBody(r, respBody, ct, false);
  if (r.bad) {
    ingestError = "truncated response record";
    return false;
  }
  resp.contentlength = contentLengthCode(bodyLen >= 0 ? bodyLen : parseContentLength(headers));
  return true;
}
