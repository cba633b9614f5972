// Vectors of the original's data model — Limit (exponential counter).
import { describe, expect, test } from 'vitest';
import { decideRaw, expectDecide, introspect, learn, limitCode, pile, profile } from './helpers.js';

describe('Limit', () => {
  test('V-L1 encode', () => {
    const table: Array<[number | string, number]> = [
      [0, 0], [15, 15], [16, 16], [17, 16], [18, 17], [31, 23], [32, 24], [47, 31], [48, 32],
      [79, 39], [80, 40], [100, 45], [255, 64], [256, 65], [496, 80], [527, 80], [528, 81],
      [1000, 95], [1024, 96], [4096, 128], [10000, 147], [65535, 192], [1_000_000, 254],
      [1_015_791, 254], [1_015_792, 255], ['18446744073709551615', 255],
    ];
    for (const [v, code] of table) expect(profile('Limit', v), `Limit(${v})`).toBe(code);
    // further values the original's encoding gives
    const more: Array<[number | string, number]> = [
      [1, 1], [9, 9], [19, 17], [20, 18], [33, 24], [50, 32], [111, 47], [112, 48], [128, 50],
      [144, 52], [176, 56], [200, 59], [239, 63], [240, 64], [303, 67], [304, 68], [1023, 96],
      [65536, 192], [1_048_576, 255], [2 ** 32, 255], ['4294967296', 255], ['9007199254740993', 255],
    ];
    for (const [v, code] of more) expect(profile('Limit', v), `Limit(${v})`).toBe(code);
    // Any negative or ≥ 1 015 792 input yields 255 — also beyond 2^64
    for (const big of ['18446744073709551616', '99999999999999999999999', '340282366920938463463374607431768211456']) {
      expect(profile('Limit', big), `Limit(${big})`).toBe(255);
    }
    // negative (a negative int64 converted to uint) → 255
    expect(profile('Limit', -1)).toBe(255);
    expect(profile('Limit', -7200)).toBe(255);
  });

  test('V-L2 learn 4, decide', () => {
    const config = learn('Limit', [4]);
    expect(config).toBe(4);
    expectDecide('Limit', config, 5, '[Limit out of Range: 5,]');
    expectDecide('Limit', config, 9, '[Limit out of Range: 9,]');
    expectDecide('Limit', config, 4, '');
    expectDecide('Limit', config, 0, '');
  });

  test('V-L3 pile base64 and zero config', () => {
    // value 98288 encodes to code 200 (closed form: code 16k+r = [2^k(16+r)-16, …])
    expect(limitCode(98288n)).toBe(200);
    expect(profile('Limit', 98288)).toBe(200);
    expect(pile('Limit', [4, 5, 98288])).toBe('BAXI');
    // decoding accepts base64 and plain arrays of codes
    expect(introspect({ op: 'roundtrip', type: 'Limit', kind: 'pile', json: 'BAXI' })).toBe('BAXI');
    expect(introspect({ op: 'roundtrip', type: 'Limit', kind: 'pile', json: [4, 5, 200] })).toBe('BAXI');
    // zero LimitConfig decides code 1
    expectDecide('Limit', 0, 1, '[Limit out of Range: 1,]');
    expectDecide('Limit', 0, 0, '');
  });

  test('Limit pile / learn / score / fuse', () => {
    expect(pile('Limit', [])).toBe(null);
    expect(pile('Limit', [4, 5], { clear: true })).toBe(null);
    expect(pile('Limit', [4], { merge: ['BQ=='] })).toBe('BAU=');
    // The original's self-merge doubles the list; Guard keeps the distinct codes, ascending
    // (same learned result; docs/compatibility.md "Piles keep distinct codes").
    expect(pile('Limit', [1, 2], { merge: ['AQI='] })).toBe('AQI=');
    expect(introspect({ op: 'roundtrip', type: 'Limit', kind: 'pile', json: [200, 4, 4, 5] })).toBe('BAXI');
    expect(learn('Limit', [3, 100, 7])).toBe(45);
    expect(learn('Limit', [3], { config: 45 })).toBe(45);
    expect(learn('Limit', [], { config: 9 })).toBe(9);
    expect(learn('Limit', [1000], { config: 9 })).toBe(95);
    expect(introspect({ op: 'score', type: 'Limit', config: 45 })).toBe(45);
    expect(introspect({ op: 'fuse', type: 'Limit', config: 45, other: 95 })).toBe(95);
    expect(introspect({ op: 'fuse', type: 'Limit', config: 95, other: 45 })).toBe(95);
    // decide encodes the value first: 100 → code 45 accepted by 45, 101 → 45 too, 112 → 48 not
    expectDecide('Limit', 45, 101, '');
    expectDecide('Limit', 45, 112, '[Limit out of Range: 48,]');
    expect(decideRaw('Limit', 255, '18446744073709551615').decision).toBe('');
  });
});
