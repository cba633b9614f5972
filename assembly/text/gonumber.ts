// Go's %v text of a JSON number computed from the number's own digits, without formatting the
// float: when the literal has at most 15 significant digits, those digits are exactly the
// shortest round-trip digits of the float64 it parses to. Anything else returns null and the
// caller formats the float (formatFloatV).

const digitBuf = new StaticArray<u8>(32);

export function goNumberTextFromLiteral(raw: string): string | null {
  const n = raw.length;
  let i = 0;
  let negative = false;
  if (i < n && raw.charCodeAt(i) == 45) {
    negative = true;
    i++;
  }
  let nd = 0; // significant digits kept in digitBuf
  let dp = 0; // decimal point position relative to the first significant digit
  let seenNonZero = false;
  let inFraction = false;
  for (; i < n; i++) {
    const c = raw.charCodeAt(i);
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
    if (nd >= 32) return null;
    unchecked((digitBuf[nd++] = <u8>c));
    if (!inFraction) dp++;
  }
  let exp10 = 0;
  if (i < n) {
    const c = raw.charCodeAt(i);
    if (c != 101 && c != 69) return null;
    i++;
    let expNegative = false;
    if (i < n && (raw.charCodeAt(i) == 43 || raw.charCodeAt(i) == 45)) {
      expNegative = raw.charCodeAt(i) == 45;
      i++;
    }
    if (i >= n) return null;
    for (; i < n; i++) {
      const d = raw.charCodeAt(i);
      if (d < 48 || d > 57) return null;
      exp10 = exp10 * 10 + (d - 48);
      if (exp10 > 400) return null;
    }
    if (expNegative) exp10 = -exp10;
  }
  if (!seenNonZero) return negative ? "-0" : "0";
  while (nd > 0 && unchecked(digitBuf[nd - 1]) == 48) nd--;
  if (nd > 15) return null;
  dp += exp10;
  // Stay clear of the subnormal and overflow ranges, where fewer digits survive.
  if (dp < -290 || dp > 300) return null;
  let out = negative ? "-" : "";
  const exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    out += String.fromCharCode(unchecked(digitBuf[0]));
    if (nd > 1) {
      out += ".";
      for (let k = 1; k < nd; k++) out += String.fromCharCode(unchecked(digitBuf[k]));
    }
    out += exp < 0 ? "e-" : "e+";
    const a = exp < 0 ? -exp : exp;
    if (a < 10) out += "0";
    out += a.toString();
    return out;
  }
  if (dp <= 0) {
    out += "0.";
    for (let k = 0; k < -dp; k++) out += "0";
    for (let k = 0; k < nd; k++) out += String.fromCharCode(unchecked(digitBuf[k]));
    return out;
  }
  for (let k = 0; k < nd; k++) {
    if (k == dp) out += ".";
    out += String.fromCharCode(unchecked(digitBuf[k]));
  }
  for (let k = nd; k < dp; k++) out += "0";
  return out;
}
