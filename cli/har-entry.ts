// One HAR entry (`log.entries[i]`) mapped to a traffic record. HAR carries no client address, so
// `remote` stays unset. Runtime-neutral (no Node API): guard-ui reads a pasted HAR entry with it.
import type { HeaderLine } from '../core/portable.js';
import { checkHeader, describe, isMethod, isObject, RecordError, type TrafficRecord, type TrafficResponse } from './traffic-record.js';

const URL_PARTS = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?#]*([^?#]*)(?:\?([^#]*))?/;
const HTTP_SCHEMES = new Set(['http', 'https', 'ws', 'wss']);

/** Map one HAR entry to a traffic record; throws RecordError naming the field at fault. */
export function harEntryToRecord(entry: unknown): TrafficRecord {
  const request = field(entry, 'request', 'entry');
  if (!isObject(request)) throw new RecordError(`"request" must be an object, got ${describe(request)}`);
  const method = request.method;
  if (!isMethod(method)) {
    throw new RecordError(`"request.method" must be an HTTP method such as "GET", got ${describe(method)}`);
  }
  const url = request.url;
  const parts = typeof url === 'string' ? URL_PARTS.exec(url) : null;
  if (!parts || !HTTP_SCHEMES.has(parts[1].toLowerCase())) {
    throw new RecordError(`"request.url" must be an absolute http(s) URL, got ${describe(url)}`);
  }
  const path = parts[2] === '' ? '/' : parts[2];
  const query = parts[3] ?? '';
  if (/[\0-\x20\x7f]/.test(path + query)) {
    throw new RecordError('"request.url" contains a space or a control character: a HAR URL is expected percent-encoded');
  }
  const record: TrafficRecord = { method, path, query, headers: harHeaders(request.headers, 'request.headers') };
  const postData = request.postData;
  if (isObject(postData) && postData.text !== undefined && postData.text !== null) {
    record.body = harText(postData.text, postData.encoding, 'request.postData');
  }
  const response = isObject(entry) ? entry.response : undefined;
  // Status 0 (browsers' exports) or -1 (Playwright's recorder, with `_failureText`): the request was
  // sent but got no answer (blocked, aborted, failed) — there is no response to profile.
  if (isObject(response) && response.status !== 0 && response.status !== -1 && response.status !== undefined) {
    record.response = harResponse(response);
  }
  return record;
}

function harResponse(response: Record<string, unknown>): TrafficResponse {
  const status = response.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw new RecordError(`"response.status" must be an HTTP status code (100–999), got ${describe(status)}`);
  }
  const out: TrafficResponse = { status, headers: harHeaders(response.headers, 'response.headers') };
  const content = response.content;
  if (isObject(content) && content.text !== undefined && content.text !== null) {
    out.body = harText(content.text, content.encoding, 'response.content');
  }
  return out;
}

function harText(text: unknown, encoding: unknown, field: string): string | Uint8Array {
  if (typeof text !== 'string') throw new RecordError(`"${field}.text" must be a string, got ${describe(text)}`);
  if (encoding === undefined || encoding === null || encoding === '') return text;
  if (encoding === 'base64') return decodeBase64(text);
  throw new RecordError(`"${field}.encoding" ${describe(encoding)} is not supported (only "base64")`);
}

function harHeaders(value: unknown, fieldName: string): HeaderLine[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new RecordError(`"${fieldName}" must be a list of {name, value} objects, got ${describe(value)}`);
  }
  const headers: HeaderLine[] = [];
  let authority: string | undefined;
  let host = false;
  for (let i = 0; i < value.length; i++) {
    const h = value[i];
    if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') {
      throw new RecordError(`"${fieldName}" must be a list of {name, value} string objects; entry ${i + 1} is ${describe(h)}`);
    }
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are not headers of the request
    // the gate sees over HTTP/1.1 — but :authority is its Host (RFC 9113 §8.3.1), which is decided.
    if (h.name.startsWith(':')) {
      if (h.name === ':authority') authority = h.value;
      continue;
    }
    checkHeader(h.name, h.value, fieldName, i);
    if (h.name.toLowerCase() === 'host') host = true;
    headers.push([h.name, h.value]);
  }
  if (authority !== undefined && !host) headers.unshift(['Host', authority]);
  return headers;
}

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Base64 as Node's Buffer.from(text, 'base64') reads it, without Node: the standard and the URL
 * alphabet, other characters skipped, the end at the first '='.
 */
export function decodeBase64(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '=') break;
    let v = BASE64_DIGITS.indexOf(c);
    if (c === '-') v = 62;
    else if (c === '_') v = 63;
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, n);
}

function field(obj: unknown, key: string, what: string): unknown {
  if (!isObject(obj)) throw new RecordError(`a HAR ${what} must be an object, got ${describe(obj)}`);
  return obj[key];
}
