// Token kinds and per-cookie rules (docs/tokens.md): a value random by nature is learned as its
// kind and length band, so a fresh value of the kind passes where its character counts would not,
// and an injected value does not; a Cookie header is judged cookie by cookie; Guardians without
// the new fields decide as before and ours still carry everything the original reads.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Section, type Guardian, type HttpRequestFields, type HttpResponseFields } from '../../core/index.js';
import { core } from './support.js';

function req(headers: [string, string][], query = ''): HttpRequestFields {
  return { method: 'GET', path: '/page', query, headers: [['Accept', '*/*'], ...headers], remote: '10.0.0.5' };
}

/**
 * A Guardian learned from these requests (with the responses beside them, when given) through the
 * wire, as guard-service learns (default caps).
 */
function learned(reqs: HttpRequestFields[], resps: HttpResponseFields[] = []): Guardian {
  const c = core();
  const g = c.defaultGuardian();
  const pile = c.newPile();
  reqs.forEach((r, i) => {
    const s = c.newSession();
    s.profileRequest(r);
    if (resps[i]) s.profileResponse(resps[i]);
    pile.add(s);
    s.dispose();
  });
  const wire = c.parsePile(pile.toWire());
  g.learn(wire, {});
  wire.dispose();
  pile.dispose();
  return g;
}

function decision(g: Guardian, r: HttpRequestFields): string {
  const s = core().newSession();
  try {
    s.profileRequest(r);
    s.decide(g, Section.All);
    return s.decisionString();
  } finally {
    s.dispose();
  }
}

