// Test harness for the primitives (built to build/test-primitives.wasm, loaded by
// test/primitives.test.ts). Thin adapters only: inputs from the scratch buffer, results to output.
export { inputBuffer, outputPtr, outputLen } from "../io";
import { inputPtr, setOutputString, setOutputBytes, reserveOutput } from "../io";
import { decodeRune, runeLen, goStringFromUtf8, utf8ByteLength, stringToUtf8, compareUtf8 } from "../text/utf8";
import { xxh3_64 } from "../text/xxh3";
import { formatFloatV, formatFloatF6, parseFloatGo, setHostShortestDigits, shortestDigitsString } from "../text/gofmt";
import { base64Encode, base64EncodeBytes, base64Decode } from "../text/base64";
import { parseIP, to4, ipToString, isUnspecified, isLoopback, isPrivate, cidrContains, ipFromProcHex } from "../net/ip";
import { parseMediaType } from "../http/mediatype";
import { parseQuery } from "../http/query";
import { unescapePath, unescapePathBytes } from "../http/path";
import { canonicalHeaderKey, canonicalHeaderKeyBytes } from "../http/header";

const NULL_MARK = "\u0000null";

function inputString(len: i32): string {
  return goStringFromUtf8(inputPtr(), len);
}

/** Input given as UTF-16LE code units (to build strings with lone surrogates). */
function inputUtf16(ptr: usize, bytes: i32): string {
  const n = bytes >> 1;
  const s = changetype<usize>(__new(<usize>n << 1, idof<string>()));
  memory.copy(s, ptr, <usize>n << 1);
  return changetype<string>(s);
}

function bytesOf(ptr: usize, len: i32): Uint8Array {
  const b = new Uint8Array(len);
  memory.copy(b.dataStart, ptr, <usize>len);
  return b;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

// ---- utf8
/** Runes of the input bytes as "cp/len" items joined by ','. */
export function t_decodeRunes(len: i32): void {
  const p = inputPtr();
  let s = "";
  let i = 0;
  while (i < len) {
    const c = decodeRune(p + <usize>i, len - i);
    if (i > 0) s += ",";
    s += c.toString(16) + "/" + runeLen.toString();
    i += runeLen;
  }
  setOutputString(s);
}

export function t_goString(len: i32): void {
  setOutputString(inputString(len));
}

/** UTF-16LE input → UTF-8 bytes via stringToUtf8; returns utf8ByteLength. */
export function t_utf16ToUtf8(len: i32): i32 {
  const s = inputUtf16(inputPtr(), len);
  const b = stringToUtf8(s);
  setOutputBytes(b.dataStart, b.length);
  return utf8ByteLength(s);
}

/** Input: u32 LE byte length of A, then A and B as UTF-16LE. */
export function t_compareUtf8(len: i32): i32 {
  const p = inputPtr();
  const la = <i32>load<u32>(p);
  const a = inputUtf16(p + 4, la);
  const b = inputUtf16(p + 4 + <usize>la, len - 4 - la);
  return compareUtf8(a, b);
}

// ---- xxh3
export function t_xxh3(len: i32): void {
  setOutputString(xxh3_64(inputPtr(), len).toString());
}

// ---- gofmt
export function t_formatV(x: f64): void {
  setOutputString(formatFloatV(x));
}

export function t_formatF6(x: f64): void {
  setOutputString(formatFloatF6(x));
}

export function t_parseFloat(len: i32): f64 {
  return parseFloatGo(inputPtr(), len);
}

/** Input: n f64 values; output: shortest digits "DIGITSeK" lines (value = 0.DIGITS × 10^K). */
export function t_shortestBatch(n: i32): void {
  const p = inputPtr();
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = shortestDigitsString(load<f64>(p + (<usize>i << 3)));
  setOutputString(parts.join("\n"));
}

/** Input: n f64 values; output: formatFloatV / formatFloatF6 results joined by '\n'. */
export function t_formatBatch(n: i32, which: i32): void {
  const p = inputPtr();
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const x = load<f64>(p + (<usize>i << 3));
    parts[i] = which == 0 ? formatFloatV(x) : formatFloatF6(x);
  }
  setOutputString(parts.join("\n"));
}

/** Input: numbers separated by '\n' (len bytes, count n); output: n f64 values. */
export function t_parseBatch(len: i32, n: i32): void {
  const p = inputPtr();
  const res = new StaticArray<f64>(n);
  let start = 0, k = 0;
  for (let i = 0; i <= len && k < n; i++) {
    if (i == len || load<u8>(p + <usize>i) == 10) {
      res[k++] = parseFloatGo(p + <usize>start, i - start);
      start = i + 1;
    }
  }
  setOutputBytes(changetype<usize>(res), n << 3);
}

