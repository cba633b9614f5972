// A fast non-cryptographic hash and equality of byte runs, eight bytes at a time, for the core's
// lookup tables (interned names, remembered values). Collisions only cost a comparison.

/** A hash of [p, p+n); never 0, so a table can use 0 for an empty slot. */
// @ts-ignore: decorator
@inline export function bytesHash(p: usize, n: i32): u32 {
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(p + <usize>i)) * 0xff51afd7ed558ccd;
    h ^= h >> 29;
  }
  if (i < n) {
    // The tail: the last eight bytes (overlapping what was hashed) when there are eight, else
    // two overlapping four-byte reads, else the one to three bytes themselves.
    let t: u64;
    if (n >= 8) t = load<u64>(p + <usize>(n - 8));
    else if (n >= 4) t = (<u64>load<u32>(p) << 32) | <u64>load<u32>(p + <usize>(n - 4));
    else {
      t = <u64>load<u8>(p);
      if (n > 1) t |= <u64>load<u8>(p + 1) << 8;
      if (n > 2) t |= <u64>load<u8>(p + 2) << 16;
    }
    h = (h ^ t) * 0xc4ceb9fe1a85ec53;
  }
  h ^= h >> 32;
  const r = <u32>h;
  return r == 0 ? 1 : r;
}

/** Whether [a, a+n) and [b, b+n) hold the same bytes. */
// @ts-ignore: decorator
@inline export function sameBytes(a: usize, b: usize, n: i32): bool {
  if (n >= 8) {
    for (let i = 0; i + 8 <= n; i += 8) if (load<u64>(a + <usize>i) != load<u64>(b + <usize>i)) return false;
    // The tail as the last eight bytes (overlapping what was compared).
    return load<u64>(a + <usize>(n - 8)) == load<u64>(b + <usize>(n - 8));
  }
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + <usize>(n - 4)) == load<u32>(b + <usize>(n - 4));
  for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}