const hex = (n: number) => randomBytes(n).toString('hex');
const b64 = (n: number) => randomBytes(n).toString('base64');
const b64url = (n: number) => randomBytes(n).toString('base64url');
const jwt = () => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: hex(4), iat: Date.now() })).toString('base64url')}.${b64url(32)}`;
const etag = () => `W/"${(100 + Math.floor(Math.random() * 4000)).toString(16)}-${b64(20).replace(/=+$/, '')}"`;

/** A strong entity tag, as servers that hash the content send it (no `W/`). */
const strongEtag = () => `"${hex(20)}"`;

const INJECTIONS = ["' OR '1'='1' --", '<script>alert(1)</script>', '../../../../etc/passwd', '1; DROP TABLE users'];

/** The learned config of one header (its wire form). */
function headerRule(g: Guardian, name: string): any {
  return JSON.parse(g.toWire()).learned.req.headers.kv.vals[name];
}

const KINDS: { kind: string; header: string; make: () => string }[] = [
  { kind: 'hex', header: 'X-Request-Id', make: () => hex(16) },
  { kind: 'base64', header: 'X-Csrf-Token', make: () => b64(24) },
  { kind: 'base64url', header: 'X-Csrf-Token', make: () => b64url(24) },
  { kind: 'uuid', header: 'X-Correlation-Id', make: () => randomUUID() },
  { kind: 'jwt', header: 'Authorization', make: jwt },
  { kind: 'etag', header: 'If-None-Match', make: etag },
  { kind: 'etag', header: 'If-None-Match', make: strongEtag },
];

describe('token kinds', () => {
  for (const { kind, header, make } of KINDS) {
    test(`${kind} (${make().slice(0, 3)}…): a fresh value passes, an injected one is refused`, () => {
      const g = learned(Array.from({ length: 10 }, () => req([[header, make()]])));
      expect(headerRule(g, header).token.kinds).toContain(kind);
      for (let i = 0; i < 200; i++) expect(decision(g, req([[header, make()]]))).toBe('');
      for (const bad of INJECTIONS) expect(decision(g, req([[header, bad]]))).toContain(`KnownKey ${header}`);
      // A value far outside the learned length band is judged by its character counts again.
      expect(decision(g, req([[header, make().repeat(4)]]))).not.toBe('');
    });
  }

  test('a trace header (traceparent) is learned as base64url and its fresh ids pass', () => {
    const trace = () => `00-${hex(16)}-${hex(8)}-01`;
    const g = learned(Array.from({ length: 10 }, () => req([['Traceparent', trace()]])));
    expect(headerRule(g, 'Traceparent').token.kinds).toEqual(['base64url']);
    for (let i = 0; i < 100; i++) expect(decision(g, req([['Traceparent', trace()]]))).toBe('');
  });

  test('an entity tag with a path step in it is no token', () => {
    const g = learned(Array.from({ length: 10 }, () => req([['If-None-Match', etag()]])));
    expect(decision(g, req([['If-None-Match', 'W/"1a2-../../etc/passwd"']]))).toContain('KnownKey If-None-Match');
  });

  test('words and numbers are not tokens: their rule stays the counters alone', () => {
    const words = ['navigate', 'same-origin', 'document', 'cross-site'];
    const g = learned(words.map((w) => req([['Sec-Fetch-Mode', w]], `n=${1e8 + Math.floor(Math.random() * 1e8)}`)));
    expect(headerRule(g, 'Sec-Fetch-Mode').token).toBeUndefined();
    expect(JSON.parse(g.toWire()).learned.req.qs.kv.vals.n.token).toBeUndefined();
  });

  test('a query parameter carrying a CSRF token learns its kind too', () => {
    const g = learned(Array.from({ length: 10 }, () => req([], `csrf=${b64url(32)}`)));
    for (let i = 0; i < 50; i++) expect(decision(g, req([], `csrf=${b64url(32)}`))).toBe('');
    expect(decision(g, req([], 'csrf=%27%20OR%201%3D1--'))).toContain('QueryString');
  });

  test('a form field carrying a CSRF token learns its kind (the value, not the brackets the original prints)', () => {
    const post = (token: string): HttpRequestFields => ({
      method: 'POST',
      path: '/cart',
      headers: [['Content-Type', 'application/x-www-form-urlencoded']],
      body: `_csrf=${encodeURIComponent(token)}&qty=1`,
      remote: '10.0.0.5',
    });
    const g = learned(Array.from({ length: 10 }, () => post(b64url(24))));
    for (let i = 0; i < 100; i++) expect(decision(g, post(b64url(24)))).toBe('');
    for (const bad of INJECTIONS) expect(decision(g, post(bad))).toContain('KnownKey _csrf');
  });

  test('without the token rule (the original reading our Guardian) a fresh token is judged by counts', () => {
    const g = learned(Array.from({ length: 10 }, () => req([['X-Request-Id', hex(16)]])));
    const spec = JSON.parse(g.toWire());
    delete spec.learned.req.headers.kv.vals['X-Request-Id'].token;
    const plain = core().parseGuardian(spec);
    let refused = 0;
    for (let i = 0; i < 200; i++) if (decision(plain, req([['X-Request-Id', hex(16)]])) !== '') refused++;
    expect(refused).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) expect(decision(g, req([['X-Request-Id', hex(16)]]))).toBe('');
  });
});

describe('cookies by name', () => {
  const browser = () => `sid=${hex(16)}; csrf=${b64url(24)}; theme=dark`;
  const g = learned(Array.from({ length: 20 }, () => req([['Cookie', browser()]])));

  test('the Cookie rule holds the names learned, each with its own rule', () => {
    const rule = headerRule(g, 'Cookie');
    expect(Object.keys(rule.cookies.vals).sort()).toEqual(['csrf', 'sid', 'theme']);
    expect(rule.cookies.vals.sid.token.kinds).toContain('hex');
    expect(rule.cookies.vals.theme.token).toBeUndefined();
    // The original's counters stay in the rule: the original decides Cookie by them.
    expect(rule.letters).toBeGreaterThan(0);
  });

  test('a new session cookie passes, in any order of the cookies', () => {
    for (let i = 0; i < 300; i++) expect(decision(g, req([['Cookie', browser()]]))).toBe('');
    expect(decision(g, req([['Cookie', `theme=dark; sid=${hex(16)}`]]))).toBe('');
  });

  test('an injection in a cookie, an unknown cookie and a bare piece are caught', () => {
    for (const bad of INJECTIONS) {
      const d = decision(g, req([['Cookie', `sid=${bad}; csrf=${b64url(24)}; theme=dark`]]));
      expect(d).toContain('KnownKey Cookie:[Cookies:[');
    }
    expect(decision(g, req([['Cookie', `sid=${hex(16)}; admin=1`]]))).toContain('Key admin is not known');
    expect(decision(g, req([['Cookie', `sid=${hex(16)}; <script>`]]))).toContain('Key <script> is not known');
    expect(decision(g, req([['Cookie', `sid=${hex(16)}; theme=dark'--`]]))).toContain('KnownKey theme');
  });

  test('Set-Cookie values are profiled by cookie too', () => {
    const c = core();
    const pile = c.newPile();
    const s = c.newSession();
    s.profileRequest(req([]));
    s.profileResponse({ status: 200, headers: [['Set-Cookie', `sid=${hex(16)}; Path=/; HttpOnly`]] });
    pile.add(s);
    s.dispose();
    const wire = JSON.parse(pile.toWire());
    pile.dispose();
    const cookies = wire.resp.headers.kv['Set-Cookie'].cookies;
    expect(Object.keys(cookies)).toEqual(['sid']);
    expect(cookies.sid.token.count).toBe(1);
  });

  test('a Guardian with the per-cookie rule removed loads and decides Cookie by its counters', () => {
    const spec = JSON.parse(g.toWire());
    delete spec.learned.req.headers.kv.vals.Cookie.cookies;
    const plain = core().parseGuardian(spec);
    expect(decision(plain, req([['Cookie', `sid=x'; csrf=<b>; theme=dark`]]))).toContain('KnownKey Cookie:[');
    expect(decision(plain, req([['Cookie', `sid=x'; csrf=<b>; theme=dark`]]))).not.toContain('Cookies');
  });
});

