// Go fmt / strconv number formatting and parsing for float64:
//   formatFloatV  — Go %v (strconv 'g', shortest): shortest round-trip digits, exponent form when
//                   the decimal exponent X < −4 or X ≥ 6 (at least two exponent digits).
//   formatFloatF6 — Go %f: exactly 6 decimals of the exact binary value, round half to even.
//   parseFloatGo  — correctly rounded decimal → float64 for JSON number syntax.
// All big-number work uses module-level preallocated u32-limb buffers (no per-call growth).
import { goStringFromUtf8 } from "./utf8";

// The host's shortest round-trip digits of a double (ECMAScript's Number#toExponential(), which
// picks the same digits as Go's strconv: shortest, then closest, then even). Writes the digit
// values (0-9) at `out` and returns (decimal point + 1024) × 32 + digit count, or 0 when it cannot.
// About 50× faster than the exact big-number algorithm below, which stays as the fallback and as
// the reference the tests hold the host to (docs/abi.md, imports).
// @ts-ignore: decorator
@external("env", "shortestDigits")
declare function hostShortestDigits(x: f64, out: usize): i32;

let useHostDigits = true;

/** Tests only: false = always the exact big-number algorithm. */
export function setHostShortestDigits(on: bool): void {
  useHostDigits = on;
}

// ---------------------------------------------------------------------------------------------
// Small fixed-capacity unsigned big integer (little-endian u32 limbs).

const POW10_U32: StaticArray<u32> = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

class Big {
  d: StaticArray<u32>;
  n: i32 = 0;

  constructor(cap: i32) {
    this.d = new StaticArray<u32>(cap);
  }

  trim(): void {
    let n = this.n;
    while (n > 0 && this.d[n - 1] == 0) n--;
    this.n = n;
  }

  setU64(v: u64): Big {
    this.n = 0;
    if (v != 0) {
      this.d[0] = <u32>v;
      this.d[1] = <u32>(v >> 32);
      this.n = 2;
      this.trim();
    }
    return this;
  }

  copyFrom(o: Big): Big {
    const n = o.n;
    for (let i = 0; i < n; i++) this.d[i] = o.d[i];
    this.n = n;
    return this;
  }

