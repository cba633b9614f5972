// Vectors of the original's data model — wire JSON: canonical payloads, the example
// SyncMessageReq, GuardianSpec and decide example (test/vectors/fixtures.ts), and the rules of Go's
// encoding/json that the core must reproduce.
import { describe, expect, test } from 'vitest';
import { CoreError, Section, type HttpRequestFields } from '../../core/index.js';
import {
  DECIDE_EXAMPLE,
  DEFAULT_GUARDIAN_SPEC_TEXT,
  decideExampleInput,
  EMPTY_GUARDIAN_SPEC_TEXT,
  EMPTY_SESSION_PILE_TEXT,
  guardianSpec,
  learnedSessionConfig,
  syncAlerts,
  syncMessage,
  syncPile,
  syncSampleInput,
  zeroSessionConfig,
} from './fixtures.js';
import { core, expectDecide, expectSameJson, introspect, learn, pile, svConfig } from './helpers.js';

const MAX_AUTOMATION = { alert: true, block: false, learn: true, force: true, auto: true };

describe('canonical payloads', () => {
  test('empty SessionDataPile, exact bytes', () => {
    const p = core().newPile();
    expect(p.count).toBe(0);
    expect(p.toWire()).toBe(EMPTY_SESSION_PILE_TEXT);
    expectSameJson(pile('SessionData', []), JSON.parse(EMPTY_SESSION_PILE_TEXT));
    expectSameJson(
      introspect({ op: 'roundtrip', type: 'SessionData', kind: 'pile', json: JSON.parse(EMPTY_SESSION_PILE_TEXT) }),
      JSON.parse(EMPTY_SESSION_PILE_TEXT),
    );
    // decoded from the wire and re-encoded: same bytes
    expect(core().parsePile(EMPTY_SESSION_PILE_TEXT).toWire()).toBe(EMPTY_SESSION_PILE_TEXT);
  });

  test('zero SessionDataConfig = the configured member of the example GuardianSpec', () => {
    const rt = introspect({ op: 'roundtrip', type: 'SessionData', kind: 'config', json: zeroSessionConfig() });
    expectSameJson(rt, zeroSessionConfig());
    expect(JSON.stringify(rt)).toBe(JSON.stringify(zeroSessionConfig()));
    // `{}`: Go fills every section with its zero value; Guard may keep the sections that were left
    // out as null = not enforced (difference 8 of docs/compatibility.md). Either way the rest is
    // the zero config.
    const empty = introspect({ op: 'roundtrip', type: 'SessionData', kind: 'config', json: {} });
    const expected = zeroSessionConfig();
    for (const k of ['resp', 'reqbody', 'respbody', 'envelop', 'pod']) if (empty[k] === null) expected[k] = null;
    expectSameJson(empty, expected);
  });

  test('empty and default GuardianSpec', () => {
    const empty = core().parseGuardian(EMPTY_GUARDIAN_SPEC_TEXT);
    expectSameJson(JSON.parse(empty.toWire()), JSON.parse(EMPTY_GUARDIAN_SPEC_TEXT));
    expect(empty.samples).toBe(0);
    expectSameJson(JSON.parse(core().parseGuardian('{}').toWire()), JSON.parse(EMPTY_GUARDIAN_SPEC_TEXT));
    const def = core().defaultGuardian();
    expectSameJson(JSON.parse(def.toWire()), JSON.parse(DEFAULT_GUARDIAN_SPEC_TEXT));
    expect(def.control).toEqual(MAX_AUTOMATION);
  });

  test('a pile after adding one zero SessionDataProfile', () => {
    const expected = JSON.parse(EMPTY_SESSION_PILE_TEXT);
    expected.count = 1;
    expected.req.contentlength = 'AA==';
    for (const k of ['Digits', 'Letters', 'Spaces', 'SpecialChars', 'NonReadables', 'Unicodes', 'Sequences']) {
      expected.req.url.val[k] = 'AA==';
    }
    expected.req.url.segments = 'AA==';
    expected.resp.contentlength = 'AA==';
    expected.envelop = { responsetime: 'AA==', completiontime: 'AA==' };
    expected.req.mediatype.params = {};
    expected.resp.mediatype.params = {};
    expected.req.qs.kv = {};
    expected.req.headers.kv = {};
    expected.resp.headers.kv = {};
    expectSameJson(pile('SessionData', [{}]), expected);
  });
});

