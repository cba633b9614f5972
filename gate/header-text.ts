// Header text of the request path: the hop-by-hop names a proxy never forwards, response header
// names found from their bytes, status lines, and header lines as the plugins see them.
import { STATUS_CODES } from 'node:http';
import type { ResponseHeaderLine } from '../core/index.js';
import { latin1, RecentText } from './recent-text.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, and the older names still sent): they belong to one
 * connection, so they are neither forwarded nor profiled (as the original's gate). Names listed in a
 * Connection header are hop-by-hop too (forwardHeaders in request-path.ts).
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

// Response header names a service sends on most answers, found from their bytes (any case)
// without making a string; any other name is made and lower-cased.
const COMMON_RESPONSE_NAMES: (string[] | undefined)[] = [];
for (const name of [
  'content-type', 'content-length', 'date', 'connection', 'keep-alive', 'server', 'cache-control', 'etag',
  'last-modified', 'vary', 'set-cookie', 'transfer-encoding', 'content-encoding', 'expires', 'location',
  'access-control-allow-origin', 'x-content-type-options', 'strict-transport-security', 'x-frame-options',
  'accept-ranges', 'age', 'pragma', 'content-security-policy', 'x-powered-by', 'content-disposition',
  'content-language', 'x-request-id', 'referrer-policy', 'link', 'retry-after', 'www-authenticate', 'via',
]) (COMMON_RESPONSE_NAMES[name.length] ??= []).push(name);

export function responseHeaderName(b: Uint8Array): string {
  const candidates = COMMON_RESPONSE_NAMES[b.length];
  if (candidates !== undefined) {
    next: for (const name of candidates) {
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== name.charCodeAt(i)) continue next;
      }
      return name;
    }
  }
  return latin1(b).toLowerCase();
}

/** Header lines as the plugins see them: one frozen entry per name, repeated values joined with ", ". */
export function headerRecord(lines: readonly ResponseHeaderLine[]): Readonly<Record<string, string>> {
  const byName: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, b] of lines) {
    const v = typeof b === 'string' ? b : latin1(b);
    byName[k] = k in byName ? `${byName[k]}, ${v}` : v;
  }
  return Object.freeze(byName);
}

/** A reason phrase fit to write in a status line (tab, space, visible and obs-text bytes), else null. */
export function safeReason(reason: string): string | null {
  return reason.length > 0 && reason.length <= 512 && /^[\t\x20-\x7e\x80-\xff]+$/.test(reason) ? reason : null;
}

// Status lines of the codes seen so far (a handful per service), made once each.
const statusLines: string[] = [];
/** The status line of `code`: with the service's own reason phrase when it sent one, else the standard one. */
export function statusLine(code: number, reason = ''): string {
  if (reason !== '' && reason !== STATUS_CODES[code]) {
    const own = safeReason(reason);
    if (own !== null) return `${code} ${own}`;
  }
  if (code >= 100 && code <= 999) return (statusLines[code] ??= `${code} ${STATUS_CODES[code] ?? 'Status'}`);
  return `${code} ${STATUS_CODES[code] ?? 'Status'}`;
}

// The text of the last Content-Type of a response (a service answers with few).
export const responseTypes = new RecentText();

