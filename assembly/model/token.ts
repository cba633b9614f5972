// Token kinds: the alphabets of values that are random by nature (session ids, CSRF tokens,
// ETags, request and trace ids). A value's kinds are every alphabet it fits (a hex value fits hex,
// base64url and base64), so the kinds a key learns are the intersection over its values, and a new
// random value of the same kind fits whatever letters it happens to draw. No kind admits a space,
// a quote inside the value, `<>`, `;`, `%`, `'` or `..`: a value that fits one cannot carry an
// injection, which is why a token may pass where its character counts would not (docs/tokens.md).

export const TOKEN_HEX: u8 = 1;
export const TOKEN_BASE64URL: u8 = 2;
export const TOKEN_BASE64: u8 = 4;
export const TOKEN_UUID: u8 = 8;
export const TOKEN_JWT: u8 = 16;
export const TOKEN_ETAG: u8 = 32;
export const TOKEN_KINDS: u8 = 63;
/** Shortest and longest value profiled as a token. */
export const TOKEN_MIN_LEN: i32 = 8;
export const TOKEN_MAX_LEN: i32 = 4096;

export const TOKEN_KIND_NAMES: StaticArray<string> = ["hex", "base64url", "base64", "uuid", "jwt", "etag"];

// Per ASCII byte, what it is to the classifier.
const C_DIGIT: u8 = 1;
const C_HEXLOWER: u8 = 2;
const C_HEXUPPER: u8 = 4;
const C_LETTER: u8 = 8;
const C_URLSAFE: u8 = 16; // - _
const C_STD: u8 = 32; // + /
const C_PAD: u8 = 64; // =
const C_ETAGONLY: u8 = 128; // . :
const CLASS = new StaticArray<u8>(128);
function initClasses(): void {
  for (let c = 48; c <= 57; c++) CLASS[c] = C_DIGIT;
  for (let c = 97; c <= 122; c++) CLASS[c] = C_LETTER | (c <= 102 ? C_HEXLOWER : 0);
  for (let c = 65; c <= 90; c++) CLASS[c] = C_LETTER | (c <= 70 ? C_HEXUPPER : 0);
  CLASS[45] = C_URLSAFE;
  CLASS[95] = C_URLSAFE;
  CLASS[43] = C_STD;
  CLASS[47] = C_STD;
  CLASS[61] = C_PAD;
  CLASS[46] = C_ETAGONLY;
  CLASS[58] = C_ETAGONLY;
}
initClasses();

/** Which ASCII special characters (the SimpleVal flag bits) a token candidate may contain. */
// Flag bits (simpleval.ts) of `"` (1), `+` (9), `-` (11), `.` (12), `/` (13), `:` (14), `=` (17),
// `_` (23), and the pair flags "--" (30) and "0x" (31), which random base64 draws as well.
export const TOKEN_SPECIAL_FLAGS: u32 = (1 << 1) | (1 << 9) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17) | (1 << 23) | (1 << 30) | (1 << 31);

/** The union of classes of [ptr, ptr+len), or 0 when a byte is none of them. */
function classesOf(ptr: usize, len: i32): u32 {
  let all: u32 = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c >= 128) return 0;
    const k = <u32>unchecked(CLASS[c]);
    if (k == 0) return 0;
    all |= k;
  }
  return all;
}

/** `=` only as trailing padding (at most two). */
function padOnlyAtEnd(ptr: usize, len: i32): bool {
  let end = len;
  while (end > 0 && load<u8>(ptr + <usize>(end - 1)) == 61) end--;
  if (len - end > 2) return false;
  for (let i = 0; i < end; i++) if (load<u8>(ptr + <usize>i) == 61) return false;
  return true;
}

function isUuid(ptr: usize, len: i32): bool {
  if (len != 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != 45) return false;
    } else if (c >= 128 || (unchecked(CLASS[c]) & (C_DIGIT | C_HEXLOWER | C_HEXUPPER)) == 0) return false;
  }
  return true;
}

