// Vectors of the original's data model — SimpleVal profiles, decide, score, fuse.
import { describe, expect, test } from 'vitest';
import { expectDecide, introspect, learn, profile, svConfig, svProfile } from './helpers.js';

const hebrew1 = 'A23/*מכבי*/';
const hebrew2 = 'A23/*מכבימכבי*/';

describe('SimpleVal', () => {
  test('V-SV1 ABC', () => {
    expect(profile('SimpleVal', 'ABC')).toEqual(svProfile(0, 3, 0, 0, 0, 0, 1, 0, null));
  });

  test('V-SV2 hebrew1', () => {
    expect(profile('SimpleVal', hebrew1)).toEqual(svProfile(2, 1, 0, 4, 0, 4, 5, 1073750272, [1024]));
    expect(1073750272).toBe(0x40002100);
  });

  test('V-SV3 hebrew2', () => {
    expect(profile('SimpleVal', hebrew2)).toEqual(svProfile(2, 1, 0, 4, 0, 8, 5, 1073750272, [1024]));
  });

  test('V-SV4 empty string', () => {
    expect(profile('SimpleVal', '')).toEqual(svProfile(0, 0, 0, 0, 0, 0, 0, 0, null));
  });

  test('V-SV5 CJK', () => {
    expect(profile('SimpleVal', 'A23/*世界世界*/')).toEqual(
      svProfile(2, 1, 0, 4, 0, 4, 5, 1073750272, [0, 0, 0, 0, 134217728, 0, 0, 512]),
    );
  });

  test('V-SV6 $$', () => {
    expect(profile('SimpleVal', '$$')).toEqual(svProfile(0, 0, 0, 2, 0, 0, 1, 8, null));
  });

  // The loremIpsum constant of upstream simpleVal_test.go (expected 8/79/44/11/16/0/60/267328/null)
  // is not known here; not reconstructed on purpose.
  test.todo('V-SV7 loremIpsum (the original\'s constant is not known here)');

  test('V-SV8 hex combination', () => {
    expect(profile('SimpleVal', '0x1F')).toEqual(svProfile(2, 2, 0, 0, 0, 0, 4, 2147483648, null));
    expect(profile('SimpleVal', '0X')).toEqual(svProfile(1, 1, 0, 0, 0, 0, 2, 2147483648, null));
    expect(profile('SimpleVal', 'x0x')).toEqual(svProfile(1, 2, 0, 0, 0, 0, 3, 2147483648, null));
  });

  test('V-SV9 comments combination', () => {
    expect(profile('SimpleVal', 'a--b')).toEqual(svProfile(0, 2, 0, 2, 0, 0, 3, 1073743872, null));
    expect(profile('SimpleVal', '/*c*/')).toEqual(svProfile(0, 1, 0, 4, 0, 0, 3, 1073750272, null));
    expect(profile('SimpleVal', '//')).toEqual(svProfile(0, 0, 0, 2, 0, 0, 1, 8192, null));
  });

  test('V-SV10 spaces and non-readables', () => {
    expect(profile('SimpleVal', 'Hello World 123')).toEqual(svProfile(3, 10, 2, 0, 0, 0, 5, 0, null));
    expect(profile('SimpleVal', 'a\tb\r\n')).toEqual(svProfile(0, 2, 0, 0, 3, 0, 4, 0, null));
    expect(profile('SimpleVal', '\x7f\x00')).toEqual(svProfile(0, 0, 0, 0, 2, 0, 1, 0, null));
  });

  test('V-SV11 punctuation flags', () => {
    expect(profile('SimpleVal', '~&')).toEqual(svProfile(0, 0, 0, 2, 0, 0, 1, 134217760, null));
    const punct = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    expect(punct.length).toBe(32);
    expect(profile('SimpleVal', punct)).toEqual(svProfile(0, 0, 0, 24, 0, 0, 1, 268435455, null));
  });

  test('V-SV12 unicode blocks', () => {
    expect(profile('SimpleVal', 'é')).toEqual(svProfile(0, 0, 0, 0, 0, 1, 1, 0, [1]));
    expect(profile('SimpleVal', '\u00ff\u0100')).toEqual(svProfile(0, 0, 0, 0, 0, 2, 1, 0, [3]));
    expect(profile('SimpleVal', '\u0fff\u1000')).toEqual(svProfile(0, 0, 0, 0, 0, 2, 1, 0, [3221225472]));
    const emoji = new Array(32).fill(0);
    emoji[31] = 2048;
    expect(profile('SimpleVal', '😀')).toEqual(svProfile(0, 0, 0, 0, 0, 1, 1, 0, emoji));
    const fffd = new Array(16).fill(0);
    fffd[15] = 1073741824;
    expect(profile('SimpleVal', { bytes: [0xff] })).toEqual(svProfile(0, 0, 0, 0, 0, 1, 1, 0, fffd));
    expect(profile('SimpleVal', '\ufffd')).toEqual(svProfile(0, 0, 0, 0, 0, 1, 1, 0, fffd));
    // Go decodes one U+FFFD per invalid byte: "a", a lead byte not followed by a continuation, "(",
    // "b"
    expect(profile('SimpleVal', { bytes: [0x61, 0xc3, 0x28, 0x62] })).toEqual(
      // a, U+FFFD, "(", b → letters 2, specials 1, unicodes 1, sequences 4, RoundBracket (bit 7)
      svProfile(0, 2, 0, 1, 0, 1, 4, 128, fffd),
    );
    expect(profile('SimpleVal', { bytes: [0xe2, 0x82] })).toEqual(svProfile(0, 0, 0, 0, 0, 2, 1, 0, fffd));
    // valid bytes equal the string form
    expect(profile('SimpleVal', { bytes: [0xc3, 0xa9] })).toEqual(profile('SimpleVal', 'é'));
  });

  test('V-SV13 assorted strings', () => {
    // The original's counts, and Guard's optional token members: an IP address is an address list
    // (kind 64, docs/tokens.md), which the original's decoder ignores.
    expect(profile('SimpleVal', '192.168.72.13')).toEqual({ ...(svProfile(10, 0, 0, 3, 0, 0, 7, 4096, null) as object), token: 64, tokenLen: 13 });
    expect(profile('SimpleVal', '***&*&^&^%^&(*&')).toEqual(svProfile(0, 0, 0, 15, 0, 0, 1, 4194736, null));
    expect(profile('SimpleVal', 'רגע עם דודלי')).toEqual(svProfile(0, 0, 2, 0, 0, 10, 5, 0, [1024]));
    expect(profile('SimpleVal', 'Yada Yada Yada')).toEqual(svProfile(0, 12, 2, 0, 0, 0, 5, 0, null));
    expect(profile('SimpleVal', 'licenseID=string&content=string&/paramsXML=string')).toEqual(
      svProfile(0, 29, 0, 6, 0, 0, 11, 139296, null),
    );
  });

  test('V-SV14 learn "ABC", decide hebrew1 / hebrew2', () => {
    const config = learn('SimpleVal', ['ABC']);
    expect(config).toEqual(svConfig(0, 3, 0, 0, 0, 0, 1, 0, null));
    const tail =
      'Sequences:[Limit out of Range: 5,],Special Chars Used:[Unexpected Flags MultiplySign DivideSign CommentsCombination  (0x40002100) in Value,],SpecialChars:[Limit out of Range: 4,],Unicode Blocks:[Unexpected Flags in FlagSlice 400 on Element 0,],';
    expectDecide(
      'SimpleVal',
      config,
      hebrew1,
      `[Digits:[Limit out of Range: 2,],${tail}Unicodes:[Limit out of Range: 4,],]`,
    );
    expectDecide(
      'SimpleVal',
      config,
      hebrew2,
      `[Digits:[Limit out of Range: 2,],${tail}Unicodes:[Limit out of Range: 8,],]`,
    );
    expectDecide('SimpleVal', config, 'XYZ', '');
    expectDecide('SimpleVal', config, 'AB', '');
  });

  test('V-SV15 score after learning one string', () => {
    const table: Array<[string, number]> = [
      ['', 0], ['a', 5], ['abc', 7], ['abcdefghi', 13], ['a b', 15], ['1/2', 22], ['a$b', 22], ['א', 9],
    ];
    for (const [s, score] of table) {
      const config = learn('SimpleVal', [s]);
      expect(introspect({ op: 'score', type: 'SimpleVal', config }), `score(${JSON.stringify(s)})`).toBe(score);
    }
    // a fresh (decoded) config of "a" + "a$b c" scores 32, as in the original
    const wide = learn('SimpleVal', ['a', 'a$b c']);
    expect(introspect({ op: 'score', type: 'SimpleVal', config: wide })).toBe(32);
  });

  test('V-SV16 fuse', () => {
    const a = svConfig(3, 0, 0, 0, 0, 0, 0, 1, [1]);
    const b = svConfig(0, 5, 0, 0, 0, 0, 0, 2, [0, 4]);
    expect(introspect({ op: 'fuse', type: 'SimpleVal', config: a, other: b })).toEqual(
      svConfig(3, 5, 0, 0, 0, 0, 0, 3, [1, 4]),
    );
  });

  test('SimpleVal pile wire form (capitalised keys, base64 counters)', () => {
    // Counters are base64 lists of the distinct codes seen, ascending (the original lists every
    // sample's code in order: Letters "AwA=", Spaces "AAA="; both learn the same).
    expect(introspect({ op: 'pile', type: 'SimpleVal', inputs: ['ABC', '12'] })).toEqual({
      Digits: 'AAI=',
      Letters: 'AAM=',
      Spaces: 'AA==',
      SpecialChars: 'AA==',
      NonReadables: 'AA==',
      Unicodes: 'AA==',
      Sequences: 'AQ==',
      Flags: 0,
      UnicodeFlags: null,
    });
    expect(introspect({ op: 'pile', type: 'SimpleVal', inputs: [] })).toEqual({
      Digits: null,
      Letters: null,
      Spaces: null,
      SpecialChars: null,
      NonReadables: null,
      Unicodes: null,
      Sequences: null,
      Flags: 0,
      UnicodeFlags: null,
    });
  });
});
