// Vectors of the original's data model — AsciiFlags.
import { describe, expect, test } from 'vitest';
import { expectDecide, introspect, learn, pile, profile } from './helpers.js';

describe('AsciiFlags', () => {
  test('V-A1 learn 4, decide 5 and 2', () => {
    expect(profile('AsciiFlags', 5)).toBe(5);
    const config = learn('AsciiFlags', [4]);
    expect(config).toBe(4);
    expectDecide('AsciiFlags', config, 5, '[Unexpected Flags Exclamation  (0x1) in Value,]');
    expectDecide('AsciiFlags', config, 2, '[Unexpected Flags DoubleQuote  (0x2) in Value,]');
    expectDecide('AsciiFlags', config, 4, '');
    expectDecide('AsciiFlags', config, 0, '');
  });

  test('V-A2 unnamed bits still print their space', () => {
    const bits = (1 << 5) | (1 << 9) | (1 << 27);
    expect(bits).toBe(0x8000220);
    expectDecide('AsciiFlags', 0, bits, '[Unexpected Flags  PlusSign   (0x8000220) in Value,]');
  });

  test('V-A3 score = popcount', () => {
    expect(introspect({ op: 'score', type: 'AsciiFlags', config: 43756 })).toBe(9);
    expect(introspect({ op: 'score', type: 'AsciiFlags', config: 0 })).toBe(0);
  });

  test('AsciiFlags names table, pile OR, fuse OR', () => {
    // bit 19 is misnamed CommentSign; bits 30/31 combinations; lowercase hex
    expectDecide('AsciiFlags', 0, 1 << 19, '[Unexpected Flags CommentSign  (0x80000) in Value,]');
    expectDecide(
      'AsciiFlags',
      0,
      0xc0000000, // bits 30 and 31 (unsigned)
      '[Unexpected Flags CommentsCombination HexCombination  (0xc0000000) in Value,]',
    );
    expectDecide('AsciiFlags', 1, 3, '[Unexpected Flags DoubleQuote  (0x2) in Value,]');
    // bits 28 and 29 have no name: one space each
    expectDecide('AsciiFlags', 0, 0x30000000, '[Unexpected Flags    (0x30000000) in Value,]');
    expectDecide(
      'AsciiFlags',
      0,
      (1 << 16) | (1 << 20) | (1 << 21),
      '[Unexpected Flags Less/GreaterThanSign ReverseDivideSign SquareBracket  (0x310000) in Value,]',
    );
    expect(pile('AsciiFlags', [1, 4, 16])).toBe(21);
    expect(pile('AsciiFlags', [1], { merge: [6] })).toBe(7);
    expect(pile('AsciiFlags', [1, 2], { clear: true })).toBe(0);
    expect(learn('AsciiFlags', [8], { config: 3 })).toBe(11);
    expect(introspect({ op: 'fuse', type: 'AsciiFlags', config: 3, other: 12 })).toBe(15);
  });
});
