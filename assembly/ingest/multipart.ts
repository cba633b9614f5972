// multipart/form-data as Go's Request.ParseMultipartForm hands it to the gate: the non-file
// fields, by name, in order. Any framing error is a failure (the gate records FailedMultipart).
import { goStringFromUtf8 } from "../text/utf8";
import { QueryValues } from "../http/query";

const MAX_PARTS = 1000;

function find(ptr: usize, from: i32, len: i32, pat: string): i32 {
  const n = pat.length;
  const first = <u8>pat.charCodeAt(0);
  for (let i = from; i + n <= len; i++) {
    if (load<u8>(ptr + <usize>i) != first) continue;
    let j = 1;
    while (j < n && load<u8>(ptr + <usize>(i + j)) == <u8>pat.charCodeAt(j)) j++;
    if (j == n) return i;
  }
  return -1;
}

/** Parse a disposition parameter value (quoted or token) named `name`; null when absent. */
function dispositionParam(header: string, name: string): string | null {
  const lower = header.toLowerCase();
  let at = 0;
  while (true) {
    at = lower.indexOf(name + "=", at);
    if (at < 0) return null;
    const before = at == 0 ? 59 : lower.charCodeAt(at - 1);
    if (before == 59 || before == 32 || before == 9) break;
    at += name.length;
  }
  let i = at + name.length + 1;
  if (i < header.length && header.charCodeAt(i) == 34) {
    let out = "";
    i++;
    while (i < header.length && header.charCodeAt(i) != 34) {
      if (header.charCodeAt(i) == 92 && i + 1 < header.length) i++;
      out += String.fromCharCode(header.charCodeAt(i));
      i++;
    }
    return out;
  }
  let end = i;
  while (end < header.length && header.charCodeAt(end) != 59 && header.charCodeAt(end) != 32) end++;
  return header.substring(i, end);
}

/** The form fields of a multipart body, or null when it is not well formed. */
export function parseMultipartForm(ptr: usize, len: i32, boundary: string): QueryValues | null {
  if (boundary.length == 0 || boundary.length > 70) return null;
  const out = new QueryValues();
  const delim = "--" + boundary;
  let pos = find(ptr, 0, len, delim);
  if (pos < 0) return null;
  for (let parts = 0; parts <= MAX_PARTS; parts++) {
    pos += delim.length;
    if (pos + 2 <= len && load<u8>(ptr + <usize>pos) == 45 && load<u8>(ptr + <usize>(pos + 1)) == 45) return out;
    // Skip transport padding, then CRLF.
    while (pos < len && (load<u8>(ptr + <usize>pos) == 32 || load<u8>(ptr + <usize>pos) == 9)) pos++;
    if (pos + 2 > len || load<u8>(ptr + <usize>pos) != 13 || load<u8>(ptr + <usize>(pos + 1)) != 10) return null;
    pos += 2;
    let bodyStart: i32;
    let headerText: string;
    if (pos + 2 <= len && load<u8>(ptr + <usize>pos) == 13 && load<u8>(ptr + <usize>(pos + 1)) == 10) {
      headerText = "";
      bodyStart = pos + 2;
    } else {
      const headersEnd = find(ptr, pos, len, "\r\n\r\n");
      if (headersEnd < 0) return null;
      headerText = goStringFromUtf8(ptr + <usize>pos, headersEnd - pos);
      bodyStart = headersEnd + 4;
    }
    const next = find(ptr, bodyStart, len, "\r\n" + delim);
    if (next < 0) return null;
    let name: string | null = null;
    let isFile = false;
    const lines = headerText.length == 0 ? new Array<string>() : headerText.split("\r\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(":");
      if (colon <= 0) return null;
      if (line.substring(0, colon).trim().toLowerCase() == "content-disposition") {
        const value = line.substring(colon + 1).trim();
        if (!value.toLowerCase().startsWith("form-data")) continue;
        name = dispositionParam(value, "name");
        isFile = dispositionParam(value, "filename") != null;
      }
    }
    if (name != null && !isFile) {
      const value = goStringFromUtf8(ptr + <usize>bodyStart, next - bodyStart);
      const at = out.keys.indexOf(name!);
      if (at >= 0) out.values[at].push(value);
      else {
        out.keys.push(name!);
        const vals = new Array<string>();
        vals.push(value);
        out.values.push(vals);
      }
    }
    pos = next + 2;
  }
  return null;
}
