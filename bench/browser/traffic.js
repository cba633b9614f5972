// Traffic for the browser benchmark: sessions of headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core with the flags of the UI browser tests) and of a generator that walks the same flows with
// undici, each session a fresh browser profile (no cookies, empty cache). The app records what
// arrives; a session's records carry its label. Chromium sessions can also be recorded as HAR
// files, as a user would export them, to learn from with `guard learn --in x.har`.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { request } from 'undici';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Run `n` Chromium sessions against the app, labelled `${prefix}${i}`, `parallel` at a time. Each
 * context sends its label in X-Bench-Session, which the app takes out of what it records. With
 * `harDir`, each session is also recorded by playwright-core's HAR recorder (content embedded, as
 * a browser's "export HAR" has it) into `${harDir}/${prefix}${i}.har`, label header taken out.
 */
export async function chromiumSessions(app, n, prefix, { parallel = 3, harDir = undefined } = {}) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS });
  const base = `http://127.0.0.1:${app.port}`;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const har = harDir === undefined ? undefined : join(harDir, `${prefix}${i}.har`);
      const context = await browser.newContext({
        extraHTTPHeaders: { 'X-Bench-Session': `${prefix}${i}` },
        ...(har ? { recordHar: { path: har, content: 'embed' } } : {}),
      });
      const page = await context.newPage();
      await visit(page, `${base}/`);
      // An item page, its form (POST + redirect), home again and a reload: conditional requests.
      const links = await page.$$eval('a.item', (as) => as.map((a) => a.getAttribute('href')));
      await visit(page, base + links[Math.floor(Math.random() * links.length)]);
      await Promise.all([page.waitForURL(`${base}/cart`), page.click('button')]);
      await page.waitForLoadState('load');
      await visit(page, `${base}/`);
      await page.reload({ waitUntil: 'load' });
      await page.waitForSelector('body[data-ready="1"]');
      await context.close(); // writes the HAR file
      if (har) await withoutLabel(har);
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    await browser.close();
  }
}

/** Take the bench's X-Bench-Session header out of a HAR file: no real browser sends it. */
async function withoutLabel(path) {
  const har = JSON.parse(await readFile(path, 'utf8'));
  for (const entry of har.log.entries) {
    entry.request.headers = entry.request.headers.filter((h) => h.name.toLowerCase() !== 'x-bench-session');
  }
  await writeFile(path, JSON.stringify(har));
}

async function visit(page, url) {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]');
}

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const PAGE_HEADERS = [
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.9'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['User-Agent', UA],
  ['Sec-Fetch-Dest', 'document'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['Sec-Fetch-Site', 'same-origin'],
  ['Upgrade-Insecure-Requests', '1'],
];
const ASSETS = ['/static/app.css', '/static/app.js', '/static/logo.svg', '/img/banner-1.svg', '/img/banner-2.svg', '/favicon.ico'];

/** A browser-like client: cookie jar and ETag cache per session. */
class GeneratedClient {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
    this.etags = new Map();
    this.bodies = new Map();
  }

  async get(path, headers, referer) {
    return this.send('GET', path, headers, undefined, referer);
  }

  async send(method, path, headers, body, referer) {
    const h = [...headers];
    if (this.cookies.size) h.push(['Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')]);
    if (referer) h.push(['Referer', this.base + referer]);
    const tag = this.etags.get(path);
    if (tag && method === 'GET') h.push(['If-None-Match', tag]);
    const res = await request(this.base + path, { method, headers: h.flat(), body });
    const text = await res.body.text();
    const set = res.headers['set-cookie'];
    for (const line of [set ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (res.headers.etag) this.etags.set(path, res.headers.etag);
    // A 304 means the cached body: keep bodies as a browser's cache does.
    if (res.statusCode === 304) return this.bodies.get(path) ?? '';
    this.bodies.set(path, text);
    return text;
  }
}

/** Run `n` generated sessions against the app (the same flow as the browser's). */
export async function generatedSessions(app, n, prefix) {
  const base = `http://127.0.0.1:${app.port}`;
  for (let i = 0; i < n; i++) {
    app.session = `${prefix}${i}`;
    const c = new GeneratedClient(base);
    const home = async (referer) => {
      const html = await c.get('/', PAGE_HEADERS, referer);
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)[1];
      await assets(c, '/');
      const p = /data-page="(\d+)"/.exec(html)[1];
      const hex = (k) => randomBytes(k).toString('hex');
      await c.get(`/api/items?page=${p}`, [
        ['Accept', '*/*'],
        ['User-Agent', UA],
        ['X-CSRF-Token', csrf],
        ['X-Request-Id', randomUUID()],
        ['traceparent', `00-${hex(16)}-${hex(8)}-01`],
        ['Sec-Fetch-Mode', 'cors'],
      ], '/');
      return { html, csrf };
    };
    const { html } = await home();
    const links = [...html.matchAll(/href="(\/item\/\d+)"/g)].map((m) => m[1]);
    const item = links[Math.floor(Math.random() * links.length)];
    const itemHtml = await c.get(item, PAGE_HEADERS, '/');
    await assets(c, item);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(itemHtml)[1];
    const form = `_csrf=${encodeURIComponent(csrf)}&item=${item.slice(6)}&qty=${1 + Math.floor(Math.random() * 3)}`;
    await c.send('POST', '/cart', [...PAGE_HEADERS, ['Content-Type', 'application/x-www-form-urlencoded'], ['Origin', base]], form, item);
    await c.get('/cart', PAGE_HEADERS, item);
    await home('/cart');
  }
  app.session = '';
}

async function assets(c, referer) {
  for (const a of ASSETS) await c.get(a, [['Accept', '*/*'], ['User-Agent', UA], ['Sec-Fetch-Mode', 'no-cors']], referer);
}
