// The public host API of the core as a user sees it (core/index.ts): loading Guardians, their wire
// text, control flags, samples, handle lifetime, piles and sync messages.
import { describe, expect, test } from 'vitest';
import { CoreError, Section, type Control, type HttpRequestFields } from '../../core/index.js';
import {
  core,
  expectCode,
  pileWire,
  syncExampleDecision,
  syncExamplePile,
  syncExampleText,
} from './support.js';

const DEFAULT_WIRE =
  '{"configured":null,"samples":0,"control":{"alert":true,"block":false,"learn":true,"force":true,"auto":true}}';
const MAX_AUTOMATION: Control = { alert: true, block: false, learn: true, force: true, auto: true };

function request(overrides: Partial<HttpRequestFields> = {}): HttpRequestFields {
  return {
    method: 'GET',
    path: '/api/v1',
    query: 'id=7',
    headers: [['Accept', '*/*']],
    remote: '8.8.4.4',
    ...overrides,
  };
}

/** A Guardian that learned a few GET requests (so `learned` is populated). */
function learnedGuardianWire(): string {
  const c = core();
  const g = c.defaultGuardian();
  const p = c.newPile();
  for (const id of ['7', '12', '345']) {
    const s = c.newSession();
    s.profileRequest(request({ query: `id=${id}` }));
    p.add(s);
    s.dispose();
  }
  g.learn(p);
  // Loaded once: IPv4 CIDRs learned in-process are read back with 16-byte masks (as Go decodes
  // them), so the wire text of a *loaded* Guardian is the stable form.
  const loaded = c.parseGuardian(g.toWire());
  const text = loaded.toWire();
  for (const h of [p, g, loaded]) h.dispose();
  return text;
}