describe('the example SyncMessageReq', () => {
  const text = JSON.stringify(syncMessage());

  test('decoded → re-encoded → decoded again, same meaning and Go bytes', () => {
    const first = core().parseSyncRequest(text);
    expect(first.pile).not.toBe(null);
    expect(first.pile!.count).toBe(1);
    expect(first.compromised).toBe(false);
    expect(first.alerts).toEqual(syncAlerts());
    const wire = first.pile!.toWire();
    expect(wire).toBe(JSON.stringify(syncPile()));
    expectSameJson(JSON.parse(wire), syncPile());
    const again = core().parseSyncRequest(
      `{"pile":${wire},"alerts":${JSON.stringify(first.alerts)},"compromised":${first.compromised}}`,
    );
    expect(again.pile!.count).toBe(1);
    expect(again.pile!.toWire()).toBe(wire);
    expect(again.alerts).toEqual(syncAlerts());
    // whitespace / indentation as in the original's listing decodes the same
    expect(core().parseSyncRequest(JSON.stringify(syncMessage(), null, 2)).pile!.toWire()).toBe(wire);
  });

  test('other sync message forms', () => {
    const none = core().parseSyncRequest('{"pile":null,"alerts":null,"compromised":true}');
    expect(none.pile).toBe(null);
    expect(none.alerts).toEqual([]);
    expect(none.compromised).toBe(true);
    // byte-slice piles also decode from plain arrays; keys case-insensitively, as Go's decoder
    const alt = syncPile();
    alt.req.contentlength = [0];
    alt.envelop = { ResponseTime: [0], CompletionTime: [1] };
    const p = core().parseSyncRequest(JSON.stringify({ pile: alt, alerts: [], compromised: false })).pile!;
    expect(p.toWire()).toBe(JSON.stringify(syncPile()));
  });

  test('the pile is what the data model builds from the sample (introspect SessionData)', () => {
    expectSameJson(pile('SessionData', [syncSampleInput()]), syncPile());
    expectSameJson(introspect({ op: 'roundtrip', type: 'SessionData', kind: 'pile', json: syncPile() }), syncPile());
  });
});

