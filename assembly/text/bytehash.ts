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
    let t: u64 = 0;
    for (let k = 0; i + k < n; k++) t |= (<u64>load<u8>(p + <usize>(i + k))) << (<u64>k << 3);
    h = (h ^ t) * 0xc4ceb9fe1a85ec53;
  }
  h ^= h >> 32;
  const r = <u32>h;
  return r == 0 ? 1 : r;
}

/** Whether [a, a+n) and [b, b+n) hold the same bytes. */
// @ts-ignore: decorator
@inline export function sameBytes(a: usize, b: usize, n: i32): bool {
  let i = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + <usize>i) != load<u64>(b + <usize>i)) return false;
  for (; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}
