// Readiness of learned rules (docs/tokens.md, "Readiness"): how many samples were learned since
// the rules last widened. A learn that changes nothing in the rules adds its samples; one that
// widens anything starts the count again. Once READY_STABLE_SAMPLES samples in a row widened
// nothing the rules are ready, and stay so (a later widening does not take blocking away from a
// service that already blocks). `auto` blocks only once ready. Learned criteria without a
// readiness record (the original's, or learned by the original's plain learn) count as ready.
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { asObject, field, readBool, readU32 } from "./wire";

/** Samples that must widen nothing before learned rules are ready. */
export const READY_STABLE_SAMPLES: u32 = 1000;

export class Readiness {
  /** Samples learned since the rules last widened. */
  stable: u32 = 0;
  /** Learns that widened the rules, and samples learned in all. */
  widened: u32 = 0;
  ready: bool = false;

  /** Record one learn of `count` samples that did or did not change the rules. */
  record(count: u32, changed: bool): void {
    if (changed) {
      this.stable = 0;
      if (this.widened != u32.MAX_VALUE) this.widened++;
    } else {
      const s = <u64>this.stable + <u64>count;
      this.stable = s > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>s;
    }
    if (this.stable >= READY_STABLE_SAMPLES) this.ready = true;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("ready");
    w.bool(this.ready);
    w.key("stable");
    w.uint(this.stable);
    w.key("widened");
    w.uint(this.widened);
    w.endObject();
  }

  static read(v: JsonValue | null): Readiness {
    const o = asObject(v, "a readiness record");
    const r = new Readiness();
    r.ready = readBool(field(o, "ready"), false);
    r.stable = readU32(field(o, "stable"), 0);
    r.widened = readU32(field(o, "widened"), 0);
    return r;
  }
}
