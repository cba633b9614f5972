// Url: the decoded path as a segment count (Count) and the SimpleVal of its
// pieces concatenated without separators — computed in place, without splitting.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { CountConfig, CountPile } from "./count";
import { Decision, decideChild } from "./decision";
import { SimpleValConfig, SimpleValPile, SimpleValProfile } from "./simpleval";
import { asObject, enter, field, leave, readU8 } from "./wire";

const SLASH = 47;

function segmentCount(slashes: i32, startsWithSlash: bool, endsWithSlash: bool): u8 {
  let pieces = slashes + 1;
  if (startsWithSlash) pieces--;
  if (pieces > 0 && endsWithSlash) pieces--;
  return pieces > 255 ? 255 : <u8>pieces;
}

export class UrlProfile {
  val: SimpleValProfile = new SimpleValProfile();
  segments: u8 = 0;

  static ofBytes(ptr: usize, len: i32): UrlProfile {
    const p = new UrlProfile();
    p.profileBytes(ptr, len);
    return p;
  }

  /** Profile a decoded path in place. */
  profileBytes(ptr: usize, len: i32): void {
    let slashes = 0;
    for (let i = 0; i < len; i++) if (load<u8>(ptr + <usize>i) == SLASH) slashes++;
    const first = len > 0 && load<u8>(ptr) == SLASH;
    const last = len > 0 && load<u8>(ptr + <usize>(len - 1)) == SLASH;
    this.segments = segmentCount(slashes, first || len == 0, last);
    this.val.profileBytesSkipping(ptr, len, SLASH);
  }

  static ofString(path: string): UrlProfile {
    const p = new UrlProfile();
    const len = path.length;
    let slashes = 0;
    for (let i = 0; i < len; i++) if (path.charCodeAt(i) == SLASH) slashes++;
    const first = len > 0 && path.charCodeAt(0) == SLASH;
    const last = len > 0 && path.charCodeAt(len - 1) == SLASH;
    p.segments = segmentCount(slashes, first || len == 0, last);
    p.val.profileStringSkipping(path, SLASH);
    return p;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("val");
    this.val.write(w);
    w.key("segments");
    w.uint(this.segments);
    w.endObject();
  }

  static read(v: JsonValue | null): UrlProfile {
    const o = asObject(v, "a URL profile");
    const p = new UrlProfile();
    enter("val");
    p.val = SimpleValProfile.read(field(o, "val"));
    leave();
    enter("segments");
    p.segments = readU8(field(o, "segments"), 0);
    leave();
    return p;
  }
}

export class UrlPile {
  val: SimpleValPile = new SimpleValPile();
  segments: CountPile = new CountPile();

  add(p: UrlProfile): void {
    this.val.add(p.val);
    this.segments.add(p.segments);
  }

  merge(o: UrlPile): void {
    this.val.merge(o.val);
    this.segments.merge(o.segments);
  }

  clear(): void {
    this.val.clear();
    this.segments.clear();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("val");
    this.val.write(w);
    w.key("segments");
    this.segments.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): UrlPile {
    const o = asObject(v, "a URL pile");
    const p = new UrlPile();
    enter("val");
    p.val = SimpleValPile.read(field(o, "val"));
    leave();
    enter("segments");
    p.segments = CountPile.read(field(o, "segments"));
    leave();
    return p;
  }
}

export class UrlConfig {
  val: SimpleValConfig = new SimpleValConfig();
  segments: CountConfig = new CountConfig();

  learn(p: UrlPile): void {
    this.val.learn(p.val);
    this.segments.learn(p.segments);
  }

  prepare(): void {
    this.val.prepare();
  }

  decide(p: UrlProfile): Decision | null {
    let d = decideChild(null, this.segments.decide(p.segments), "Segments");
    return decideChild(d, this.val.decide(p.val), "Val");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("val");
    this.val.write(w);
    w.key("segments");
    this.segments.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): UrlConfig {
    const o = asObject(v, "a URL config");
    const c = new UrlConfig();
    enter("val");
    c.val = SimpleValConfig.read(field(o, "val"));
    leave();
    enter("segments");
    c.segments = CountConfig.read(field(o, "segments"));
    leave();
    return c;
  }
}
