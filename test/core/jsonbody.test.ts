// The request path profiles JSON bodies in one streaming pass (assembly/ingest/jsonbody.ts); the
// data model profiles decoded values (StructuredProfile.of, with null members kept as bodies are:
// docs/compatibility.md). Both must give the same profile.
import { describe, expect, it } from 'vitest';
import { createCore, loadCore, Section, type Core, type HeaderLine } from '../../core/index.js';
import { learnedGuardian } from './support.js';
import { readBuildFile } from '../../core/build-file.js';
import { random } from '../support/random.js';

const core = loadCore();

function viaSession(body: string, on: Core = core): unknown {
  const s = on.newSession();
  s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body });
  const p = on.newPile();
  p.add(s);
  const wire = JSON.parse(p.toWire());
  s.dispose();
  p.dispose();
  return wire.reqbody;
}

function viaModel(value: unknown, faults: string[] | null = null): unknown {
  const pile = core.introspect({ type: 'Structured', op: 'pile', inputs: [value], keepNulls: true });
  return { faults: { set: faults }, unstructured: null, structured: pile };
}

const rng = random;

function randomValue(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 3 || r < 0.35) {
    const k = Math.floor(next() * 6);
    if (k === 0) return Math.floor(next() * 1e6) / (next() < 0.5 ? 1 : 1000);
    if (k === 1) return next() < 0.5;
    if (k === 2) return null;
    if (k === 3) return (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
    const chars = 'aZ09 -_./é€😀"\\\n<>&';
    return Array.from({ length: Math.floor(next() * 12) }, () => chars[Math.floor(next() * chars.length)]).join('');
  }
  if (r < 0.65) return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(next() * 6);
  for (let i = 0; i < n; i++) o[['id', 'name', 'x', 'ü', 'a:b', 'k' + i][Math.floor(next() * 6)]] = randomValue(next, depth + 1);
  return o;
}

