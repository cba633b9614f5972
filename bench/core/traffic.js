// Deterministic request generators for the core benchmarks: a GET with 10 headers and 4 query
// parameters, a POST with a ~1 KB JSON body, and a realistic mix of both plus searches, item
// pages and JSON responses. Plain data in the host's HttpRequestFields / HttpResponseFields shape.

/** mulberry32: small, fast, and the same sequence on every machine. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'ShopApp/3.2.1 (Android 14; Pixel 8)',
];
const LANGUAGES = ['en-US,en;q=0.9', 'en-GB,en;q=0.8', 'de-DE,de;q=0.9,en;q=0.5', 'fr-FR,fr;q=0.9,en;q=0.4'];
const COLORS = ['red', 'blue', 'green', 'black', 'white'];
const SORTS = ['price', 'name', 'rating', 'newest'];
const WORDS = ['shoes', 'blue+shirt', 'socks', 'winter+jacket', 'hat', 'gloves', 'scarf', 'sneakers'];
const NETS = ['203.0.113.', '198.51.100.', '192.0.2.', '93.184.216.'];

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];
const int = (rnd, lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

function hex(rnd, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
  return s;
}

const uuid = (rnd) => `${hex(rnd, 8)}-${hex(rnd, 4)}-4${hex(rnd, 3)}-a${hex(rnd, 3)}-${hex(rnd, 12)}`;
const remote = (rnd) => pick(rnd, NETS) + int(rnd, 1, 254);

/**
 * The eight headers every client request carries.
 * @returns {import('../../build/js/core/index.js').HeaderLine[]}
 */
function baseHeaders(rnd) {
  return [
    ['Host', 'shop.example.com'],
    ['User-Agent', pick(rnd, USER_AGENTS)],
    ['Accept', 'application/json, text/plain, */*'],
    ['Accept-Language', pick(rnd, LANGUAGES)],
    ['Accept-Encoding', 'gzip, deflate, br'],
    ['Cookie', `session=${hex(rnd, 32)}; theme=${rnd() < 0.5 ? 'light' : 'dark'}`],
    ['X-Request-Id', uuid(rnd)],
    ['Connection', 'keep-alive'],
  ];
}

/** GET /api/items/<id>?color=&size=&page=&sort= with 10 headers. */
/** @returns {import('../../build/js/core/index.js').HttpRequestFields} */
export function getRequest(rnd) {
  const headers = baseHeaders(rnd);
  headers.push(['Referer', `https://shop.example.com/catalog/${int(rnd, 1, 40)}`]);
  headers.push(['Cache-Control', 'no-cache']);
  return {
    method: 'GET',
    path: `/api/items/${int(rnd, 1000, 9999)}`,
    query: `color=${pick(rnd, COLORS)}&size=${int(rnd, 36, 46)}&page=${int(rnd, 1, 20)}&sort=${pick(rnd, SORTS)}`,
    headers,
    remote: remote(rnd),
  };
}

/** A cart update of about `size` bytes of JSON: a customer object and a list of line items. */
export function cartJson(rnd, size = 1024) {
  const cart = {
    cartId: uuid(rnd),
    customer: { id: int(rnd, 10000, 99999), email: `user${int(rnd, 1, 9999)}@example.com`, tier: pick(rnd, ['basic', 'gold']) },
    currency: 'EUR',
    coupon: rnd() < 0.5 ? null : `SAVE${int(rnd, 5, 30)}`,
    items: [],
  };
  while (JSON.stringify(cart).length < size - 110) {
    cart.items.push({ sku: `SKU-${hex(rnd, 6).toUpperCase()}`, qty: int(rnd, 1, 5), price: int(rnd, 199, 9999) / 100, color: pick(rnd, COLORS), gift: rnd() < 0.2 });
  }
  return JSON.stringify(cart);
}

/** POST /api/cart with a ~1 KB JSON body and 10 headers. */
/** @returns {import('../../build/js/core/index.js').HttpRequestFields} */
export function postRequest(rnd) {
  const body = cartJson(rnd);
  const headers = baseHeaders(rnd);
  headers.push(['Content-Type', 'application/json']);
  headers.push(['Content-Length', String(Buffer.byteLength(body))]);
  return { method: 'POST', path: '/api/cart', headers, body, remote: remote(rnd) };
}

/** @returns {import('../../build/js/core/index.js').HttpRequestFields} */
function searchRequest(rnd) {
  const headers = baseHeaders(rnd).slice(0, 7);
  return { method: 'GET', path: '/api/search', query: `q=${pick(rnd, WORDS)}&limit=${pick(rnd, [10, 20, 50])}`, headers, remote: remote(rnd) };
}

/** @returns {import('../../build/js/core/index.js').HttpRequestFields} */
function pageRequest(rnd) {
  const headers = baseHeaders(rnd);
  headers[2] = ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'];
  return { method: 'GET', path: `/catalog/${int(rnd, 1, 40)}/item-${int(rnd, 1000, 9999)}.html`, headers, remote: remote(rnd) };
}

/** @returns {import('../../build/js/core/index.js').HttpResponseFields} */
function jsonResponse(rnd, status, size) {
  const body = JSON.stringify({ ok: status < 400, id: int(rnd, 1, 1e6), data: hex(rnd, Math.max(0, size - 40)) });
  return {
    status,
    headers: [
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Content-Length', String(body.length)],
      ['Cache-Control', 'private, max-age=0'],
      ['X-Request-Id', uuid(rnd)],
    ],
    body,
  };
}

/** @returns {import('../../build/js/core/index.js').HttpResponseFields} */
function htmlResponse(rnd) {
  return {
    status: 200,
    headers: [
      ['Content-Type', 'text/html; charset=utf-8'],
      ['Content-Length', String(int(rnd, 4000, 40000))],
      ['Cache-Control', 'public, max-age=300'],
    ],
  };
}

/**
 * One exchange of the realistic mix: 45% item GETs, 20% searches, 15% HTML pages, 20% cart POSTs;
 * each with its response and envelope timings (ms).
 */
export function mixedExchange(rnd) {
  const r = rnd();
  if (r < 0.45) return { req: getRequest(rnd), resp: jsonResponse(rnd, rnd() < 0.97 ? 200 : 404, int(rnd, 100, 600)), ms: [int(rnd, 1, 80), int(rnd, 2, 120)] };
  if (r < 0.65) return { req: searchRequest(rnd), resp: jsonResponse(rnd, 200, int(rnd, 200, 2000)), ms: [int(rnd, 5, 300), int(rnd, 10, 400)] };
  if (r < 0.8) return { req: pageRequest(rnd), resp: htmlResponse(rnd), ms: [int(rnd, 1, 40), int(rnd, 50, 900)] };
  return { req: postRequest(rnd), resp: jsonResponse(rnd, rnd() < 0.95 ? 201 : 409, int(rnd, 60, 200)), ms: [int(rnd, 10, 200), int(rnd, 10, 250)] };
}

/**
 * A pile of `size` full exchanges (request, response, envelope) of the realistic mix, profiled by
 * `core` on one reused session (the caller disposes the pile).
 * @param {import('../../build/js/core/index.js').Core} core
 * @param {number} seed
 * @param {number} size
 */
export function mixedPile(core, seed, size) {
  const rnd = random(seed);
  const pile = core.newPile();
  const session = core.newSession();
  for (let i = 0; i < size; i++) {
    const x = mixedExchange(rnd);
    session.reset();
    session.profileRequest(x.req);
    session.profileResponse(x.resp);
    session.profileEnvelop(x.ms[0], x.ms[1]);
    pile.add(session);
  }
  session.dispose();
  return pile;
}
