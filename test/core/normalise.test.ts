// The gate's normalisation of a request (what the original's gate saw), seen through sessions:
// profile a request, add it to a pile and read the pile's wire JSON.
import { describe, expect, test } from 'vitest';
import { Section, type HeaderLine, type HttpRequestFields } from '../../core/index.js';
import { core, expectCode, pileWire, svPile } from './support.js';

function req(overrides: Partial<HttpRequestFields> = {}): HttpRequestFields {
  return { method: 'GET', path: '/', headers: [], ...overrides };
}

/** The request section of the pile of one request. */
function reqPile(overrides: Partial<HttpRequestFields> = {}): any {
  return pileWire(req(overrides)).req;
}

function headerKeys(headers: HeaderLine[], extra: Partial<HttpRequestFields> = {}): string[] {
  return Object.keys(reqPile({ headers, ...extra }).headers.kv ?? {});
}

function headerValue(headers: HeaderLine[], name: string, extra: Partial<HttpRequestFields> = {}): any {
  return reqPile({ headers, ...extra }).headers.kv?.[name];
}

function bodyPile(contentType: string | undefined, body: string | Uint8Array | undefined, extra: Partial<HttpRequestFields> = {}): any {
  const headers: HeaderLine[] = contentType === undefined ? [] : [['Content-Type', contentType]];
  return pileWire(req({ method: 'POST', path: '/submit', headers, body, ...extra })).reqbody;
}

const EMPTY_FAULTS = { set: null };

describe('header names', () => {
  test('canonicalised the way Go does', () => {
    expect(headerKeys([['content-type', 'text/plain']])).toContain('Content-Type');
    expect(headerKeys([['x-custom_header', '1']])).toContain('X-Custom_header');
    expect(headerKeys([['ACCEPT-LANGUAGE', 'en']])).toContain('Accept-Language');
    expect(headerKeys([['x-b3-traceid', '1']])).toContain('X-B3-Traceid');
    // a name with a non-token byte stays as it is
    expect(headerKeys([['bad key', 'v']])).toContain('bad key');
  });

  test('lines of the same header in different cases are one header', () => {
    const keys = headerKeys([
      ['accept', 'a'],
      ['ACCEPT', 'b'],
    ]);
    expect(keys.filter((k) => k.toLowerCase() === 'accept')).toEqual(['Accept']);
    expect(headerValue([['accept', 'a'], ['ACCEPT', 'b']], 'Accept')).toEqual(svPile('a b'));
  });

  test('Host is not a header key, in any case (it is decided as the request\'s host: request-host.test.ts)', () => {
    for (const name of ['Host', 'host', 'HOST']) {
      const keys = headerKeys([
        [name, 'example.com'],
        ['Accept', '*/*'],
      ]);
      expect(keys.map((k) => k.toLowerCase())).not.toContain('host');
      expect(keys).toContain('Accept');
    }
  });
});

/**
 * A raw request record (docs/abi.md, version 2) of GET / with `lines` written as given: each line
 * a name tag (its byte length, or a well-known reference) and a value length (`announced`, else
 * the value's), then the bytes of every name and value after the table. `count` may lie.
 */
function rawRequestRecord(count: number, lines: Array<{ tag: number; name?: string; value: string; announced?: number }>): number[] {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
  const bytes = (t: string) => {
    for (const c of Buffer.from(t)) parts.push(c);
  };
  u32(2);
  for (const t of ['GET', 'HTTP/1.1', '/', '', '']) {
    u32(Buffer.byteLength(t));
    bytes(t);
  }
  u32(count);
  for (const l of lines) {
    u32(l.tag);
    u32(l.announced ?? Buffer.byteLength(l.value));
  }
  for (const l of lines) bytes((l.name ?? '') + l.value);
  return parts;
}

/** Run a raw request record through a new session: its return code and the core's message. */
function ingestRaw(parts: number[]): { rc: number; message: string } {
  const s = core().newSession();
  const at = core().wasm.inputBuffer(parts.length);
  new Uint8Array(core().wasm.exports.memory.buffer).set(parts, at);
  const rc = core().wasm.exports.session_request(s.id, parts.length);
  const message = core().wasm.readOutputString();
  s.dispose();
  return { rc, message };
}

