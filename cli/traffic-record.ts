// One traffic record (the format is in README.md): validated from parsed JSON into a TrafficRecord,
// and mapped to the request and response fields the core profiles. Validation errors are messages a
// person can act on. Runtime-neutral (no Node API): guard-ui's "try a request" reads a pasted record
// with this same code in the browser, so it decides exactly what `guard check` decides.
import type { HeaderLine, HttpRequestFields, HttpResponseFields } from '../core/portable.js';

// What learn, check and guard-ui's "try a request" analyse by default: the gate's own limit.
export { DEFAULT_MAX_BODY } from '../core/portable.js';

export interface TrafficResponse {
  status: number;
  headers: HeaderLine[];
  body?: string | Uint8Array;
}

export interface TrafficRecord {
  method: string;
  /** Raw path, still percent-encoded, without the query. */
  path: string;
  /** Raw query without '?'; '' when there is none. */
  query: string;
  headers: HeaderLine[];
  /** Request body as sent (UTF-8 text; HAR may give bytes); absent = no body. */
  body?: string | Uint8Array;
  /** Client address (IP text), appended to X-Forwarded-For by the core as the gate does. */
  remote?: string;
  response?: TrafficResponse;
}

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Bytes Go's HTTP server refuses in a header value.
const BAD_VALUE = /[\r\n\0]/;

/** Validate a parsed JSON value as a traffic record; throws RecordError naming the field at fault. */
export function toTrafficRecord(value: unknown): TrafficRecord {
  if (!isObject(value)) throw new RecordError(`a traffic record must be a JSON object, got ${describe(value)}`);
  const method = value.method;
  if (!isMethod(method)) {
    throw new RecordError(`"method" must be an HTTP method such as "GET", got ${describe(method)}`);
  }
  const target = value.path;
  if (typeof target !== 'string' || !(target.startsWith('/') || target === '*')) {
    throw new RecordError(`"path" must be a string starting with "/", got ${describe(target)}`);
  }
  let path: string = target;
  let query = optionalString(value, 'query', 'the raw query string without "?"');
  const mark = path.indexOf('?');
  if (mark >= 0) {
    if (query !== undefined) {
      throw new RecordError('"path" contains "?" and "query" is also given: put the query in one of them only');
    }
    query = path.slice(mark + 1);
    path = path.slice(0, mark);
  }
  checkNoControl(path, 'path');
  checkNoControl(query ?? '', 'query');
  const record: TrafficRecord = {
    method,
    path,
    query: query ?? '',
    headers: toHeaders(value.headers, 'headers'),
  };
  const body = optionalString(value, 'body', 'a UTF-8 string');
  if (body !== undefined) record.body = body;
  const remote = optionalString(value, 'remote', 'an IP address such as "203.0.113.7"');
  if (remote !== undefined) record.remote = toRemote(remote);
  if (value.response !== undefined && value.response !== null) record.response = toResponse(value.response);
  return record;
}

function toResponse(value: unknown): TrafficResponse {
  if (!isObject(value)) throw new RecordError(`"response" must be an object {status, headers, body}, got ${describe(value)}`);
  const status = value.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw new RecordError(`"response.status" must be an HTTP status code (100–999), got ${describe(status)}`);
  }
  const response: TrafficResponse = { status, headers: toHeaders(value.headers, 'response.headers') };
  const body = optionalString(value, 'body', 'a UTF-8 string', 'response.body');
  if (body !== undefined) response.body = body;
  return response;
}

/** Headers as a list of [name, value] string pairs; absent or null = no headers. */
export function toHeaders(value: unknown, field: string): HeaderLine[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new RecordError(`"${field}" must be a list of [name, value] string pairs, got ${describe(value)}`);
  }
  const headers: HeaderLine[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const pair = value[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new RecordError(`"${field}" must be a list of [name, value] string pairs; entry ${i + 1} is ${describe(pair)}`);
    }
    checkHeader(pair[0], pair[1], field, i);
    headers[i] = [pair[0], pair[1]];
  }
  return headers;
}

