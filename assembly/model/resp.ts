// Response: headers, media type and content length of the service's answer.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { CountConfig, CountPile } from "./count";
import { Decision, decideChild } from "./decision";
import { KvSectionConfig, KvSectionPile, KvSectionProfile } from "./kvsection";
import { MediaTypeConfig, MediaTypePile, MediaTypeProfile } from "./mediatype";
import { asObject, enter, field, leave, readU8 } from "./wire";

export class RespProfile {
  headers: KvSectionProfile = new KvSectionProfile();
  mediatype: MediaTypeProfile = new MediaTypeProfile();
  contentlength: u8 = 0;
  write(w: JsonWriter): void {
    w.beginObject();
    w.key("headers");
    this.headers.write(w);
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    w.uint(this.contentlength);
    w.endObject();
  }

  static read(v: JsonValue | null): RespProfile {
    const o = asObject(v, "a response profile");
    const p = new RespProfile();
    enter("headers"); p.headers = KvSectionProfile.read(field(o, "headers")); leave();
    enter("mediatype"); p.mediatype = MediaTypeProfile.read(field(o, "mediatype")); leave();
    enter("contentlength"); p.contentlength = readU8(field(o, "contentlength"), 0); leave();
    return p;
  }
}

export class RespPile {
  headers: KvSectionPile = new KvSectionPile();
  mediatype: MediaTypePile = new MediaTypePile();
  contentlength: CountPile = new CountPile();

  add(p: RespProfile): void {
    this.headers.add(p.headers);
    this.mediatype.add(p.mediatype);
    this.contentlength.add(p.contentlength);
  }

  merge(o: RespPile): void {
    this.headers.merge(o.headers);
    this.mediatype.merge(o.mediatype);
    this.contentlength.merge(o.contentlength);
  }

  clear(): void {
    this.headers.clear();
    this.mediatype.clear();
    this.contentlength.clear();
  }

  /** No response was ever added: every profiled response records at least a media type. */
  isEmpty(): bool {
    const cl = this.contentlength.values;
    return this.mediatype.isEmpty() && (cl == null || cl.isEmpty());
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("headers");
    this.headers.write(w);
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    this.contentlength.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): RespPile {
    const o = asObject(v, "a response pile");
    const p = new RespPile();
    enter("headers"); p.headers = KvSectionPile.read(field(o, "headers")); leave();
    enter("mediatype"); p.mediatype = MediaTypePile.read(field(o, "mediatype")); leave();
    enter("contentlength"); p.contentlength = CountPile.read(field(o, "contentlength")); leave();
    return p;
  }
}

export class RespConfig {
  headers: KvSectionConfig = new KvSectionConfig();
  mediatype: MediaTypeConfig = new MediaTypeConfig();
  contentlength: CountConfig = new CountConfig();

  learn(p: RespPile): void {
    this.headers.learn(p.headers);
    this.mediatype.learn(p.mediatype);
    this.contentlength.learn(p.contentlength);
  }

  prepare(): void {
    this.headers.prepare();
    this.mediatype.prepare();
  }

  decide(p: RespProfile): Decision | null {
    let d = decideChild(null, this.headers.decide(p.headers), "Headers");
    d = decideChild(d, this.mediatype.decide(p.mediatype), "MediaType");
    return decideChild(d, this.contentlength.decide(p.contentlength), "ContentLength");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("headers");
    this.headers.write(w);
    w.key("mediatype");
    this.mediatype.write(w);
    w.key("contentlength");
    this.contentlength.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): RespConfig {
    const o = asObject(v, "a response config");
    const c = new RespConfig();
    enter("headers"); c.headers = KvSectionConfig.read(field(o, "headers")); leave();
    enter("mediatype"); c.mediatype = MediaTypeConfig.read(field(o, "mediatype")); leave();
    enter("contentlength"); c.contentlength = CountConfig.read(field(o, "contentlength")); leave();
    return c;
  }
}