describe('the example GuardianSpec', () => {
  test('learned from the decoded example pile', () => {
    expectSameJson(learn('SessionData', undefined, { pile: syncPile() }), learnedSessionConfig());
  });

  test('a Guardian learns the sync pile: the whole example spec', () => {
    const g = core().parseGuardian({ configured: zeroSessionConfig(), samples: 0, control: MAX_AUTOMATION });
    g.learn(core().parseSyncRequest(JSON.stringify(syncMessage())).pile!);
    expect(g.samples).toBe(1);
    // Difference 8 of docs/compatibility.md (where the original wrote zero configs): a section no
    // record carried data for stays unlearned and is written as null — here both bodies. For the
    // pod section null (unlearned) or the original's all-null object are both accepted.
    const expected = guardianSpec();
    expected.learned.reqbody = null;
    expected.learned.respbody = null;
    const got = JSON.parse(g.toWire());
    if (got.learned?.pod === null) expected.learned.pod = null;
    expectSameJson(got, expected);
  });

  test('decoded → re-encoded → decoded again', () => {
    const g = core().parseGuardian(JSON.stringify(guardianSpec()));
    expect(g.control).toEqual(MAX_AUTOMATION);
    expect(g.samples).toBe(1);
    const wire = g.toWire();
    expectSameJson(JSON.parse(wire), guardianSpec());
    expect(wire).toBe(JSON.stringify(guardianSpec()));
    const g2 = core().parseGuardian(wire);
    expect(g2.toWire()).toBe(wire);
    // indented form and a whole Guardian object (spec inside)
    expectSameJson(JSON.parse(core().parseGuardian(JSON.stringify(guardianSpec(), null, 2)).toWire()), guardianSpec());
    const obj = {
      apiVersion: 'guard.security.knative.dev/v1alpha1',
      kind: 'Guardian',
      metadata: { name: 'myapp', namespace: 'default' },
      spec: guardianSpec(),
    };
    expectSameJson(JSON.parse(core().parseGuardian(obj).toWire()), guardianSpec());
  });

  test('bad Guardians are refused with GUARD_INVALID_GUARDIAN', () => {
    const bad = (input: string | object) => {
      try {
        core().parseGuardian(input);
      } catch (e) {
        expect(e).toBeInstanceOf(CoreError);
        expect((e as CoreError).code).toBe('GUARD_INVALID_GUARDIAN');
        return;
      }
      throw new Error(`accepted ${JSON.stringify(input)}`);
    };
    bad('not json');
    bad('{"samples":');
    // an invalid IP text makes the whole decode fail, as in Go
    const spec = guardianSpec();
    spec.learned.req.cip = [{ IP: '999.1.1.1', Mask: '/////w==' }];
    bad(JSON.stringify(spec));
  });

  test('the decide example (introspect SessionData and Req)', () => {
    const learned = learnedSessionConfig();
    expectDecide('SessionData', learned, decideExampleInput(), DECIDE_EXAMPLE);
    expectDecide('SessionData', learned, syncSampleInput(), '');
    const inner = DECIDE_EXAMPLE.slice('[Req:'.length, -2); // strip "[Req:" … ",]"
    expect(inner.startsWith('[Headers:')).toBe(true);
    expectDecide('Req', learned.req, decideExampleInput().req, inner);
    expectDecide('Req', learned.req, syncSampleInput().req, '');
  });

  test('the decide example through a session (gate normalisation: User-Agent inserted, XFF joined)', () => {
    const g = core().parseGuardian(guardianSpec());
    const s = core().newSession();
    s.profileRequest({
      method: 'POST',
      path: '/api/v2/x',
      query: 'id=7&debug=1',
      headers: [
        ['Accept', '*/*'],
        ['X-Forwarded-For', '9.9.9.9'],
      ],
      remote: '8.8.4.4',
    });
    const result = s.decide(g, Section.All);
    const d = s.decisionString();
    // XFF becomes "9.9.9.9, 8.8.4.4": the last line does not parse → no HopIp; the empty
    // User-Agent the proxy inserts is an unknown key as well.
    expect(d).toContain('Headers:[KeyVal:[Key User-Agent is not known,Key X-Forwarded-For is not known,],]');
    expect(d).toContain('Method:[Unexpected key POST in Set,]');
    expect(d).toContain('QueryString:[KeyVal:[Key debug is not known,],]');
    expect(d).toContain(
      'Url:[Segments:[Counter out of Range: 3,],Val:[Letters:[Limit out of Range: 5,],Sequences:[Limit out of Range: 3,],],]',
    );
    expect(d).not.toContain('HopIp');
    expect(d).not.toContain('ClientIp');
    expect(result).toBeGreaterThanOrEqual(7);
  });
});