/** header.payload.signature, each non-empty base64url, the header a JSON object ("eyJ"). */
function isJwt(ptr: usize, len: i32): bool {
  if (len < 3 || load<u8>(ptr) != 101 || load<u8>(ptr + 1) != 121 || load<u8>(ptr + 2) != 74) return false;
  let dots = 0;
  let run = 0;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c == 46) {
      if (run == 0) return false;
      dots++;
      run = 0;
      continue;
    }
    if (c >= 128 || (unchecked(CLASS[c]) & (C_DIGIT | C_LETTER | C_URLSAFE)) == 0) return false;
    run++;
  }
  return dots == 2 && run > 0;
}

/**
 * The token kinds of the value [ptr, ptr+len), or 0 when it is no token or does not look random
 * (a word or a number is not a token: letters and digits must mix, or the shape be a token's).
 * Callers filter first on the SimpleVal counters (no space, control or non-ASCII character and only
 * TOKEN_SPECIAL_FLAGS), so most values never get here.
 */
export function tokenKinds(ptr: usize, len: i32): u8 {
  if (len < TOKEN_MIN_LEN || len > TOKEN_MAX_LEN) return 0;
  const first = load<u8>(ptr);
  // An entity tag: "…" or W/"…" (RFC 9110 §8.8.3), its inside a token-like run.
  if (first == 34 || (first == 87 && len > 3 && load<u8>(ptr + 1) == 47 && load<u8>(ptr + 2) == 34)) {
    const open = first == 34 ? 1 : 3;
    if (load<u8>(ptr + <usize>(len - 1)) != 34 || len - 1 <= open) return 0;
    // No ".." inside: an entity tag never carries a path step.
    for (let i = open + 1; i < len - 1; i++) if (load<u8>(ptr + <usize>i) == 46 && load<u8>(ptr + <usize>(i - 1)) == 46) return 0;
    return classesOf(ptr + <usize>open, len - 1 - open) != 0 ? TOKEN_ETAG : 0;
  }
  if (isUuid(ptr, len)) return TOKEN_UUID | TOKEN_BASE64URL;
  if (isJwt(ptr, len)) return TOKEN_JWT;
  const all = classesOf(ptr, len);
  if (all == 0 || (all & C_ETAGONLY) != 0) return 0;
  if ((all & C_PAD) != 0 && !padOnlyAtEnd(ptr, len)) return 0;
  let kinds: u8 = 0;
  // Digits and a–f in one case only.
  if ((all & ~(C_DIGIT | C_HEXLOWER | C_HEXUPPER | C_LETTER)) == 0 && hexOnly(ptr, len)) kinds |= TOKEN_HEX;
  if ((all & C_STD) == 0) kinds |= TOKEN_BASE64URL;
  if ((all & C_URLSAFE) == 0) kinds |= TOKEN_BASE64;
  // Random by shape: letters and digits mix, or, in a long value, both cases (a random base64 of
  // 20 characters lacks digits 3 times in 100; a word or a number is not a token).
  if ((all & C_DIGIT) != 0 && (all & C_LETTER) != 0) return kinds;
  return len >= 20 && bothCases(ptr, len) ? kinds : 0;
}

/** Every letter is a–f in one case. */
function hexOnly(ptr: usize, len: i32): bool {
  let lower = false;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    const k = unchecked(CLASS[c]);
    if ((k & C_LETTER) == 0) continue;
    if ((k & C_HEXLOWER) != 0) lower = true;
    else if ((k & C_HEXUPPER) != 0) upper = true;
    else return false;
  }
  return !(lower && upper);
}

function bothCases(ptr: usize, len: i32): bool {
  let lower = false;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
  }
  return lower && upper;
}

// Scratch for classifying a string's ASCII code units as bytes (profiles made from strings).
const SCRATCH: usize = memory.data(TOKEN_MAX_LEN);

/** tokenKinds of a string whose code units are all ASCII (the caller's filter ensures it). */
export function tokenKindsOfString(s: string): u8 {
  const n = s.length;
  if (n < TOKEN_MIN_LEN || n > TOKEN_MAX_LEN) return 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) return 0;
    store<u8>(SCRATCH + <usize>i, <u8>c);
  }
  return tokenKinds(SCRATCH, n);
}
