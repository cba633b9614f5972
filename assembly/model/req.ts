// Request: client and hop addresses, method, protocol, host, media type, content length, path,
// query and headers. HopIp is merged and cleared like the rest (difference 5 of
// docs/compatibility.md). Host is Guard's own optional criterion (docs/compatibility.md, "Host"):
// written only when it holds something, and not enforced by a config that learned none.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { CountConfig, CountPile } from "./count";
import { Decision, decideChild } from "./decision";
import { IpSetConfig, IpSetPile, IpSetProfile } from "./ipset";
import { KvSectionConfig, KvSectionPile, KvSectionProfile } from "./kvsection";
import { MediaTypeConfig, MediaTypePile, MediaTypeProfile } from "./mediatype";
import { SetConfig, SetPile, SetProfile } from "./set";
import { UrlConfig, UrlPile, UrlProfile } from "./url";
import { TABLE_PARAMS } from "./caps";
import { asObject, enter, field, leave, readU8 } from "./wire";

/** Content length as its bit length (1 → 1, 1024 → 11); 0 when unknown or empty. */
export function contentLengthCode(len: i64): u8 {
  if (len <= 0) return 0;
  return <u8>(64 - clz<i64>(len));
}

export class ReqProfile {
  cip: IpSetProfile = new IpSetProfile();
  hopip: IpSetProfile = new IpSetProfile();
  method: SetProfile = new SetProfile();
  proto: SetProfile = new SetProfile();
  host: SetProfile = new SetProfile();
  mediatype: MediaTypeProfile = new MediaTypeProfile();
  contentlength: u8 = 0;
  url: UrlProfile = new UrlProfile();
  qs: KvSectionProfile = new KvSectionProfile();
  headers: KvSectionProfile = new KvSectionProfile();
  /**
   * The route ("METHOD /path/{id}", route.ts templating) and its keyHash and method class; ""
   * when not profiled from a request (then no route check applies). Not part of the wire profile.
   */
  route: string = "";
  routeHash: u32 = 0;
  methodClass: u8 = 0;

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("cip");
    this.cip.write(w);
    w.key("hopip");
    this.hopip.write(w);
    w.key("method");
    this.method.write(w);
    w.key("proto");
    this.proto.write(w);
    if (this.host.list != null) {
      w.key("host");
      this.host.write(w);
    }
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    w.uint(this.contentlength);
    w.key("url");
    this.url.write(w);
    w.key("qs");
    this.qs.write(w);
    w.key("headers");
    this.headers.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): ReqProfile {
    const o = asObject(v, "a request profile");
    const p = new ReqProfile();
    enter("cip"); p.cip = IpSetProfile.read(field(o, "cip")); leave();
    enter("hopip"); p.hopip = IpSetProfile.read(field(o, "hopip")); leave();
    enter("method"); p.method = SetProfile.read(field(o, "method")); leave();
    enter("proto"); p.proto = SetProfile.read(field(o, "proto")); leave();
    enter("host"); p.host = SetProfile.read(field(o, "host")); leave();
    enter("mediatype"); p.mediatype = MediaTypeProfile.read(field(o, "mediatype")); leave();
    enter("contentlength"); p.contentlength = readU8(field(o, "contentlength"), 0); leave();
    enter("url"); p.url = UrlProfile.read(field(o, "url")); leave();
    enter("qs"); p.qs = KvSectionProfile.read(field(o, "qs")); leave();
    enter("headers"); p.headers = KvSectionProfile.read(field(o, "headers")); leave();
    return p;
  }
}

export class ReqPile {
  cip: IpSetPile = new IpSetPile();
  hopip: IpSetPile = new IpSetPile();
  method: SetPile = new SetPile();
  proto: SetPile = new SetPile();
  host: SetPile = new SetPile();
  mediatype: MediaTypePile = new MediaTypePile();
  contentlength: CountPile = new CountPile();
  url: UrlPile = new UrlPile();
  qs: KvSectionPile = new KvSectionPile();
  headers: KvSectionPile = new KvSectionPile();

  add(p: ReqProfile): void {
    this.cip.add(p.cip);
    this.hopip.add(p.hopip);
    this.method.add(p.method);
    this.proto.add(p.proto);
    this.host.add(p.host);
    this.mediatype.add(p.mediatype);
    this.contentlength.add(p.contentlength);
    this.url.add(p.url);
    this.qs.add(p.qs);
    this.headers.add(p.headers);
  }

  merge(o: ReqPile): void {
    this.cip.merge(o.cip);
    this.hopip.merge(o.hopip);
    this.method.merge(o.method);
    this.proto.merge(o.proto);
    this.host.merge(o.host);
    this.mediatype.merge(o.mediatype);
    this.contentlength.merge(o.contentlength);
    this.url.merge(o.url);
    this.qs.merge(o.qs);
    this.headers.merge(o.headers);
  }