describe('response headers: ETag and Set-Cookie', () => {
  const page = (etagValue: string, cookie: string): HttpResponseFields => ({
    status: 200,
    headers: [
      ['Content-Type', 'text/html; charset=utf-8'],
      ['ETag', etagValue],
      ['Set-Cookie', cookie],
    ],
  });
  const sessionCookie = () => `sid=${hex(16)}; Path=/; HttpOnly; SameSite=Lax`;

  /** A Guardian learned from `n` page loads, each with a fresh ETag and session cookie. */
  const learnedPages = (n: number, makeEtag: () => string): Guardian =>
    learned(
      Array.from({ length: n }, () => req([])),
      Array.from({ length: n }, () => page(makeEtag(), sessionCookie())),
    );

  function responseDecision(g: Guardian, resp: HttpResponseFields): string {
    const s = core().newSession();
    try {
      s.profileRequest(req([]));
      s.profileResponse(resp);
      s.decide(g, Section.Resp | Section.RespBody);
      return s.decisionString();
    } finally {
      s.dispose();
    }
  }

  const respRule = (g: Guardian, name: string) => JSON.parse(g.toWire()).learned.resp.headers.kv.vals[name];

  for (const [name, makeEtag] of [['weak', etag], ['strong', strongEtag]] as const) {
    test(`a fresh ${name} ETag and a fresh session cookie pass; an injected one is refused`, () => {
      const g = learnedPages(50, makeEtag);
      expect(respRule(g, 'Etag').token.kinds).toContain('etag');
      expect(respRule(g, 'Set-Cookie').cookies.vals.sid.token.kinds).toContain('hex');
      for (let i = 0; i < 200; i++) expect(responseDecision(g, page(makeEtag(), sessionCookie()))).toBe('');
      for (const bad of INJECTIONS) expect(responseDecision(g, page(`"${bad}"`, sessionCookie()))).toContain('KnownKey Etag');
      // In Set-Cookie a ";" ends the value (what follows are the server's attributes, not judged:
      // docs/tokens.md), so the injections without one.
      for (const bad of INJECTIONS.filter((x) => !x.includes(';'))) {
        expect(responseDecision(g, page(makeEtag(), `sid=${bad}; Path=/; HttpOnly; SameSite=Lax`))).toContain('KnownKey Set-Cookie:[Cookies:[KnownKey sid');
      }
    });
  }
});

