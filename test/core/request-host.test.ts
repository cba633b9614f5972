// The request's Host decided as a Guardian criterion (docs/compatibility.md "Host"): the token each
// value is profiled as, the values refused as malformed (CoreError field 'host', docs/abi.md), how
// it is learned and decided, and that Guardians and piles without it keep working as before.
import { describe, expect, test } from 'vitest';
import { Section, type Guardian, type HeaderLine, type HttpRequestFields } from '../../core/index.js';
import { core, expectCode, learnedGuardian, pileWire, Rng, suiteSeed, withSeed } from './support.js';

function req(headers: HeaderLine[], extra: Partial<HttpRequestFields> = {}): HttpRequestFields {
  return { method: 'GET', path: '/', headers, ...extra };
}

function hostLines(host: string | undefined): HeaderLine[] {
  return host === undefined ? [] : [['Host', host]];
}

/** The host Set of the pile of one request with this Host value (undefined: no Host line). */
function hostToken(host: string | undefined): string[] {
  return pileWire(req(hostLines(host))).req.host.set;
}

/** The wire pile of one request from a public client with this Host value. */
function pileFor(host: string | undefined): any {
  return pileWire(req(hostLines(host), { remote: '8.8.4.4' }));
}

function learnedFrom(hosts: Array<string | undefined>): Guardian {
  return learnedGuardian(hosts.map((host) => req(hostLines(host), { remote: '8.8.4.4' })));
}

function decision(g: Guardian, headers: HeaderLine[]): string {
  const s = core().newSession();
  try {
    s.profileRequest(req(headers, { remote: '8.8.4.4' }));
    s.decide(g, Section.Req);
    return s.decisionString();
  } finally {
    s.dispose();
  }
}

