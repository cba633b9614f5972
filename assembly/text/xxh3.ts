// XXH3 64-bit hash with seed 0 and the default 192-byte secret (public XXH3 specification). Used to
// shorten over-long KeyVal keys (over 64 bytes, as the original names them). Allocates nothing.

// @ts-ignore: decorator
@inline const PRIME32_1: u64 = 0x9e3779b1;
// @ts-ignore: decorator
@inline const PRIME32_2: u64 = 0x85ebca77;
// @ts-ignore: decorator
@inline const PRIME32_3: u64 = 0xc2b2ae3d;
// @ts-ignore: decorator
@inline const PRIME64_1: u64 = 0x9e3779b185ebca87;
// @ts-ignore: decorator
@inline const PRIME64_2: u64 = 0xc2b2ae3d27d4eb4f;
// @ts-ignore: decorator
@inline const PRIME64_3: u64 = 0x165667b19e3779f9;
// @ts-ignore: decorator
@inline const PRIME64_4: u64 = 0x85ebca77c2b2ae63;
// @ts-ignore: decorator
@inline const PRIME64_5: u64 = 0x27d4eb2f165667c5;
// @ts-ignore: decorator
@inline const PRIME_MX1: u64 = 0x165667919e3779f9;
// @ts-ignore: decorator
@inline const PRIME_MX2: u64 = 0x9fb21c651e98df25;

// @ts-ignore: decorator
@inline const SECRET_SIZE: i32 = 192;
// @ts-ignore: decorator
@inline const STRIPE_LEN: i32 = 64;

const SECRET: usize = memory.data<u8>([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
]);

// The 8 accumulators of the long-input loop (module-level: no per-call allocation).
const ACC: usize = memory.data(64, 8);

// @ts-ignore: decorator
@inline function r64(p: usize): u64 {
  return load<u64>(p); // wasm is little-endian
}

// @ts-ignore: decorator
@inline function r32(p: usize): u64 {
  return <u64>load<u32>(p);
}

/** Low 64 bits XOR high 64 bits of the 128-bit product a·b. */
function mul128Fold64(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff, aHi = a >> 32;
  const bLo = b & 0xffffffff, bHi = b >> 32;
  const ll = aLo * bLo;
  const hl = aHi * bLo;
  const lh = aLo * bHi;
  const hh = aHi * bHi;
  const cross = (ll >> 32) + (hl & 0xffffffff) + lh;
  const upper = (hl >> 32) + (cross >> 32) + hh;
  const lower = (cross << 32) | (ll & 0xffffffff);
  return lower ^ upper;
}

function xxh64Avalanche(h: u64): u64 {
  h ^= h >> 33;
  h *= PRIME64_2;
  h ^= h >> 29;
  h *= PRIME64_3;
  h ^= h >> 32;
  return h;
}

function avalanche(h: u64): u64 {
  h ^= h >> 37;
  h *= PRIME_MX1;
  h ^= h >> 32;
  return h;
}

function rrmxmx(h: u64, len: u64): u64 {
  h ^= rotl<u64>(h, 49) ^ rotl<u64>(h, 24);
  h *= PRIME_MX2;
  h ^= (h >> 35) + len;
  h *= PRIME_MX2;
  return h ^ (h >> 28);
}

// @ts-ignore: decorator
@inline function mix16B(p: usize, s: usize): u64 {
  return mul128Fold64(r64(p) ^ r64(s), r64(p + 8) ^ r64(s + 8));
}

function len1to3(p: usize, len: i32): u64 {
  const c1 = <u32>load<u8>(p);
  const c2 = <u32>load<u8>(p + (<usize>len >> 1));
  const c3 = <u32>load<u8>(p + <usize>len - 1);
  const combined = (c1 << 16) | (c2 << 24) | c3 | (<u32>len << 8);
  const bitflip = (r32(SECRET) ^ r32(SECRET + 4));
  return xxh64Avalanche(<u64>combined ^ bitflip);
}

function len4to8(p: usize, len: i32): u64 {
  const in1 = r32(p);
  const in2 = r32(p + <usize>len - 4);
  const bitflip = r64(SECRET + 8) ^ r64(SECRET + 16);
  const in64 = in2 + (in1 << 32);
  return rrmxmx(in64 ^ bitflip, <u64>len);
}

function len9to16(p: usize, len: i32): u64 {
  const bitflip1 = r64(SECRET + 24) ^ r64(SECRET + 32);
  const bitflip2 = r64(SECRET + 40) ^ r64(SECRET + 48);
  const lo = r64(p) ^ bitflip1;
  const hi = r64(p + <usize>len - 8) ^ bitflip2;
  const acc = <u64>len + bswap<u64>(lo) + hi + mul128Fold64(lo, hi);
  return avalanche(acc);
}

