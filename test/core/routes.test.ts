// Route-aware Guardians (docs/routes.md): path templating, the route table's bounds under
// floods of paths and names, each policy for unknown routes and names, slack, key caps, merging of
// piles, and the compatibility rules (no new field = the original's decisions and learning).
import { describe, expect, test } from 'vitest';
import { DEFAULT_LEARNING_CAPS, Section, type Guardian, type HttpRequestFields, type LearningCaps, type RoutePolicy } from '../../core/index.js';
import { core, coreError, pileWire, Rng } from './support.js';

const ALL = Section.All;

function get(path: string, query = '', headers: [string, string][] = [['Accept', '*/*']]): HttpRequestFields {
  return { method: 'GET', path, query, headers, remote: '10.0.0.5' };
}

function post(path: string, body: object, query = ''): HttpRequestFields {
  return { method: 'POST', path, query, headers: [['Content-Type', 'application/json']], body: JSON.stringify(body), remote: '10.0.0.5' };
}

/** The routes a pile holds after profiling these requests (its wire form). */
function routesOf(...reqs: HttpRequestFields[]): Record<string, { count: number; query: string[]; body: string[]; anyQuery?: boolean }> {
  return pileWire(...reqs).routes ?? {};
}

/** A Guardian learned from the requests as guard-service learns (through the wire), with caps ('original': none). */
function learned(reqs: HttpRequestFields[], caps: LearningCaps | 'original' = {}, pileSize = 1000): Guardian {
  const c = core();
  const g = c.defaultGuardian();
  const pile = c.newPile();
  const flush = () => {
    const wire = c.parsePile(pile.toWire());
    g.learn(wire, caps === 'original' ? undefined : caps);
    wire.dispose();
    pile.clear();
  };
  reqs.forEach((r, i) => {
    const s = c.newSession();
    s.profileRequest(r);
    pile.add(s);
    s.dispose();
    if ((i + 1) % pileSize === 0) flush();
  });
  if (pile.count > 0) flush();
  pile.dispose();
  return g;
}

function decision(g: Guardian, req: HttpRequestFields): string {
  const s = core().newSession();
  try {
    s.profileRequest(req);
    s.decide(g, ALL);
    return s.decisionString();
  } finally {
    s.dispose();
  }
}

function withPolicy(g: Guardian, p: Partial<RoutePolicy>): Guardian {
  g.policy = { ...g.policy, ...p };
  return g;
}

// A small service: items by id with two query names, a cart taking a JSON body, a search.
const SHOP: HttpRequestFields[] = [];
for (let i = 0; i < 40; i++) {
  SHOP.push(get(`/items/${1000 + i * 37}`, i % 2 ? 'lang=en' : 'lang=fr&format=ebook'));
  SHOP.push(post('/cart', { item: 100 + i, qty: 1 + (i % 3) }));
  SHOP.push(get('/search', `q=book${i % 5}&page=${1 + (i % 9)}`));
}