// ---- base64
export function t_b64enc(len: i32): void {
  setOutputString(base64Encode(inputPtr(), len));
}

export function t_b64encBytes(len: i32): void {
  setOutputString(base64EncodeBytes(bytesOf(inputPtr(), len)));
}

/** Returns −1 when Go would reject the input, else the decoded length (bytes in the output). */
export function t_b64dec(len: i32): i32 {
  const r = base64Decode(inputString(len));
  if (r === null) {
    reserveOutput(0);
    return -1;
  }
  setOutputBytes(r.dataStart, r.length);
  return r.length;
}

// ---- ip
function ipReport(ip: Uint8Array | null): string {
  if (ip === null) return NULL_MARK;
  const v4 = to4(ip);
  let flags = "";
  if (isUnspecified(ip)) flags += "U";
  if (isLoopback(ip)) flags += "L";
  if (isPrivate(ip)) flags += "P";
  return ipToString(ip) + "|" + hex(ip) + "|" + (v4 === null ? "-" : hex(v4)) + "|" + flags;
}

export function t_parseIP(len: i32): void {
  setOutputString(ipReport(parseIP(inputString(len))));
}

export function t_ipBytes(len: i32): void {
  setOutputString(ipReport(bytesOf(inputPtr(), len)));
}

/** Input: [netLen][net…][maskLen][mask…][ipLen][ip…]. */
export function t_cidrContains(len: i32): i32 {
  const p = inputPtr();
  let o: usize = 0;
  const nl = <i32>load<u8>(p + o);
  const net = bytesOf(p + o + 1, nl);
  o += 1 + <usize>nl;
  const ml = <i32>load<u8>(p + o);
  const mask = bytesOf(p + o + 1, ml);
  o += 1 + <usize>ml;
  const il = <i32>load<u8>(p + o);
  const ip = bytesOf(p + o + 1, il);
  return cidrContains(net, mask, ip) ? 1 : 0;
}

export function t_procHex(len: i32): void {
  setOutputString(ipReport(ipFromProcHex(inputPtr(), len)));
}

// ---- http
export function t_mediaType(len: i32): void {
  const mt = parseMediaType(inputString(len));
  if (mt === null) {
    setOutputString(NULL_MARK);
    return;
  }
  let s = mt.type;
  for (let i = 0; i < mt.paramKeys.length; i++) s += "\u0001" + mt.paramKeys[i] + "\u0002" + mt.paramVals[i];
  setOutputString(s);
}

export function t_query(len: i32): void {
  const q = parseQuery(inputPtr(), len);
  let s = "";
  for (let i = 0; i < q.keys.length; i++) {
    if (i > 0) s += "\u0001";
    s += q.keys[i] + "\u0002" + q.values[i].join("\u0003");
  }
  setOutputString(s);
}

export function t_unescapePath(len: i32): void {
  const r = unescapePath(inputPtr(), len);
  setOutputString(r === null ? NULL_MARK : r);
}

/** In-place decode of the input; returns the decoded length or −1; output holds the bytes. */
export function t_unescapePathBytes(len: i32): i32 {
  const p = inputPtr();
  const n = unescapePathBytes(p, len, p);
  if (n < 0) reserveOutput(0);
  else setOutputBytes(p, n);
  return n;
}

/** Returns 1 when canonicalHeaderKey returned its argument itself (no allocation). */
export function t_canonicalHeaderKey(len: i32): i32 {
  const s = inputString(len);
  const c = canonicalHeaderKey(s);
  setOutputString(c);
  return changetype<usize>(c) == changetype<usize>(s) ? 1 : 0;
}

export function t_canonicalHeaderKeyBytes(len: i32): void {
  setOutputString(canonicalHeaderKeyBytes(inputPtr(), len));
}

import { goNumberTextFromLiteral } from "../text/gonumber";

/** The literal fast path of %v, or the float formatter when it declines: "fast|slow" texts. */
export function t_numberLiteral(len: i32, x: f64): void {
  const fast = goNumberTextFromLiteral(inputString(len));
  setOutputString((fast == null ? NULL_MARK : fast!) + "|" + formatFloatV(x));
}

/** The host's shortest digits (1) or the core's exact big-number algorithm (0) from now on. */
export function t_hostShortest(on: i32): void {
  setHostShortestDigits(on != 0);
}