export function checkHeader(name: string, value: string, field: string, index: number): void {
  if (!TOKEN.test(name)) {
    throw new RecordError(`"${field}" entry ${index + 1}: ${describe(name)} is not a valid HTTP header name`);
  }
  if (BAD_VALUE.test(value)) {
    throw new RecordError(`"${field}" entry ${index + 1} (${name}): the value contains CR, LF or NUL, which HTTP does not allow`);
  }
}

function checkNoControl(s: string, field: string): void {
  // A request target never holds spaces or control bytes: the server would refuse the request line.
  if (/[\0-\x20\x7f]/.test(s)) {
    throw new RecordError(`"${field}" contains a space or a control character: keep it percent-encoded as sent on the wire`);
  }
}

/** The IP of "ip", "ip:port" or "[ipv6]:port" (the forms of a peer address). */
export function toRemote(text: string): string {
  let ip = text;
  if (!isIpText(ip)) {
    const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
    const v4port = /^([^:]+):\d+$/.exec(text);
    ip = bracket?.[1] ?? v4port?.[1] ?? '';
  }
  if (!isIpText(ip)) throw new RecordError(`"remote" must be an IP address such as "203.0.113.7", got ${describe(text)}`);
  return ip;
}

function optionalString(obj: Record<string, unknown>, key: string, what: string, field = key): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RecordError(`"${field}" must be ${what}, got ${describe(v)}`);
  return v;
}

export function isMethod(v: unknown): v is string {
  return typeof v === 'string' && TOKEN.test(v);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a JSON value for an error message. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `the list ${text}`;
  if (typeof v === 'object') return `the object ${text}`;
  return `${typeof v} ${text}`;
}

export interface BodyPolicy {
  /** Bodies larger than this many bytes are not analysed: the core gets the fault TooLargeBody. */
  maxBody: number;
}

/** The request as the core profiles it: the gate's view, protocol HTTP/1.1. */
export function toRequestFields(record: TrafficRecord, policy: BodyPolicy): HttpRequestFields {
  const fields: HttpRequestFields = {
    method: record.method,
    path: record.path,
    query: record.query,
    proto: 'HTTP/1.1',
    headers: record.headers,
  };
  if (record.remote !== undefined) fields.remote = record.remote;
  setBody(fields, record.body, policy);
  return fields;
}

export function toResponseFields(response: TrafficResponse, policy: BodyPolicy): HttpResponseFields {
  const fields: HttpResponseFields = { status: response.status, headers: response.headers };
  setBody(fields, response.body, policy);
  return fields;
}

// As the gate: an empty body is no body (Go's proxy drops zero-length bodies); one over the limit
// is not read but recorded as the fault TooLargeBody.
function setBody(fields: HttpRequestFields | HttpResponseFields, body: string | Uint8Array | undefined, policy: BodyPolicy): void {
  if (body === undefined) return;
  const size = typeof body === 'string' ? utf8Length(body) : body.byteLength;
  if (size === 0) return;
  if (size > policy.maxBody) fields.bodyFault = 'TooLargeBody';
  else fields.body = body;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * IP address text as Node's net.isIP accepts it (dotted IPv4 without leading zeros; IPv6 with at
 * most one "::", an optional dotted IPv4 tail and an optional %zone), without Node.
 */
export function isIpText(text: string): boolean {
  if (IPV4.test(text)) return true;
  const zone = text.indexOf('%');
  const address = zone < 0 ? text : text.slice(0, zone);
  if (zone >= 0 && !/^[0-9a-zA-Z\-.:]+$/.test(text.slice(zone + 1))) return false;
  const halves = address.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    if (halves[h] === '') continue;
    const parts = halves[h].split(':');
    for (let i = 0; i < parts.length; i++) {
      const last = h === halves.length - 1 && i === parts.length - 1;
      if (last && IPV4.test(parts[i])) groups += 2;
      else if (IPV6_GROUP.test(parts[i])) groups += 1;
      else return false;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** Bytes of a string in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD, as Node writes it). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
