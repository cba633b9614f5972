// Set: ordered unique strings; the lookup map is not serialised and is rebuilt by
// prepare() (a decoded, unprepared config rejects every key, as in the original).
import { JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { Decision, decideInner } from "./decision";
import { asObject, field, readStringArray } from "./wire";

/** Most distinct strings a Set pile or config holds. */
export const MAX_SET_ENTRIES = 1024;

export function writeStringList(w: JsonWriter, list: Array<string> | null): void {
  if (list == null) {
    w.null();
    return;
  }
  w.beginArray();
  for (let i = 0; i < list.length; i++) w.string(list[i]);
  w.endArray();
}

/** Profile: a list of strings, duplicates and order kept; null when never profiled. */
export class SetProfile {
  list: Array<string> | null = null;

  static ofString(s: string): SetProfile {
    const p = new SetProfile();
    const l = new Array<string>(1);
    l[0] = s;
    p.list = l;
    return p;
  }

  static ofList(list: Array<string>): SetProfile {
    const p = new SetProfile();
    p.list = list.slice(0);
    return p;
  }

  write(w: JsonWriter): void {
    writeStringList(w, this.list);
  }

  static read(v: JsonValue | null): SetProfile {
    const p = new SetProfile();
    p.list = readStringArray(v);
    return p;
  }
}

class UniqueList {
  list: Array<string> | null = null;
  index: Set<string> | null = null;

  /** Rebuild the lookup map from the list. */
  reindex(): void {
    const idx = new Set<string>();
    const l = this.list;
    if (l != null) for (let i = 0; i < l.length; i++) idx.add(l[i]);
    this.index = idx;
  }

  isEmpty(): bool {
    const l = this.list;
    return l == null || l.length == 0;
  }

  appendUnseen(items: Array<string> | null): void {
    if (items == null) return;
    let idx = this.index;
    if (idx == null) {
      this.reindex();
      idx = this.index!;
    }
    let l = this.list;
    if (l == null) {
      l = new Array<string>();
      this.list = l;
    }
    for (let i = 0; i < items.length; i++) {
      const s = items[i];
      if (!idx.has(s)) {
        // Bounded: a set past its cap keeps what it has (an attacker's endless new values
        // cannot grow a pile or a config without limit).
        if (l.length >= MAX_SET_ENTRIES) return;
        idx.add(s);
        l.push(s);
      }
    }
  }

  writeSet(w: JsonWriter): void {
    w.beginObject();
    w.key("set");
    writeStringList(w, this.list);
    w.endObject();
  }
}

export class SetPile extends UniqueList {
  // The last profile added: profiles are never changed once made and a pile only grows, so the
  // same object again (the method, protocol and media type of most requests) adds nothing new.
  private added: SetProfile | null = null;

  add(p: SetProfile | null): void {
    if (p == null || p.list == null || p === this.added) return;
    this.appendUnseen(p.list);
    this.added = p;
  }

  merge(o: SetPile): void {
    this.appendUnseen(o.list);
  }

  clear(): void {
    this.list = null;
    this.index = null;
    this.added = null;
  }

  write(w: JsonWriter): void {
    this.writeSet(w);
  }

  static read(v: JsonValue | null): SetPile {
    const p = new SetPile();
    p.list = readStringArray(field(asObject(v, "a set pile"), "set"));
    return p;
  }
}

export class SetConfig extends UniqueList {
  // The last profile that passed: profiles are never changed once made and a config only widens,
  // so the same object (the method, protocol and media type of most requests) passes again.
  private passed: SetProfile | null = null;

  learn(p: SetPile): void {
    this.passed = null;
    const l = p.list;
    if (l == null || l.length == 0) return;
    if (this.list == null) this.list = new Array<string>();
    this.appendUnseen(l);
  }

  prepare(): void {
    this.passed = null;
    this.reindex();
  }

  decide(p: SetProfile | null): Decision | null {
    if (p == null || p === this.passed) return null;
    const l = p.list;
    if (l == null) return null;
    let d: Decision | null = null;
    const idx = this.index;
    for (let i = 0; i < l.length; i++) {
      if (idx == null || !idx.has(l[i])) d = decideInner(d, "Unexpected key " + l[i] + " in Set");
    }
    if (d == null) this.passed = p;
    return d;
  }

  write(w: JsonWriter): void {
    this.writeSet(w);
  }

  static read(v: JsonValue | null): SetConfig {
    const c = new SetConfig();
    c.list = readStringArray(field(asObject(v, "a set config"), "set"));
    return c;
  }
}
