// Vectors of the original's data model — Count.
import { describe, expect, test } from 'vitest';
import { expectDecide, introspect, learn, pile, profile } from './helpers.js';

const r = (min: number, max: number) => ({ min, max });

describe('Count', () => {
  test('V-C1 learn 4, decide', () => {
    expect(profile('Count', 4)).toBe(4);
    const config = learn('Count', [4]);
    expect(config).toEqual([r(4, 4)]);
    expectDecide('Count', config, 5, '[Counter out of Range: 5,]');
    expectDecide('Count', config, 1, '[Counter out of Range: 1,]');
    expectDecide('Count', config, 0, '');
    expectDecide('Count', config, 4, '');
  });

  test('V-C2 empty config', () => {
    expectDecide('Count', null, 0, '');
    expectDecide('Count', null, 3, '[Value 3 Not Allowed!,]');
    // present but empty (decoded []) has no ranges either
    expectDecide('Count', [], 3, '[Value 3 Not Allowed!,]');
    expectDecide('Count', [], 0, '');
  });

  test('V-C3 learn 4 then pile {1,9} widens range 0', () => {
    const first = learn('Count', [4]);
    expect(learn('Count', [1, 9], { config: first })).toEqual([r(1, 9)]);
    // only range 0 is widened
    expect(learn('Count', [1, 12], { config: [r(2, 3), r(7, 9)] })).toEqual([r(1, 12), r(7, 9)]);
    // empty pile: no-op
    expect(learn('Count', [], { config: [r(2, 3)] })).toEqual([r(2, 3)]);
    expect(learn('Count', [])).toBe(null);
  });

  test('V-C4 ranges scanned in order with early stop', () => {
    const sorted = [r(2, 3), r(7, 9)];
    expectDecide('Count', sorted, 1, '[Counter out of Range: 1,]');
    expectDecide('Count', sorted, 2, '');
    expectDecide('Count', sorted, 3, '');
    expectDecide('Count', sorted, 4, '[Counter out of Range: 4,]');
    expectDecide('Count', sorted, 7, '');
    expectDecide('Count', sorted, 9, '');
    expectDecide('Count', sorted, 10, '[Counter out of Range: 10,]');
    const unsorted = [r(7, 9), r(2, 3)];
    expectDecide('Count', unsorted, 2, '[Counter out of Range: 2,]');
    expectDecide('Count', unsorted, 8, '');
  });

  test('V-C5 wire forms; decoded [] then Learn does not crash (a crash of the original, docs/compatibility.md)', () => {
    expect(pile('Count', [1, 2, 3, 255])).toBe('AQID/w==');
    expect(pile('Count', [0])).toBe('AA==');
    expect(pile('Count', [])).toBe(null);
    expect(pile('Count', [1, 2], { clear: true })).toBe(null);
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'pile', json: null })).toBe(null);
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'pile', json: '' })).toBe('');
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'pile', json: [1, 2, 3, 255] })).toBe('AQID/w==');
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'config', json: [] })).toEqual([]);
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'config', json: null })).toBe(null);
    expect(introspect({ op: 'roundtrip', type: 'Count', kind: 'config', json: [r(2, 3), r(7, 9)] })).toEqual([
      r(2, 3),
      r(7, 9),
    ]);
    // upstream crashes here; Guard: [] then learn v → [{"min":v,"max":v}]
    expect(learn('Count', [5], { config: [] })).toEqual([r(5, 5)]);
    expect(learn('Count', [5, 2], { config: [] })).toEqual([r(2, 5)]);
  });

  test('Count pile merge appends', () => {
    expect(pile('Count', [1], { merge: ['AgM='] })).toBe('AQID');
  });
});