function len17to128(p: usize, len: i32): u64 {
  const n = <usize>len;
  let acc = <u64>len * PRIME64_1;
  if (len > 32) {
    if (len > 64) {
      if (len > 96) {
        acc += mix16B(p + 48, SECRET + 96);
        acc += mix16B(p + n - 64, SECRET + 112);
      }
      acc += mix16B(p + 32, SECRET + 64);
      acc += mix16B(p + n - 48, SECRET + 80);
    }
    acc += mix16B(p + 16, SECRET + 32);
    acc += mix16B(p + n - 32, SECRET + 48);
  }
  acc += mix16B(p, SECRET);
  acc += mix16B(p + n - 16, SECRET + 16);
  return avalanche(acc);
}

function len129to240(p: usize, len: i32): u64 {
  let acc = <u64>len * PRIME64_1;
  const rounds = len >> 4;
  for (let i = 0; i < 8; i++) acc += mix16B(p + <usize>(16 * i), SECRET + <usize>(16 * i));
  acc = avalanche(acc);
  for (let i = 8; i < rounds; i++) acc += mix16B(p + <usize>(16 * i), SECRET + <usize>(16 * (i - 8) + 3));
  acc += mix16B(p + <usize>len - 16, SECRET + 136 - 17);
  return avalanche(acc);
}

// @ts-ignore: decorator
@inline function accumulate512(p: usize, s: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    const v = r64(p + (i << 3));
    const k = v ^ r64(s + (i << 3));
    const a1 = ACC + ((i ^ 1) << 3);
    store<u64>(a1, load<u64>(a1) + v);
    const a0 = ACC + (i << 3);
    store<u64>(a0, load<u64>(a0) + (k & 0xffffffff) * (k >> 32));
  }
}

function scramble(s: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    let a = load<u64>(ACC + (i << 3));
    a ^= a >> 47;
    a ^= r64(s + (i << 3));
    a *= PRIME32_1;
    store<u64>(ACC + (i << 3), a);
  }
}

function hashLong(p: usize, len: i32): u64 {
  store<u64>(ACC, PRIME32_3);
  store<u64>(ACC, PRIME64_1, 8);
  store<u64>(ACC, PRIME64_2, 16);
  store<u64>(ACC, PRIME64_3, 24);
  store<u64>(ACC, PRIME64_4, 32);
  store<u64>(ACC, PRIME32_2, 40);
  store<u64>(ACC, PRIME64_5, 48);
  store<u64>(ACC, PRIME32_1, 56);
  const stripesPerBlock = (SECRET_SIZE - STRIPE_LEN) >> 3; // 16
  const blockLen = STRIPE_LEN * stripesPerBlock; // 1024
  const blocks = (len - 1) / blockLen;
  for (let n = 0; n < blocks; n++) {
    const base = p + <usize>(n * blockLen);
    for (let s = 0; s < stripesPerBlock; s++) accumulate512(base + <usize>(s * STRIPE_LEN), SECRET + <usize>(s * 8));
    scramble(SECRET + <usize>(SECRET_SIZE - STRIPE_LEN));
  }
  const stripes = ((len - 1) - blockLen * blocks) / STRIPE_LEN;
  const base = p + <usize>(blocks * blockLen);
  for (let s = 0; s < stripes; s++) accumulate512(base + <usize>(s * STRIPE_LEN), SECRET + <usize>(s * 8));
  accumulate512(p + <usize>(len - STRIPE_LEN), SECRET + <usize>(SECRET_SIZE - STRIPE_LEN - 7));
  // merge
  let result = <u64>len * PRIME64_1;
  for (let i: usize = 0; i < 4; i++) {
    const s = SECRET + 11 + (i << 4);
    result += mul128Fold64(load<u64>(ACC + (i << 4)) ^ r64(s), load<u64>(ACC + (i << 4) + 8) ^ r64(s + 8));
  }
  return avalanche(result);
}

/** XXH3_64bits(bytes, seed 0). */
export function xxh3_64(ptr: usize, len: i32): u64 {
  if (len <= 16) {
    if (len > 8) return len9to16(ptr, len);
    if (len >= 4) return len4to8(ptr, len);
    if (len > 0) return len1to3(ptr, len);
    return xxh64Avalanche(r64(SECRET + 56) ^ r64(SECRET + 64));
  }
  if (len <= 128) return len17to128(ptr, len);
  if (len <= 240) return len129to240(ptr, len);
  return hashLong(ptr, len);
}