describe('well-known header names sent by index', () => {
  test('the core lists them canonical, and the host sends them by index: the same profile as their bytes', () => {
    core().wasm.exports.header_names!();
    const names = core().wasm.readOutputString().split('\n');
    expect(names.length).toBeGreaterThan(40);
    expect(names).toContain('User-Agent');
    expect(names).toContain('X-Forwarded-For');
    expect(names).toContain('Dnt'); // Go's canonical form, not "DNT"
    // The same request with names the host knows by index (canonical and lower-case), and with
    // spellings it does not (upper-case: sent as bytes): one profile.
    const lines: HeaderLine[] = [
      ['User-Agent', 'agent/1'],
      ['Accept', 'text/html'],
      ['X-Forwarded-For', '198.51.100.7'],
      ['Connection', 'keep-alive, x-drop'],
      ['X-Drop', 'gone'],
      ['Cookie', 'a=1'],
    ];
    const canonical = reqPile({ headers: lines, remote: '203.0.113.9' });
    const lower = reqPile({ headers: lines.map(([k, v]) => [k.toLowerCase(), v] as HeaderLine), remote: '203.0.113.9' });
    const upper = reqPile({ headers: lines.map(([k, v]) => [k.toUpperCase(), v] as HeaderLine), remote: '203.0.113.9' });
    expect(lower).toEqual(canonical);
    expect(upper).toEqual(canonical);
    expect(Object.keys(canonical.headers.kv).sort()).toEqual(['Accept', 'Cookie', 'User-Agent', 'X-Forwarded-For']);
  });

  test('non-ASCII names and values keep their UTF-8 lengths', () => {
    const lines: HeaderLine[] = [
      ['X-Note', 'grüße, 東京 😀'],
      ['Accept', 'text/html'],
      ['X-Ünïcode', 'v'],
    ];
    const pile = reqPile({ headers: lines });
    expect(pile.headers.kv['X-Note']).toEqual(reqPile({ headers: [['X-Note', 'grüße, 東京 😀']] }).headers.kv['X-Note']);
    expect(Object.keys(pile.headers.kv).sort()).toEqual(Object.keys(reqPile({ headers: [...lines].reverse() }).headers.kv).sort());
  });

  test('a truncated header table is refused, not read past the record', () => {
    // three lines announced, one table entry present, its value longer than the record
    const { rc, message } = ingestRaw(rawRequestRecord(3, [{ tag: 6, name: '', value: 'Accept', announced: 1000 }]));
    expect(rc).toBeLessThan(0);
    expect(message).toContain('truncated');
  });

  test('a reference past the list is refused as a malformed request', () => {
    core().wasm.exports.header_names!();
    const count = core().wasm.readOutputString().split('\n').length;
    const { rc, message } = ingestRaw(rawRequestRecord(1, [{ tag: (0x80000000 | count) >>> 0, value: 'value' }]));
    expect(rc).toBeLessThan(0);
    expect(message).toContain('is not a well-known name');
  });
});

