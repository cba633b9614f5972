// Go url.ParseQuery: pieces split on '&', empty pieces skipped, a piece with ';'
// dropped, key/value split at the first '=', both unescaped in query mode ('+' → space, %XX),
// a piece with an invalid escape dropped, values appended in order.
import { goStringFromUtf8 } from "../text/utf8";

export class QueryValues {
  /** Keys in order of first appearance; values[i] are the values of keys[i], in order. */
  keys: Array<string> = new Array<string>();
  values: Array<Array<string>> = new Array<Array<string>>();
}

// @ts-ignore: decorator
@inline function hexv(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

let scratch = new ArrayBuffer(1024);

/** Query-unescape bytes [p, p+n) into dst; returns the length or −1 on an invalid escape. */
function unescapeQuery(p: usize, n: i32, dst: usize): i32 {
  let w = 0, i = 0;
  while (i < n) {
    const c = <i32>load<u8>(p + <usize>i);
    if (c == 37) {
      if (i + 2 >= n) return -1;
      const h = hexv(<i32>load<u8>(p + <usize>i + 1));
      const l = hexv(<i32>load<u8>(p + <usize>i + 2));
      if ((h | l) < 0) return -1;
      store<u8>(dst + <usize>w, <u8>((h << 4) | l));
      i += 3;
    } else {
      store<u8>(dst + <usize>w, <u8>(c == 43 ? 32 : c));
      i++;
    }
    w++;
  }
  return w;
}

export function parseQuery(ptr: usize, len: i32): QueryValues {
  const res = new QueryValues();
  if (len <= 0) return res;
  if (scratch.byteLength < len) scratch = new ArrayBuffer(len);
  const d = changetype<usize>(scratch);
  let index: Map<string, i32> | null = null;
  let start = 0;
  while (start < len) {
    let end = start;
    let eq = -1;
    let semi = false;
    while (end < len) {
      const c = load<u8>(ptr + <usize>end);
      if (c == 38) break;
      if (c == 59) semi = true;
      else if (c == 61 && eq < 0) eq = end;
      end++;
    }
    const pieceStart = start;
    start = end + 1;
    if (semi || end == pieceStart) continue;
    const keyEnd = eq < 0 ? end : eq;
    const kn = unescapeQuery(ptr + <usize>pieceStart, keyEnd - pieceStart, d);
    if (kn < 0) continue;
    let vn = 0;
    if (eq >= 0) {
      vn = unescapeQuery(ptr + <usize>(eq + 1), end - eq - 1, d + <usize>kn);
      if (vn < 0) continue;
    }
    const key = goStringFromUtf8(d, kn);
    const val = goStringFromUtf8(d + <usize>kn, vn);
    if (index === null) index = new Map<string, i32>();
    const m = changetype<Map<string, i32>>(index);
    if (m.has(key)) {
      res.values[m.get(key)].push(val);
    } else {
      m.set(key, res.keys.length);
      res.keys.push(key);
      const vals = new Array<string>();
      vals.push(val);
      res.values.push(vals);
    }
  }
  return res;
}