describe('path templating', () => {
  const cases: Array<[string, string]> = [
    ['/items/123', '/items/{id}'],
    ['/items/98765/reviews/', '/items/{id}/reviews/'],
    ['/u/550e8400-e29b-41d4-a716-446655440000', '/u/{uuid}'],
    ['/blob/d41d8cd98f00b204e9800998ecf8427e', '/blob/{hex}'],
    ['/blob/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/blob/{hex}'],
    ['/commit/3f2a9c1', '/commit/{hex}'],
    ['/archive/2024-01-31', '/archive/{date}'],
    ['/archive/2024-01-31T10:20:30Z', '/archive/{date}'],
    ['/archive/2024-01', '/archive/{date}'],
    ['/api/v1/items', '/api/{version}/items'],
    ['/api/v2.1/items', '/api/{version}/items'],
    ['/api/v1beta2/items', '/api/{version}/items'],
    ['/lib/1.2.3/app.js', '/lib/{version}/app.js'],
    ['/users/alice@example.com', '/users/{email}'],
    ['/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlXzEyMw', '/t/{token}'],
    ['/img/12345.jpg', '/img/{id}.jpg'],
    ['/img/9f86d081884c7d65.png', '/img/{hex}.png'],
    ['/orders/ORD-2024-000123', '/orders/{id}'],
    ['/a%2Fb/7', '/a/b/{id}'],
    ['/caf%C3%A9/12', '/café/{id}'],
    // words stay words, however alike
    ['/admin', '/admin'],
    ['/about', '/about'],
    ['/deadbeef', '/deadbeef'],
    ['/x86_64/ipv6', '/x86_64/ipv6'],
    ['/blog/hello-world', '/blog/hello-world'],
    ['//a//b/', '//a//b/'],
    ['/', '/'],
    // a literal brace cannot pass for a placeholder; over-long segments and paths are bounded
    ['/p/{id}', '/p/{text}'],
    [`/q/${'a'.repeat(70)}`, '/q/{long}'],
    [`/${'x/'.repeat(300)}`, '{long}'],
  ];
  test.each(cases)('%s → %s', (path, template) => {
    expect(Object.keys(routesOf(get(path)))).toEqual([`GET ${template}`]);
  });

  test('/admin and /about never merge, and ids of one route do', () => {
    const r = routesOf(get('/admin'), get('/about'), get('/items/1'), get('/items/2'), get('/items/300000'));
    expect(Object.keys(r).sort()).toEqual(['GET /about', 'GET /admin', 'GET /items/{id}']);
    expect(r['GET /items/{id}'].count).toBe(3);
  });

  test('the method is part of the route; a method that is not a short token is {method}', () => {
    const r = routesOf({ ...get('/a'), method: 'POST' }, get('/a'), { ...get('/a'), method: 'X'.repeat(40) });
    expect(Object.keys(r).sort()).toEqual(['GET /a', 'POST /a', '{method} /a']);
  });

  test('a new id on a learned route is never flagged', () => {
    const g = learned(SHOP);
    const rng = new Rng(7);
    // ids of the learned size (the service-wide path shape still bounds their digits)
    for (let i = 0; i < 200; i++) expect(decision(g, get(`/items/${1000 + rng.int(9000)}`, 'lang=en'))).toBe('');
    g.dispose();
  });
});

