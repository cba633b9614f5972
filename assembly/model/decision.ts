// Decision trees: created lazily when a check fails; Result counts failing leaves
// even when a child tag is overwritten. String forms reproduce the original's spill-out.
import { compareUtf8 } from "../text/utf8";
import { JsonWriter } from "../json/writer";
import { JsonValue } from "../json/value";
import { asArray, asObject, enter, field, leave, readI64, readString } from "./wire";

export class Decision {
  tags: Array<string> | null = null;
  kids: Array<Decision> | null = null;
  reasons: Array<string> | null = null;
  result: i32 = 0;

  static fresh(): Decision {
    const d = new Decision();
    d.tags = new Array<string>();
    d.kids = new Array<Decision>();
    return d;
  }

  childCount(): i32 {
    const t = this.tags;
    return t == null ? 0 : t.length;
  }

  /** Sorted spill-out with a leading tag, "" when Result <= 0. Sorts reasons in place (parity). */
  sortedString(tag: string): string {
    if (this.result <= 0) return "";
    const parts = new Array<string>();
    parts.push(tag);
    this.spillSorted(parts);
    return parts.join("");
  }

  private spillSorted(parts: Array<string>): void {
    parts.push("[");
    const tags = this.tags;
    const kids = this.kids;
    if (tags != null && kids != null && tags.length > 0) {
      const order = sortedIndex(tags);
      for (let i = 0; i < order.length; i++) {
        const k = order[i];
        parts.push(tags[k]);
        parts.push(":");
        kids[k].spillSorted(parts);
        parts.push(",");
      }
    }
    const reasons = this.reasons;
    if (reasons != null) {
      reasons.sort((a: string, b: string): i32 => compareUtf8(a, b));
      for (let i = 0; i < reasons.length; i++) {
        parts.push(reasons[i]);
        parts.push(",");
      }
    }
    parts.push("]");
  }

  summary(): string {
    return this.result > 0 ? "Fail (" + this.result.toString() + ")" : "";
  }

  static read(v: JsonValue | null): Decision | null {
    const o = asObject(v, "a decision");
    if (o == null) return null;
    const d = new Decision();
    const children = asObject(field(o, "children"), "a map of child decisions");
    if (children != null) {
      const tags = new Array<string>();
      const kids = new Array<Decision>();
      for (let i = 0; i < children.keys.length; i++) {
        enter(children.keys[i]);
        const kid = Decision.read(children.vals[i]);
        if (kid != null) {
          const at = tags.indexOf(children.keys[i]);
          if (at >= 0) kids[at] = kid;
          else {
            tags.push(children.keys[i]);
            kids.push(kid);
          }
        }
        leave();
      }
      d.tags = tags;
      d.kids = kids;
    }
    const reasons = asArray(field(o, "reasons"), "a list of reasons");
    if (reasons != null) {
      const list = new Array<string>(reasons.length);
      for (let i = 0; i < reasons.length; i++) list[i] = readString(reasons[i], "");
      d.reasons = list;
    }
    d.result = <i32>readI64(field(o, "result"), 0);
    return d;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("children");
    const tags = this.tags;
    const kids = this.kids;
    if (tags == null || kids == null) {
      w.null();
    } else {
      w.beginObject();
      const order = sortedIndex(tags);
      for (let i = 0; i < order.length; i++) {
        w.key(tags[order[i]]);
        kids[order[i]].write(w);
      }
      w.endObject();
    }
    w.key("reasons");
    const reasons = this.reasons;
    if (reasons == null) {
      w.null();
    } else {
      w.beginArray();
      for (let i = 0; i < reasons.length; i++) w.string(reasons[i]);
      w.endArray();
    }
    w.key("result");
    w.int(this.result);
    w.endObject();
  }
}

// AS closures cannot capture locals: the comparator reads the tags through this module variable.
let sortTags: Array<string> = [];

function sortedIndex(tags: Array<string>): Array<i32> {
  const order = new Array<i32>(tags.length);
  for (let i = 0; i < tags.length; i++) order[i] = i;
  const saved = sortTags;
  sortTags = tags;
  order.sort((a: i32, b: i32): i32 => compareUtf8(sortTags[a], sortTags[b]));
  sortTags = saved;
  return order;
}

/** Append a failing reason; the node is created when absent. Result grows by one. */
export function decideInner(d: Decision | null, reason: string): Decision {
  const node = d == null ? Decision.fresh() : d;
  let r = node.reasons;
  if (r == null) {
    r = new Array<string>();
    node.reasons = r;
  }
  r.push(reason);
  node.result += 1;
  return node;
}

/** Attach a failing child under a tag (overwriting an earlier child of that tag). */
// @ts-ignore: decorator
@inline export function decideChild(d: Decision | null, child: Decision | null, tag: string): Decision | null {
  // Inlined: most checks pass, and then this is a comparison, not a call.
  return child == null ? d : attachChild(d, child, tag);
}

function attachChild(d: Decision | null, child: Decision, tag: string): Decision {
  const node = d == null ? Decision.fresh() : d;
  let tags = node.tags;
  let kids = node.kids;
  if (tags == null || kids == null) {
    tags = new Array<string>();
    kids = new Array<Decision>();
    node.tags = tags;
    node.kids = kids;
  }
  const at = tags.indexOf(tag);
  if (at >= 0) {
    kids[at] = child;
  } else {
    tags.push(tag);
    kids.push(child);
  }
  node.result += child.result;
  return node;
}
