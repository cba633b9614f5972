// KeyVal: key → SimpleVal. At most a cap of keys are learned by name (the original's 7, or the
// caps the criteria records: caps.ts), ranked by their config's score; the rest are fused into
// OtherVals / OtherKeynames. Learning iterates keys in byte-wise sorted order, so the same pile
// always learns the same config (the original iterated Go maps: with tied scores its kept keys
// were random; docs/compatibility.md).
import { JsonKind, JsonValue } from "../json/value";
import { JsonWriter } from "../json/writer";
import { xxh3_64 } from "../text/xxh3";
import { compareUtf8, stringToUtf8, utf8ByteLength } from "../text/utf8";
import { Decision, decideChild, decideInner } from "./decision";
import { setCookieTableDecider, SimpleValConfig, SimpleValPile, SimpleValProfile } from "./simpleval";
import { asObject, enter, field, leave } from "./wire";
import { lengthOf, refAt, u32At } from "../arrays";
import { catchAllLearnsEveryKey, keyCap, keysKeptWhileRoom, TABLE_HEADERS } from "./caps";
import { findEntry, MIN_SLOTS, rehash } from "./keyindex";

export const MAX_KEY_LENGTH = 64;
/** Most distinct keys a KeyVal pile holds; later new keys are not piled (memory stays bounded). */
export const MAX_PILE_KEYS = 1024;
const MAX_PASSING_NAMES = 1024;
// @ts-ignore: decorator
@inline const PASSING_ALIASES: i32 = 64;

/** FNV-1a of a key's UTF-16 code units: the hash the config's key table is built with. */
// @ts-ignore: decorator
@inline export function keyHash(s: string): u32 {
  let h: u32 = 2166136261;
  const p = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u16>(p + (<usize>i << 1))) * 16777619;
  return h;
}

/** Keys longer than 64 bytes are named by their XXH3-64 hash. */
export function hashIfNeeded(key: string): string {
  if (key.length <= MAX_KEY_LENGTH / 3 || utf8ByteLength(key) <= MAX_KEY_LENGTH) return key;
  const bytes = stringToUtf8(key);
  return "xxHash " + xxh3_64(bytes.dataStart, bytes.length).toString();
}

export function sortedKeys<V>(m: Map<string, V>): Array<string> {
  const keys = m.keys();
  keys.sort((a: string, b: string): i32 => compareUtf8(a, b));
  return keys;
}

