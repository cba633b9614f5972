// Vectors of the original's data model — KeyVal, Headers, Query; Go's query parsing.
import { describe, expect, test } from 'vitest';
import {
  EMPTY_KV_CONFIG,
  expectDecide,
  learn,
  pile,
  profile,
  svConfig,
  svProfile,
  ZERO_SV_CONFIG,
  ZERO_SV_PROFILE,
} from './helpers.js';

const K1_REASONS =
  'KnownKey a:[Digits:[Limit out of Range: 3,],Sequences:[Limit out of Range: 2,],],Key b is not known,';

describe('KeyVal / Headers / Query', () => {
  test('V-K1 KeyVal learn and decide', () => {
    const config = learn('KeyVal', [{ a: ['abc'] }]);
    expect(config).toEqual({ vals: { a: svConfig(0, 3, 0, 0, 0, 0, 1, 0) }, otherVals: null, otherKeynames: null });
    expectDecide('KeyVal', config, { a: ['123abc'], b: ['12'] }, `[${K1_REASONS}]`);
    expectDecide('KeyVal', config, { a: ['abcd'] }, '[KnownKey a:[Letters:[Limit out of Range: 4,],],]');
    expectDecide('KeyVal', config, { a: ['xyz'] }, '');
    expectDecide('KeyVal', config, {}, '');
    // reasons sorted byte-wise (upper case first), whatever the input order
    expectDecide('KeyVal', config, { b: 'x', B: 'y', c: 'z' }, '[Key B is not known,Key b is not known,Key c is not known,]');
  });

  test('V-K2 Query wraps the same under KeyVal', () => {
    const config = learn('Query', [{ a: ['abc'] }]);
    expect(config).toEqual({
      kv: { vals: { a: svConfig(0, 3, 0, 0, 0, 0, 1, 0) }, otherVals: null, otherKeynames: null },
    });
    expectDecide('Query', config, { a: ['123abc'], b: ['12'] }, `[KeyVal:[${K1_REASONS}],]`);
    expectDecide('Query', config, { raw: 'a=123abc&b=12' }, `[KeyVal:[${K1_REASONS}],]`);
    expectDecide('Query', config, { a: ['abcd'] }, '[KeyVal:[KnownKey a:[Letters:[Limit out of Range: 4,],],],]');
    expect(learn('Query', [{ raw: 'a=abc' }])).toEqual(config);
  });

  test('V-K3 Headers (key canonicalised by http.Header.Add upstream → "A")', () => {
    const config = learn('Headers', [{ A: ['x'] }]);
    expect(config).toEqual({
      kv: { vals: { A: svConfig(0, 1, 0, 0, 0, 0, 1, 0) }, otherVals: null, otherKeynames: null },
    });
    expectDecide('Headers', config, { B: ['x'] }, '[KeyVal:[Key B is not known,],]');
    expectDecide('Headers', config, { A: ['y'] }, '');
    // data-model level: keys used exactly as given
    expectDecide('Headers', config, { a: ['x'] }, '[KeyVal:[Key a is not known,],]');
  });

  test('V-K4 multi-value joined with one space', () => {
    expect(profile('KeyVal', { m: ['x', 'yz'] })).toEqual({ m: svProfile(0, 3, 1, 0, 0, 0, 3, 0) });
    expect(profile('KeyVal', { m: 'x yz' })).toEqual({ m: svProfile(0, 3, 1, 0, 0, 0, 3, 0) });
    expect(profile('Headers', { M: ['x', 'yz'] })).toEqual({ kv: { M: svProfile(0, 3, 1, 0, 0, 0, 3, 0) } });
    // a key with an empty list profiles ""
    expect(profile('KeyVal', { m: [] })).toEqual({ m: ZERO_SV_PROFILE });
    // empty map → nil
    expect(profile('KeyVal', {})).toBe(null);
    expect(profile('Headers', {})).toEqual({ kv: null });
  });

  test('V-K5 key hashing (xxh3-64 beyond 64 bytes)', () => {
    const k64 = 'k'.repeat(64);
    expect(Object.keys(profile('KeyVal', { [k64]: 'v' }))).toEqual([k64]);
    expect(Object.keys(profile('KeyVal', { ['k'.repeat(65)]: 'v' }))).toEqual(['xxHash 7506843945359262845']);
    expect(Object.keys(profile('KeyVal', { ['a'.repeat(100)]: 'v' }))).toEqual(['xxHash 4692068465866116615']);
    const long = 'X-Very-Long-Header-Name-That-Exceeds-The-Sixty-Four-Character-Limit';
    expect(Buffer.byteLength(long)).toBe(67);
    expect(Object.keys(profile('Headers', { [long]: ['v'] }).kv)).toEqual(['xxHash 2211487336288654405']);
    // the limit is on the key's UTF-8 byte length: 32 × "é" = 64 bytes kept, 33 × "é" hashed
    expect(Object.keys(profile('KeyVal', { ['é'.repeat(32)]: 'v' }))).toEqual(['é'.repeat(32)]);
    expect(Object.keys(profile('KeyVal', { ['é'.repeat(33)]: 'v' }))[0]).toMatch(/^xxHash [0-9]+$/);
    expectDecide('KeyVal', EMPTY_KV_CONFIG, { ['a'.repeat(100)]: 'x' }, '[Key xxHash 4692068465866116615 is not known,]');
    const config = learn('KeyVal', [{ ['a'.repeat(100)]: 'x' }]);
    expect(Object.keys(config.vals)).toEqual(['xxHash 4692068465866116615']);
    expectDecide('KeyVal', config, { ['a'.repeat(100)]: 'y' }, '');
  });

  test('V-K6 ten keys: eviction into OtherVals / OtherKeynames', () => {
    const input: Record<string, string> = {};
    const word = 'abcdefghi';
    for (let i = 1; i <= 9; i++) input[`k${i}`] = word.slice(0, i);
    input.kz = '';
    const config = learn('KeyVal', [input]);
    const vals: Record<string, unknown> = {};
    for (let i = 3; i <= 9; i++) vals[`k${i}`] = svConfig(0, i, 0, 0, 0, 0, 1, 0);
    expect(config).toEqual({
      vals,
      otherVals: svConfig(0, 2, 0, 0, 0, 0, 1, 0),
      otherKeynames: svConfig(1, 2, 0, 0, 0, 0, 2, 0),
    });
    expectDecide('KeyVal', config, { a: 'ab' }, '');
    expectDecide('KeyVal', config, { zz: 'ab' }, '');
    expectDecide(
      'KeyVal',
      config,
      { k1: 'a$' },
      '[OtherVals k1:[Sequences:[Limit out of Range: 2,],Special Chars Used:[Unexpected Flags DollarSign  (0x8) in Value,],SpecialChars:[Limit out of Range: 1,],],]',
    );
    // an unknown key name outside OtherKeynames → child "OtherKeyname <k>:" (trailing colon)
    expectDecide(
      'KeyVal',
      config,
      { 'k-1': 'a' },
      '[OtherKeyname k-1::[Sequences:[Limit out of Range: 3,],Special Chars Used:[Unexpected Flags MinusSign  (0x800) in Value,],SpecialChars:[Limit out of Range: 1,],],]',
    );
    // the same scenario split over two learns (Prepare of a decoded config ranks the kept keys)
    const again = learn('KeyVal', [{ k1: 'a' }], { config });
    expect(again).toEqual(config);
    // a decoded config is Prepared before Learn: a new high-scoring key evicts the lowest kept
    // key (k3, score 7) into the Other buckets, as the original evicts
    const evicted = learn('KeyVal', [{ kq: 'abcdefghijklmnop' }], { config });
    expect(Object.keys(evicted.vals).sort()).toEqual(['k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'kq']);
    expect(evicted.vals.kq).toEqual(svConfig(0, 16, 0, 0, 0, 0, 1, 0));
    expect(evicted.otherVals).toEqual(svConfig(0, 3, 0, 0, 0, 0, 1, 0));
    expect(evicted.otherKeynames).toEqual(svConfig(1, 2, 0, 0, 0, 0, 2, 0));
    expectDecide('KeyVal', evicted, { k3: 'abc' }, '');
    // a low-scoring new key goes straight to the Other buckets
    const low = learn('KeyVal', [{ kzz2: 'ab' }], { config });
    expect(Object.keys(low.vals).sort()).toEqual(Object.keys(config.vals).sort());
    expect(low.otherKeynames).toEqual(svConfig(1, 3, 0, 0, 0, 0, 2, 0));
  });

  test('V-K7 ties: the first 7 keys in byte-wise sorted order are kept (the original kept random ones, docs/compatibility.md)', () => {
    const input: Record<string, string[]> = {};
    for (let i = 8; i >= 1; i--) input[`k${i}`] = ['abc'];
    const config = learn('KeyVal', [input]);
    expect(Object.keys(config.vals).sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    expect(config.otherKeynames).not.toBe(null);
    expect(config.otherKeynames).toEqual(svConfig(1, 1, 0, 0, 0, 0, 2, 0));
    expect(config.otherVals).toEqual(svConfig(0, 3, 0, 0, 0, 0, 1, 0));
    expectDecide('KeyVal', config, { k8: 'xyz' }, '');
    // deterministic: the same input in another order gives the same config
    const shuffled: Record<string, string[]> = {};
    for (const k of ['k5', 'k8', 'k2', 'k7', 'k1', 'k4', 'k6', 'k3']) shuffled[k] = ['abc'];
    expect(learn('KeyVal', [shuffled])).toEqual(config);
  });

  test('V-K8 the empty key', () => {
    const config = learn('KeyVal', [{ '': '', x: '' }]);
    expect(config).toEqual({ vals: {}, otherVals: ZERO_SV_CONFIG, otherKeynames: svConfig(0, 1, 0, 0, 0, 0, 1, 0) });
    expectDecide(
      'KeyVal',
      config,
      { '': 'v' },
      '[OtherVals :[Letters:[Limit out of Range: 1,],Sequences:[Limit out of Range: 1,],],]',
    );
    expectDecide('KeyVal', EMPTY_KV_CONFIG, { '': 'v' }, '[Key  is not known,]');
  });

  test('V-K9 query parsing (Go url.ParseQuery)', () => {
    expect(profile('Query', { raw: 'q=hello%20world&q=%E2%82%AC' })).toEqual({
      kv: { q: svProfile(0, 10, 2, 0, 0, 1, 5, 0, [0, 0, 1]) },
    });
    const same = (raw: string, map: Record<string, string[]>) =>
      expect(profile('Query', { raw }), raw).toEqual(profile('Query', map));
    same('a=1&a=2&b', { a: ['1', '2'], b: [''] });
    expect(profile('Query', { raw: 'a=1&a=2&b' })).toEqual({
      kv: { a: svProfile(2, 0, 1, 0, 0, 0, 3, 0), b: ZERO_SV_PROFILE },
    });
    expect(profile('Query', { raw: 'a=1;b=2' })).toEqual({ kv: null });
    same('x=%41%42&y=a+b', { x: ['AB'], y: ['a b'] });
    expect(profile('Query', { raw: 'x=%41%42&y=a+b' })).toEqual({
      kv: { x: svProfile(0, 2, 0, 0, 0, 0, 1, 0), y: svProfile(0, 2, 1, 0, 0, 0, 3, 0) },
    });
    same('=v&k=', { '': ['v'], k: [''] });
    same('bad=%zz&ok=1', { ok: ['1'] });
    same('a[]=1&a[]=2', { 'a[]': ['1', '2'] });
    same('x=%4a%4A', { x: ['JJ'] });
    same('&&a=1&&', { a: ['1'] });
    expect(profile('Query', { raw: '' })).toEqual({ kv: null });
  });

  test('KeyVal pile shapes', () => {
    expect(pile('KeyVal', [])).toBe(null);
    expect(pile('KeyVal', [{}])).toEqual({});
    expect(pile('Headers', [])).toEqual({ kv: null });
    expect(pile('Headers', [{}])).toEqual({ kv: {} });
    expect(pile('Headers', [{ A: ['x'] }], { clear: true })).toEqual({ kv: null });
    const p = pile('KeyVal', [{ a: 'x' }], { merge: [pile('KeyVal', [{ b: '1' }])] });
    expect(Object.keys(p).sort()).toEqual(['a', 'b']);
    expect(p.b).toEqual({
      Digits: 'AQ==',
      Letters: 'AA==',
      Spaces: 'AA==',
      SpecialChars: 'AA==',
      NonReadables: 'AA==',
      Unicodes: 'AA==',
      Sequences: 'AQ==',
      Flags: 0,
      UnicodeFlags: null,
    });
  });
});
