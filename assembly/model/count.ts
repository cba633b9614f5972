// Count: a raw byte; config = ordered ranges, scanned with the original's early stop.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideInner } from "./decision";
import { slackSteps } from "./policy";
import { addCode, appendCodes, CodeSet, readCodes, writeCodes } from "./limit";
import { asArray, asObject, enter, field, leave, readU8 } from "./wire";

export class CountPile {
  values: CodeSet | null = null;

  add(v: u8): void {
    this.values = addCode(this.values, v);
  }

  merge(o: CountPile): void {
    this.values = appendCodes(this.values, o.values);
  }

  clear(): void {
    this.values = null;
  }

  write(w: JsonWriter): void {
    writeCodes(w, this.values);
  }

  static read(v: JsonValue | null): CountPile {
    const p = new CountPile();
    p.values = readCodes(v);
    return p;
  }
}

export class CountRange {
  min: u8;
  max: u8;
  constructor(min: u8, max: u8) {
    this.min = min;
    this.max = max;
  }
}

export class CountConfig {
  ranges: Array<CountRange> | null = null;

  learn(p: CountPile): void {
    const vals = p.values;
    if (vals == null || vals.isEmpty()) return;
    const lo = <u8>vals.min();
    const hi = <u8>vals.max();
    const r = this.ranges;
    // A decoded empty list is treated like none (the original crashes on it).
    if (r == null || r.length == 0) {
      const list = new Array<CountRange>();
      list.push(new CountRange(lo, hi));
      this.ranges = list;
      return;
    }
    const first = r[0];
    if (lo < first.min) first.min = lo;
    if (hi > first.max) first.max = hi;
  }

  decide(v: u8): Decision | null {
    if (v == 0) return null;
    const r = this.ranges;
    if (r == null || r.length == 0) return decideInner(null, "Value " + v.toString() + " Not Allowed!");
    // Slack (a Guardian's tolerance, 0 by default) widens every range at both ends.
    const slack = slackSteps();
    for (let i = 0, n = r.length; i < n; i++) {
      const range = r[i];
      if (<i32>v + slack < <i32>range.min) break;
      if (<i32>v <= <i32>range.max + slack) return null;
    }
    return decideInner(null, "Counter out of Range: " + v.toString());
  }

  write(w: JsonWriter): void {
    const r = this.ranges;
    if (r == null) {
      w.null();
      return;
    }
    w.beginArray();
    for (let i = 0; i < r.length; i++) {
      w.beginObject();
      w.key("min");
      w.uint(r[i].min);
      w.key("max");
      w.uint(r[i].max);
      w.endObject();
    }
    w.endArray();
  }

  static read(v: JsonValue | null): CountConfig {
    const c = new CountConfig();
    const items = asArray(v, "a list of {min,max} ranges");
    if (items == null) return c;
    const list = new Array<CountRange>();
    for (let i = 0; i < items.length; i++) {
      enter("[" + i.toString() + "]");
      const o = asObject(items[i], "a {min,max} range");
      list.push(new CountRange(readU8(field(o, "min"), 0), readU8(field(o, "max"), 0)));
      leave();
    }
    c.ranges = list;
    return c;
  }
}

