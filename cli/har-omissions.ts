// What browsers send but their HAR exports leave out, made up for `guard learn` so that a Guardian
// learned from HAR files does not refuse it (docs/tokens.md, "Learning from HAR files"):
// * the favicon: Chromium fetches /favicon.ico after a page loads and leaves it out of the export;
//   one is added per navigation, with the page's cookies and an image request's headers, and with
//   an answer a server commonly gives (the export keeps none: FAVICON_ANSWERS);
// * CORS preflights: a cross-origin request with a non-simple method or header is preceded by an
//   OPTIONS request that exports omit; it is added before such a request.
// * the peer: the gate decides every request with the client's address appended to
//   X-Forwarded-For, and a HAR file carries none (withGatePeer below).
// Beacons (navigator.sendBeacon) are left out of exports too, but nothing in a HAR file says where
// they go: record them otherwise (README's traffic records) or learn them live through the gate.
import type { HeaderLine } from '../core/portable.js';
import type { TrafficRecord } from './traffic-record.js';

const IMAGE_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
// What a page's request carries that its favicon request does not.
const DOCUMENT_ONLY = new Set(['upgrade-insecure-requests', 'sec-fetch-user', 'cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'content-type', 'content-length', 'origin']);
// Headers a request may carry without a preflight (Fetch standard, CORS-safelisted), and the ones
// the browser sets itself.
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'range']);
const BROWSER_SET = /^(host|connection|cookie|user-agent|referer|origin|accept-encoding|content-length|sec-|priority$|dnt$|pragma$|cache-control$)/i;
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

const header = (headers: HeaderLine[], name: string): string | undefined => headers.find(([k]) => k.toLowerCase() === name)?.[1];

function originOf(url: string): string | null {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)/.exec(url);
  return m ? m[1].toLowerCase() : null;
}

function isNavigation(record: TrafficRecord): boolean {
  if (record.method !== 'GET' || record.response === undefined) return false;
  const dest = header(record.headers, 'sec-fetch-dest');
  if (dest !== undefined) return dest === 'document';
  return (header(record.headers, 'accept') ?? '').startsWith('text/html');
}

/**
 * What servers answer for /favicon.ico: an icon in one of its usual types, or none (404). The
 * export keeps no answer, and a Guardian that learned none refuses the real one at the response
 * stage, in every session. The first favicon of a learning run carries each of them; later ones
 * one each in turn, so that one favicon per navigation is learned, as the browser fetches it.
 */
const FAVICON_ANSWERS: ReadonlyArray<{ status: number; type: string }> = [
  { status: 200, type: 'image/x-icon' },
  { status: 200, type: 'image/vnd.microsoft.icon' },
  { status: 200, type: 'image/png' },
  { status: 200, type: 'image/svg+xml' },
  { status: 404, type: 'text/html; charset=utf-8' },
];

function favicon(record: TrafficRecord, url: string, answer: { status: number; type: string }): TrafficRecord {
  const headers: HeaderLine[] = [];
  for (const [k, v] of record.headers) {
    const name = k.toLowerCase();
    if (DOCUMENT_ONLY.has(name) || name === 'referer') continue;
    if (name === 'accept') headers.push([k, IMAGE_ACCEPT]);
    else if (name === 'sec-fetch-dest') headers.push([k, 'image']);
    else if (name === 'sec-fetch-mode') headers.push([k, 'no-cors']);
    else if (name === 'sec-fetch-site') headers.push([k, 'same-origin']);
    else headers.push([k, v]);
  }
  headers.push(['Referer', url.replace(/#.*$/, '')]);
  return { method: 'GET', path: '/favicon.ico', query: '', headers, ...(record.remote ? { remote: record.remote } : {}), response: { status: answer.status, headers: [['Content-Type', answer.type]] } };
}

/** The OPTIONS request a browser sends before `record`, or null when it sends none. */
function preflight(record: TrafficRecord, url: string): TrafficRecord | null {
  const origin = header(record.headers, 'origin');
  if (origin === undefined || origin.toLowerCase() === originOf(url)) return null;
  const custom = record.headers
    .map(([k]) => k.toLowerCase())
    .filter((k) => !BROWSER_SET.test(k) && (!SAFELISTED.has(k) || (k === 'content-type' && !SIMPLE_TYPES.has((header(record.headers, k) ?? '').split(';')[0].trim().toLowerCase()))));
  const simpleMethod = record.method === 'GET' || record.method === 'HEAD' || record.method === 'POST';
  if (simpleMethod && custom.length === 0) return null;
  const headers: HeaderLine[] = [['Accept', '*/*'], ['Access-Control-Request-Method', record.method]];
  if (custom.length > 0) headers.push(['Access-Control-Request-Headers', [...new Set(custom)].sort().join(',')]);
  for (const name of ['origin', 'user-agent', 'referer', 'accept-language', 'accept-encoding']) {
    const v = header(record.headers, name);
    if (v !== undefined) headers.push([record.headers.find(([k]) => k.toLowerCase() === name)![0], v]);
  }
  headers.push(['Sec-Fetch-Mode', 'cors'], ['Sec-Fetch-Site', 'cross-site'], ['Sec-Fetch-Dest', 'empty']);
  return { method: 'OPTIONS', path: record.path, query: record.query, headers, ...(record.remote ? { remote: record.remote } : {}) };
}

/** What the HAR files of one learning run left out; it remembers the favicons it made. */
export class HarOmissions {
  private favicons = 0;

  /**
   * The records a browser sent with this HAR entry that the export left out: a preflight before
   * it, a favicon after a navigation. `entry` is the raw HAR entry (for its URL).
   */
  of(entry: unknown, record: TrafficRecord): { before: TrafficRecord[]; after: TrafficRecord[] } {
    const url = (entry as { request?: { url?: unknown } })?.request?.url;
    if (typeof url !== 'string') return { before: [], after: [] };
    const pre = preflight(record, url);
    const before = pre ? [pre] : [];
    if (!isNavigation(record) || record.path === '/favicon.ico') return { before, after: [] };
    const answers = this.favicons++ === 0 ? FAVICON_ANSWERS : [FAVICON_ANSWERS[(this.favicons - 1) % FAVICON_ANSWERS.length]!];
    return { before, after: answers.map((a) => favicon(record, url, a)) };
  }
}

/**
 * The peer a HAR record is learned with. Learned without any, a Guardian never sees the
 * X-Forwarded-For line the gate adds to every request, and refuses every request it decides
 * (`Key X-Forwarded-For is not known`). A loopback address, so that the client-address rules
 * (ClientIp, HopIp) learn nothing from it (they ignore loopback and private addresses); with the
 * most digits an IPv4 address has, so that the header's learned counts admit any IPv4 peer.
 */
export const HAR_PEER = '127.255.255.255';

/** A record read from a HAR file, with the peer the gate would add when it has none. */
export function withGatePeer(record: TrafficRecord): TrafficRecord {
  return record.remote === undefined ? { ...record, remote: HAR_PEER } : record;
}