describe('route table and names', () => {
  test('learned routes carry their query and body names; value shapes stay service-wide', () => {
    const g = learned(SHOP);
    const spec = JSON.parse(g.toWire());
    expect(spec.learned.routes).toEqual({
      'GET /items/{id}': { query: ['format', 'lang'], body: [] },
      'GET /search': { query: ['page', 'q'], body: [] },
      'POST /cart': { query: [], body: ['item', 'qty'] },
    });
    expect(spec.learned.caps).toEqual(DEFAULT_LEARNING_CAPS);
    // value shapes: one service-wide query table and one body table, as the original's
    expect(Object.keys(spec.learned.req.qs.kv.vals).sort()).toEqual(['format', 'lang', 'page', 'q']);
    g.dispose();
  });

  test('guard check reasons name the route and the parameter', () => {
    const g = learned(SHOP);
    expect(decision(g, get('/items/5', 'lang=en&page=2'))).toBe('[Req:[Route GET /items/{id}:[Query parameter page is not known on this route,],],]');
    expect(decision(g, post('/cart', { item: 1, q: 'book1' }))).toContain('Route POST /cart:[Body parameter q is not known on this route,]');
    expect(decision(g, get('/admin'))).toBe('[Req:[Route GET /admin:[Route is not known,],],]');
    expect(decision(g, { ...get('/items/5'), method: 'DELETE' })).toBe('[Req:[Method:[Unexpected key DELETE in Set,],Route DELETE /items/{id}:[Route is not known,],],]');
    g.dispose();
  });

  describe('policies', () => {
    const moved = get('/items/5', 'lang=en&page=2'); // page is a name of /search, not of /items
    const added = get('/items/5', 'lang=en&debug=1'); // debug is known nowhere
    const unknownPage = get('/admin', 'q=book1'); // a path of the learned shape, on no route
    const unknownPageNewName = get('/admin', 'debug=1');

    test('alert (default): unknown routes and names on a known route alert', () => {
      const g = learned(SHOP);
      expect(g.policy).toEqual({ unknownRoute: 'alert', unknownParam: 'alert', slack: 0 });
      expect(decision(g, moved)).toContain('Query parameter page is not known on this route');
      expect(decision(g, added)).toContain('Query parameter debug is not known on this route');
      expect(decision(g, unknownPage)).toBe('[Req:[Route GET /admin:[Route is not known,],],]');
      g.dispose();
    });

    test('ignore: no route-level verdict; the service-wide rules still judge', () => {
      const g = withPolicy(learned(SHOP), { unknownRoute: 'ignore', unknownParam: 'ignore' });
      expect(decision(g, moved)).toBe('');
      // the service-wide query table does not know debug (the original's check, always on)
      expect(decision(g, added)).toBe('[Req:[QueryString:[KeyVal:[Key debug is not known,],],],]');
      expect(decision(g, unknownPage)).toBe('');
      expect(decision(g, unknownPageNewName)).toBe('[Req:[QueryString:[KeyVal:[Key debug is not known,],],],]');
      g.dispose();
    });

    test('service-wide: a name passes when some route of the service uses it at that place', () => {
      const g = withPolicy(learned(SHOP), { unknownRoute: 'service-wide', unknownParam: 'service-wide' });
      expect(decision(g, moved)).toBe('');
      expect(decision(g, added)).toContain('Route GET /items/{id}:[Query parameter debug is not known in the service,]');
      expect(decision(g, unknownPage)).toBe('');
      expect(decision(g, unknownPageNewName)).toContain('Route GET /admin:[Query parameter debug is not known in the service,]');
      // a body name in the query is not a query name of the service
      expect(decision(g, get('/search', 'q=a&item=3'))).toContain('Query parameter item is not known in the service');
      expect(decision(g, post('/cart', { item: 1, qty: 2 }))).toBe('');
      g.dispose();
    });

    test('the two policies are independent', () => {
      const g = withPolicy(learned(SHOP), { unknownRoute: 'ignore', unknownParam: 'alert' });
      expect(decision(g, unknownPage)).toBe('');
      expect(decision(g, moved)).toContain('not known on this route');
      g.dispose();
    });

    test('policies and slack are the Guardian control: written, read, kept by setting the flags', () => {
      const g = withPolicy(learned(SHOP), { unknownRoute: 'ignore', unknownParam: 'service-wide', slack: 3 });
      const spec = JSON.parse(g.toWire());
      expect(spec.control).toEqual({ alert: true, block: false, learn: true, force: true, auto: true, unknownRoute: 'ignore', unknownParam: 'service-wide', slack: 3 });
      g.control = { ...g.control, block: true };
      expect(g.policy).toEqual({ unknownRoute: 'ignore', unknownParam: 'service-wide', slack: 3 });
      const again = core().parseGuardian(g.toWire());
      expect(again.policy).toEqual(g.policy);
      expect(JSON.parse(again.toWire()).control.block).toBe(true);
      again.dispose();
      g.dispose();
    });

    test('a bad policy or slack is a load error naming the field', () => {
      const base = { configured: null, samples: 0 };
      const bad = (control: object) => coreError(() => core().parseGuardian({ ...base, control: { alert: true, ...control } })).message;
      expect(bad({ unknownRoute: 'block' })).toMatch(/control\.unknownRoute: expected alert, ignore or service-wide, got "block"/);
      expect(bad({ unknownParam: 3 })).toMatch(/control\.unknownParam: expected a string, got a number/);
      expect(bad({ slack: 17 })).toMatch(/control\.slack: expected an integer from 0 to 16/);
      expect(bad({ slack: -1 })).toMatch(/control\.slack/);
      const g = core().defaultGuardian();
      expect(() => (g.policy = { unknownRoute: 'alert', unknownParam: 'alert', slack: 99 })).toThrow(/slack is 0 to 16/);
      expect(() => (g.policy = { unknownRoute: 'block' as never, unknownParam: 'alert', slack: 0 })).toThrow(/invalid policy: unknownRoute must be one of alert, ignore, service-wide, got "block"/);
      g.dispose();
    });
  });

  test('an unknown route under a method that overflowed the route bound is judged by its catch-all', () => {
    const reqs: HttpRequestFields[] = [];
    for (let i = 0; i < 12; i++) reqs.push(get(`/page${String.fromCharCode(97 + i)}`, `ref=x${i % 3}`));
    // the most frequent routes are kept first: the cart (3 sessions) before the pages (1 each)
    for (let i = 0; i < 3; i++) reqs.push(post('/cart', { item: 1 }));
    const g = learned(reqs, { routes: 5 });
    const routes = JSON.parse(g.toWire()).learned.routes;
    expect(Object.keys(routes).sort()).toEqual(['GET /pagea', 'GET /pageb', 'GET /pagec', 'GET /paged', 'GET {*}', 'POST /cart']);
    expect(routes['GET {*}'].query).toEqual(['ref']);
    expect(decision(g, get('/pagez', 'ref=x1'))).toBe('');
    expect(decision(g, get('/pagez', 'other=1'))).toContain('Route GET /pagez:[Query parameter other is not known on this route,]');
    // POST has no catch-all: an unknown POST route still alerts
    expect(decision(g, post('/carts', { item: 1 }))).toContain('Route POST /carts:[Route is not known,]');
    g.dispose();
  });
});