  mulSmall(m: u32): void {
    if (m == 0) {
      this.n = 0;
      return;
    }
    let carry: u64 = 0;
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const t = <u64>this.d[i] * <u64>m + carry;
      this.d[i] = <u32>t;
      carry = t >> 32;
    }
    if (carry != 0) {
      this.d[n] = <u32>carry;
      this.n = n + 1;
    }
  }

  mulPow10(k: i32): void {
    while (k >= 9) {
      this.mulSmall(1000000000);
      k -= 9;
    }
    if (k > 0) this.mulSmall(POW10_U32[k]);
  }

  shl(bits: i32): void {
    const n = this.n;
    if (n == 0 || bits <= 0) return;
    const limbs = bits >> 5;
    const b = bits & 31;
    if (b == 0) {
      for (let i = n - 1; i >= 0; i--) this.d[i + limbs] = this.d[i];
      this.n = n + limbs;
    } else {
      this.d[n + limbs] = this.d[n - 1] >> (32 - b);
      for (let i = n - 1; i >= 1; i--) this.d[i + limbs] = (this.d[i] << b) | (this.d[i - 1] >> (32 - b));
      this.d[limbs] = this.d[0] << b;
      this.n = n + limbs + 1;
    }
    for (let i = 0; i < limbs; i++) this.d[i] = 0;
    this.trim();
  }

  shr(bits: i32): void {
    if (bits <= 0) return;
    const limbs = bits >> 5;
    const b = bits & 31;
    const n = this.n;
    if (limbs >= n) {
      this.n = 0;
      return;
    }
    const m = n - limbs;
    for (let i = 0; i < m; i++) {
      let v = this.d[i + limbs] >> b;
      if (b != 0 && i + limbs + 1 < n) v |= this.d[i + limbs + 1] << (32 - b);
      this.d[i] = v;
    }
    this.n = m;
    this.trim();
  }

  /** Compare the low `s` bits (s ≥ 1) with 2^(s−1): −1, 0 or 1. */
  lowBitsVsHalf(s: i32): i32 {
    const hb = s - 1;
    const limb = hb >> 5;
    if (limb >= this.n) return -1;
    if (((this.d[limb] >> (hb & 31)) & 1) == 0) return -1;
    if ((this.d[limb] & ((<u32>1 << (hb & 31)) - 1)) != 0) return 1;
    for (let i = 0; i < limb; i++) if (this.d[i] != 0) return 1;
    return 0;
  }

  /** this = a + b (this may alias a or b). */
  add(a: Big, b: Big): void {
    const n = a.n > b.n ? a.n : b.n;
    let carry: u64 = 0;
    for (let i = 0; i < n; i++) {
      const t = <u64>(i < a.n ? a.d[i] : 0) + <u64>(i < b.n ? b.d[i] : 0) + carry;
      this.d[i] = <u32>t;
      carry = t >> 32;
    }
    this.n = n;
    if (carry != 0) {
      this.d[n] = <u32>carry;
      this.n = n + 1;
    }
  }

  /** this -= b, requires this ≥ b. */
  sub(b: Big): void {
    let borrow: i64 = 0;
    const n = this.n;
    for (let i = 0; i < n; i++) {
      let t = <i64>this.d[i] - <i64>(i < b.n ? b.d[i] : 0) - borrow;
      if (t < 0) {
        t += <i64>0x100000000;
        borrow = 1;
      } else borrow = 0;
      this.d[i] = <u32>t;
    }
    this.trim();
  }

  /** this = a × b (this must alias neither). */
  mul(a: Big, b: Big): void {
    const n = a.n + b.n;
    for (let i = 0; i < n; i++) this.d[i] = 0;
    for (let i = 0; i < a.n; i++) {
      let carry: u64 = 0;
      const ai = <u64>a.d[i];
      for (let j = 0; j < b.n; j++) {
        const t = ai * <u64>b.d[j] + <u64>this.d[i + j] + carry;
        this.d[i + j] = <u32>t;
        carry = t >> 32;
      }
      let k = i + b.n;
      while (carry != 0) {
        const t = <u64>this.d[k] + carry;
        this.d[k] = <u32>t;
        carry = t >> 32;
        k++;
      }
    }
    this.n = n;
    this.trim();
  }

  /** this /= dv; returns the remainder. */
  divSmall(dv: u32): u32 {
    let rem: u64 = 0;
    for (let i = this.n - 1; i >= 0; i--) {
      const cur = (rem << 32) | <u64>this.d[i];
      this.d[i] = <u32>(cur / <u64>dv);
      rem = cur % <u64>dv;
    }
    this.trim();
    return <u32>rem;
  }
}

