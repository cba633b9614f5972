// Alerts: a decision with its level, first time and repeat count. Alerts with
// the same sorted decision string (tagged by level) are counted once; the key is not serialised.
import { JsonWriter } from "../json/writer";
import { Decision } from "./decision";

export const LEVEL_SESSION = "Session";
export const LEVEL_GATE = "Gate";

export class Alert {
  decision: Decision | null;
  time: i64;
  level: string;
  count: u32 = 1;
  key: string;

  constructor(decision: Decision | null, time: i64, level: string, key: string) {
    this.decision = decision;
    this.time = time;
    this.level = level;
    this.key = key;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("decision");
    const d = this.decision;
    if (d == null) w.null();
    else d.write(w);
    w.key("time");
    w.int(this.time);
    w.key("level");
    w.string(this.level);
    w.key("count");
    w.uint(this.count);
    w.endObject();
  }
}

/** Count the decision in an existing alert of the same key, or append a new one at `now`. */
export function addAlert(list: Array<Alert>, decision: Decision | null, level: string, now: i64): void {
  const key = decision == null ? "" : decision.sortedString(level);
  for (let i = 0; i < list.length; i++) {
    if (list[i].key == key) {
      list[i].count++;
      return;
    }
  }
  list.push(new Alert(decision, now, level, key));
}