describe('bounds', () => {
  const exports = () => core().wasm.exports as unknown as { memory: WebAssembly.Memory; live_handles(): number };

  function randomPath(rng: Rng): string {
    const words = ['a', 'b', 'admin', 'x', 'shop', 'zz'];
    const n = 1 + rng.int(5);
    let p = '';
    for (let i = 0; i < n; i++) p += `/${words[rng.int(words.length)]}${rng.int(1e6).toString(36)}`;
    return p;
  }

  test('a flood of random paths and names: piles, tables and memory stay bounded', () => {
    const c = core();
    const rng = new Rng(15);
    const start = exports().live_handles();
    const g = c.defaultGuardian();
    const round = () => {
      const pile = c.newPile();
      for (let i = 0; i < 5000; i++) {
        const s = c.newSession();
        const names = Array.from({ length: 1 + rng.int(6) }, () => `n${rng.int(1e6)}=1`).join('&');
        s.profileRequest({ ...get(randomPath(rng), names), method: rng.int(10) === 0 ? `M${rng.int(100)}` : 'GET' });
        s.decide(g, ALL);
        pile.add(s);
        s.dispose();
      }
      const wire = JSON.parse(pile.toWire());
      const keys = Object.keys(wire.routes);
      expect(keys.filter((k) => !k.endsWith(' {*}')).length).toBeLessThanOrEqual(1024);
      expect(keys.length).toBeLessThanOrEqual(1024 + 10);
      let names = 0;
      for (const k of keys) {
        expect(wire.routes[k].query.length).toBeLessThanOrEqual(256);
        names += wire.routes[k].query.length;
      }
      expect(names).toBeLessThanOrEqual(16384);
      const received = c.parsePile(JSON.stringify(wire));
      g.learn(received, {});
      received.dispose();
      pile.dispose();
      const routes = JSON.parse(g.toWire()).learned.routes;
      expect(Object.keys(routes).filter((k) => !k.endsWith(' {*}')).length).toBeLessThanOrEqual(DEFAULT_LEARNING_CAPS.routes);
      for (const r of Object.values<any>(routes)) expect(r.query.length).toBeLessThanOrEqual(DEFAULT_LEARNING_CAPS.params);
      // floods open the catch-alls instead of growing: a GET anywhere is now judged by GET {*}
      expect(routes['GET {*}']).toBeDefined();
      expect(routes['* {*}']).toBeDefined();
    };
    // Three rounds to reach the plateau (the heap doubles once more during the third since piles
    // carry token bands), then it must stay flat.
    round();
    round();
    round();
    const after = exports().memory.buffer.byteLength;
    round();
    round();
    round();
    expect(exports().memory.buffer.byteLength).toBe(after);
    g.dispose();
    expect(exports().live_handles()).toBe(start);
  });

  test('merged piles stay within the bounds', () => {
    const c = core();
    const rng = new Rng(16);
    const total = c.newPile();
    for (let k = 0; k < 4; k++) {
      const pile = c.newPile();
      for (let i = 0; i < 600; i++) {
        const s = c.newSession();
        s.profileRequest(get(randomPath(rng), `k${rng.int(400)}=1`));
        pile.add(s);
        s.dispose();
      }
      total.merge(pile);
      pile.dispose();
    }
    const routes = JSON.parse(total.toWire()).routes;
    const plain = Object.keys(routes).filter((k) => !k.endsWith(' {*}'));
    expect(plain).toHaveLength(1024);
    expect(routes['GET {*}'].count).toBe(2400 - 1024);
    total.dispose();
  });

  test('a route table or pile over its bounds is a load error, never folded silently', () => {
    const many = (n: number, names = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`GET /r${i}`, { query: Array.from({ length: names }, (_, k) => `q${k}`), body: [] }]));
    const spec = (routes: object) => ({ configured: null, learned: { active: true, req: {}, routes }, samples: 1, control: null });
    expect(coreError(() => core().parseGuardian(spec(many(1025)))).message).toMatch(/learned\.routes.*more than 1024 routes/);
    expect(coreError(() => core().parseGuardian(spec(many(1, 257)))).message).toMatch(/more than 256 parameter names/);
    expect(coreError(() => core().parseGuardian(spec({ '/no-method': { query: [] } }))).message).toMatch(/a route is METHOD, one space and a path template/);
    expect(coreError(() => core().parsePile(JSON.stringify({ count: 1, routes: { [`GET /${'a'.repeat(600)}`]: { count: 1 } } }))).message).toMatch(/routes\..*a route is METHOD/);
    expect(coreError(() => core().parseGuardian(spec({ 'GET /a': { query: ['q'.repeat(65)] } }))).message).toMatch(/a parameter name has at most 64 characters/);
    const g = core().parseGuardian(spec(many(1024, 3)));
    expect(Object.keys(JSON.parse(g.toWire()).learned.routes)).toHaveLength(1024);
    g.dispose();
    // catch-alls are one per method class, whatever a pile names them
    const odd = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`M${i} {*}`, { count: 1, query: [`n${i}`], body: [] }]));
    const p = core().parsePile(JSON.stringify({ count: 50, routes: { ...odd, 'GET {*}': { count: 4294967295, query: [], body: [] }, 'GET /x': { count: 4294967295 } } }));
    p.merge(core().parsePile(p.toWire()));
    const routes = JSON.parse(p.toWire()).routes;
    expect(Object.keys(routes).sort()).toEqual(['* {*}', 'GET /x', 'GET {*}']);
    expect(routes['* {*}'].query).toHaveLength(50);
    expect(routes['GET /x'].count).toBe(4294967295); // counts saturate
    p.dispose();
  });
});