function cmpBig(a: Big, b: Big): i32 {
  if (a.n != b.n) return a.n < b.n ? -1 : 1;
  for (let i = a.n - 1; i >= 0; i--) {
    const x = a.d[i], y = b.d[i];
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// Shortest-digit generation needs ≤ ~1140 bits; parsing needs ≤ ~3900 bits.
const R = new Big(48);
const S = new Big(48);
const MP = new Big(48);
const MM = new Big(48);
const T = new Big(48);
const PA = new Big(136);
const PB = new Big(136);
const PC = new Big(136);
const PD = new Big(136);

// Digit buffer (shared by formatting and parsing) and output byte buffer.
// @ts-ignore: decorator
@inline const MAX_DIGITS: i32 = 800;
const DIG: usize = memory.data(MAX_DIGITS + 8);
const OUT: usize = memory.data(1200);
let nDig: i32 = 0;
let decPoint: i32 = 0; // value = 0.d1d2…dn × 10^decPoint

// ---------------------------------------------------------------------------------------------
// Shortest round-trip digits (Steele & White / Burger & Dybvig free-format with exact bignums).

function shortestDigits(x: f64): void {
  // x finite and > 0.
  // Fast path: an integer below 2^53 is its own shortest form (neighbours are ≥ 1 away and the
  // rounding interval is at most ±0.5), minus trailing zeros.
  if (x < 9007199254740992.0 && x == Math.floor(x)) {
    let v = <u64>x;
    let nd = 0;
    while (v != 0) {
      store<u8>(OUT + <usize>nd, <u8>(v % 10));
      v /= 10;
      nd++;
    }
    for (let i = 0; i < nd; i++) store<u8>(DIG + <usize>i, load<u8>(OUT + <usize>(nd - 1 - i)));
    decPoint = nd;
    while (nd > 1 && load<u8>(DIG + <usize>(nd - 1)) == 0) nd--;
    nDig = nd;
    return;
  }
  if (useHostDigits) {
    const r = hostShortestDigits(x, DIG);
    if (r > 0) {
      nDig = r & 31;
      decPoint = (r >> 5) - 1024;
      return;
    }
  }
  const bits = reinterpret<u64>(x);
  const bexp = <i32>((bits >> 52) & 0x7ff);
  const frac = bits & 0xfffffffffffff;
  let f: u64, e: i32;
  if (bexp == 0) {
    f = frac;
    e = -1074;
  } else {
    f = frac | 0x10000000000000;
    e = bexp - 1075;
  }
  const even = (f & 1) == 0;
  const unequal = frac == 0 && bexp > 1;
  if (e >= 0) {
    if (!unequal) {
      R.setU64(f).shl(e + 1);
      S.setU64(2);
      MP.setU64(1).shl(e);
      MM.setU64(1).shl(e);
    } else {
      R.setU64(f).shl(e + 2);
      S.setU64(4);
      MP.setU64(1).shl(e + 1);
      MM.setU64(1).shl(e);
    }
  } else {
    if (!unequal) {
      R.setU64(f).shl(1);
      S.setU64(1).shl(1 - e);
      MP.setU64(1);
      MM.setU64(1);
    } else {
      R.setU64(f).shl(2);
      S.setU64(1).shl(2 - e);
      MP.setU64(2);
      MM.setU64(1);
    }
  }
  // Estimate k (never above the true value), then fix upwards.
  let k = <i32>Math.ceil(Math.log10(x)) - 1;
  if (k >= 0) S.mulPow10(k);
  else {
    R.mulPow10(-k);
    MP.mulPow10(-k);
    if (unequal) MM.mulPow10(-k);
  }
  for (let guard = 0; guard < 4; guard++) {
    T.add(R, MP);
    const c = cmpBig(T, S);
    if (!(even ? c >= 0 : c > 0)) break;
    S.mulSmall(10);
    k++;
  }
  // Generate digits (at most 17 for a double; bounded for safety). Note: written without
  // `for (;;) { … continue; … break; }` — asc 0.28 dropped the code after such a loop.
  const lowM = unequal ? MM : MP; // equal gaps: m− = m+, multiply once
  let n = 0;
  let done = false;
  while (!done && n < 40) {
    R.mulSmall(10);
    MP.mulSmall(10);
    if (unequal) MM.mulSmall(10);
    let dgt = 0;
    while (dgt < 10 && cmpBig(R, S) >= 0) {
      R.sub(S);
      dgt++;
    }
    const cl = cmpBig(R, lowM);
    const tc1 = even ? cl <= 0 : cl < 0;
    T.add(R, MP);
    const ch = cmpBig(T, S);
    const tc2 = even ? ch >= 0 : ch > 0;
    if (tc1 && tc2) {
      T.add(R, R);
      const c2 = cmpBig(T, S);
      if (c2 > 0 || (c2 == 0 && (dgt & 1) == 1)) dgt++;
      done = true;
    } else if (tc2) {
      dgt++;
      done = true;
    } else if (tc1) done = true;
    store<u8>(DIG + <usize>n, <u8>dgt);
    n++;
  }
  // Carry (defensive: a correct k never yields a digit 10).
  let i = n - 1;
  while (i >= 0 && load<u8>(DIG + <usize>i) >= 10) {
    store<u8>(DIG + <usize>i, 0);
    if (i == 0) {
      memory.copy(DIG + 1, DIG, <usize>n);
      store<u8>(DIG, 1);
      n++;
      k++;
      break;
    }
    store<u8>(DIG + <usize>(i - 1), load<u8>(DIG + <usize>(i - 1)) + 1);
    i--;
  }
  while (n > 1 && load<u8>(DIG + <usize>(n - 1)) == 0) n--;
  nDig = n;
  decPoint = k;
}

/** Shortest digits of |x| as "DIGITSeK" (x = 0.DIGITS × 10^K); "" for 0, NaN, ±Inf. */
export function shortestDigitsString(x: f64): string {
  if (!isFinite(x) || x == 0) return "";
  shortestDigits(Math.abs(x));
  for (let i = 0; i < nDig; i++) store<u8>(OUT + <usize>i, load<u8>(DIG + <usize>i) + 48);
  return goStringFromUtf8(OUT, nDig) + "e" + decPoint.toString();
}

// @ts-ignore: decorator
@inline function put(o: i32, c: i32): i32 {
  store<u8>(OUT + <usize>o, <u8>c);
  return o + 1;
}

function specialString(x: f64): string | null {
  if (isNaN(x)) return "NaN";
  if (!isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  return null;
}

/** Go fmt %v of a float64. */
export function formatFloatV(x: f64): string {
  const sp = specialString(x);
  if (sp !== null) return sp;
  const neg = (reinterpret<u64>(x) >> 63) != 0;
  if (x == 0) return neg ? "-0" : "0";
  shortestDigits(Math.abs(x));
  let o = 0;
  if (neg) o = put(o, 45);
  const exp = decPoint - 1;
  if (exp < -4 || exp >= 6) {
    o = put(o, 48 + load<u8>(DIG));
    if (nDig > 1) {
      o = put(o, 46);
      for (let i = 1; i < nDig; i++) o = put(o, 48 + load<u8>(DIG + <usize>i));
    }
    o = put(o, 101);
    let ex = exp;
    if (ex < 0) {
      o = put(o, 45);
      ex = -ex;
    } else o = put(o, 43);
    if (ex >= 100) o = put(o, 48 + ex / 100);
    o = put(o, 48 + (ex / 10) % 10);
    o = put(o, 48 + ex % 10);
  } else {
    // %f with precision max(nd − dp, 0)
    if (decPoint > 0) {
      for (let i = 0; i < decPoint; i++) o = put(o, i < nDig ? 48 + load<u8>(DIG + <usize>i) : 48);
    } else o = put(o, 48);
    const prec = nDig - decPoint;
    if (prec > 0) {
      o = put(o, 46);
      for (let i = 0; i < prec; i++) {
        const j = decPoint + i;
        o = put(o, j >= 0 && j < nDig ? 48 + load<u8>(DIG + <usize>j) : 48);
      }
    }
  }
  return goStringFromUtf8(OUT, o);
}

// ---------------------------------------------------------------------------------------------
// %f with 6 decimals.

/** Writes the decimal digits of R (destroying it) at OUT+o; returns the new offset. */
function writeBigDecimal(o: i32): i32 {
  if (R.n == 0) return put(o, 48);
  // Collect 9-digit chunks from the least significant end into DIG (reversed).
  let nd = 0;
  while (R.n > 0) {
    let rem = R.divSmall(1000000000);
    const last = R.n == 0;
    for (let i = 0; i < 9; i++) {
      if (last && rem == 0) break;
      store<u8>(DIG + <usize>nd, <u8>(rem % 10));
      nd++;
      rem /= 10;
    }
  }
  for (let i = nd - 1; i >= 0; i--) o = put(o, 48 + load<u8>(DIG + <usize>i));
  return o;
}

/** Go fmt %f (6 decimals, exact, half to even, never exponent form). */
export function formatFloatF6(x: f64): string {
  const sp = specialString(x);
  if (sp !== null) return sp;
  const bits = reinterpret<u64>(x);
  const neg = (bits >> 63) != 0;
  const bexp = <i32>((bits >> 52) & 0x7ff);
  const frac = bits & 0xfffffffffffff;
  let f: u64, e: i32;
  if (bexp == 0) {
    f = frac;
    e = -1074;
  } else {
    f = frac | 0x10000000000000;
    e = bexp - 1075;
  }
  let o = 0;
  if (neg) o = put(o, 45);
  if (e >= 0) {
    R.setU64(f).shl(e);
    o = writeBigDecimal(o);
    o = put(o, 46);
    for (let i = 0; i < 6; i++) o = put(o, 48);
    return goStringFromUtf8(OUT, o);
  }
  // N = round_half_even(f × 10^6 / 2^s)
  const s = -e;
  R.setU64(f);
  R.mulSmall(1000000);
  if (s >= 80) {
    R.n = 0; // f·10^6 < 2^73 ≤ half of 2^s: rounds to 0
  } else {
    const c = R.lowBitsVsHalf(s);
    R.shr(s);
    const odd = R.n > 0 && (R.d[0] & 1) == 1;
    if (c > 0 || (c == 0 && odd)) {
      T.setU64(1);
      R.add(R, T);
    }
  }
  let fp = <i32>R.divSmall(1000000); // R is now the integer part
  o = writeBigDecimal(o);
  o = put(o, 46);
  for (let i = 5; i >= 0; i--) {
    store<u8>(OUT + <usize>(o + i), <u8>(48 + fp % 10));
    fp /= 10;
  }
  o += 6;
  return goStringFromUtf8(OUT, o);
}

// ---------------------------------------------------------------------------------------------
// Decimal → float64, correctly rounded.

const POW10_F64: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

let parseSticky = false;

/** Sign of (D × 10^E) − (M × 2^P), with D in PA (kept), using PB/PC/PD as scratch. */
function cmpExact(E: i32, M: u64, P: i32): i32 {
  PB.copyFrom(PA);
  if (E > 0) PB.mulPow10(E);
  if (P < 0) PB.shl(-P);
  PC.setU64(M);
  if (P > 0) PC.shl(P);
  if (E < 0) {
    PD.copyFrom(PC);
    PD.mulPow10(-E);
    PC.copyFrom(PD);
  }
  let c = cmpBig(PB, PC);
  if (c == 0 && parseSticky) c = 1;
  return c;
}

/**
 * Parse a JSON number (-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?) to the nearest float64 (ties to even),
 * overflow → ±Inf, underflow → ±0. Returns NaN when the bytes are not JSON number syntax.
 */
export function parseFloatGo(ptr: usize, len: i32): f64 {
  let i = 0;
  let neg = false;
  if (i < len && load<u8>(ptr) == 45) {
    neg = true;
    i++;
  }
  if (i >= len) return NaN;
  let nd = 0; // significant digits stored
  let dp = 0; // decimal point position relative to the first significant digit
  let sticky = false;
  let sawNonZero = false;
  let c = <i32>load<u8>(ptr + <usize>i);
  if (c == 48) {
    i++;
  } else if (c >= 49 && c <= 57) {
    while (i < len) {
      c = <i32>load<u8>(ptr + <usize>i);
      if (c < 48 || c > 57) break;
      sawNonZero = true;
      if (nd < MAX_DIGITS) {
        store<u8>(DIG + <usize>nd, <u8>(c - 48));
        nd++;
      } else if (c != 48) sticky = true;
      dp++;
      i++;
    }
  } else return NaN;
  if (i < len && load<u8>(ptr + <usize>i) == 46) {
    i++;
    const start = i;
    while (i < len) {
      c = <i32>load<u8>(ptr + <usize>i);
      if (c < 48 || c > 57) break;
      if (!sawNonZero) {
        if (c == 48) dp--;
        else sawNonZero = true;
      }
      if (sawNonZero) {
        if (nd < MAX_DIGITS) {
          store<u8>(DIG + <usize>nd, <u8>(c - 48));
          nd++;
        } else if (c != 48) sticky = true;
      }
      i++;
    }
    if (i == start) return NaN;
  }
  if (i < len) {
    c = <i32>load<u8>(ptr + <usize>i);
    if (c != 101 && c != 69) return NaN;
    i++;
    let eneg = false;
    if (i < len) {
      c = <i32>load<u8>(ptr + <usize>i);
      if (c == 43 || c == 45) {
        eneg = c == 45;
        i++;
      }
    }
    const start = i;
    let ev = 0;
    while (i < len) {
      c = <i32>load<u8>(ptr + <usize>i);
      if (c < 48 || c > 57) break;
      if (ev < 100000000) ev = ev * 10 + (c - 48);
      i++;
    }
    if (i == start) return NaN;
    dp += eneg ? -ev : ev;
  }
  if (i != len) return NaN;
  const zero = neg ? -0.0 : 0.0;
  if (!sticky) while (nd > 0 && load<u8>(DIG + <usize>(nd - 1)) == 0) nd--;
  if (nd == 0) return zero;
  if (dp > 310) return neg ? -Infinity : Infinity;
  if (dp < -330) return zero;
  const E = dp - nd; // value = D × 10^E (+ sticky)
  // Fast path: exact mantissa and power of ten.
  if (nd <= 15 && !sticky) {
    let m: u64 = 0;
    for (let j = 0; j < nd; j++) m = m * 10 + <u64>load<u8>(DIG + <usize>j);
    const fm = <f64>m;
    if (E >= 0 && E <= 22) return neg ? -(fm * POW10_F64[E]) : fm * POW10_F64[E];
    if (E < 0 && E >= -22) return neg ? -(fm / POW10_F64[-E]) : fm / POW10_F64[-E];
    if (E > 22 && E <= 22 + 15 - nd) {
      const r = (fm * POW10_F64[E - 22]) * 1e22;
      return neg ? -r : r;
    }
  }
  // Approximation from the first ≤ 19 digits.
  const na = nd < 19 ? nd : 19;
  let m: u64 = 0;
  for (let j = 0; j < na; j++) m = m * 10 + <u64>load<u8>(DIG + <usize>j);
  const e10 = dp - na;
  let z: f64;
  if (e10 >= -300) z = <f64>m * Math.pow(10, <f64>e10);
  else z = (<f64>m * Math.pow(10, <f64>(e10 + 40))) * 1e-40;
  if (!isFinite(z)) z = f64.MAX_VALUE;
  // Exact D into PA.
  PA.n = 0;
  let j = 0;
  while (j < nd) {
    let chunk: u32 = 0;
    let k = 0;
    while (k < 9 && j < nd) {
      chunk = chunk * 10 + <u32>load<u8>(DIG + <usize>j);
      j++;
      k++;
    }
    PA.mulSmall(POW10_U32[k]);
    if (PA.n == 0) PA.setU64(<u64>chunk);
    else {
      T.setU64(<u64>chunk);
      PA.add(PA, T);
    }
  }
  parseSticky = sticky;
  // Correct z by whole ulps until it is the nearest double (bounded).
  for (let iter = 0; iter < 200; iter++) {
    const bits = reinterpret<u64>(z);
    const bexp = <i32>(bits >> 52);
    const frac = bits & 0xfffffffffffff;
    let mz: u64, ez: i32;
    if (bexp == 0) {
      mz = frac;
      ez = -1074;
    } else {
      mz = frac | 0x10000000000000;
      ez = bexp - 1075;
    }
    const odd = (mz & 1) == 1;
    const cu = cmpExact(E, 2 * mz + 1, ez - 1);
    if (cu > 0 || (cu == 0 && odd)) {
      if (bits == 0x7fefffffffffffff) {
        z = Infinity;
        break;
      }
      z = reinterpret<f64>(bits + 1);
      continue;
    }
    if (mz != 0) {
      const cl = frac == 0 && bexp > 1 ? cmpExact(E, 4 * mz - 1, ez - 2) : cmpExact(E, 2 * mz - 1, ez - 1);
      if (cl < 0 || (cl == 0 && odd)) {
        z = reinterpret<f64>(bits - 1);
        continue;
      }
    }
    break;
  }
  return neg ? -z : z;
}