describe('streaming JSON body profile', () => {
  it('equals the data model profile of the decoded value', () => {
    const next = rng(7);
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(next, 0);
      const text = JSON.stringify(value);
      expect(viaSession(text), text).toEqual(viaModel(value));
    }
  });

  it('prints values inside leaves as their text would, escapes and repeated keys included', () => {
    // Leaves are tallied without writing their text; these take the paths that give up and
    // print the text instead (a repeated key, an escaped key) or decode while tallying.
    const cases = [
      ['{"k":[{"a":1,"b":2,"a":"x--0x"}]}', { k: [{ a: 'x--0x', b: 2 }] }],
      ['{"k":[{"a\\u0041":1,"b":[{"c":null,"c":[]}]}]}', { k: [{ 'a\u0041': 1, b: [{ c: [] }] }] }],
      ['{"k":[" \\u00e9\\ud83d\\ude00\\ud800x\\t/*", "a\\"b", 1e21, 0.000001, 1.50, {}, [], true]}', null],
      ['[{"z":1,"é":2,"":"0","Z":"x"}, {"sku":"SKU-1","qty":3}, "\\u0000\\u007f"]', null],
    ] as const;
    for (const [text, value] of cases) expect(viaSession(text), text).toEqual(viaModel(value ?? JSON.parse(text)));
  });

  it('sorts wide objects inside leaves and keeps the last of a repeated key', () => {
    const next = rng(11);
    for (let round = 0; round < 60; round++) {
      const n = 17 + Math.floor(next() * 60);
      // Odd rounds: distinct keys in a scrambled order; even rounds: repeated keys likely.
      const key = (i: number): number => (round % 2 ? (i * 7919 + round) % 1009 : Math.floor(next() * 150));
      const members = Array.from({ length: n }, (_, i) => `"k${key(i)}":${i}`);
      const text = `{"a":[{${members.join(',')}}]}`;
      expect(viaSession(text), text).toEqual(viaModel(JSON.parse(text)));
    }
  });

  it('keeps the last value of a repeated member path', () => {
    // A fresh core: its table of member paths is not yet full (then every path is looked up).
    const fresh = createCore(readBuildFile('guard-core.wasm'));
    const text = '{"o":{"a":1,"a":[2],"b":[{}],"b":[]},"c":"x","o":{"b":"y"}}';
    expect(viaSession(text, fresh), text).toEqual(viaModel({ o: { a: [2], b: 'y' }, c: 'x' }));
  });

  it('profiles the first value; data after it is the fault JsonTrailingData', () => {
    expect(viaSession('{"a":1} trailing garbage')).toEqual(viaModel({ a: 1 }, ['JsonTrailingData']));
    // NDJSON, concatenated values, a second document: what a streaming reader goes on to read
    const trailing: Array<[string, unknown]> = [
      ['{"a":1}\n{"b":2}\n', { a: 1 }],
      ['{"a":1}{"b":2}', { a: 1 }],
      ['[1,2] [3]', [1, 2]],
      ['[]x', []],
      ['"s" "t"', 's'],
      ['12 34', 12],
      ['true\tfalse', true],
      ['null null', null],
      ['{"a":1} \u0000', { a: 1 }],
    ];
    for (const [text, value] of trailing) expect(viaSession(text), JSON.stringify(text)).toEqual(viaModel(value, ['JsonTrailingData']));
    // whitespace alone after the value is no trailing data
    for (const text of ['{"a":1}\n', '{"a":1} \t\r\n ', '12\n', ' "s" ']) {
      expect(viaSession(text), JSON.stringify(text)).toEqual(viaModel(JSON.parse(text)));
    }
  });

  it('faults on invalid JSON, and on a scalar run into other bytes as Go\'s decoder does', () => {
    for (const bad of ['{', '{"a":}', '[1,]', 'tru', '"\\x"', '{"a":1,}', '12abc', '0123', 'truex', 'nullx', '"a"b', '1.5e3e', ' ']) {
      const reqbody = viaSession(bad) as { faults: { set: string[] } };
      expect(reqbody.faults.set, bad).toEqual(['FailedJsonDecode']);
    }
  });

  it('keeps the keys of null members, profiled as Go prints nil ("<nil>")', () => {
    const text = '{"a":null,"b":{"c":null,"d":1},"e":[null],"f":{}}';
    const kv = (viaSession(text) as any).structured.kv;
    // An empty object is a leaf: its key is kept, its value profiled as Go prints it ("map[]").
    expect(Object.keys(kv)).toEqual(['a', 'b:c', 'b:d', 'e', 'f']);
    expect(kv.f).toEqual(core.introspect({ type: 'SimpleVal', op: 'pile', inputs: ['map[]'] }));
    const nil = core.introspect({ type: 'SimpleVal', op: 'pile', inputs: ['<nil>'] });
    expect(kv.a).toEqual(nil);
    expect(kv['b:c']).toEqual(nil);
    expect(kv.e).toEqual(core.introspect({ type: 'SimpleVal', op: 'pile', inputs: ['[<nil>]'] }));
    // the original's data model (introspect without keepNulls) still leaves them out
    const original = core.introspect({ type: 'Structured', op: 'profile', input: JSON.parse(text) }) as any;
    expect(Object.keys(original.kv)).toEqual(['b:d', 'e', 'f']);
    // a repeated key whose last value is null keeps the key, with the null
    expect(Object.keys((viaSession('{"a":1,"a":null}') as any).structured.kv)).toEqual(['a']);
    expect((viaSession('{"a":1,"a":null}') as any).structured.kv.a).toEqual(nil);
  });

  it('a Guardian learned without a null member decides one as out of pattern', () => {
    const post = (body: string) => ({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']] as HeaderLine[], body });
    const g = learnedGuardian(['{"id":1,"note":"x"}', '{"id":2,"note":"yy"}'].map(post));
    const decide = (body: string): string => {
      const s = core.newSession();
      s.profileRequest(post(body));
      s.decide(g, Section.All);
      const d = s.decisionString();
      s.dispose();
      return d;
    };
    expect(decide('{"id":3,"note":"z"}')).toBe('');
    expect(decide('{"id":3,"note":null}')).toContain('KnownKey note');
    expect(decide('{"id":3,"admin":null}')).toContain('Key admin is not known');
    // A key added with an empty object (or one nested in one) as its value is seen too.
    expect(decide('{"id":3,"admin":{}}')).toContain('Key admin is not known');
    expect(decide('{"id":3,"__proto__":{ }}')).toContain('Key __proto__ is not known');
    expect(decide('{"id":3,"x":{"y":{}}}')).toContain('Key x:y is not known');
    expect(decide('{"id":3,"note":"z"}\n{"admin":true}')).toContain('Body Faults:[Unexpected key JsonTrailingData in Set,]');
    g.dispose();
  });

  it('keeps escapes, surrogates and invalid UTF-8 as Go decodes them', () => {
    const s = core.newSession();
    s.profileRequest({ method: 'POST', path: '/', headers: [['Content-Type', 'application/json']], body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x5c, 0x75, 0x64, 0x38, 0x30, 0x30, 0x22, 0x7d]) });
    const p = core.newPile();
    p.add(s);
    const kv = JSON.parse(p.toWire()).reqbody.structured.kv;
    // "\xff" and the lone "\ud800" are each one U+FFFD: two unicode chars in block word 15.
    expect(kv.a.Unicodes).toBe('Ag==');
    expect(kv.a.UnicodeFlags).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1073741824]);
  });
});