describe('hop-by-hop headers', () => {
  test('the fixed list is removed', () => {
    const hop: HeaderLine[] = [
      ['Connection', 'keep-alive'],
      ['Keep-Alive', 'timeout=5'],
      ['Proxy-Connection', 'keep-alive'],
      ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
      ['Proxy-Authenticate', 'Basic'],
      ['Te', 'gzip'],
      ['Trailer', 'X-Checksum'],
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'h2c'],
      ['Accept', '*/*'],
    ];
    expect(headerKeys(hop).sort()).toEqual(['Accept', 'User-Agent']);
    // lower-case spellings are canonicalised first, then removed
    expect(headerKeys(hop.map(([n, v]) => [n.toLowerCase(), v] as HeaderLine)).sort()).toEqual(['Accept', 'User-Agent']);
  });

  test('headers named in Connection are removed', () => {
    const keys = headerKeys([
      ['Connection', 'x-a, X-B'],
      ['Connection', ' x-c '],
      ['X-A', '1'],
      ['X-B', '2'],
      ['X-C', '3'],
      ['X-D', '4'],
    ]);
    expect(keys).not.toContain('X-A');
    expect(keys).not.toContain('X-B');
    expect(keys).not.toContain('X-C');
    expect(keys).not.toContain('Connection');
    expect(keys).toContain('X-D');
  });

  test('Te: trailers is kept (as "trailers"), any other Te removed', () => {
    expect(headerKeys([['Te', 'trailers']])).toContain('Te');
    expect(headerValue([['Te', 'trailers']], 'Te')).toEqual(svPile('trailers'));
    expect(headerValue([['te', 'gzip, trailers']], 'Te')).toEqual(svPile('trailers'));
    expect(headerKeys([['Te', 'gzip']])).not.toContain('Te');
    expect(headerKeys([['Te', 'deflate;q=0.5']])).not.toContain('Te');
  });

  test('a protocol upgrade keeps Connection: Upgrade and Upgrade', () => {
    const up: HeaderLine[] = [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
    ];
    expect(headerValue(up, 'Connection')).toEqual(svPile('Upgrade'));
    expect(headerValue(up, 'Upgrade')).toEqual(svPile('websocket'));
    // an Upgrade header without Connection: upgrade is an ordinary hop-by-hop header
    expect(headerKeys([['Upgrade', 'websocket']])).not.toContain('Upgrade');
  });
});

describe('User-Agent', () => {
  test('inserted with an empty value when absent', () => {
    const ua = headerValue([], 'User-Agent');
    expect(ua).toEqual(svPile(''));
    expect(reqPile().headers.kv).toHaveProperty('User-Agent');
  });

  test('kept as sent when present', () => {
    expect(headerValue([['user-agent', 'curl/8.5.0']], 'User-Agent')).toEqual(svPile('curl/8.5.0'));
  });

  test('an empty User-Agent sent by the client stays empty (not duplicated)', () => {
    expect(headerValue([['User-Agent', '']], 'User-Agent')).toEqual(svPile(''));
  });
});

describe('X-Forwarded-For', () => {
  test('just the remote when the client sent none', () => {
    expect(headerValue([], 'X-Forwarded-For', { remote: '9.9.9.9' })).toEqual(svPile('9.9.9.9'));
    const r = reqPile({ remote: '9.9.9.9' });
    expect(r.cip).toEqual({ List: ['9.9.9.9'] });
    expect(r.hopip).toEqual({ List: ['9.9.9.9'] });
  });

  test('client values joined by ", " plus ", <remote>"', () => {
    const lines: HeaderLine[] = [
      ['X-Forwarded-For', '1.1.1.1'],
      ['x-forwarded-for', '2.2.2.2, 3.3.3.3'],
    ];
    expect(headerValue(lines, 'X-Forwarded-For', { remote: '9.9.9.9' })).toEqual(svPile('1.1.1.1, 2.2.2.2, 3.3.3.3, 9.9.9.9'));
    // one single value: the list does not parse as one IP, so no hop IP
    expect(reqPile({ headers: lines, remote: '9.9.9.9' }).hopip).toEqual({ List: null });
  });

  test('the remote is an IPv6 address', () => {
    expect(headerValue([['X-Forwarded-For', '1.1.1.1']], 'X-Forwarded-For', { remote: '2001:db8::1' })).toEqual(
      svPile('1.1.1.1, 2001:db8::1'),
    );
    expect(reqPile({ remote: '2001:4860::8888' }).cip).toEqual({ List: ['2001:4860::8888'] });
  });

  test('a private remote is the hop but filtered from the hop IP set', () => {
    expect(headerValue([], 'X-Forwarded-For', { remote: '10.0.0.1' })).toEqual(svPile('10.0.0.1'));
    expect(reqPile({ remote: '10.0.0.1' }).hopip).toEqual({ List: null });
  });
});