describe('the Host token', () => {
  test('a name lower-cased, its port kept; IP addresses as ipv4 / ipv6; none without a line', () => {
    const cases: Array<[string | undefined, string]> = [
      ['shop.example.com', 'shop.example.com'],
      ['Shop.EXAMPLE.com', 'shop.example.com'],
      ['shop.example.com:8080', 'shop.example.com:8080'],
      ['shop.example.com.', 'shop.example.com.'],
      ['localhost', 'localhost'],
      ['my-svc.my-ns.svc.cluster.local:80', 'my-svc.my-ns.svc.cluster.local:80'],
      ['10.1.2.3', 'ipv4'],
      ['10.1.2.3:8080', 'ipv4:8080'],
      ['203.0.113.7:443', 'ipv4:443'],
      ['[::1]', 'ipv6'],
      ['[FE80::1]:8443', 'ipv6:8443'],
      ['[2001:db8::a:b]:80', 'ipv6:80'],
      ['[::ffff:1.2.3.4]', 'ipv6'],
      ['[v1.Fe:x]', '[v1.fe:x]'], // RFC 3986 IPvFuture: a name like any other
      // not an IPv4address (leading zero, three parts): a name, so a token of its own
      ['01.2.3.4', '01.2.3.4'],
      ['127.1', '127.1'],
      ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
      ['a%2Eb', 'a%2eb'],
      ["sub_delims!$&'()*+,;=", "sub_delims!$&'()*+,;="],
      ['host:', 'host:'], // an empty port (RFC 3986 port = *DIGIT)
      ['[::1]:', 'ipv6:'],
      ['', ''], // an empty Host (RFC 9110 §7.2: a target without authority)
      ['x'.repeat(255) + ':65535', 'x'.repeat(255) + ':65535'],
      [undefined, 'none'],
    ];
    for (const [host, token] of cases) expect(hostToken(host), JSON.stringify(host)).toEqual([token]);
  });

  test('the Host line in any case of its name; the value trimmed of spaces and tabs', () => {
    for (const name of ['Host', 'host', 'HOST', 'hOsT']) expect(pileWire(req([[name, 'A.example']])).req.host.set).toEqual(['a.example']);
    expect(pileWire(req([['Host', ' \tA.example\t ']])).req.host.set).toEqual(['a.example']);
  });

  test('a malformed Host or more than one Host line is refused: GUARD_INVALID_REQUEST, field host', () => {
    const malformed = [
      'a b', 'a\tb', 'user@host', 'host/path', 'host?q', 'host#f', 'a"b', 'a<b', 'a\\b', 'a^b', 'a`b', 'a{b}', 'a|b',
      'ex%zz.com', 'ex%4', 'é.example', 'host:80:81', 'host:8o', 'host:123456', 'host:65536', ':99999',
      '[::1', '::1', '[::1]x', '[::1]:8o', '[1.2.3.4]', '[fe80::1%25eth0]', '[v1]', '[v.x]', '[vz.x]', '[::1]]',
      'x'.repeat(256), 'x'.repeat(300) + ':80', '\u0000', 'a\u007fb',
    ];
    for (const host of malformed) {
      const e = expectCode(() => core().newSession().profileRequest(req([['Host', host]])), 'GUARD_INVALID_REQUEST');
      expect(e.field, JSON.stringify(host)).toBe('host');
      expect(e.message).toContain('is not a valid host[:port]');
    }
    for (const lines of [
      [['Host', 'a.example'], ['Host', 'a.example']],
      [['Host', 'a.example'], ['host', 'b.example']],
      [['HOST', 'a'], ['Accept', '*/*'], ['Host', '']],
    ] as HeaderLine[][]) {
      const e = expectCode(() => core().newSession().profileRequest(req(lines)), 'GUARD_INVALID_REQUEST');
      expect(e.field).toBe('host');
      expect(e.message).toBe('the request has more than one Host header line');
    }
    // another malformed request names no field
    const other = expectCode(() => core().newSession().profileRequest(req([['Host', 'a']], { path: '/%zz' })), 'GUARD_INVALID_REQUEST');
    expect(other.field).toBeUndefined();
  });

  test('a session that refused a Host profiles the next request normally', () => {
    const s = core().newSession();
    expectCode(() => s.profileRequest(req([['Host', 'bad host']])), 'GUARD_INVALID_REQUEST');
    s.profileRequest(req([['Host', 'Good.example']]));
    const p = core().newPile();
    p.add(s);
    expect(JSON.parse(p.toWire()).req.host.set).toEqual(['good.example']);
    p.dispose();
    s.dispose();
  });

  test('remembered by its bytes: many hosts in turn keep their own tokens', () => {
    withSeed(suiteSeed(0x4057), 'host cache', (rng: Rng) => {
      // More distinct values than the cache has slots, revisited in random order: a slot must
      // never answer for another value (same length and hash bucket included).
      const hosts = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `10.0.${i % 256}.${(i * 7) % 256}:${8000 + i}` : `h${i}.Example.${i % 7}`));
      const expected = (h: string) => (h.startsWith('10.') ? `ipv4:${h.split(':')[1]}` : h.toLowerCase());
      for (let round = 0; round < 2000; round++) {
        const h = rng.pick(hosts);
        expect(hostToken(h)).toEqual([expected(h)]);
      }
    });
  });
});

