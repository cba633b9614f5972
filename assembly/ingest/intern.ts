// A bounded table of the strings made from recurring byte runs (header names, query keys), so the
// request path does not allocate a new string for every header of every request. Entries are only
// added while there is room; the table never grows past its size.
export const SLOTS = 2048;
const MAX_ENTRIES = 1024;
const MAX_KEY = 64;

@inline function hashBytes(ptr: usize, len: i32): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 16777619;
  return h;
}

export class InternTable {
  private raw: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private value: StaticArray<string> = new StaticArray<string>(SLOTS);
  private tag: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private entries: i32 = 0;
  /** Tag stored with the last string found or added (a classification the caller computed). */
  lastTag: u32 = 0;
  /** Slot (below SLOTS) of the last string found or added; -1 when it was not kept. */
  lastSlot: i32 = -1;

  private slotOf(ptr: usize, len: i32): i32 {
    let slot = <i32>(hashBytes(ptr, len) & (SLOTS - 1));
    for (let probe = 0; probe < SLOTS; probe++) {
      const r = unchecked(this.raw[slot]);
      if (r == null) return slot;
      if (r.byteLength == len && memory.compare(changetype<usize>(r), ptr, <usize>len) == 0) return slot;
      slot = (slot + 1) & (SLOTS - 1);
    }
    return -1;
  }

  /** The string stored for these bytes, or null (then call add with what you made). */
  find(ptr: usize, len: i32): string | null {
    this.lastSlot = -1;
    if (len > MAX_KEY) return null;
    const slot = this.slotOf(ptr, len);
    if (slot < 0 || unchecked(this.raw[slot]) == null) return null;
    this.lastTag = unchecked(this.tag[slot]);
    this.lastSlot = slot;
    return unchecked(this.value[slot]);
  }

  /** Remember `value` (and `tag`) for these bytes when they are short and there is room. */
  add(ptr: usize, len: i32, value: string, tag: u32): void {
    this.lastSlot = -1;
    this.lastTag = tag;
    if (len > MAX_KEY || this.entries >= MAX_ENTRIES) return;
    const slot = this.slotOf(ptr, len);
    if (slot < 0 || unchecked(this.raw[slot]) != null) return;
    this.lastSlot = slot;
    const raw = new ArrayBuffer(len);
    memory.copy(changetype<usize>(raw), ptr, <usize>len);
    unchecked((this.raw[slot] = raw));
    unchecked((this.value[slot] = value));
    unchecked((this.tag[slot] = tag));
    this.entries++;
  }
}