describe('header values', () => {
  test('repeated lines are joined with one space', () => {
    expect(
      headerValue(
        [
          ['Cookie', 'a=1; b=2'],
          ['Cookie', 'c=3'],
        ],
        'Cookie',
      ),
    ).toEqual({ ...svPile('a=1; b=2 c=3'), cookies: { a: svPile('1'), b: svPile('2'), c: svPile('3') } });
    expect(
      headerValue(
        [
          ['X-Many', 'a'],
          ['X-Other', 'z'],
          ['x-many', 'b'],
          ['X-MANY', 'c'],
        ],
        'X-Many',
      ),
    ).toEqual(svPile('a b c'));
  });

  test('surrounding spaces and tabs are trimmed', () => {
    expect(headerValue([['Accept', ' \t text/html \t']], 'Accept')).toEqual(svPile('text/html'));
  });
});

describe('path', () => {
  test('percent-decoded: %2F becomes a segment separator', () => {
    const encoded = reqPile({ path: '/p/a%2Fb/c' }).url;
    const plain = reqPile({ path: '/p/a/b/c' }).url;
    expect(encoded.segments).toBe('BA=='); // 4 segments
    expect(encoded).toEqual(plain);
  });

  test('an escaped letter decodes to the letter', () => {
    expect(reqPile({ path: '/%61%62c' }).url).toEqual(reqPile({ path: '/abc' }).url);
  });

  test('%FF decodes to invalid UTF-8, profiled as U+FFFD, not an error', () => {
    const url = reqPile({ path: '/%FF' }).url;
    expect(url.val.Unicodes).toBe('AQ==');
  });

  test('an invalid escape is rejected with GUARD_INVALID_REQUEST', () => {
    for (const path of ['/a%zz', '/a%', '/a%2', '/%g0/x', '/ok/%%']) {
      const s = core().newSession();
      const e = expectCode(() => s.profileRequest(req({ path })), 'GUARD_INVALID_REQUEST');
      expect(e.message).toMatch(/percent/);
      s.dispose();
    }
  });

  test('a rejected request leaves the session usable', () => {
    const s = core().newSession();
    expectCode(() => s.profileRequest(req({ path: '/a%zz' })), 'GUARD_INVALID_REQUEST');
    s.profileRequest(req({ path: '/a/b' }));
    const p = core().newPile();
    p.add(s);
    expect(JSON.parse(p.toWire()).req.url.segments).toBe('Ag==');
    p.dispose();
    s.dispose();
  });

  test('a request without a method is rejected', () => {
    const s = core().newSession();
    expectCode(() => s.profileRequest(req({ method: '' })), 'GUARD_INVALID_REQUEST');
    s.dispose();
  });
});

describe('query (Go url.ParseQuery)', () => {
  const qs = (query: string) => reqPile({ query }).qs.kv;

  test('a piece with ";" is dropped: a=1;b=2 gives no keys', () => {
    expect(qs('a=1;b=2')).toEqual({});
  });

  test('repeated keys joined with a space; a key without "=" has an empty value', () => {
    const kv = qs('a=1&a=2&b');
    expect(Object.keys(kv).sort()).toEqual(['a', 'b']);
    expect(kv.a).toEqual(svPile('1 2'));
    expect(kv.b).toEqual(svPile(''));
  });

  test('escapes and "+" decode in query mode', () => {
    const kv = qs('x=%41%42&y=a+b');
    expect(kv.x).toEqual(svPile('AB'));
    expect(kv.y).toEqual(svPile('a b'));
  });

  test('an empty key and an empty value', () => {
    const kv = qs('=v&k=');
    expect(Object.keys(kv).sort()).toEqual(['', 'k']);
    expect(kv['']).toEqual(svPile('v'));
    expect(kv.k).toEqual(svPile(''));
  });

  test('a piece with an invalid escape is dropped, the rest kept', () => {
    expect(Object.keys(qs('bad=%zz&ok=1'))).toEqual(['ok']);
    expect(Object.keys(qs('a[]=1&a[]=2'))).toEqual(['a[]']);
  });

  test('no query gives an empty map', () => {
    expect(qs('')).toEqual({});
    expect(reqPile().qs).toEqual({ kv: {} });
  });
});

