// Groups repeated keys (header names, query keys) in input order: for each position the next
// position with the same key (-1 at the end of a chain), and whether the position repeats an
// earlier key. Linear for many keys (a map), a plain scan for the usual handful.

const SMALL = 16;

@inline function hashString(s: string): u32 {
  let h: u32 = 2166136261;
  const p = changetype<usize>(s);
  const n = s.length;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u16>(p + (<usize>i << 1))) * 16777619;
  return h;
}

export class KeyGroups {
  next: Array<i32> = new Array<i32>();
  follower: Array<bool> = new Array<bool>();
  private last: Map<string, i32> = new Map<string, i32>();
  private sigs: StaticArray<u32> = new StaticArray<u32>(SMALL + 1);

  /**
   * Group lines whose names (with their keyHash given) are equal, leaving out dead lines: a dead
   * line is marked a follower (so it is skipped) and never joins a chain. No `live`: all are.
   */
  computeLines(keys: StaticArray<string>, hashes: StaticArray<u32>, live: StaticArray<bool> | null, n: i32): void {
    const next = this.next;
    const follower = this.follower;
    next.length = n;
    follower.length = n;
    let seen: u64 = 0;
    let collide = false;
    for (let i = 0; i < n; i++) {
      unchecked((next[i] = -1));
      const alive = live == null || unchecked(live[i]);
      unchecked((follower[i] = !alive));
      if (!alive) continue;
      const bit = (<u64>1) << (<u64>unchecked(hashes[i]) & 63);
      if (seen & bit) collide = true;
      seen |= bit;
    }
    if (!collide) return;
    if (n > SMALL) {
      const last = this.last;
      last.clear();
      for (let i = 0; i < n; i++) {
        if (unchecked(follower[i])) continue;
        const key = unchecked(keys[i]);
        if (last.has(key)) {
          unchecked((next[last.get(key)] = i));
          unchecked((follower[i] = true));
        }
        last.set(key, i);
      }
      last.clear();
      return;
    }
    for (let i = 0; i < n; i++) {
      if (unchecked(follower[i])) continue;
      const key = unchecked(keys[i]);
      const h = unchecked(hashes[i]);
      let tail = i;
      for (let j = i + 1; j < n; j++) {
        if (unchecked(follower[j]) || unchecked(hashes[j]) != h) continue;
        const other = unchecked(keys[j]);
        if (other === key || other == key) {
          unchecked((next[tail] = j));
          unchecked((follower[j] = true));
          tail = j;
        }
      }
    }
  }

  compute(keys: Array<string>): void {
    const n = keys.length;
    const next = this.next;
    const follower = this.follower;
    next.length = n;
    follower.length = n;
    for (let i = 0; i < n; i++) {
      unchecked((next[i] = -1));
      unchecked((follower[i] = false));
    }
    if (n <= SMALL) {
      // A hash per key: keys are only compared when their hashes are equal.
      const sigs = this.sigs;
      let seen: u64 = 0;
      let collide = false;
      for (let i = 0; i < n; i++) {
        const h = hashString(unchecked(keys[i]));
        unchecked((sigs[i] = h));
        const bit = (<u64>1) << (h & 63);
        if (seen & bit) collide = true;
        seen |= bit;
      }
      if (!collide) return;
      for (let i = 0; i < n; i++) {
        if (unchecked(follower[i])) continue;
        const key = unchecked(keys[i]);
        const h = unchecked(sigs[i]);
        let tail = i;
        for (let j = i + 1; j < n; j++) {
          if (unchecked(follower[j]) || unchecked(sigs[j]) != h) continue;
          const other = unchecked(keys[j]);
          if (other === key || other == key) {
            unchecked((next[tail] = j));
            unchecked((follower[j] = true));
            tail = j;
          }
        }
      }
      return;
    }
    const last = this.last;
    last.clear();
    for (let i = 0; i < n; i++) {
      const key = unchecked(keys[i]);
      if (last.has(key)) {
        unchecked((next[last.get(key)] = i));
        unchecked((follower[i] = true));
      }
      last.set(key, i);
    }
    last.clear();
  }
}
