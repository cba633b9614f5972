// A bounded table of the strings made from recurring byte runs (header names, query keys), so the
// request path does not allocate a new string for every header of every request. Entries are only
// added while there is room; the table never grows past its size. With each string it keeps what
// the profile needs of it (its KeyVal key and that key's hash), computed once per distinct name.
import { hashIfNeeded, keyHash } from "../model/keyval";
import { bytesHash, sameBytes } from "../text/bytehash";

export const SLOTS = 2048;
const MAX_ENTRIES = 1024;
/** Longest byte run a table keeps by default (header names, query keys, JSON paths). */
const MAX_KEY = 64;


export class InternTable {
  private raw: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private value: StaticArray<string> = new StaticArray<string>(SLOTS);
  private tag: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private hash: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private key: StaticArray<string> = new StaticArray<string>(SLOTS);
  private keyHashes: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  // Per slot: the bytes' hash (0 = empty slot) and length.
  private rawHash: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private rawLen: StaticArray<i32> = new StaticArray<i32>(SLOTS);
  private entries: i32 = 0;
  /** Slot of the last string found by find or kept by add; -1 when it was not found or kept. */
  lastSlot: i32 = -1;
  /** Tag of the last string found by find or kept by add. */
  lastTag: u32 = 0;
  private maxKey: i32;

  /** A table of the strings of byte runs up to `maxKey` bytes long. */
  constructor(maxKey: i32 = MAX_KEY) {
    this.maxKey = maxKey;
  }

  /** The slot holding these bytes, or the empty slot where they would go, or -1 when full. */
  private slotOf(ptr: usize, len: i32, h: u32): i32 {
    // Raw reads of the slot arrays: this probe runs for every header name of every request.
    const hashes = changetype<usize>(this.rawHash);
    const lens = changetype<usize>(this.rawLen);
    const raws = changetype<usize>(this.raw);
    let slot = <usize>(h & (SLOTS - 1));
    for (let probe = 0; probe < SLOTS; probe++) {
      const rh = load<u32>(hashes + (slot << 2));
      if (rh == 0) return <i32>slot;
      if (rh == h && load<i32>(lens + (slot << 2)) == len && sameBytes(load<usize>(raws + (slot << alignof<usize>())), ptr, len)) return <i32>slot;
      slot = (slot + 1) & (SLOTS - 1);
    }
    return -1;
  }

  /** The slot of the string stored for these bytes, or -1 (then call add with what you made). */
  findSlot(ptr: usize, len: i32): i32 {
    if (len > this.maxKey) return -1;
    const slot = this.slotOf(ptr, len, bytesHash(ptr, len));
    if (slot < 0 || unchecked(this.rawHash[slot]) == 0) return -1;
    return slot;
  }

  /** The string stored for these bytes, or null (then call add with what you made). */
  find(ptr: usize, len: i32): string | null {
    const slot = this.findSlot(ptr, len);
    this.lastSlot = slot;
    if (slot < 0) return null;
    this.lastTag = this.tagAt(slot);
    return this.valueAt(slot);
  }

  /** What a slot found by findSlot holds: the string, the caller's tag, its keyHash, its KeyVal key and that key's hash. */
  @inline valueAt(slot: i32): string {
    return changetype<string>(load<usize>(changetype<usize>(this.value) + (<usize>slot << alignof<usize>())));
  }

  @inline tagAt(slot: i32): u32 {
    return load<u32>(changetype<usize>(this.tag) + (<usize>slot << 2));
  }

  @inline hashAt(slot: i32): u32 {
    return load<u32>(changetype<usize>(this.hash) + (<usize>slot << 2));
  }

  @inline keyAt(slot: i32): string {
    return changetype<string>(load<usize>(changetype<usize>(this.key) + (<usize>slot << alignof<usize>())));
  }

  @inline keyHashAt(slot: i32): u32 {
    return load<u32>(changetype<usize>(this.keyHashes) + (<usize>slot << 2));
  }

  /** Remember `value` (and `tag`) for these bytes when they are short and there is room. */
  add(ptr: usize, len: i32, value: string, tag: u32): void {
    this.lastSlot = -1;
    if (len > this.maxKey || this.entries >= MAX_ENTRIES) return;
    const rh = bytesHash(ptr, len);
    const slot = this.slotOf(ptr, len, rh);
    if (slot < 0 || unchecked(this.rawHash[slot]) != 0) return;
    this.lastSlot = slot;
    this.lastTag = tag;
    const raw = new ArrayBuffer(len);
    memory.copy(changetype<usize>(raw), ptr, <usize>len);
    unchecked((this.raw[slot] = raw));
    unchecked((this.rawHash[slot] = rh));
    unchecked((this.rawLen[slot] = len));
    unchecked((this.value[slot] = value));
    unchecked((this.tag[slot] = tag));
    const h = keyHash(value);
    const key = hashIfNeeded(value);
    unchecked((this.hash[slot] = h));
    unchecked((this.key[slot] = key));
    unchecked((this.keyHashes[slot] = key === value ? h : keyHash(key)));
    this.entries++;
  }
}
