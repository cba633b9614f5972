// Open-addressed indexes of keys kept in insertion order (slot = entry + 1, 0 = empty, capacity a
// power of two at least twice the entries, so probes stay short and a slot is always free): the
// lookup of KeyVal piles, route tables and their name sets.
import { lengthOf, refAt, u32At } from "../arrays";

export const MIN_SLOTS: i32 = 16;
const NO_ALIASES = new StaticArray<string | null>(0);

/**
 * The entry of `k` (hash `h`) in an index of entries, or -(slot + 1) of the empty slot where it
 * would go. A key object already held is recognised by identity, others by hash and characters.
 */
export function findEntry(slots: StaticArray<i32>, keys: Array<string>, hashes: Array<u32>, k: string, h: u32): i32 {
  const base = changetype<usize>(slots);
  const mask = <u32>(slots.length - 1);
  const kp = changetype<usize>(k);
  let i = h & mask;
  while (true) {
    const e = load<i32>(base + (<usize>i << 2));
    if (e == 0) return -(<i32>i + 1);
    const at = e - 1;
    const held = refAt(keys, at);
    if (changetype<usize>(held) == kp || (u32At(hashes, at) == h && held == k)) return at;
    i = (i + 1) & mask;
  }
}

/** An index of `capacity` slots (a power of two) holding every entry of `hashes`. */
export function rehash(hashes: Array<u32>, capacity: i32): StaticArray<i32> {
  const slots = new StaticArray<i32>(capacity);
  const mask = <u32>(capacity - 1);
  const n = lengthOf(hashes);
  for (let e = 0; e < n; e++) {
    let i = u32At(hashes, e) & mask;
    while (unchecked(slots[<i32>i]) != 0) i = (i + 1) & mask;
    unchecked((slots[<i32>i] = e + 1));
  }
  return slots;
}

/** Distinct keys with their hashes, in the order they were added, and their index. */
export class KeyIndex {
  keys: Array<string> = new Array<string>();
  hashes: Array<u32> = new Array<u32>();
  private slots: StaticArray<i32> = new StaticArray<i32>(MIN_SLOTS);
  // Per entry, the last key object of another identity found equal to it by findAliased (held),
  // so that the same object is recognised by one comparison of pointers the next time.
  private aliases: StaticArray<string | null> = NO_ALIASES;

  get size(): i32 {
    return lengthOf(this.keys);
  }

  /** The entry of `k` (hash `h`), or -1. */
  // @ts-ignore: decorator
  @inline find(k: string, h: u32): i32 {
    const at = findEntry(this.slots, this.keys, this.hashes, k, h);
    return at >= 0 ? at : -1;
  }

  /** The entry of `k`, added when new; `added` tells which. */
  insert(k: string, h: u32): i32 {
    const at = findEntry(this.slots, this.keys, this.hashes, k, h);
    if (at >= 0) {
      this.added = false;
      return at;
    }
    const n = lengthOf(this.keys);
    this.keys.push(k);
    this.hashes.push(h);
    if ((n + 1) * 2 > this.slots.length) this.slots = rehash(this.hashes, this.slots.length << 1);
    else unchecked((this.slots[-at - 1] = n + 1));
    this.added = true;
    return n;
  }

  /** Whether the last insert added its key. */
  added: bool = false;

  /** Make findAliased fast for the keys held now (a table that is read, no longer added to). */
  freeze(): void {
    this.aliases = new StaticArray<string | null>(lengthOf(this.keys));
  }

  /**
   * find() for keys that recur as the same objects (interned names, decided request after
   * request): a key object seen before costs a probe and a comparison of pointers. Raw reads of
   * the arrays (the decide path of every request).
   */
  // @ts-ignore: decorator
  @inline findAliased(k: string, h: u32): i32 {
    const aliases = this.aliases;
    const keys = this.keys;
    if (aliases.length != lengthOf(keys)) return this.find(k, h);
    const slots = this.slots;
    const base = changetype<usize>(slots);
    const mask = <u32>(slots.length - 1);
    const data = keys.dataStart;
    const aliasBase = changetype<usize>(aliases);
    const kp = changetype<usize>(k);
    let i = h & mask;
    let found = -1;
    while (true) {
      const e = load<i32>(base + (<usize>i << 2));
      if (e == 0) break;
      const at = <usize>(e - 1);
      const held = load<usize>(data + (at << alignof<usize>()));
      if (held == kp || load<usize>(aliasBase + (at << alignof<usize>())) == kp) {
        found = <i32>at;
        break;
      }
      if (u32At(this.hashes, <i32>at) == h && changetype<string>(held) == k) {
        unchecked((aliases[<i32>at] = k));
        found = <i32>at;
        break;
      }
      i = (i + 1) & mask;
    }
    return found;
  }

  keyAt(e: i32): string {
    return refAt(this.keys, e);
  }
}