  clear(): void {
    this.cip.clear();
    this.hopip.clear();
    this.method.clear();
    this.proto.clear();
    this.host.clear();
    this.mediatype.clear();
    this.contentlength.clear();
    this.url.clear();
    this.qs.clear();
    this.headers.clear();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("cip");
    this.cip.write(w);
    w.key("hopip");
    this.hopip.write(w);
    w.key("method");
    this.method.write(w);
    w.key("proto");
    this.proto.write(w);
    if (!this.host.isEmpty()) {
      w.key("host");
      this.host.write(w);
    }
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    this.contentlength.write(w);
    w.key("url");
    this.url.write(w);
    w.key("qs");
    this.qs.write(w);
    w.key("headers");
    this.headers.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): ReqPile {
    const o = asObject(v, "a request pile");
    const p = new ReqPile();
    enter("cip"); p.cip = IpSetPile.read(field(o, "cip")); leave();
    enter("hopip"); p.hopip = IpSetPile.read(field(o, "hopip")); leave();
    enter("method"); p.method = SetPile.read(field(o, "method")); leave();
    enter("proto"); p.proto = SetPile.read(field(o, "proto")); leave();
    enter("host"); p.host = SetPile.read(field(o, "host")); leave();
    enter("mediatype"); p.mediatype = MediaTypePile.read(field(o, "mediatype")); leave();
    enter("contentlength"); p.contentlength = CountPile.read(field(o, "contentlength")); leave();
    enter("url"); p.url = UrlPile.read(field(o, "url")); leave();
    enter("qs"); p.qs = KvSectionPile.read(field(o, "qs")); leave();
    enter("headers"); p.headers = KvSectionPile.read(field(o, "headers")); leave();
    return p;
  }
}

export class ReqConfig {
  cip: IpSetConfig = new IpSetConfig();
  hopip: IpSetConfig = new IpSetConfig();
  method: SetConfig = new SetConfig();
  proto: SetConfig = new SetConfig();
  host: SetConfig = new SetConfig();
  mediatype: MediaTypeConfig = new MediaTypeConfig();
  contentlength: CountConfig = new CountConfig();
  url: UrlConfig = new UrlConfig();
  qs: KvSectionConfig = KvSectionConfig.ofKind(TABLE_PARAMS);
  headers: KvSectionConfig = new KvSectionConfig();

  learn(p: ReqPile): void {
    this.cip.learn(p.cip);
    this.hopip.learn(p.hopip);
    this.method.learn(p.method);
    this.proto.learn(p.proto);
    this.host.learn(p.host);
    this.mediatype.learn(p.mediatype);
    this.contentlength.learn(p.contentlength);
    this.url.learn(p.url);
    this.qs.learn(p.qs);
    this.headers.learn(p.headers);
  }

  prepare(): void {
    this.cip.prepare();
    this.hopip.prepare();
    this.method.prepare();
    this.proto.prepare();
    this.host.prepare();
    this.mediatype.prepare();
    this.url.prepare();
    this.qs.prepare();
    this.headers.prepare();
  }

  decide(p: ReqProfile): Decision | null {
    let d = decideChild(null, this.url.decide(p.url), "Url");
    d = decideChild(d, this.qs.decide(p.qs), "QueryString");
    d = decideChild(d, this.headers.decide(p.headers), "Headers");
    d = decideChild(d, this.cip.decide(p.cip), "ClientIp");
    d = decideChild(d, this.hopip.decide(p.hopip), "HopIp");
    d = decideChild(d, this.method.decide(p.method), "Method");
    d = decideChild(d, this.proto.decide(p.proto), "Proto");
    // Enforced only once learned or configured: an empty set would refuse every Host.
    if (!this.host.isEmpty()) d = decideChild(d, this.host.decide(p.host), "Host");
    d = decideChild(d, this.mediatype.decide(p.mediatype), "MediaType");
    return decideChild(d, this.contentlength.decide(p.contentlength), "ContentLength");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("cip");
    this.cip.write(w);
    w.key("hopip");
    this.hopip.write(w);
    w.key("method");
    this.method.write(w);
    w.key("proto");
    this.proto.write(w);
    if (!this.host.isEmpty()) {
      w.key("host");
      this.host.write(w);
    }
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    this.contentlength.write(w);
    w.key("url");
    this.url.write(w);
    w.key("qs");
    this.qs.write(w);
    w.key("headers");
    this.headers.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): ReqConfig {
    const o = asObject(v, "a request config");
    const c = new ReqConfig();
    enter("cip"); c.cip = IpSetConfig.read(field(o, "cip")); leave();
    enter("hopip"); c.hopip = IpSetConfig.read(field(o, "hopip")); leave();
    enter("method"); c.method = SetConfig.read(field(o, "method")); leave();
    enter("proto"); c.proto = SetConfig.read(field(o, "proto")); leave();
    enter("host"); c.host = SetConfig.read(field(o, "host")); leave();
    enter("mediatype"); c.mediatype = MediaTypeConfig.read(field(o, "mediatype")); leave();
    enter("contentlength"); c.contentlength = CountConfig.read(field(o, "contentlength")); leave();
    enter("url"); c.url = UrlConfig.read(field(o, "url")); leave();
    enter("qs"); c.qs = KvSectionConfig.read(field(o, "qs"), TABLE_PARAMS); leave();
    enter("headers"); c.headers = KvSectionConfig.read(field(o, "headers")); leave();
    return c;
  }
}