describe('bodies', () => {
  test('JSON object: structured kind object with its keys', () => {
    const b = bodyPile('application/json', '{"a":1,"b":"x"}');
    expect(b.faults).toEqual(EMPTY_FAULTS);
    expect(b.unstructured).toBeNull();
    expect(b.structured.kind).toBe('object');
    expect(Object.keys(b.structured.kv).sort()).toEqual(['a', 'b']);
    expect(b.structured.kv.a).toEqual(svPile('1'));
    expect(b.structured.kv.b).toEqual(svPile('x'));
  });

  test('JSON with parameters in the media type and as bytes', () => {
    const b = bodyPile('Application/JSON; charset=utf-8', new TextEncoder().encode('{"k":true}'));
    expect(b.structured.kind).toBe('object');
    expect(b.structured.kv.k).toEqual(svPile('true'));
  });

  test('JSON top-level array and scalars (compatibility difference 3)', () => {
    expect(bodyPile('application/json', '[1,"a",null]').structured.kind).toBe('array');
    expect(bodyPile('application/json', '"text"').structured.kind).toBe('string');
    expect(bodyPile('application/json', '12').structured.kind).toBe('number');
    expect(bodyPile('application/json', 'false').structured.kind).toBe('boolean');
  });

  test('JSON: the first value is profiled; data after it is the fault JsonTrailingData', () => {
    const b = bodyPile('application/json', '{"a":1} trailing garbage');
    expect(b.faults).toEqual({ set: ['JsonTrailingData'] });
    expect(b.structured.kind).toBe('object');
    expect(Object.keys(b.structured.kv)).toEqual(['a']);
    expect(bodyPile('application/json', '{"a":1}\r\n').faults).toEqual(EMPTY_FAULTS);
  });

  test('bad JSON → fault FailedJsonDecode', () => {
    for (const body of ['{bad', '{"a":', '}', 'nul', '{"a":1,}']) {
      const b = bodyPile('application/json', body);
      expect(b.faults).toEqual({ set: ['FailedJsonDecode'] });
      expect(b.structured).toBeNull();
      expect(b.unstructured).toBeNull();
    }
  });

  test('urlencoded form: structured object, each field the %v of its value list', () => {
    const b = bodyPile('application/x-www-form-urlencoded', 'a=1&b=x+y&a=2');
    expect(b.faults).toEqual(EMPTY_FAULTS);
    expect(b.structured.kind).toBe('object');
    expect(Object.keys(b.structured.kv).sort()).toEqual(['a', 'b']);
    expect(b.structured.kv.a).toEqual(svPile('[1 2]'));
    expect(b.structured.kv.b).toEqual(svPile('[x y]'));
  });

  test('urlencoded form with ";" → fault FailedUrlencoded; with a bad escape too', () => {
    expect(bodyPile('application/x-www-form-urlencoded', 'a=1;b=2').faults).toEqual({ set: ['FailedUrlencoded'] });
    expect(bodyPile('application/x-www-form-urlencoded', 'a=%zz').faults).toEqual({ set: ['FailedUrlencoded'] });
  });

  test('multipart form: fields by value, files by media type, size and name (multipart.test.ts)', () => {
    const body =
      '--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile data\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="n"\r\n\r\n42\r\n' +
      '--XyZ--\r\n';
    const b = bodyPile('multipart/form-data; boundary=XyZ', body);
    expect(b.faults).toEqual(EMPTY_FAULTS);
    expect(b.structured.kind).toBe('object');
    expect(Object.keys(b.structured.kv).sort()).toEqual(['n', 'title', 'upload']);
    expect(b.structured.kv.title).toEqual(svPile('[hello]'));
    expect(b.structured.kv.upload).toEqual(svPile('[text/plain 9 a.txt]'));
    expect(b.structured.kv.n).toEqual(svPile('[42]'));
  });

  test('broken multipart → fault FailedMultipart', () => {
    for (const [ct, body] of [
      ['multipart/form-data; boundary=XyZ', '--XyZ\r\nbroken'],
      ['multipart/form-data; boundary=XyZ', 'no delimiter at all'],
      ['multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated'],
      ['multipart/form-data', '--XyZ\r\n\r\nx\r\n--XyZ--'],
    ]) {
      expect(bodyPile(ct, body).faults).toEqual({ set: ['FailedMultipart'] });
    }
  });

  test('text and unknown media types: unstructured', () => {
    for (const ct of ['text/plain', 'application/octet-stream', 'application/xml', undefined, 'this is not; a media type']) {
      const b = bodyPile(ct, 'hello world');
      expect(b.faults).toEqual(EMPTY_FAULTS);
      expect(b.structured).toBeNull();
      expect(b.unstructured).toEqual(svPile('hello world'));
    }
  });

  test('a form body on a response is unstructured (forms are for requests only)', () => {
    const s = core().newSession();
    s.profileResponse({ status: 200, headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'a=1' });
    const p = core().newPile();
    p.add(s);
    const w = JSON.parse(p.toWire());
    expect(w.respbody.unstructured).toEqual(svPile('a=1'));
    expect(w.respbody.structured).toBeNull();
    p.dispose();
    s.dispose();
  });

  test('bodyFault passes through', () => {
    for (const fault of ['TooLargeBody', 'UnknownSizeBody', 'FailedUnstructured']) {
      const b = bodyPile('application/json', undefined, { bodyFault: fault });
      expect(b.faults).toEqual({ set: [fault] });
      expect(b.structured).toBeNull();
      expect(b.unstructured).toBeNull();
    }
  });

  test('no body: nothing profiled', () => {
    const b = bodyPile('application/json', undefined);
    expect(b).toEqual({ faults: EMPTY_FAULTS, unstructured: null, structured: null });
  });

  test('the content length is the body length when a body is given', () => {
    const a = pileWire(req({ method: 'POST', body: 'abc' })).req.contentlength;
    const b = pileWire(req({ method: 'POST', headers: [['Content-Length', '3']] })).req.contentlength;
    expect(a).toBe(b);
  });
});

