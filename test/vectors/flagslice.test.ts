// Vectors of the original's data model — FlagSlice.
import { describe, expect, test } from 'vitest';
import { expectDecide, introspect, learn, pile, profile } from './helpers.js';

const LEARNED = [1, 4, 3, 7, 43756, 22];

describe('FlagSlice', () => {
  test('V-F1 learn, score 19, decide two offending elements', () => {
    const config = learn('FlagSlice', [LEARNED]);
    expect(config).toEqual(LEARNED);
    expect(introspect({ op: 'score', type: 'FlagSlice', config })).toBe(19);
    expectDecide(
      'FlagSlice',
      config,
      [1, 5, 0, 7, 533, 22],
      '[Unexpected Flags in FlagSlice 215 on Element 4,Unexpected Flags in FlagSlice 5 on Element 1,]',
    );
    expectDecide('FlagSlice', config, LEARNED, '');
  });

  test('V-F2 whole profile word printed', () => {
    expectDecide('FlagSlice', LEARNED, [0, 0, 66, 7, 44, 22], '[Unexpected Flags in FlagSlice 42 on Element 2,]');
  });

  test('V-F3 element beyond the config', () => {
    expectDecide(
      'FlagSlice',
      LEARNED,
      [1, 4, 3, 7, 43756, 22, 0, 1],
      '[Unexpected Flags in FlagSlice 1 on Element 7,]',
    );
  });

  test('V-F4 Profile([]) stays nil', () => {
    expect(profile('FlagSlice', [])).toBe(null);
    expect(profile('FlagSlice', [0, 2])).toEqual([0, 2]);
  });

  test('FlagSlice merge / fuse / empty config', () => {
    expect(pile('FlagSlice', [[1], [0, 0, 4]])).toEqual([1, 0, 4]);
    expect(pile('FlagSlice', [[1, 2, 3]], { merge: [[4]] })).toEqual([5, 2, 3]);
    expect(pile('FlagSlice', [[1]], { clear: true })).toBe(null);
    expect(pile('FlagSlice', [])).toBe(null);
    expect(learn('FlagSlice', [[0, 8]], { config: [1, 2, 4] })).toEqual([1, 10, 4]);
    expect(introspect({ op: 'fuse', type: 'FlagSlice', config: [1], other: [2, 4] })).toEqual([3, 4]);
    expectDecide('FlagSlice', null, [0, 3], '[Unexpected Flags in FlagSlice 3 on Element 1,]');
    expectDecide('FlagSlice', null, [], '');
  });
});