describe('the Host criterion', () => {
  test('learned like method and protocol, decided as child Host of Req', () => {
    const g = learnedFrom(['shop.example.com', 'SHOP.example.com', 'shop.example.com:8080']);
    const learned = JSON.parse(g.toWire()).learned.req;
    expect(learned.host).toEqual({ set: ['shop.example.com', 'shop.example.com:8080'] });
    expect(decision(g, [['Host', 'Shop.Example.Com']])).toBe('');
    expect(decision(g, [['Host', 'shop.example.com:8080']])).toBe('');
    expect(decision(g, [['Host', 'evil.example']])).toBe('[Req:[Host:[Unexpected key evil.example in Set,],],]');
    expect(decision(g, [['Host', 'shop.example.com:9090']])).toBe('[Req:[Host:[Unexpected key shop.example.com:9090 in Set,],],]');
    expect(decision(g, [])).toBe('[Req:[Host:[Unexpected key none in Set,],],]');
    expect(decision(g, [['Host', '10.0.0.1']])).toBe('[Req:[Host:[Unexpected key ipv4 in Set,],],]');
    g.dispose();
  });

  test('pod addresses: a Guardian learned from one pod IP accepts any other on the same port', () => {
    const g = learnedFrom(['10.244.1.17:8080', '[fd00::17]:8080', undefined]);
    expect(decision(g, [['Host', '10.244.3.99:8080']])).toBe('');
    expect(decision(g, [['Host', '[fd00::99]:8080']])).toBe('');
    expect(decision(g, [])).toBe('');
    expect(decision(g, [['Host', '10.244.3.99:9090']])).toContain('Unexpected key ipv4:9090 in Set');
    g.dispose();
  });

  test('written only when it holds something; survives the wire both ways', () => {
    const g = learnedFrom(['a.example']);
    const again = core().parseGuardian(g.toWire());
    expect(JSON.parse(again.toWire()).learned.req.host).toEqual({ set: ['a.example'] });
    expect(decision(again, [['Host', 'a.example']])).toBe('');
    expect(decision(again, [['Host', 'b.example']])).toBe('[Req:[Host:[Unexpected key b.example in Set,],],]');
    again.dispose();
    g.dispose();
    // a pile of Guard's gate carries it; the pile round-trips
    const pile = pileFor('a.example');
    expect(pile.req.host).toEqual({ set: ['a.example'] });
    const p = core().parsePile(JSON.stringify(pile));
    expect(JSON.parse(p.toWire()).req.host).toEqual({ set: ['a.example'] });
    p.dispose();
  });

  test('not enforced by a Guardian without it (the original\'s, or learned before), nor by an empty set', () => {
    const base = learnedFrom(['a.example']);
    const spec = JSON.parse(base.toWire());
    base.dispose();
    const variants: Array<[string, (r: any) => void]> = [
      ['no host field', (r) => delete r.host],
      ['host null', (r) => (r.host = null)],
      ['host set null', (r) => (r.host = { set: null })],
      ['host set empty', (r) => (r.host = { set: [] })],
    ];
    for (const [what, edit] of variants) {
      const s = JSON.parse(JSON.stringify(spec));
      edit(s.learned.req);
      const g = core().parseGuardian(JSON.stringify(s));
      for (const host of ['anything.example', '10.0.0.1:1', undefined]) {
        expect(decision(g, host === undefined ? [] : [['Host', host]]), `${what}, Host ${host}`).toBe('');
      }
      // and it is written as absent
      expect(JSON.parse(g.toWire()).learned.req, what).not.toHaveProperty('host');
      g.dispose();
    }
  });

  test('a pile without host entries (the original gate\'s) learns no set that would refuse every Host', () => {
    const pile = pileFor('a.example');
    delete pile.req.host;
    const p = core().parsePile(JSON.stringify(pile));
    const g = core().defaultGuardian();
    g.learn(p);
    g.learn(p);
    p.dispose();
    expect(JSON.parse(g.toWire()).learned.req).not.toHaveProperty('host');
    expect(decision(g, [['Host', 'whatever.example']])).toBe('');
    // a later pile that has hosts starts enforcing them
    const withHost = core().parsePile(JSON.stringify(pileFor('a.example')));
    g.learn(withHost);
    withHost.dispose();
    expect(decision(g, [['Host', 'a.example']])).toBe('');
    expect(decision(g, [['Host', 'whatever.example']])).toContain('Unexpected key whatever.example in Set');
    g.dispose();
  });

  test('configured by hand: the operator lists the hosts a service answers', () => {
    const g = core().parseGuardian(
      JSON.stringify({ configured: { active: true, req: { host: { set: ['api.example', 'ipv4:8080'] } } }, control: { alert: true, auto: false } }),
    );
    // (the rest of this hand-written config refuses nearly everything: look at Host alone)
    expect(decision(g, [['Host', 'API.example']])).not.toContain('Host:');
    expect(decision(g, [['Host', '10.1.1.1:8080']])).not.toContain('Host:');
    expect(decision(g, [['Host', 'api.example.evil']])).toContain('Host:[Unexpected key api.example.evil in Set,]');
    g.dispose();
  });
});
