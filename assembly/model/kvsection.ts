// Headers and Query: the same wrapper around KeyVal, JSON {"kv": …}; the
// pile holds its KeyVal pile by pointer (null until the first add, null again after clear).
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideChild } from "./decision";
import { KeyValConfig, KeyValPile, KeyValProfile, writeKeyValProfile } from "./keyval";
import { TABLE_HEADERS } from "./caps";
import { asObject, enter, field, leave } from "./wire";

export class KvSectionProfile {
  kv: KeyValProfile | null = null;
  // Kept when kv is null, so a pooled session refills the same objects request after request.
  private store: KeyValProfile | null = null;

  /** Storage for refilling this profile in place. */
  reusable(): KeyValProfile {
    let kv = this.store;
    if (kv == null) {
      kv = new KeyValProfile();
      this.store = kv;
    }
    return kv;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kv");
    writeKeyValProfile(w, this.kv);
    w.endObject();
  }

  static read(v: JsonValue | null): KvSectionProfile {
    const p = new KvSectionProfile();
    enter("kv");
    p.kv = KeyValProfile.read(field(asObject(v, "a {kv} profile"), "kv"));
    leave();
    return p;
  }
}

export class KvSectionPile {
  kv: KeyValPile | null = null;

  add(p: KvSectionProfile): void {
    let kv = this.kv;
    if (kv == null) {
      kv = new KeyValPile();
      this.kv = kv;
    }
    kv.add(p.kv);
  }

  merge(o: KvSectionPile): void {
    const okv = o.kv;
    if (okv == null) return;
    let kv = this.kv;
    if (kv == null) {
      kv = new KeyValPile();
      this.kv = kv;
    }
    kv.merge(okv);
  }

  clear(): void {
    this.kv = null;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kv");
    const kv = this.kv;
    if (kv == null) w.null();
    else kv.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): KvSectionPile {
    const p = new KvSectionPile();
    const kvv = field(asObject(v, "a {kv} pile"), "kv");
    if (kvv != null) {
      enter("kv");
      p.kv = KeyValPile.read(kvv);
      leave();
    }
    return p;
  }
}

export class KvSectionConfig {
  kv: KeyValConfig = new KeyValConfig();

  /** An empty config of a table kind (caps.ts): headers, or parameters for the query. */
  static ofKind(kind: u8): KvSectionConfig {
    const c = new KvSectionConfig();
    c.kv.tableKind = kind;
    return c;
  }

  learn(p: KvSectionPile): void {
    this.kv.learn(p.kv);
  }

  prepare(): void {
    this.kv.prepare();
  }

  decide(p: KvSectionProfile): Decision | null {
    return decideChild(null, this.kv.decide(p.kv), "KeyVal");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("kv");
    this.kv.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null, kind: u8 = TABLE_HEADERS): KvSectionConfig {
    const c = new KvSectionConfig();
    enter("kv");
    c.kv = KeyValConfig.read(field(asObject(v, "a {kv} config"), "kv"));
    c.kv.tableKind = kind;
    leave();
    return c;
  }
}
