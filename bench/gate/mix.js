// The request mix of the gate benchmark: item GETs with a query and a JSON cart POST, the same
// headers as a browser-ish client. One list serves the load generator, the learning and the checks.
const AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const BASE_HEADERS = { accept: 'application/json', 'user-agent': AGENT, 'accept-language': 'en-US,en;q=0.8' };

/** The i-th request of the mix: three item GETs for every JSON POST. */
export function mixRequest(i) {
  if (i % 4 === 3) {
    const body = JSON.stringify({ item: 100 + (i % 50), qty: 1 + (i % 3) });
    return { method: 'POST', path: '/shop/cart', headers: { ...BASE_HEADERS, 'content-type': 'application/json' }, body };
  }
  return { method: 'GET', path: `/shop/items/${100 + (i % 50)}?lang=${i % 2 ? 'en' : 'de'}`, headers: { ...BASE_HEADERS } };
}

/** The fixed cycle autocannon replays on every connection (16 requests, 4 of them POSTs). */
export const MIX_CYCLE = Array.from({ length: 16 }, (_, i) => mixRequest(i * 7));

/** Requests the Guardian must refuse once it blocks. */
export const ATTACKS = [
  { what: 'SQL injection in the query', method: 'GET', path: "/shop/items/101?lang=en'%20OR%20'1'='1", headers: { ...BASE_HEADERS } },
  { what: 'script in a JSON body', method: 'POST', path: '/shop/cart', headers: { ...BASE_HEADERS, 'content-type': 'application/json' }, body: '{"item":"<script>alert(1)</script>","qty":1}' },
];
