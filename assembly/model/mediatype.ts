// MediaType: the Content-Type parsed as Go's mime.ParseMediaType; any error → "none".
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { MediaType, parseMediaType } from "../http/mediatype";
import { Decision, decideChild } from "./decision";
import { KeyValConfig, KeyValPile, KeyValProfile, writeKeyValProfile } from "./keyval";
import { SetConfig, SetPile, SetProfile } from "./set";
import { SimpleValProfile } from "./simpleval";
import { asObject, enter, field, leave } from "./wire";

export class MediaTypeProfile {
  typeTokens: SetProfile = new SetProfile();
  params: KeyValProfile | null = null;

  static of(contentType: string): MediaTypeProfile {
    return MediaTypeProfile.ofParsed(parseMediaType(contentType));
  }

  /** The profile of a Content-Type already parsed (null: it did not parse). */
  static ofParsed(mt: MediaType | null): MediaTypeProfile {
    const p = new MediaTypeProfile();
    if (mt == null || mt.type.length == 0) {
      p.typeTokens = SetProfile.ofString("none");
      return p;
    }
    p.typeTokens = SetProfile.ofString(mt.type);
    if (mt.paramKeys.length > 0) {
      const kv = new KeyValProfile();
      for (let i = 0; i < mt.paramKeys.length; i++) kv.set(mt.paramKeys[i], SimpleValProfile.ofString(mt.paramVals[i]));
      p.params = kv;
    }
    return p;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("type");
    this.typeTokens.write(w);
    w.key("params");
    writeKeyValProfile(w, this.params);
    w.endObject();
  }

  static read(v: JsonValue | null): MediaTypeProfile {
    const o = asObject(v, "a media type profile");
    const p = new MediaTypeProfile();
    enter("type");
    p.typeTokens = SetProfile.read(field(o, "type"));
    leave();
    enter("params");
    p.params = KeyValProfile.read(field(o, "params"));
    leave();
    return p;
  }
}

export class MediaTypePile {
  typeTokens: SetPile = new SetPile();
  params: KeyValPile = new KeyValPile();

  add(p: MediaTypeProfile): void {
    this.typeTokens.add(p.typeTokens);
    this.params.add(p.params);
  }

  merge(o: MediaTypePile): void {
    this.typeTokens.merge(o.typeTokens);
    this.params.merge(o.params);
  }

  clear(): void {
    this.typeTokens.clear();
    this.params.clear();
  }

  isEmpty(): bool {
    return this.typeTokens.isEmpty();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("type");
    this.typeTokens.write(w);
    w.key("params");
    this.params.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): MediaTypePile {
    const o = asObject(v, "a media type pile");
    const p = new MediaTypePile();
    enter("type");
    p.typeTokens = SetPile.read(field(o, "type"));
    leave();
    enter("params");
    p.params = KeyValPile.read(field(o, "params"));
    leave();
    return p;
  }
}

export class MediaTypeConfig {
  typeTokens: SetConfig = new SetConfig();
  params: KeyValConfig = new KeyValConfig();

  learn(p: MediaTypePile): void {
    this.typeTokens.learn(p.typeTokens);
    this.params.learn(p.params);
  }

  prepare(): void {
    this.typeTokens.prepare();
    this.params.prepare();
  }

  decide(p: MediaTypeProfile): Decision | null {
    let d = decideChild(null, this.typeTokens.decide(p.typeTokens), "Type");
    return decideChild(d, this.params.decide(p.params), "Params");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("type");
    this.typeTokens.write(w);
    w.key("params");
    this.params.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): MediaTypeConfig {
    const o = asObject(v, "a media type config");
    const c = new MediaTypeConfig();
    enter("type");
    c.typeTokens = SetConfig.read(field(o, "type"));
    leave();
    enter("params");
    c.params = KeyValConfig.read(field(o, "params"));
    leave();
    return c;
  }
}
