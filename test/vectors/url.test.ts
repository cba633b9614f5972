// Vectors of the original's data model — Url path.
import { describe, expect, test } from 'vitest';
import { expectDecide, learn, profile, svConfig, svProfile, ZERO_SV_PROFILE } from './helpers.js';

describe('Url', () => {
  test('V-U1 profile', () => {
    expect(profile('Url', 'abc/def/file.html')).toEqual({ val: svProfile(0, 14, 0, 1, 0, 0, 3, 4096), segments: 3 });
    expect(profile('Url', 'CDE').segments).toBe(1);
  });

  test('V-U2 learn V-U1 and decide', () => {
    const config = learn('Url', ['abc/def/file.html']);
    expect(config).toEqual({ val: svConfig(0, 14, 0, 1, 0, 0, 3, 4096), segments: [{ min: 3, max: 3 }] });
    expectDecide('Url', config, 'CDE', '[Segments:[Counter out of Range: 1,],]');
    expectDecide(
      'Url',
      config,
      'abc/234/fil^e.ht%ml',
      '[Val:[Digits:[Limit out of Range: 3,],Sequences:[Limit out of Range: 9,],Special Chars Used:[Unexpected Flags PercentSign PowerSign  (0x400010) in Value,],SpecialChars:[Limit out of Range: 3,],],]',
    );
    expectDecide('Url', config, '/abc/def/ghi.jkl', '');
  });

  test('V-U3 segment counting', () => {
    const table: Array<[string, number]> = [
      ['', 0], ['/', 0], ['//', 1], ['/a', 1], ['/a/', 1], ['//a//', 3], ['/a/b/c/d', 4], ['abc/def/file.html', 3],
    ];
    for (const [path, segments] of table) expect(profile('Url', path).segments, JSON.stringify(path)).toBe(segments);
    expect(profile('Url', '//').val).toEqual(ZERO_SV_PROFILE);
    expect(profile('Url', '//a//').val).toEqual(svProfile(0, 1, 0, 0, 0, 0, 1, 0));
    expect(profile('Url', '/a'.repeat(300)).segments).toBe(255);
  });
});
