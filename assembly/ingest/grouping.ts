// Groups repeated keys (header names, query keys) in input order: for each position the next
// position with the same key (-1 at the end of a chain), and whether the position repeats an
// earlier key. Keys come with their hashes: a 64-bit signature of the hashes shows in one pass
// whether any two may be equal; only then are chains built (a plain scan for the usual handful, a
// map for many keys).

const SMALL = 16;

export class KeyGroups {
  // Raw i32 and u8 slots, grown to the longest input seen (bounded by the caller's inputs).
  private cap: i32 = 0;
  private nextBuf: StaticArray<i32> = new StaticArray<i32>(0);
  private followerBuf: StaticArray<u8> = new StaticArray<u8>(0);
  private last: Map<string, i32> = new Map<string, i32>();

  /** The next position of the same key after i, or -1. */
  // @ts-ignore: decorator
  @inline nextOf(i: i32): i32 {
    return load<i32>(changetype<usize>(this.nextBuf) + (<usize>i << 2));
  }

  /** Whether position i repeats an earlier key (or is left out). */
  // @ts-ignore: decorator
  @inline isFollower(i: i32): bool {
    return load<u8>(changetype<usize>(this.followerBuf) + <usize>i) != 0;
  }

  // @ts-ignore: decorator
  @inline private setNext(i: i32, j: i32): void {
    store<i32>(changetype<usize>(this.nextBuf) + (<usize>i << 2), j);
  }

  // @ts-ignore: decorator
  @inline private setFollower(i: i32, v: bool): void {
    store<u8>(changetype<usize>(this.followerBuf) + <usize>i, <u8>v);
  }

  /**
   * Group the first n keys (their keyHash given), leaving out positions that are not live: such a
   * position is marked a follower (so it is skipped) and never joins a chain. No `live`: all are.
   */
  computeLines(keys: StaticArray<string>, hashes: StaticArray<u32>, live: StaticArray<bool> | null, n: i32): void {
    if (n > this.cap) {
      let cap = this.cap < 16 ? 16 : this.cap;
      while (cap < n) cap <<= 1;
      this.nextBuf = new StaticArray<i32>(cap);
      this.followerBuf = new StaticArray<u8>(cap);
      this.cap = cap;
    }
    const hashBase = changetype<usize>(hashes);
    const liveBase: usize = live == null ? 0 : changetype<usize>(live);
    let seen: u64 = 0;
    let collide = false;
    for (let i = 0; i < n; i++) {
      this.setNext(i, -1);
      const alive = liveBase == 0 || load<u8>(liveBase + <usize>i) != 0;
      this.setFollower(i, !alive);
      if (!alive) continue;
      const bit = (<u64>1) << (<u64>load<u32>(hashBase + (<usize>i << 2)) & 63);
      if (seen & bit) collide = true;
      seen |= bit;
    }
    if (!collide) return;
    if (n > SMALL) {
      const last = this.last;
      last.clear();
      for (let i = 0; i < n; i++) {
        if (this.isFollower(i)) continue;
        const key = unchecked(keys[i]);
        if (last.has(key)) {
          this.setNext(last.get(key), i);
          this.setFollower(i, true);
        }
        last.set(key, i);
      }
      last.clear();
      return;
    }
    for (let i = 0; i < n; i++) {
      if (this.isFollower(i)) continue;
      const key = unchecked(keys[i]);
      const h = load<u32>(hashBase + (<usize>i << 2));
      let tail = i;
      for (let j = i + 1; j < n; j++) {
        if (this.isFollower(j) || load<u32>(hashBase + (<usize>j << 2)) != h) continue;
        const other = unchecked(keys[j]);
        if (other === key || other == key) {
          this.setNext(tail, j);
          this.setFollower(j, true);
          tail = j;
        }
      }
    }
  }
}
