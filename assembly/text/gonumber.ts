// Go's %v text of a JSON number computed from the number's own digits, without formatting the
// float: when the literal has at most 15 significant digits, those digits are exactly the
// shortest round-trip digits of the float64 it parses to. Anything else returns null and the
// caller formats the float (formatFloatV).

const digitBuf = new StaticArray<u8>(32);
let outBuf = new ArrayBuffer(64);

@inline function put(dst: usize, at: i32, c: u8): i32 {
  store<u8>(dst + <usize>at, c);
  return at + 1;
}

/**
 * Write Go's %v text of the JSON number literal [src, src+n) to dst (at least n + 32 bytes);
 * returns its length, or -1 when the literal needs the float formatter.
 */
export function goNumberTextBytes(src: usize, n: i32, dst: usize): i32 {
  let i = 0;
  let negative = false;
  if (i < n && load<u8>(src) == 45) {
    negative = true;
    i++;
  }
  let nd = 0; // significant digits kept in digitBuf
  let dp = 0; // decimal point position relative to the first significant digit
  let seenNonZero = false;
  let inFraction = false;
  for (; i < n; i++) {
    const c = load<u8>(src + <usize>i);
    if (c == 46) {
      inFraction = true;
      continue;
    }
    if (c < 48 || c > 57) break;
    if (c == 48 && !seenNonZero) {
      if (inFraction) dp--;
      continue;
    }
    seenNonZero = true;
    if (nd >= 32) return -1;
    unchecked((digitBuf[nd++] = c));
    if (!inFraction) dp++;
  }
  let exp10 = 0;
  if (i < n) {
    const c = load<u8>(src + <usize>i);
    if (c != 101 && c != 69) return -1;
    i++;
    let expNegative = false;
    if (i < n && (load<u8>(src + <usize>i) == 43 || load<u8>(src + <usize>i) == 45)) {
      expNegative = load<u8>(src + <usize>i) == 45;
      i++;
    }
    if (i >= n) return -1;
    for (; i < n; i++) {
      const d = <i32>load<u8>(src + <usize>i);
      if (d < 48 || d > 57) return -1;
      exp10 = exp10 * 10 + (d - 48);
      if (exp10 > 400) return -1;
    }
    if (expNegative) exp10 = -exp10;
  }
  let at = 0;
  if (!seenNonZero) {
    if (negative) at = put(dst, at, 45);
    return put(dst, at, 48);
  }
  while (nd > 0 && unchecked(digitBuf[nd - 1]) == 48) nd--;
  if (nd > 15) return -1;
  dp += exp10;
  // Stay clear of the subnormal and overflow ranges, where fewer digits survive.
  if (dp < -290 || dp > 300) return -1;
  if (negative) at = put(dst, at, 45);
  const exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    at = put(dst, at, unchecked(digitBuf[0]));
    if (nd > 1) {
      at = put(dst, at, 46);
      for (let k = 1; k < nd; k++) at = put(dst, at, unchecked(digitBuf[k]));
    }
    at = put(dst, at, 101);
    at = put(dst, at, exp < 0 ? 45 : 43);
    const a = exp < 0 ? -exp : exp;
    if (a >= 100) at = put(dst, at, <u8>(48 + a / 100));
    at = put(dst, at, <u8>(48 + (a / 10) % 10));
    return put(dst, at, <u8>(48 + a % 10));
  }
  if (dp <= 0) {
    at = put(dst, at, 48);
    at = put(dst, at, 46);
    for (let k = 0; k < -dp; k++) at = put(dst, at, 48);
    for (let k = 0; k < nd; k++) at = put(dst, at, unchecked(digitBuf[k]));
    return at;
  }
  for (let k = 0; k < nd; k++) {
    if (k == dp) at = put(dst, at, 46);
    at = put(dst, at, unchecked(digitBuf[k]));
  }
  for (let k = nd; k < dp; k++) at = put(dst, at, 48);
  return at;
}

/** The same as a string (for values already decoded into a tree). */
export function goNumberTextFromLiteral(raw: string): string | null {
  const src = String.UTF8.encode(raw);
  const n = src.byteLength;
  if (outBuf.byteLength < n + 32) outBuf = new ArrayBuffer(n + 32);
  const len = goNumberTextBytes(changetype<usize>(src), n, changetype<usize>(outBuf));
  return len < 0 ? null : String.UTF8.decodeUnsafe(changetype<usize>(outBuf), <usize>len);
}