describe('Go encoding rules', () => {
  test('HTML-safe escaping and sorted map keys in pile bytes', () => {
    const s = core().newSession();
    s.profileRequest({
      method: 'GET',
      path: '/',
      query: 'z=1&%3Cb%3E=2&a=3',
      headers: [
        ['Content-Type', '375^^&87878'],
        ['Accept', '*/*'],
      ],
    });
    const p = core().newPile();
    p.add(s);
    const wire = p.toWire();
    expect(wire).toContain('"375^^\\u002687878"');
    expect(wire).toContain('"\\u003cb\\u003e":');
    const kv = JSON.parse(wire).req.qs.kv;
    expect(Object.keys(kv)).toEqual(['<b>', 'a', 'z']);
    expect(wire.indexOf('"\\u003cb\\u003e":')).toBeLessThan(wire.indexOf('"a":{"Digits"'));
  });

  test('gate normalisation seen in the pile', () => {
    const s = core().newSession();
    s.profileRequest({
      method: 'GET',
      path: '/p/a%2Fb/c',
      query: 'id=7',
      headers: [
        ['accept', '*/*'],
        ['Host', 'example.com'],
        ['Connection', 'keep-alive'],
        ['Cookie', 'a=1; b=2'],
        ['Cookie', 'c=3'],
      ],
      remote: '8.8.4.4',
    });
    const p = core().newPile();
    p.add(s);
    expect(p.count).toBe(1);
    const req = JSON.parse(p.toWire()).req;
    expect(Object.keys(req.headers.kv)).toEqual(['Accept', 'Cookie', 'User-Agent', 'X-Forwarded-For']);
    // The joined value as the original profiles it, and Guard's optional per-cookie piles (docs/tokens.md).
    const one = pile('SimpleVal', ['1']);
    const three = pile('SimpleVal', ['3']);
    expect(req.headers.kv.Cookie).toEqual({ ...pile('SimpleVal', ['a=1; b=2 c=3']), cookies: { a: one, b: pile('SimpleVal', ['2']), c: three } });
    expect(req.headers.kv['User-Agent']).toEqual(pile('SimpleVal', ['']));
    expect(req.cip).toEqual({ List: ['8.8.4.4'] });
    expect(req.hopip).toEqual({ List: ['8.8.4.4'] });
    expect(req.url.segments).toBe('BA=='); // /p/a/b/c → 4 segments
  });

  test('case-insensitive decoding, unknown keys ignored, arrays for byte slices', () => {
    expect(
      introspect({ op: 'roundtrip', type: 'SimpleVal', kind: 'config', json: { Digits: 3, LETTERS: 2, bogus: 1 } }),
    ).toEqual(svConfig(3, 2, 0, 0, 0, 0, 0, 0));
    expect(introspect({ op: 'roundtrip', type: 'Envelop', kind: 'pile', json: { responsetime: [1, 2], completiontime: 'Aw==' } })).toEqual({
      responsetime: 'AQI=',
      completiontime: 'Aw==',
    });
    expect(introspect({ op: 'roundtrip', type: 'Body', kind: 'profile', json: { faults: ['X'] } })).toEqual({
      Faults: ['X'],
      unstructured: null,
      structured: null,
    });
  });

  test('introspect refuses bad commands with GUARD_INVALID_ARGUMENT', () => {
    for (const cmd of [{ type: 'Nope', op: 'profile', input: 1 }, { type: 'Limit', op: 'bogus' }, { op: 'profile' }]) {
      let code: string | undefined;
      try {
        introspect(cmd);
      } catch (e) {
        code = (e as CoreError).code;
      }
      expect(code, JSON.stringify(cmd)).toBe('GUARD_INVALID_ARGUMENT');
    }
  });
});

describe('gate normalisation details', () => {
  function reqOf(fields: HttpRequestFields): any {
    const s = core().newSession();
    s.profileRequest(fields);
    const p = core().newPile();
    p.add(s);
    return JSON.parse(p.toWire()).req;
  }

  test('hop-by-hop headers removed, Te: trailers kept, canonical names', () => {
    const req = reqOf({
      method: 'GET',
      path: '/',
      headers: [
        ['Connection', 'X-Foo'],
        ['X-Foo', '1'],
        ['te', 'trailers'],
        ['Keep-Alive', 'x'],
        ['Proxy-Connection', 'x'],
        ['Proxy-Authorization', 'x'],
        ['Proxy-Authenticate', 'x'],
        ['Transfer-Encoding', 'chunked'],
        ['Upgrade', 'h2c'],
        ['Trailer', 'x'],
        ['x-custom_header', 'v'],
        ['user-agent', 'curl/8'],
      ],
      remote: '8.8.4.4',
    });
    expect(Object.keys(req.headers.kv)).toEqual(['Te', 'User-Agent', 'X-Custom_header', 'X-Forwarded-For']);
    expect(req.headers.kv['User-Agent']).toEqual(pile('SimpleVal', ['curl/8']));
  });

  test('X-Forwarded-For: client values joined with ", " plus the remote', () => {
    const req = reqOf({
      method: 'GET',
      path: '/',
      headers: [
        ['X-Forwarded-For', '1.1.1.1'],
        ['X-Forwarded-For', '2.2.2.2'],
      ],
      remote: '8.8.4.4',
    });
    expect(req.headers.kv['X-Forwarded-For']).toEqual(pile('SimpleVal', ['1.1.1.1, 2.2.2.2, 8.8.4.4']));
    expect(req.hopip).toEqual({ List: null });
    expect(req.cip).toEqual({ List: ['8.8.4.4'] });
  });

  test('path percent-decoding: %2F splits, invalid UTF-8 is one U+FFFD per byte', () => {
    const req = reqOf({ method: 'GET', path: '/a%FFb/%E2%82', headers: [] });
    expect(req.url.val).toEqual(pile('SimpleVal', [{ bytes: [0x61, 0xff, 0x62, 0xe2, 0x82] }]));
    expect(req.url.segments).toBe('Ag==');
  });
});
