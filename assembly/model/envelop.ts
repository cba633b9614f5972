// Envelop: response and completion times as Limit codes of whole seconds; a
// negative duration saturates to 255 as in the original.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideChild } from "./decision";
import { LimitConfig, LimitPile, limitCodeSigned } from "./limit";
import { asObject, enter, field, leave, readU8 } from "./wire";

export class EnvelopProfile {
  responseTime: u8 = 0;
  completionTime: u8 = 0;

  static of(responseSeconds: i64, completionSeconds: i64): EnvelopProfile {
    const p = new EnvelopProfile();
    p.responseTime = limitCodeSigned(responseSeconds);
    p.completionTime = limitCodeSigned(completionSeconds);
    return p;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("responsetime");
    w.uint(this.responseTime);
    w.key("completiontime");
    w.uint(this.completionTime);
    w.endObject();
  }

  static read(v: JsonValue | null): EnvelopProfile {
    const o = asObject(v, "an envelop profile");
    const p = new EnvelopProfile();
    p.responseTime = readU8(field(o, "responsetime"), 0);
    p.completionTime = readU8(field(o, "completiontime"), 0);
    return p;
  }
}

export class EnvelopPile {
  responseTime: LimitPile = new LimitPile();
  completionTime: LimitPile = new LimitPile();

  add(p: EnvelopProfile): void {
    this.responseTime.add(p.responseTime);
    this.completionTime.add(p.completionTime);
  }

  merge(o: EnvelopPile): void {
    this.responseTime.merge(o.responseTime);
    this.completionTime.merge(o.completionTime);
  }

  clear(): void {
    this.responseTime.clear();
    this.completionTime.clear();
  }

  isEmpty(): bool {
    const c = this.responseTime.codes;
    return c == null || c.isEmpty();
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("responsetime");
    this.responseTime.write(w);
    w.key("completiontime");
    this.completionTime.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): EnvelopPile {
    const o = asObject(v, "an envelop pile");
    const p = new EnvelopPile();
    enter("responsetime");
    p.responseTime = LimitPile.read(field(o, "responsetime"));
    leave();
    enter("completiontime");
    p.completionTime = LimitPile.read(field(o, "completiontime"));
    leave();
    return p;
  }
}

export class EnvelopConfig {
  responseTime: LimitConfig = new LimitConfig();
  completionTime: LimitConfig = new LimitConfig();

  learn(p: EnvelopPile): void {
    this.responseTime.learn(p.responseTime);
    this.completionTime.learn(p.completionTime);
  }

  prepare(): void {}

  decide(p: EnvelopProfile): Decision | null {
    let d = decideChild(null, this.responseTime.decide(p.responseTime), "ResponseTime");
    return decideChild(d, this.completionTime.decide(p.completionTime), "CompletionTime");
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("responsetime");
    this.responseTime.write(w);
    w.key("completiontime");
    this.completionTime.write(w);
    w.endObject();
  }

  static read(v: JsonValue | null): EnvelopConfig {
    const o = asObject(v, "an envelop config");
    const c = new EnvelopConfig();
    enter("responsetime");
    c.responseTime = LimitConfig.read(field(o, "responsetime"));
    leave();
    enter("completiontime");
    c.completionTime = LimitConfig.read(field(o, "completiontime"));
    leave();
    return c;
  }
}