describe('learning', () => {
  test('a route table starts only with the first pile learned, and only when it carries routes', () => {
    const c = core();
    // learned before route tables existed (no caps): no table; later learning does not start one
    const old = learned(SHOP, 'original');
    expect(JSON.parse(old.toWire()).learned.routes).toBeUndefined();
    const more = c.newPile();
    const s = c.newSession();
    s.profileRequest(get('/items/1', 'lang=en'));
    more.add(s);
    s.dispose();
    old.learn(more, {});
    const spec = JSON.parse(old.toWire());
    expect(spec.learned.routes).toBeUndefined();
    expect(spec.learned.caps).toEqual(DEFAULT_LEARNING_CAPS);
    expect(decision(old, get('/admin'))).toBe('');
    // routes 0 drops a table
    const g = learned(SHOP);
    g.learn(more, { routes: 0 });
    expect(JSON.parse(g.toWire()).learned.routes).toBeUndefined();
    more.dispose();
    old.dispose();
    g.dispose();
  });

  test('learning without caps uses what the Guardian records', () => {
    const c = core();
    const g = learned(SHOP, { params: 3, routes: 2 });
    const pile = c.newPile();
    const s = c.newSession();
    s.profileRequest(get('/other', 'x=1&y=2&z=3'));
    pile.add(s);
    s.dispose();
    g.learn(pile);
    const spec = JSON.parse(g.toWire());
    expect(spec.learned.caps).toEqual({ ...DEFAULT_LEARNING_CAPS, params: 3, routes: 2 });
    // at most 3 query keys by name, the rest in the catch-all; at most 2 routes + catch-alls
    expect(Object.keys(spec.learned.req.qs.kv.vals)).toHaveLength(3);
    expect(spec.learned.req.qs.kv.otherKeynames).not.toBeNull();
    expect(Object.keys(spec.learned.routes).filter((k: string) => !k.endsWith(' {*}'))).toHaveLength(2);
    pile.dispose();
    g.dispose();
  });

  test('key caps: parameters keep every name up to the cap; beyond it, the original\'s catch-all', () => {
    const query = Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, '0')}=v${i}`).join('&');
    const high = learned([get('/a', query)]);
    const original = learned([get('/a', query)], 'original');
    const h = JSON.parse(high.toWire()).learned.req.qs.kv;
    const o = JSON.parse(original.toWire()).learned.req.qs.kv;
    expect(Object.keys(h.vals)).toHaveLength(20);
    expect(h.otherKeynames).toBeNull();
    expect(Object.keys(o.vals)).toHaveLength(7);
    expect(o.otherKeynames).not.toBeNull();
    // the 7-key blind spot: a new name of the same shape passes the original's catch-all only
    expect(decision(original, get('/a', `${query}&p99=v1`))).toBe('');
    expect(decision(high, get('/a', `${query}&p99=v1`))).toContain('Key p99 is not known');
    high.dispose();
    original.dispose();
  });

  test('header cap and unknownHeaders: alert (a name not learned alerts) or shape (it passes when it fits)', () => {
    const headers: [string, string][] = Array.from({ length: 12 }, (_, i) => [`X-H${i}`, `value${i}`]);
    const reqs = [get('/a', '', headers)];
    const probe = get('/a', '', [...headers, ['X-Hq', 'value5']]); // a new name of the learned shape
    const alert = learned(reqs);
    const shape = learned(reqs, { unknownHeaders: 'shape' });
    const seven = learned(reqs, { headers: 7 });
    expect(decision(alert, probe)).toBe('[Req:[Headers:[KeyVal:[Key X-Hq is not known,],],],]');
    expect(decision(shape, probe)).toBe('');
    expect(decision(seven, probe)).toBe('');
    expect(JSON.parse(shape.toWire()).learned.caps.unknownHeaders).toBe('shape');
    for (const g of [alert, shape, seven]) g.dispose();
  });

  test('the recorded caps: defaults of the core and of the host agree; out of range is an error', () => {
    const g = core().parseGuardian({ configured: null, learned: { active: true, req: {}, caps: {} }, samples: 1, control: null });
    expect(JSON.parse(g.toWire()).learned.caps).toEqual(DEFAULT_LEARNING_CAPS);
    g.dispose();
    const bad = (caps: object) => coreError(() => core().parseGuardian({ configured: null, learned: { active: true, req: {}, caps }, samples: 1, control: null })).message;
    expect(bad({ params: 0 })).toMatch(/learned\.caps\.params: expected an integer from 1 to 256, got 0/);
    expect(bad({ routes: 5000 })).toMatch(/learned\.caps\.routes: expected an integer from 0 to 1024/);
    expect(bad({ unknownHeaders: 'ignore' })).toMatch(/learned\.caps\.unknownHeaders: expected alert or shape/);
    const pile = core().newPile();
    const d = core().defaultGuardian();
    expect(() => d.learn(pile, { params: 300 })).toThrow(/caps out of range/);
    pile.dispose();
    d.dispose();
  });
});

describe('slack', () => {
  test('N steps on every learned limit: Limit codes and Count ranges', () => {
    const g = learned([get('/a/b', 'q=abcd'), get('/a/b', 'q=abcde')]);
    const longer = get('/a/b', 'q=abcdefgh'); // letters 8 where 5 were learned: 3 codes over
    const deeper = get('/a/b/c', 'q=abcd'); // 3 segments where 2 were learned (a new route too)
    withPolicy(g, { unknownRoute: 'ignore' });
    expect(decision(g, longer)).toContain('Letters:[Limit out of Range: 8,]');
    expect(decision(g, deeper)).toContain('Segments:[Counter out of Range: 3,]');
    withPolicy(g, { slack: 2 });
    expect(decision(g, longer)).toContain('Letters:[Limit out of Range: 8,]');
    expect(decision(g, deeper)).not.toContain('Segments');
    withPolicy(g, { slack: 3 });
    expect(decision(g, longer)).toBe('');
    // slack is the Guardian's: another Guardian decides without it
    const strict = learned([get('/a/b', 'q=abcd'), get('/a/b', 'q=abcde')]);
    expect(decision(strict, longer)).toContain('Letters');
    strict.dispose();
    g.dispose();
  });
});

describe('piles from several gates', () => {
  const gateA = [get('/items/1', 'lang=en'), post('/cart', { item: 1 }), get('/search', 'q=a')];
  const gateB = [get('/items/2', 'format=ebook'), post('/cart', { qty: 2 }), get('/help')];

  function pileOf(reqs: HttpRequestFields[]) {
    const c = core();
    const p = c.newPile();
    for (const r of reqs) {
      const s = c.newSession();
      s.profileRequest(r);
      p.add(s);
      s.dispose();
    }
    return p;
  }

  test('merge is the union of routes and names, in any order, through the wire too', () => {
    const c = core();
    const ab = pileOf(gateA);
    const b = pileOf(gateB);
    ab.merge(c.parsePile(b.toWire()));
    const ba = pileOf(gateB);
    ba.merge(pileOf(gateA));
    const all = pileOf([...gateA, ...gateB]);
    const routes = JSON.parse(all.toWire()).routes;
    expect(JSON.parse(ab.toWire()).routes).toEqual(routes);
    expect(JSON.parse(ba.toWire()).routes).toEqual(routes);
    expect(routes['GET /items/{id}']).toEqual({ count: 2, query: ['format', 'lang'], body: [] });
    expect(routes['POST /cart']).toEqual({ count: 2, query: [], body: ['item', 'qty'] });
    // learning the merged pile = learning each gate's pile in turn
    const one = c.defaultGuardian();
    one.learn(all, {});
    const two = c.defaultGuardian();
    two.learn(pileOf(gateA), {});
    two.learn(pileOf(gateB), {});
    expect(JSON.parse(two.toWire()).learned.routes).toEqual(JSON.parse(one.toWire()).learned.routes);
    for (const x of [ab, b, ba, all, one, two]) x.dispose();
  });

  test("an original gate's pile (no routes) merges and learns; the pile wire stays the original's when no route was piled", () => {
    const c = core();
    const empty = c.newPile();
    expect(JSON.parse(empty.toWire()).routes).toBeUndefined();
    const mine = pileOf(gateA);
    const theirs = c.parsePile(JSON.stringify({ ...JSON.parse(pileOf(gateB).toWire()), routes: undefined }));
    mine.merge(theirs);
    expect(mine.count).toBe(6);
    expect(Object.keys(JSON.parse(mine.toWire()).routes).sort()).toEqual(['GET /items/{id}', 'GET /search', 'POST /cart']);
    for (const x of [empty, mine, theirs]) x.dispose();
  });
});

describe('compatibility', () => {
  test('a Guardian without the new fields writes none and decides as the original (no route checks)', () => {
    const g = learned(SHOP, 'original');
    const spec = JSON.parse(g.toWire());
    expect(spec.learned.caps).toBeUndefined();
    expect(spec.learned.routes).toBeUndefined();
    expect(Object.keys(spec.control)).toEqual(['alert', 'block', 'learn', 'force', 'auto']);
    expect(decision(g, get('/admin'))).toBe('');
    g.dispose();
  });

  test('what the original does not know is ignored by it: the rest of a route-aware Guardian is the original\'s form', () => {
    const g = learned(SHOP);
    const spec = JSON.parse(g.toWire());
    const { caps, routes, ...rest } = spec.learned;
    expect(caps).toBeDefined();
    expect(routes).toBeDefined();
    // without the new members it loads and decides as the original would: no route checks
    const stripped = core().parseGuardian({ ...spec, learned: rest });
    expect(decision(stripped, get('/admin'))).toBe('');
    expect(decision(g, get('/admin'))).toContain('Route is not known');
    stripped.dispose();
    g.dispose();
  });
});