describe('parseGuardian accepts', () => {
  test('the default Guardian has the exact service-default wire text', () => {
    const g = core().defaultGuardian();
    expect(g.toWire()).toBe(DEFAULT_WIRE);
    expect(g.control).toEqual(MAX_AUTOMATION);
    expect(g.samples).toBe(0);
    g.dispose();
  });

  test('a GuardianSpec as JSON text and as an object', () => {
    const fromText = core().parseGuardian(DEFAULT_WIRE);
    const fromObject = core().parseGuardian(JSON.parse(DEFAULT_WIRE));
    expect(fromText.toWire()).toBe(DEFAULT_WIRE);
    expect(fromObject.toWire()).toBe(DEFAULT_WIRE);
    fromText.dispose();
    fromObject.dispose();
  });

  test('the empty spec {} loads with no control', () => {
    const g = core().parseGuardian({});
    expect(g.toWire()).toBe('{"configured":null,"samples":0,"control":null}');
    expect(g.control).toEqual({ alert: false, block: false, learn: false, force: false, auto: false });
    g.dispose();
  });

  test('a whole Guardian object (apiVersion, kind, metadata, spec), as text and as an object', () => {
    const spec = JSON.parse(learnedGuardianWire());
    const obj = {
      apiVersion: 'guard.security.knative.dev/v1alpha1',
      kind: 'Guardian',
      metadata: { name: 'myapp', namespace: 'default', resourceVersion: '42' },
      spec,
    };
    const direct = core().parseGuardian(spec);
    const wrappedObj = core().parseGuardian(obj);
    const wrappedText = core().parseGuardian(JSON.stringify(obj));
    expect(wrappedObj.toWire()).toBe(direct.toWire());
    expect(wrappedText.toWire()).toBe(direct.toWire());
    expect(JSON.parse(direct.toWire())).toEqual(spec);
    expect(wrappedObj.samples).toBe(3);
    expect(wrappedObj.control).toEqual(MAX_AUTOMATION);
    for (const g of [direct, wrappedObj, wrappedText]) g.dispose();
  });

  test('a Guardian object carries its criteria: it decides like the spec it wraps', () => {
    const spec = JSON.parse(learnedGuardianWire());
    const g = core().parseGuardian({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', spec });
    const ok = core().newSession();
    ok.profileRequest(request({ query: 'id=99' }));
    expect(ok.decide(g, Section.All)).toBe(0);
    const bad = core().newSession();
    bad.profileRequest(request({ method: 'DELETE' }));
    expect(bad.decide(g, Section.All)).toBeGreaterThan(0);
    expect(bad.decisionString()).toContain('Unexpected key DELETE in Set');
    for (const h of [ok, bad, g]) h.dispose();
  });
});

describe('parseGuardian rejects with GUARD_INVALID_GUARDIAN and names the bad field', () => {
  test('malformed JSON', () => {
    for (const text of ['{bad', '', '{"configured":', '[1,2', 'nul', '{"samples":1}}']) {
      const e = expectCode(() => core().parseGuardian(text), 'GUARD_INVALID_GUARDIAN');
      expect(e).toBeInstanceOf(CoreError);
      expect(e.message).toMatch(/JSON/i);
    }
  });

  test('a JSON value that is not an object', () => {
    for (const text of ['5', '"spec"', '[]', 'true']) {
      expectCode(() => core().parseGuardian(text), 'GUARD_INVALID_GUARDIAN');
    }
  });

  test('a code of 300 in a SimpleVal config (the path down to the field)', () => {
    const e = expectCode(
      () => core().parseGuardian({ configured: { active: true, req: { url: { val: { digits: 300 } } } } }),
      'GUARD_INVALID_GUARDIAN',
    );
    expect(e.message).toContain('configured.req.url.val');
    expect(e.message).toContain('300');
  });

  test('a code of 300 in a SimpleVal config: the message names the field itself (letters)', () => {
    const e = expectCode(
      () => core().parseGuardian({ learned: { req: { qs: { kv: { vals: { id: { letters: 300 } } } } } } }),
      'GUARD_INVALID_GUARDIAN',
    );
    expect(e.message).toMatch(/letters/i);
  });

  test('a non-boolean control flag', () => {
    for (const [flag, value] of [
      ['alert', 'yes'],
      ['block', 1],
      ['learn', {}],
      ['force', []],
      ['auto', 'true'],
    ] as const) {
      const e = expectCode(
        () => core().parseGuardian({ control: { ...MAX_AUTOMATION, [flag]: value } }),
        'GUARD_INVALID_GUARDIAN',
      );
      expect(e.message).toContain(`control.${flag}`);
    }
  });

  test('a control that is not an object', () => {
    const e = expectCode(() => core().parseGuardian({ control: true }), 'GUARD_INVALID_GUARDIAN');
    expect(e.message).toContain('control');
  });

  test('an invalid CIDR IP', () => {
    const e = expectCode(
      () => core().parseGuardian({ learned: { req: { cip: [{ IP: '1.2.3.999', Mask: '/////w==' }] } } }),
      'GUARD_INVALID_GUARDIAN',
    );
    expect(e.message).toContain('learned.req.cip');
    expect(e.message).toContain('1.2.3.999');
    const e2 = expectCode(
      () => core().parseGuardian({ configured: { pod: { tcp4peers: [{ IP: 'not-an-ip', Mask: '/////w==' }] } } }),
      'GUARD_INVALID_GUARDIAN',
    );
    expect(e2.message).toContain('configured.pod.tcp4peers');
  });

  test('kind: "ConfigMap" without a data.Guardian spec text', () => {
    for (const input of [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guardian.myapp' } },
      { apiVersion: 'v1', kind: 'ConfigMap', spec: {} },
      { apiVersion: 'v1', kind: 'ConfigMap', data: { Guardian: { samples: 1 } } },
    ]) {
      const e = expectCode(() => core().parseGuardian(input), 'GUARD_INVALID_GUARDIAN');
      expect(e.message).toMatch(/ConfigMap/);
      expectCode(() => core().parseGuardian(JSON.stringify(input)), 'GUARD_INVALID_GUARDIAN');
    }
  });

  test('kind: "ConfigMap" whose data.Guardian text is itself invalid names the field inside', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', data: { Guardian: '{"control":{"alert":"no"}}' } };
    const e = expectCode(() => core().parseGuardian(cm), 'GUARD_INVALID_GUARDIAN');
    expect(e.message).toContain('control.alert');
  });

  test('any other kind than Guardian', () => {
    for (const kind of ['Secret', 'GuardianList', 'guardian']) {
      const e = expectCode(
        () => core().parseGuardian({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind, spec: {} }),
        'GUARD_INVALID_GUARDIAN',
      );
      expect(e.message).toContain(kind);
    }
  });

  test('a Guardian object without a spec, or with a non-object spec', () => {
    expectCode(() => core().parseGuardian({ kind: 'Guardian', metadata: { name: 'x' } }), 'GUARD_INVALID_GUARDIAN');
    const e = expectCode(() => core().parseGuardian({ kind: 'Guardian', spec: 5 }), 'GUARD_INVALID_GUARDIAN');
    expect(e.message).toContain('spec');
  });

  test('a failed load leaves the core working', () => {
    const before = core().wasm.exports.live_handles() as number;
    expectCode(() => core().parseGuardian('{"control":{"alert":0}}'), 'GUARD_INVALID_GUARDIAN');
    expect(core().wasm.exports.live_handles()).toBe(before);
    const g = core().parseGuardian(DEFAULT_WIRE);
    expect(g.toWire()).toBe(DEFAULT_WIRE);
    g.dispose();
  });
});

describe('ConfigMap storage (ConfigMap objects are read)', () => {
  test('a ConfigMap with the spec text under data.Guardian loads that spec', () => {
    const spec = learnedGuardianWire();
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guardian.myapp' }, data: { Guardian: spec } };
    const a = core().parseGuardian(cm);
    const b = core().parseGuardian(JSON.stringify(cm));
    expect(a.toWire()).toBe(spec);
    expect(b.toWire()).toBe(spec);
    a.dispose();
    b.dispose();
  });
});

describe('toWire', () => {
  test('loading toWire() again gives the same text (idempotent)', () => {
    const inputs: Array<string | object> = [
      DEFAULT_WIRE,
      '{}',
      learnedGuardianWire(),
      {
        configured: {
          active: true,
          req: {
            cip: [{ IP: '10.0.0.0', Mask: '////AA==' }, { IP: '2001:db8::', Mask: '//////////8AAAAAAAAAAA==' }],
            method: { set: ['GET', 'POST'] },
            contentlength: [{ min: 0, max: 10 }],
            url: { val: { Digits: 3, LETTERS: 20, flags: 1024 }, segments: [{ min: 1, max: 4 }] },
            headers: { kv: { vals: { Accept: { schars: 3 } }, otherVals: { letters: 5 }, otherKeynames: { letters: 9 } } },
          },
          reqbody: { faults: { set: ['TooLargeBody'] }, structured: { kind: 'object', val: null, kv: { vals: { a: { digits: 2 } } } } },
          envelop: { responsetime: 4, completiontime: 8 },
        },
        samples: 17,
        control: { alert: true, block: true, learn: false, force: false, auto: false },
      },
    ];
    for (const input of inputs) {
      const first = core().parseGuardian(input);
      const wire1 = first.toWire();
      const second = core().parseGuardian(wire1);
      const wire2 = second.toWire();
      expect(wire2).toBe(wire1);
      const third = core().parseGuardian(JSON.parse(wire2));
      expect(third.toWire()).toBe(wire1);
      for (const g of [first, second, third]) g.dispose();
    }
  });

  test('learned is omitted when absent, configured null is written', () => {
    const g = core().parseGuardian({ samples: 2 });
    const w = JSON.parse(g.toWire());
    expect(Object.keys(w)).toEqual(['configured', 'samples', 'control']);
    expect(w.configured).toBeNull();
    g.dispose();
  });
});

describe('control', () => {
  test('get and set every combination of the five flags', () => {
    const g = core().defaultGuardian();
    const names: Array<keyof Control> = ['alert', 'block', 'learn', 'force', 'auto'];
    for (let mask = 0; mask < 32; mask++) {
      const c = Object.fromEntries(names.map((n, i) => [n, !!(mask & (1 << i))])) as unknown as Control;
      g.control = c;
      expect(g.control).toEqual(c);
      expect(JSON.parse(g.toWire()).control).toEqual(c);
    }
    g.dispose();
  });

  test('setting the control on a loaded spec without control creates it', () => {
    const g = core().parseGuardian({});
    g.control = MAX_AUTOMATION;
    expect(g.toWire()).toBe(DEFAULT_WIRE);
    g.dispose();
  });

  test('a returned control is a copy: mutating it changes nothing until set', () => {
    const g = core().defaultGuardian();
    const c = g.control;
    c.block = true;
    expect(g.control.block).toBe(false);
    g.control = c;
    expect(g.control.block).toBe(true);
    g.dispose();
  });

  test('alert off: nothing alerts (compatibility difference 2)', () => {
    const spec = JSON.parse(learnedGuardianWire());
    const g = core().parseGuardian(spec);
    const s = core().newSession();
    s.profileRequest(request({ method: 'DELETE' }));
    g.control = { ...MAX_AUTOMATION, alert: false };
    expect(s.decide(g, Section.All)).toBe(0);
    expect(s.decisionString()).toBe('');
    g.control = MAX_AUTOMATION;
    expect(s.decide(g, Section.All)).toBeGreaterThan(0);
    s.dispose();
    g.dispose();
  });
});

describe('samples', () => {
  test('learning adds the pile count', () => {
    const g = core().defaultGuardian();
    const p = core().parsePile('{"count":250}');
    g.learn(p);
    expect(g.samples).toBe(250);
    g.learn(p);
    expect(g.samples).toBe(500);
    p.dispose();
    g.dispose();
  });

  test('capped at 1,000,000 when piles decoded with large counts are learned', () => {
    const g = core().defaultGuardian();
    const big = core().parsePile('{"count":999999}');
    expect(big.count).toBe(999999);
    g.learn(big);
    expect(g.samples).toBe(999999);
    g.learn(big);
    expect(g.samples).toBe(1_000_000);
    const huge = core().parsePile('{"count":4294967295}');
    expect(huge.count).toBe(4294967295);
    g.learn(huge);
    expect(g.samples).toBe(1_000_000);
    expect(JSON.parse(g.toWire()).samples).toBe(1_000_000);

    const fresh = core().defaultGuardian();
    fresh.learn(huge);
    expect(fresh.samples).toBe(1_000_000);
    for (const h of [g, big, huge, fresh]) h.dispose();
  });

  test('a loaded spec with samples above the cap reads as the cap', () => {
    const g = core().parseGuardian({ samples: 5_000_000 });
    expect(g.samples).toBe(1_000_000);
    g.dispose();
  });

  test('a pile count above uint32 is rejected', () => {
    expectCode(() => core().parsePile('{"count":4294967296}'), 'GUARD_INVALID_PILE');
    expectCode(() => core().parsePile('{"count":-1}'), 'GUARD_INVALID_PILE');
  });
});

describe('handle lifetime', () => {
  test('disposing twice is harmless; use after dispose throws GUARD_DISPOSED', () => {
    const c = core();
    const live = () => c.wasm.exports.live_handles() as number;
    const start = live();
    const g = c.defaultGuardian();
    const p = c.newPile();
    const s = c.newSession();
    expect(live()).toBe(start + 3);

    g.dispose();
    expect(live()).toBe(start + 2);
    g.dispose();
    expect(live()).toBe(start + 2);
    p.dispose();
    p.dispose();
    s.dispose();
    s.dispose();
    expect(live()).toBe(start);

    expectCode(() => g.toWire(), 'GUARD_DISPOSED');
    expectCode(() => g.control, 'GUARD_DISPOSED');
    expectCode(() => (g.control = MAX_AUTOMATION), 'GUARD_DISPOSED');
    expectCode(() => g.samples, 'GUARD_DISPOSED');
    expectCode(() => p.count, 'GUARD_DISPOSED');
    expectCode(() => p.toWire(), 'GUARD_DISPOSED');
    expectCode(() => p.clear(), 'GUARD_DISPOSED');
    expectCode(() => s.profileRequest(request()), 'GUARD_DISPOSED');
    expectCode(() => s.decisionString(), 'GUARD_DISPOSED');

    // a live object given a disposed one
    const g2 = c.defaultGuardian();
    const p2 = c.newPile();
    const s2 = c.newSession();
    expectCode(() => g2.learn(p), 'GUARD_DISPOSED');
    expectCode(() => p2.add(s), 'GUARD_DISPOSED');
    expectCode(() => p2.merge(p), 'GUARD_DISPOSED');
    expectCode(() => s2.decide(g, Section.All), 'GUARD_DISPOSED');
    for (const h of [g2, p2, s2]) h.dispose();
    expect(live()).toBe(start);
  });

  test('a disposed handle id reused by a new object is not reachable through the old wrapper', () => {
    const c = core();
    const a = c.parseGuardian({ samples: 11 });
    a.dispose();
    const b = c.parseGuardian({ samples: 22 });
    expectCode(() => a.samples, 'GUARD_DISPOSED');
    expect(b.samples).toBe(22);
    b.dispose();
  });
});

describe('parsePile', () => {
  test('rejects garbage with GUARD_INVALID_PILE', () => {
    for (const text of ['garbage', '', '{', '[]', '5', 'null', '"pile"', '{"count":"x"}', '{"req":{"cip":{"List":["nope"]}}}']) {
      const e = expectCode(() => core().parsePile(text), 'GUARD_INVALID_PILE');
      expect(e.message.length).toBeGreaterThan(0);
    }
  });

  test('a profiled pile round-trips through its wire text', () => {
    const w = pileWire(request(), request({ method: 'POST', path: '/x/y/z', headers: [['Content-Type', 'text/plain']], body: 'hi' }));
    const text = JSON.stringify(w);
    const p = core().parsePile(text);
    expect(p.count).toBe(2);
    expect(p.toWire()).toBe(text);
    p.dispose();
  });

  test('merge and clear', () => {
    const a = core().parsePile(JSON.stringify(pileWire(request())));
    const b = core().parsePile(JSON.stringify(pileWire(request(), request())));
    a.merge(b);
    expect(a.count).toBe(3);
    expect(b.count).toBe(2);
    a.merge(a); // merging into itself is a no-op
    expect(a.count).toBe(3);
    a.clear();
    expect(a.count).toBe(0);
    a.dispose();
    b.dispose();
  });
});

describe('parseSyncRequest', () => {
  test('the original\'s example sync message: a pile of count 1, one alert whose decision survived', () => {
    const sync = core().parseSyncRequest(syncExampleText());
    expect(sync.pile).not.toBeNull();
    expect(sync.pile!.count).toBe(1);
    expect(JSON.parse(sync.pile!.toWire())).toEqual(syncExamplePile());
    expect(sync.compromised).toBe(false);
    expect(sync.alerts).toHaveLength(1);
    expect(sync.alerts[0]).toEqual({ decision: syncExampleDecision(), time: 1700000000, level: 'Session', count: 1 });
    sync.pile!.dispose();
  });

  test('the example pile learns the essentials of the original\'s example criteria', () => {
    const sync = core().parseSyncRequest(syncExampleText());
    const g = core().defaultGuardian();
    g.learn(sync.pile!);
    expect(g.samples).toBe(1);
    const learned = JSON.parse(g.toWire()).learned;
    expect(learned.active).toBe(true);
    expect(learned.req.cip).toEqual([{ IP: '8.8.4.4', Mask: '/////////////////////w==' }]);
    expect(learned.req.method).toEqual({ set: ['GET'] });
    expect(learned.req.url.segments).toEqual([{ min: 2, max: 2 }]);
    expect(learned.envelop).toEqual({ responsetime: 0, completiontime: 1 });
    sync.pile!.dispose();
    g.dispose();
  });

  test('a message without a pile, and compromised true', () => {
    const sync = core().parseSyncRequest('{"pile":null,"alerts":null,"compromised":true}');
    expect(sync.pile).toBeNull();
    expect(sync.alerts).toEqual([]);
    expect(sync.compromised).toBe(true);
    const empty = core().parseSyncRequest('{}');
    expect(empty.pile).toBeNull();
    expect(empty.compromised).toBe(false);
  });

  test('rejects {"pile": 5} and other bad messages with GUARD_INVALID_SYNC', () => {
    const before = core().wasm.exports.live_handles() as number;
    for (const text of [
      '{"pile": 5}',
      '{"pile": "x"}',
      '{"alerts": 5}',
      '{"alerts": [5]}',
      '{"alerts": [{"decision": 7}]}',
      '{"compromised": "yes"}',
      '[]',
      'not json',
      '',
    ]) {
      const e = expectCode(() => core().parseSyncRequest(text), 'GUARD_INVALID_SYNC');
      expect(e.message.length).toBeGreaterThan(0);
    }
    const e = expectCode(() => core().parseSyncRequest('{"pile": 5}'), 'GUARD_INVALID_SYNC');
    expect(e.message).toContain('pile');
    // a valid pile with an invalid alert does not leak the pile
    expectCode(
      () => core().parseSyncRequest(JSON.stringify({ pile: syncExamplePile(), alerts: [{ decision: 'x' }] })),
      'GUARD_INVALID_SYNC',
    );
    expect(core().wasm.exports.live_handles()).toBe(before);
  });
});

describe('response header values as bytes', () => {
  test('are profiled as the same text given as a string (ASCII), and as their UTF-8 bytes otherwise', () => {
    const pileOf = (headers: Array<[string, string | Uint8Array]>): string => {
      const s = core().newSession();
      const pile = core().newPile();
      s.profileRequest(request());
      s.profileResponse({ status: 200, headers, body: Buffer.from('{"a":1}') });
      pile.add(s);
      const wire = pile.toWire();
      s.dispose();
      pile.dispose();
      return wire;
    };
    const asText = pileOf([['content-type', 'application/json'], ['x-note', 'café au lait'], ['etag', '"v1"']]);
    const asBytes = pileOf([['content-type', Buffer.from('application/json')], ['x-note', Buffer.from('café au lait', 'utf8')], ['etag', Buffer.from('"v1"')]]);
    expect(asBytes).toBe(asText);
    // Bytes are taken as they are: a lone latin1 byte is not the UTF-8 text "é".
    expect(pileOf([['x-note', Uint8Array.of(0x63, 0x61, 0x66, 0xe9)]])).not.toBe(pileOf([['x-note', 'café']]));
  });
});