describe('a Guardian learned from JSON bodies', () => {
  const post = (body: object): HttpRequestFields => ({
    method: 'POST',
    path: '/api/users',
    headers: [
      ['Content-Type', 'application/json'],
      ['Accept', 'application/json'],
    ],
    remote: '8.8.4.4',
    body: JSON.stringify(body),
  });

  test('blocks an unknown key, passes the same shape', () => {
    const c = core();
    const g = c.defaultGuardian();
    const p = c.newPile();
    for (const [name, age] of [
      ['ann', 31],
      ['bob', 42],
      ['cyd', 27],
    ] as const) {
      const s = c.newSession();
      s.profileRequest(post({ name, age }));
      p.add(s);
      s.dispose();
    }
    g.learn(p);
    expect(g.samples).toBe(3);

    const same = c.newSession();
    same.profileRequest(post({ name: 'dan', age: 50 }));
    expect(same.decide(g, Section.All)).toBe(0);
    expect(same.decisionString()).toBe('');

    const evil = c.newSession();
    evil.profileRequest(post({ name: 'eve', age: 33, isAdmin: true }));
    expect(evil.decide(g, Section.ReqBody)).toBeGreaterThan(0);
    expect(evil.decisionString()).toContain('isAdmin');
    expect(evil.decisionString()).toContain('Key isAdmin is not known');

    expect(evil.decisionString()).toMatch(/^\[ReqBody:/);

    // a body that is no longer JSON is a fault the criteria never saw
    const broken = c.newSession();
    broken.profileRequest({ ...post({}), body: '{"name":' });
    expect(broken.decide(g, Section.ReqBody)).toBeGreaterThan(0);
    expect(broken.decisionString()).toContain('FailedJsonDecode');

    for (const h of [same, evil, broken, p, g]) h.dispose();
  });
});