function sortedOrder(keys: Array<string>): Array<i32> {
  const order = new Array<i32>(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = i;
  orderKeys = keys;
  order.sort((a: i32, b: i32): i32 => compareUtf8(orderKeys[a], orderKeys[b]));
  return order;
}
// AS closures cannot capture locals: sortedOrder's comparator reads the keys from here.
let orderKeys: Array<string> = [];

/** Profile: hashed keys with the SimpleVal profile of their (joined) values, in input order. */
export class KeyValProfile {
  keys: Array<string> = new Array<string>();
  vals: Array<SimpleValProfile> = new Array<SimpleValProfile>();
  /** keyHash of each key, kept beside keys so deciding does not hash them again. */
  hashes: Array<u32> = new Array<u32>();
  // Built once a profile has many keys, so that setting stays linear on wide inputs.
  private index: Map<string, i32> | null = null;
  // Profiles kept across reuse of a pooled session's profile, so refilling allocates nothing.
  private spare: Array<SimpleValProfile> | null = null;

  // Entries written since beginRefill (the arrays keep their old entries until endRefill).
  private filled: i32 = 0;

  /**
   * Start refilling the profile with pushSlotKeyed; endRefill ends it. Entries that are
   * already what the refill writes (the same key objects request after request) are not stored
   * again, which saves the arrays' growth and the collector's write barriers.
   */
  beginRefill(): void {
    this.filled = 0;
    this.index = null;
  }

  /** Entries pushed since beginRefill. */
  // @ts-ignore: decorator
  @inline filledCount(): i32 {
    return this.filled;
  }

  /** The profile holds exactly the entries pushed since beginRefill. */
  endRefill(): void {
    const n = this.filled;
    if (lengthOf(this.keys) != n) this.keys.length = n;
    if (lengthOf(this.hashes) != n) this.hashes.length = n;
    if (lengthOf(this.vals) != n) this.vals.length = n;
  }

  /**
   * During a refill, append a key known to be new (already passed through hashIfNeeded, with its
   * keyHash) and return its (reused) profile to fill in.
   */
  pushSlotKeyed(k: string, hash: u32): SimpleValProfile {
    let spare = this.spare;
    if (spare == null) {
      spare = new Array<SimpleValProfile>();
      this.spare = spare;
    }
    const at = this.filled;
    this.filled = at + 1;
    let p: SimpleValProfile;
    if (at < lengthOf(spare)) p = refAt(spare, at);
    else {
      p = new SimpleValProfile();
      spare.push(p);
    }
    const keys = this.keys;
    const vals = this.vals;
    const hashes = this.hashes;
    if (at < lengthOf(keys) && at < lengthOf(vals) && at < lengthOf(hashes)) {
      // The same objects are usually there already (no store, no barrier).
      if (changetype<usize>(refAt(keys, at)) != changetype<usize>(k)) unchecked((keys[at] = k));
      if (changetype<usize>(refAt(vals, at)) != changetype<usize>(p)) unchecked((vals[at] = p));
      store<u32>(hashes.dataStart + (<usize>at << 2), hash);
      return p;
    }
    keys.length = at;
    vals.length = at;
    hashes.length = at;
    keys.push(k);
    hashes.push(hash);
    vals.push(p);
    return p;
  }

  /** Empty the profile for refilling with pushSlot (keeps its storage). */
  clearForReuse(): void {
    this.keys.length = 0;
    this.vals.length = 0;
    this.hashes.length = 0;
    this.index = null;
    this.filled = 0;
  }

  /**
   * Append a key known to be new and return its (reused) profile to fill in. `k` is the key after
   * hashIfNeeded and `hash` its keyHash when the caller has them (an interned name), else computed.
   */
  pushSlot(key: string, k: string | null = null, hash: u32 = 0): SimpleValProfile {
    let spare = this.spare;
    if (spare == null) {
      spare = new Array<SimpleValProfile>();
      this.spare = spare;
    }
    const at = lengthOf(this.vals);
    let p: SimpleValProfile;
    if (at < lengthOf(spare)) p = refAt(spare, at);
    else {
      p = new SimpleValProfile();
      spare.push(p);
    }
    if (k == null) {
      k = hashIfNeeded(key);
      hash = keyHash(k);
    }
    this.keys.push(k);
    this.hashes.push(hash);
    this.vals.push(p);
    return p;
  }

  /** Set (or replace) a key's profile; the key is hashed when long. */
  set(key: string, p: SimpleValProfile): void {
    const k = hashIfNeeded(key);
    const keys = this.keys;
    let idx = this.index;
    if (idx == null && keys.length >= 16) {
      idx = new Map<string, i32>();
      for (let i = 0; i < keys.length; i++) idx.set(keys[i], i);
      this.index = idx;
    }
    if (idx != null) {
      if (idx.has(k)) {
        this.vals[idx.get(k)] = p;
        return;
      }
      idx.set(k, keys.length);
    } else {
      for (let i = 0; i < keys.length; i++) {
        if (unchecked(keys[i]) == k) {
          this.vals[i] = p;
          return;
        }
      }
    }
    keys.push(k);
    this.hashes.push(keyHash(k));
    this.vals.push(p);
  }

  /** Append a key known to be new (callers that group their input already). */
  push(key: string, p: SimpleValProfile): void {
    const k = hashIfNeeded(key);
    const idx = this.index;
    if (idx != null) idx.set(k, this.keys.length);
    this.keys.push(k);
    this.hashes.push(keyHash(k));
    this.vals.push(p);
  }

  write(w: JsonWriter): void {
    w.beginObject();
    const order = sortedOrder(this.keys);
    for (let i = 0; i < order.length; i++) {
      w.key(this.keys[order[i]]);
      this.vals[order[i]].write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): KeyValProfile | null {
    const o = asObject(v, "a key/value profile");
    if (o == null) return null;
    const p = new KeyValProfile();
    for (let i = 0; i < o.keys.length; i++) {
      enter(o.keys[i]);
      const val = SimpleValProfile.read(o.vals[i]);
      const at = p.keys.indexOf(o.keys[i]);
      if (at >= 0) p.vals[at] = val;
      else {
        p.keys.push(o.keys[i]);
        p.hashes.push(keyHash(o.keys[i]));
        p.vals.push(val);
      }
      leave();
    }
    return p;
  }
}

export function writeKeyValProfile(w: JsonWriter, p: KeyValProfile | null): void {
  if (p == null) w.null();
  else p.write(w);
}

// What a pile that holds no keys points at (never written to: open() replaces them first), so
// that the many piles that are never added to allocate nothing more.
const NO_PILES = new Array<SimpleValPile>();
const NO_HASHES = new Array<u32>();
const NO_SLOTS = new StaticArray<i32>(0);

export class KeyValPile {
  // Keys in the order they were first piled (merge walks them in it, so which keys a full pile
  // keeps does not depend on anything else), their piles and keyHashes, and an index by hash.
  // keys == null: never added to (null on the wire, as the original's nil map).
  private keys: Array<string> | null = null;
  private piles: Array<SimpleValPile> = NO_PILES;
  private hashes: Array<u32> = NO_HASHES;
  private slots: StaticArray<i32> = NO_SLOTS;

  /** Start holding keys (the wire's empty object rather than null). */
  private open(): Array<string> {
    let keys = this.keys;
    if (keys == null) {
      keys = new Array<string>();
      this.keys = keys;
      this.piles = new Array<SimpleValPile>();
      this.hashes = new Array<u32>();
      this.slots = new StaticArray<i32>(MIN_SLOTS);
    }
    return keys;
  }

  /** The pile of key `k` (its keyHash `h`), made when new; null when new and the pile is full. */
  private pileOf(keys: Array<string>, k: string, h: u32): SimpleValPile | null {
    const at = findEntry(this.slots, keys, this.hashes, k, h);
    if (at >= 0) return refAt(this.piles, at);
    const n = lengthOf(keys);
    if (n >= MAX_PILE_KEYS) return null;
    const pile = new SimpleValPile();
    keys.push(k);
    this.piles.push(pile);
    this.hashes.push(h);
    if ((n + 1) * 2 > this.slots.length) this.grow();
    else unchecked((this.slots[-at - 1] = n + 1));
    return pile;
  }

  /** Double the index and put every entry back. */
  private grow(): void {
    this.slots = rehash(this.hashes, this.slots.length << 1);
  }

  add(p: KeyValProfile | null): void {
    const keys = this.open();
    if (p == null) return;
    const pk = p.keys;
    const pv = p.vals;
    const n = lengthOf(pk);
    // Profiles made here carry their keys' hashes; others (built by hand) are hashed now.
    const ph = lengthOf(p.hashes) == n ? p.hashes : null;
    let mask = <u32>(this.slots.length - 1);
    for (let i = 0; i < n; i++) {
      const k = refAt(pk, i);
      const h = ph != null ? u32At(ph, i) : keyHash(k);
      // Most keys are interned objects already held, found in their home slot.
      const e = load<i32>(changetype<usize>(this.slots) + (<usize>(h & mask) << 2)) - 1;
      let pile: SimpleValPile | null;
      if (e >= 0 && changetype<usize>(refAt(keys, e)) == changetype<usize>(k)) pile = refAt(this.piles, e);
      else {
        pile = this.pileOf(keys, k, h);
        mask = <u32>(this.slots.length - 1);
      }
      if (pile != null) pile.add(refAt(pv, i));
    }
  }

  merge(o: KeyValPile | null): void {
    if (o == null) return;
    const ok = o.keys;
    if (ok == null) return;
    const keys = this.open();
    const n = lengthOf(ok);
    for (let i = 0; i < n; i++) {
      const pile = this.pileOf(keys, refAt(ok, i), u32At(o.hashes, i));
      if (pile != null) pile.merge(refAt(o.piles, i));
    }
  }

  clear(): void {
    this.keys = null;
    this.piles = NO_PILES;
    this.hashes = NO_HASHES;
    this.slots = NO_SLOTS;
  }

  isEmpty(): bool {
    const keys = this.keys;
    return keys == null || keys.length == 0;
  }

  /** Number of keys piled. */
  get size(): i32 {
    const keys = this.keys;
    return keys == null ? 0 : keys.length;
  }

  /** Entry numbers in byte-wise order of their keys (how learning and the wire walk them). */
  sortedEntries(): Array<i32> {
    const keys = this.keys;
    return keys == null ? new Array<i32>() : sortedOrder(keys);
  }

  keyAt(entry: i32): string {
    return this.keys![entry];
  }

  pileAt(entry: i32): SimpleValPile {
    return this.piles[entry];
  }

  write(w: JsonWriter): void {
    const keys = this.keys;
    if (keys == null) {
      w.null();
      return;
    }
    w.beginObject();
    const order = sortedOrder(keys);
    for (let i = 0; i < order.length; i++) {
      const e = order[i];
      w.key(keys[e]);
      this.piles[e].write(w);
    }
    w.endObject();
  }

  static read(v: JsonValue | null): KeyValPile {
    const p = new KeyValPile();
    const o = asObject(v, "a key/value pile");
    if (o == null) return p;
    const keys = p.open();
    for (let i = 0; i < o.keys.length; i++) {
      enter(o.keys[i]);
      const k = o.keys[i];
      const val = SimpleValPile.read(o.vals[i]);
      const at = findEntry(p.slots, keys, p.hashes, k, keyHash(k));
      // A repeated key replaces the earlier one's pile, as Map.set did.
      if (at >= 0) p.piles[at] = val;
      else {
        const n = keys.length;
        keys.push(k);
        p.piles.push(val);
        p.hashes.push(keyHash(k));
        if ((n + 1) * 2 > p.slots.length) p.grow();
        else unchecked((p.slots[-at - 1] = n + 1));
      }
      leave();
    }
    return p;
  }
}

const NO_SCORES = new StaticArray<u32>(0);
const NO_SLOT_KEYS = new StaticArray<string>(0);

export class KeyValConfig {
  vals: Map<string, SimpleValConfig> | null = null;
  otherVals: SimpleValConfig | null = null;
  otherKeynames: SimpleValConfig | null = null;
  /** Which cap applies (caps.ts): TABLE_HEADERS or TABLE_PARAMS; set by the owner. */
  tableKind: u8 = TABLE_HEADERS;
  // Ascending score slots, one per key learned by name (the cap); an empty slot is (0, ""), as in
  // the original. Sized by prepare() and learn() to the cap in force.
  private slotScores: StaticArray<u32> = NO_SCORES;
  private slotKeys: StaticArray<string> = NO_SLOT_KEYS;
  // Unknown key names already accepted by otherKeynames (reset whenever the config changes).
  private passingNames: Set<string> = new Set<string>();
  private tableKeys: StaticArray<string | null> | null = null;
  private tableVals: StaticArray<SimpleValConfig | null> | null = null;
  // Per table slot, the last profile key object that matched it (held, so the same object is
  // recognised by identity next time instead of by comparing its characters).
  private tableAliases: StaticArray<string | null> | null = null;
  private tableHashes: StaticArray<u32> = new StaticArray<u32>(0);
  // Unknown key objects whose name passed otherKeynames, by hash (direct-mapped, held).
  private passingAliases: StaticArray<string | null> | null = null;

  /** Empty score slots, as many as the cap of this table's kind. */
  private resetSlots(): void {
    const cap = keyCap(this.tableKind);
    if (this.slotScores.length != cap) {
      this.slotScores = new StaticArray<u32>(cap);
      this.slotKeys = new StaticArray<string>(cap);
    }
    for (let i = 0; i < cap; i++) {
      this.slotScores[i] = 0;
      this.slotKeys[i] = "";
    }
  }

  private findScoreIndex(s: u32): i32 {
    const n = this.slotScores.length;
    for (let i = 0; i < n; i++) if (s <= this.slotScores[i]) return i - 1;
    return n - 1;
  }

  private setScore(s: u32, key: string, idx: i32): void {
    for (let i = 0; i < idx; i++) {
      this.slotScores[i] = this.slotScores[i + 1];
      this.slotKeys[i] = this.slotKeys[i + 1];
    }
    this.slotScores[idx] = s;
    this.slotKeys[idx] = key;
  }

  learn(p: KeyValPile | null): void {
    if (p == null) return;
    this.passingNames.clear();
    this.tableKeys = null;
    this.tableVals = null;
    this.tableAliases = null;
    this.passingAliases = null;
    if (p.isEmpty()) return;
    // The cap in force changed since prepare (or there was none): rank the kept keys again.
    if (this.slotScores.length != keyCap(this.tableKind)) this.rank();
    let vals = this.vals;
    if (vals == null) {
      vals = new Map<string, SimpleValConfig>();
      this.vals = vals;
    }
    const everyKey = catchAllLearnsEveryKey(this.tableKind);
    const order = p.sortedEntries();
    for (let i = 0; i < order.length; i++) {
      const key = p.keyAt(order[i]);
      const vpile = p.pileAt(order[i]);
      if (everyKey) this.learnCatchAll(key, vpile);
      if (vals.has(key)) {
        vals.get(key).learn(vpile);
        continue;
      }
      const svc = new SimpleValConfig();
      svc.learn(vpile);
      const s = svc.score();
      let lowestKey = key;
      let lowestSvc: SimpleValConfig | null = svc;
      const idx = this.findScoreIndex(s);
      if (idx >= 0) {
        lowestKey = this.slotKeys[0];
        lowestSvc = vals.has(lowestKey) ? vals.get(lowestKey) : null;
        this.setScore(s, key, idx);
        vals.set(key, svc);
      } else if (this.takeFreeSlot(s, key)) {
        vals.set(key, svc);
        continue;
      }
      if (lowestKey.length == 0) continue;
      if (key != lowestKey) vals.delete(lowestKey);
      if (lowestSvc != null) {
        const ov = this.otherVals;
        if (ov == null) this.otherVals = lowestSvc;
        else ov.fuse(lowestSvc);
      }
      let ok = this.otherKeynames;
      if (ok == null) {
        ok = new SimpleValConfig();
        this.otherKeynames = ok;
      }
      ok.learnProfile(SimpleValProfile.ofString(lowestKey));
    }
  }

  /** unknownHeaders "shape": the catch-all learns every key's name and values (a copy, not the key's config). */
  private learnCatchAll(key: string, vpile: SimpleValPile): void {
    let ov = this.otherVals;
    if (ov == null) {
      ov = new SimpleValConfig();
      this.otherVals = ov;
    }
    ov.learn(vpile);
    let ok = this.otherKeynames;
    if (ok == null) {
      ok = new SimpleValConfig();
      this.otherKeynames = ok;
    }
    ok.learnProfile(SimpleValProfile.ofString(key));
  }

  /** The config of a learned key: one probe of the table built by prepare(). */
  private lookup(k: string, hash: u32): SimpleValConfig | null {
    const keys = this.tableKeys;
    if (keys == null) {
      const vals = this.vals;
      if (vals == null || !vals.has(k)) return null;
      return vals.get(k);
    }
    // Raw reads of the table's slots (tiny accessors are not inlined in a managed runtime).
    const base = changetype<usize>(keys);
    const hashes = changetype<usize>(this.tableHashes);
    const aliases = this.tableAliases!;
    const aliasBase = changetype<usize>(aliases);
    const kp = changetype<usize>(k);
    const mask = <usize>(keys.length - 1);
    let i = <usize>hash & mask;
    while (true) {
      const t = load<usize>(base + (i << alignof<usize>()));
      if (t == 0) return null;
      if (load<usize>(aliasBase + (i << alignof<usize>())) == kp) return unchecked(this.tableVals![<i32>i]);
      if (load<u32>(hashes + (i << 2)) == hash && (t == kp || changetype<string>(t) == k)) {
        unchecked((aliases[<i32>i] = k));
        return unchecked(this.tableVals![<i32>i]);
      }
      i = (i + 1) & mask;
    }
  }

  /** An open-addressed table of Vals (built on prepare, dropped when learning changes Vals). */
  private buildTable(): void {
    const vals = this.vals;
    this.tableKeys = null;
    this.tableVals = null;
    this.tableAliases = null;
    this.passingAliases = null;
    if (vals == null) return;
    let cap = 8;
    while (cap < vals.size * 2) cap <<= 1;
    const keys = new StaticArray<string | null>(cap);
    const tv = new StaticArray<SimpleValConfig | null>(cap);
    const th = new StaticArray<u32>(cap);
    const names = vals.keys();
    for (let n = 0; n < names.length; n++) {
      const h = keyHash(names[n]);
      let i = <i32>(h & <u32>(cap - 1));
      while (unchecked(keys[i]) != null) i = (i + 1) & (cap - 1);
      unchecked((keys[i] = names[n]));
      unchecked((tv[i] = vals.get(names[n])));
      unchecked((th[i] = h));
    }
    this.tableKeys = keys;
    this.tableVals = tv;
    this.tableHashes = th;
    this.tableAliases = new StaticArray<string | null>(cap);
    this.passingAliases = new StaticArray<string | null>(PASSING_ALIASES);
  }

  /** Rank the learned keys into the score slots (the cap in force), as the original's Prepare. */
  private rank(): void {
    this.resetSlots();
    const vals = this.vals;
    if (vals == null) return;
    const keys = sortedKeys(vals);
    for (let i = 0; i < keys.length; i++) {
      const s = vals.get(keys[i]).score();
      const idx = this.findScoreIndex(s);
      if (idx >= 0) this.setScore(s, keys[i], idx);
      else this.takeFreeSlot(s, keys[i]);
    }
  }

  /**
   * With Guard's caps in force, a key that ranks below every kept one (score 0: only empty
   * values) still takes a free slot: keys are kept by name while there is room, and the catch-all
   * only holds what is beyond the cap. The original sends such keys to the catch-all even when
   * slots are free (kept without caps). Free slots (0, "") come first, so the key goes after them.
   */
  private takeFreeSlot(s: u32, key: string): bool {
    if (!keysKeptWhileRoom()) return false;
    const n = this.slotKeys.length;
    let free = 0;
    while (free < n && this.slotScores[free] == 0 && this.slotKeys[free].length == 0) free++;
    if (free == 0 || s != 0) return false;
    this.slotKeys[free - 1] = key;
    return true;
  }

  prepare(): void {
    this.passingNames.clear();
    // (A SimpleVal config has nothing to prepare: ranking the keys is all.)
    this.rank();
    const ok = this.otherKeynames;
    if (ok != null) ok.prepare();
    const ov = this.otherVals;
    if (ov != null) ov.prepare();
    this.buildTable();
  }

  decide(p: KeyValProfile | null): Decision | null {
    if (p == null) return null;
    let d: Decision | null = null;
    const keys = p.keys;
    const vals = p.vals;
    const n = lengthOf(keys);
    // Profiles made here carry their keys' hashes; others (built by hand) are hashed now.
    const hashes = lengthOf(p.hashes) == n ? p.hashes : null;
    const passingAliases = this.passingAliases;
    for (let i = 0; i < n; i++) {
      const k = refAt(keys, i);
      const v = refAt(vals, i);
      const h = hashes != null ? u32At(hashes, i) : keyHash(k);
      const known = this.lookup(k, h);
      if (known != null) {
        const c = known.decide(v);
        if (c != null) d = decideChild(d, c, "KnownKey " + k);
        continue;
      }
      const ok = this.otherKeynames;
      const ov = this.otherVals;
      if (ok == null || ov == null) {
        d = decideInner(d, "Key " + k + " is not known");
        continue;
      }
      // The verdict on a key's name depends on the name alone: remember the names that pass
      // (and, by identity, the key objects that carried them).
      const alias = passingAliases != null ? changetype<usize>(passingAliases) + ((<usize>h & <usize>(PASSING_ALIASES - 1)) << alignof<usize>()) : 0;
      if (alias == 0 || load<usize>(alias) != changetype<usize>(k)) {
        const passing = this.passingNames;
        let passes = passing.has(k);
        if (!passes) {
          const kc = ok.decide(SimpleValProfile.ofString(k));
          if (kc != null) d = decideChild(d, kc, "OtherKeyname " + k + ":");
          else {
            passes = true;
            if (passing.size < MAX_PASSING_NAMES) passing.add(k);
          }
        }
        if (passes && passingAliases != null) unchecked((passingAliases[<i32>(h & <u32>(PASSING_ALIASES - 1))] = k));
      }
      const vc = ov.decide(v);
      if (vc != null) d = decideChild(d, vc, "OtherVals " + k);
    }
    return d;
  }

  write(w: JsonWriter): void {
    w.beginObject();
    w.key("vals");
    const vals = this.vals;
    if (vals == null) w.null();
    else {
      w.beginObject();
      const keys = sortedKeys(vals);
      for (let i = 0; i < keys.length; i++) {
        w.key(keys[i]);
        vals.get(keys[i]).write(w);
      }
      w.endObject();
    }
    w.key("otherVals");
    writeOptionalConfig(w, this.otherVals);
    w.key("otherKeynames");
    writeOptionalConfig(w, this.otherKeynames);
    w.endObject();
  }

  static read(v: JsonValue | null): KeyValConfig {
    const c = new KeyValConfig();
    const o = asObject(v, "a key/value config");
    if (o == null) return c;
    const vo = asObject(field(o, "vals"), "a map of key configs");
    if (vo != null) {
      const m = new Map<string, SimpleValConfig>();
      for (let i = 0; i < vo.keys.length; i++) {
        enter(vo.keys[i]);
        if (vo.vals[i].kind != JsonKind.Null) m.set(vo.keys[i], SimpleValConfig.read(vo.vals[i]));
        leave();
      }
      c.vals = m;
    }
    const ov = field(o, "otherVals");
    if (ov != null && ov.kind != JsonKind.Null) {
      enter("otherVals");
      c.otherVals = SimpleValConfig.read(ov);
      leave();
    }
    const ok = field(o, "otherKeynames");
    if (ok != null && ok.kind != JsonKind.Null) {
      enter("otherKeynames");
      c.otherKeynames = SimpleValConfig.read(ok);
      leave();
    }
    return c;
  }
}

function writeOptionalConfig(w: JsonWriter, c: SimpleValConfig | null): void {
  if (c == null) w.null();
  else c.write(w);
}

setCookieTableDecider((c: KeyValConfig, p: KeyValProfile): Decision | null => c.decide(p));
