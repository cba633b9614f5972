// "Try a request": what a person pastes — a traffic record (a line of `guard check`'s input), JSON
// Lines of them, a HAR document or one of its entries, or a raw HTTP request — read into traffic
// records with the CLI's own readers, so the browser decides exactly what `guard check` decides.
import { harEntryToRecord } from '../../cli/har-entry.js';
import { DEFAULT_MAX_BODY, RecordError, toTrafficRecord, type TrafficRecord } from '../../cli/traffic-record.js';
import { decideRecord, type Decision } from '../../cli/decide-record.js';
import type { Core, Guardian } from '../../core/portable.js';

export interface PastedRecord {
  /** "line 2", "HAR entry 3", "raw HTTP request". */
  label: string;
  record?: TrafficRecord;
  error?: string;
}

export type Format = 'traffic record' | 'JSON Lines' | 'HAR' | 'HAR entry' | 'raw HTTP';

export function readPasted(text: string): { format: Format; items: PastedRecord[] } {
  const trimmed = text.trim();
  if (trimmed === '') return { format: 'traffic record', items: [{ label: 'input', error: 'paste a request first' }] };
  if (!trimmed.startsWith('{')) return { format: 'raw HTTP', items: [rawHttp(trimmed)] };
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    return { format: 'JSON Lines', items: lines.map((line, i) => jsonRecord(line, `line ${i + 1}`)) };
  }
  const obj = whole as Record<string, unknown>;
  const log = obj?.log as Record<string, unknown> | undefined;
  if (log && typeof log === 'object') {
    const entries = log.entries;
    if (!Array.isArray(entries)) return { format: 'HAR', items: [{ label: 'HAR', error: '"log.entries" must be a list' }] };
    return { format: 'HAR', items: entries.map((e, i) => fromHar(e, `HAR entry ${i + 1}`)) };
  }
  if ('request' in obj && !('method' in obj)) return { format: 'HAR entry', items: [fromHar(obj, 'HAR entry')] };
  return { format: 'traffic record', items: [fromValue(whole, 'traffic record')] };
}

function jsonRecord(line: string, label: string): PastedRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { label, error: `not JSON: ${(err as Error).message}` };
  }
  return fromValue(value, label);
}

function fromValue(value: unknown, label: string): PastedRecord {
  try {
    return { label, record: toTrafficRecord(value) };
  } catch (err) {
    return { label, error: err instanceof RecordError ? err.message : String(err) };
  }
}

function fromHar(entry: unknown, label: string): PastedRecord {
  try {
    return { label, record: harEntryToRecord(entry) };
  } catch (err) {
    return { label, error: err instanceof RecordError ? err.message : String(err) };
  }
}

/**
 * A raw HTTP/1.1 request: request line, header lines, an empty line, the body. The target may be
 * a path or an absolute URL. Becomes the traffic record `guard check` would read.
 */
export function rawHttp(text: string): PastedRecord {
  const label = 'raw HTTP request';
  const normal = text.replace(/\r\n/g, '\n');
  const split = normal.indexOf('\n\n');
  const head = split < 0 ? normal : normal.slice(0, split);
  const body = split < 0 ? '' : normal.slice(split + 2);
  const [requestLine, ...headerLines] = head.split('\n');
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) +(\S+)(?: +HTTP\/\d(?:\.\d)?)?$/.exec(requestLine.trim());
  if (!m) return { label, error: `the first line must be a request line such as "GET /path?query HTTP/1.1", got "${requestLine.slice(0, 60)}"` };
  let target = m[2];
  const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
  if (absolute) target = absolute[1] || '/';
  const headers: Array<[string, string]> = [];
  for (const line of headerLines) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { label, error: `"${line.slice(0, 60)}" is not a header line (Name: value)` };
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const value: Record<string, unknown> = { method: m[1], path: target, headers };
  if (body !== '') value.body = body;
  return fromValue(value, label);
}

export interface Tried extends PastedRecord {
  decision?: Decision & { tree?: unknown };
}

/** Decide each record as `guard check` does (same body limit as its default). */
export function tryRecords(core: Core, guardian: Guardian, items: PastedRecord[]): Tried[] {
  return items.map((item) => {
    if (!item.record) return item;
    try {
      return { ...item, decision: decideRecord(core, guardian, item.record, { maxBody: DEFAULT_MAX_BODY }, true) };
    } catch (err) {
      return { ...item, error: (err as Error).message };
    }
  });
}

/** The `guard check` output line of a decision (without the tree). */
export function checkLine(d: Decision): string {
  return JSON.stringify({ allowed: d.allowed, result: d.result, decision: d.decision });
}