describe('address lists (X-Forwarded-For)', () => {
  const int = (n: number) => Math.floor(Math.random() * n);
  const ipv4 = () => `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`;
  /** An IPv6 address in any of its text forms: full, `::`-compressed, with an IPv4 tail, either case. */
  const ipv6 = () => {
    const groups = Array.from({ length: 8 }, () => int(0x10000).toString(16));
    const form = int(4);
    let text: string;
    if (form === 0) text = groups.join(':');
    else if (form === 1) {
      const from = int(7);
      const to = from + 1 + int(7 - from);
      text = `${groups.slice(0, from).join(':')}::${groups.slice(to).join(':')}`;
    } else if (form === 2) text = `::ffff:${ipv4()}`;
    else text = `2001:db8::${groups[0]}`;
    return int(2) ? text.toUpperCase() : text;
  };
  const element = () => {
    const kind = int(5);
    if (kind === 0) return ipv6();
    if (kind === 1) return `${ipv4()}:${1 + int(65535)}`; // as some load balancers write it
    if (kind === 2) return `[${ipv6()}]${int(2) ? `:${1 + int(65535)}` : ''}`;
    return ipv4();
  };
  const chain = (n: number) => Array.from({ length: n }, element).join(int(3) ? ', ' : ',');
  const xff = (value: string) => req([['X-Forwarded-For', value]]);
  /** Learned from IPv4 clients behind one proxy: what a service sees in a quiet learning week. */
  const g = learned(Array.from({ length: 30 }, () => xff(ipv4())));
  const rule = () => headerRule(g, 'X-Forwarded-For');

  test('a chain of IPv4 addresses is learned as an address list', () => {
    expect(rule().token.kinds).toEqual(['addresses']);
  });

  test('1,000 generated chains pass: IPv6 clients, ports, brackets, chains of up to 32 hops', () => {
    for (let i = 0; i < 1000; i++) {
      const value = chain(1 + int(i < 900 ? 4 : 31));
      expect(decision(g, xff(value)), value).toBe('');
    }
  });

  test('without the rule (the original reading our Guardian) an IPv6 client exceeds the counts', () => {
    const spec = JSON.parse(g.toWire());
    delete spec.learned.req.headers.kv.vals['X-Forwarded-For'].token;
    expect(decision(core().parseGuardian(spec), xff('2001:db8::7, 203.0.113.9'))).toContain('KnownKey X-Forwarded-For');
  });

  test('anything that is not a list of addresses is judged by the counts, and the counts refuse it', () => {
    const refused = [
      ...INJECTIONS.map((bad) => `${ipv4()}${bad}`),
      ...INJECTIONS.map((bad) => `${ipv4()}, ${bad}`),
      `${ipv4()}, <script>`,
      'unknown, 10.0.0.1, evil.example.com',
      `${ipv4()}, ${ipv4()}, localhost`,
      `${ipv4()} ${ipv4()} ${ipv4()} ${ipv4()} ${ipv4()}`, // not a list: spaces without commas
      Array.from({ length: 33 }, ipv4).join(', '), // over 32 hops
    ];
    for (const value of refused) expect(decision(g, xff(value)), value).toContain('KnownKey X-Forwarded-For');
  });

  test('malformed addresses are no address list', () => {
    const learnedKinds = (value: string) => learned([xff(value)]).toWire().includes('"addresses"');
    for (const ok of ['1.2.3.4', '::1', '::', 'fe80::1', '::ffff:10.0.0.1', '[::1]:8080', '1.2.3.4:80', '1:2:3:4:5:6:7:8', '1.2.3.4,5.6.7.8', ' 1.2.3.4 , ::1 ']) {
      expect(learnedKinds(ok), ok).toBe(true);
    }
    for (const bad of ['1.2.3', '256.1.1.1', '01.2.3.4', '1.2.3.4.5', '1.2.3.4,', ',1.2.3.4', '1..2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '1.2.3.4:70000', '[::1', 'g::1', '12345::1', '1:2:3:4::5:6:7:8', '1.2.3.4:']) {
      expect(learnedKinds(bad), bad).toBe(false);
    }
  });
});
