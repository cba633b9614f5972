// Vectors of the original's data model — Set.
import { describe, expect, test } from 'vitest';
import { expectDecide, introspect, learn, pile, profile } from './helpers.js';

describe('Set', () => {
  test('V-S1 learn "ABC", decide strings; JSON shapes', () => {
    expect(profile('Set', 'ABC')).toEqual(['ABC']);
    expect(profile('Set', '')).toEqual(['']);
    const config = learn('Set', ['ABC']);
    expect(config).toEqual({ set: ['ABC'] });
    expectDecide('Set', config, 'CDE', '[Unexpected key CDE in Set,]');
    expectDecide('Set', config, '123', '[Unexpected key 123 in Set,]');
    expectDecide('Set', config, 'ABC', '');
  });

  test('V-S2 slice profile', () => {
    expect(profile('Set', ['CDE', 'XXY', 'CDE'])).toEqual(['CDE', 'XXY', 'CDE']);
    const config = learn('Set', [['ABC']]);
    expect(config).toEqual({ set: ['ABC'] });
    expectDecide('Set', config, ['CDE', 'XXY'], '[Unexpected key CDE in Set,Unexpected key XXY in Set,]');
    // duplicates reported twice
    expectDecide('Set', config, ['CDE', 'ABC', 'CDE'], '[Unexpected key CDE in Set,Unexpected key CDE in Set,]');
  });

  test('V-S3 duplicates collapse through add, merge, learn twice and JSON', () => {
    const a = pile('Set', ['X']);
    const merged = pile('Set', ['X'], { merge: [a] });
    expect(merged).toEqual({ set: ['X'] });
    expect(pile('Set', ['X', 'X', ['X', 'Y']])).toEqual({ set: ['X', 'Y'] });
    expect(learn('Set', ['X', 'X'], { times: 2 })).toEqual({ set: ['X'] });
    expect(learn('Set', undefined, { pile: merged, times: 2 })).toEqual({ set: ['X'] });
    const rt = introspect({ op: 'roundtrip', type: 'Set', kind: 'pile', json: merged });
    expect(rt).toEqual({ set: ['X'] });
    // decoded pile + decoded & prepared config + learn
    expect(learn('Set', undefined, { pile: rt, config: { set: ['X'] } })).toEqual({ set: ['X'] });
    // decoded pile, then Add: lookup map rebuilt lazily
    expect(pile('Set', ['X', 'Z'], { merge: [rt] })).toEqual({ set: ['X', 'Z'] });
  });

  test('V-S4 decoded config without Prepare rejects every key', () => {
    expectDecide('Set', { set: ['ABC'] }, ['ABC'], '[Unexpected key ABC in Set,]', { prepare: false });
    expectDecide('Set', { set: ['ABC'] }, ['ABC'], '', { prepare: true });
    expectDecide('Set', { set: ['ABC'] }, ['ABC'], '');
    // the same holds for every Set inside a composite config
    expectDecide(
      'MediaType',
      { type: { set: ['text/html'] }, params: null },
      'text/html',
      '[Type:[Unexpected key text/html in Set,],]',
      { prepare: false },
    );
    expectDecide('MediaType', { type: { set: ['text/html'] }, params: null }, 'text/html', '');
    expectDecide('Body', { faults: { set: ['TooLargeBody'] } }, { fault: 'TooLargeBody' }, '[Body Faults:[Unexpected key TooLargeBody in Set,],]', {
      prepare: false,
    });
  });

  test('V-S5 empty pile / config; nil profile accepted', () => {
    expect(pile('Set', [])).toEqual({ set: null });
    expect(learn('Set', [])).toEqual({ set: null });
    expect(pile('Set', ['a', 'b'], { clear: true })).toEqual({ set: null });
    // nil profile (input null is this suite's spelling of "no profile") vs empty config
    expectDecide('Set', { set: null }, null, '');
    expectDecide('Set', { set: null }, [], '');
    expectDecide('Set', { set: null }, 'a', '[Unexpected key a in Set,]');
  });

  test('Set learn keeps encounter order', () => {
    expect(learn('Set', ['b', 'a', 'b', 'c'], { config: { set: ['c'] } })).toEqual({ set: ['c', 'b', 'a'] });
  });
});
