// The sample web app of the browser benchmark (npm run bench:browser, docs/tokens.md): pages with a
// random session cookie and a CSRF token, static assets and JSON answers with Express-style weak
// ETags (304 on If-None-Match), a form post, a beacon and the favicon every browser asks for. It
// records every exchange as a traffic record (README's format), labelled with the session the
// driver says is running.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const ITEMS = 50;
const PAGE = 10;

/** Express's weak ETag: W/"<length hex>-<base64 of the SHA-1, unpadded>". */
function etagOf(body) {
  const hash = createHash('sha1').update(body).digest('base64').slice(0, 27);
  return `W/"${Buffer.byteLength(body).toString(16)}-${hash}"`;
}

function page(title, csrf, main) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<meta name="csrf-token" content="${csrf}">
<link rel="stylesheet" href="/static/app.css"><link rel="stylesheet" href="/static/print.css" media="print">
<script src="/static/app.js" defer></script></head><body>
<header><img src="/static/logo.svg" alt="shop"><nav><a href="/">home</a> <a href="/cart">cart</a></nav></header>
<main>${main}</main><img src="/img/banner-1.svg" alt=""><img src="/img/banner-2.svg" alt="">
</body></html>`;
}

// Static assets, with a little size variety; each gets its ETag once.
const STATIC = new Map();
function addStatic(path, type, body) {
  STATIC.set(path, { type, body, etag: etagOf(body) });
}
addStatic('/static/app.css', 'text/css', `body{font:14px sans-serif}${'.c{color:#333}'.repeat(40)}`);
addStatic('/static/print.css', 'text/css', 'nav{display:none}');
addStatic('/static/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>');
for (const n of [1, 2]) addStatic(`/img/banner-${n}.svg`, 'image/svg+xml', `<svg xmlns="http://www.w3.org/2000/svg" width="${n}00" height="20"></svg>`);
addStatic('/favicon.ico', 'image/x-icon', 'ICO'.repeat(30));
addStatic(
  '/static/app.js',
  'text/javascript',
  `(() => {
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');
  const list = document.getElementById('items');
  if (list) {
    fetch('/api/items?page=' + list.dataset.page, { headers: { 'X-CSRF-Token': csrf, 'X-Request-Id': crypto.randomUUID(), traceparent: '00-' + hex(16) + '-' + hex(8) + '-01' } })
      .then((r) => r.json())
      .then((items) => { list.textContent = items.map((i) => i.name).join(', '); document.body.dataset.ready = '1'; });
  } else document.body.dataset.ready = '1';
  navigator.sendBeacon('/api/beacon', JSON.stringify({ page: location.pathname, t: Date.now() }));
})();`,
);

function parseCookies(header) {
  const out = {};
  for (const piece of (header ?? '').split(';')) {
    const eq = piece.indexOf('=');
    if (eq > 0) out[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  return out;
}

function headerPairs(raw) {
  const pairs = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}

/**
 * Start the app on port 0. `records` receives one traffic record per exchange, labelled with
 * `app.session` at the time the request arrived.
 */
export async function startApp() {
  /** @type {{ session: string, records: any[], port: number, close: () => Promise<void> }} */
  const app = { session: '', records: [], port: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handle(app, req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 2000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  app.port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  app.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve(undefined));
    });
  return app;
}

function handle(app, req, res, body) {
  const url = new URL(req.url, 'http://app');
  const cookies = parseCookies(req.headers.cookie);
  const out = [];
  let sid = cookies.sid;
  let csrf = cookies['XSRF-TOKEN'];
  if (!sid) {
    sid = randomBytes(16).toString('hex');
    out.push(['Set-Cookie', `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
  }
  if (!csrf) {
    csrf = randomBytes(24).toString('base64url');
    out.push(['Set-Cookie', `XSRF-TOKEN=${csrf}; Path=/; SameSite=Lax`]);
  }
  const send = (status, type, text, extra = []) => {
    const headers = [...out, ...extra];
    if (type) headers.push(['Content-Type', type]);
    const etag = status === 200 && text ? etagOf(text) : undefined;
    if (etag && !extra.some(([k]) => k === 'ETag')) headers.push(['ETag', etag]);
    const match = req.headers['if-none-match'];
    if (status === 200 && etag && match === etag) {
      status = 304;
      text = '';
    }
    const label = req.headers['x-bench-session'];
    app.records.push({
      label: typeof label === 'string' ? label : app.session,
      method: req.method,
      path: url.pathname,
      query: url.search.slice(1),
      headers: headerPairs(req.rawHeaders).filter(([k]) => k.toLowerCase() !== 'x-bench-session'),
      ...(body ? { body } : {}),
      remote: '10.0.0.5',
      response: { status, headers: headers.filter(([k]) => k !== 'Content-Type' || text) },
    });
    res.writeHead(status, headers.flat().length ? Object.fromEntries(groupHeaders(headers)) : {});
    res.end(text);
  };
  route(url, req, body, csrf, send);
}

function groupHeaders(headers) {
  const m = new Map();
  for (const [k, v] of headers) m.set(k, m.has(k) ? [...[m.get(k)].flat(), v] : v);
  return m;
}

function route(url, req, body, csrf, send) {
  const asset = STATIC.get(url.pathname);
  if (asset) return send(200, asset.type, asset.body, [['Cache-Control', 'no-cache']]);
  if (req.method === 'GET' && url.pathname === '/') {
    const p = 1 + Math.floor(Math.random() * (ITEMS / PAGE));
    const links = Array.from({ length: PAGE }, (_, i) => `<a class="item" href="/item/${(p - 1) * PAGE + i + 1}">item ${(p - 1) * PAGE + i + 1}</a>`).join(' ');
    return send(200, 'text/html; charset=utf-8', page('shop', csrf, `<div id="items" data-page="${p}"></div>${links}`));
  }
  const item = /^\/item\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && item) {
    const form = `<form method="post" action="/cart"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="item" value="${item[1]}"><input name="qty" value="1"><button>add</button></form>`;
    return send(200, 'text/html; charset=utf-8', page(`item ${item[1]}`, csrf, form));
  }
  if (req.method === 'GET' && url.pathname === '/api/items') {
    if (req.headers['x-csrf-token'] !== csrf) return send(403, 'text/plain', 'csrf');
    const p = Number(url.searchParams.get('page') ?? 1);
    const items = Array.from({ length: PAGE }, (_, i) => ({ id: (p - 1) * PAGE + i + 1, name: `item ${(p - 1) * PAGE + i + 1}` }));
    return send(200, 'application/json; charset=utf-8', JSON.stringify(items));
  }
  if (req.method === 'POST' && url.pathname === '/cart') {
    const form = new URLSearchParams(body);
    if (form.get('_csrf') !== csrf) return send(403, 'text/plain', 'csrf');
    return send(303, '', '', [['Location', '/cart']]);
  }
  if (req.method === 'GET' && url.pathname === '/cart') return send(200, 'text/html; charset=utf-8', page('cart', csrf, '<p>your cart</p>'));
  if (req.method === 'POST' && url.pathname === '/api/beacon') return send(204, '', '');
  return send(404, 'text/plain', 'not found');
}
