// Vectors of the original's data model — MediaType (Go mime.ParseMediaType).
import { describe, expect, test } from 'vitest';
import { EMPTY_KV_CONFIG, expectDecide, learn, pile, profile, svConfig, svProfile } from './helpers.js';

const UTF8 = svProfile(1, 3, 0, 1, 0, 0, 3, 2048);
const NONE = { type: ['none'], params: null };

describe('MediaType', () => {
  test('V-M1 text/html;charset=utf-8', () => {
    expect(profile('MediaType', 'text/html;charset=utf-8')).toEqual({ type: ['text/html'], params: { charset: UTF8 } });
  });

  test('V-M2 duplicate parameter and garbage → none', () => {
    expect(profile('MediaType', 'text/html;charset=utf-8;charset=utf-1;serkpodks485re&*^&^%&&%*')).toEqual(NONE);
  });

  test('V-M3 types without subtype, odd tokens, empty', () => {
    expect(profile('MediaType', 'text;charset=utf-8')).toEqual({ type: ['text'], params: { charset: UTF8 } });
    expect(profile('MediaType', 'text')).toEqual({ type: ['text'], params: null });
    expect(profile('MediaType', '375^^&87878')).toEqual({ type: ['375^^&87878'], params: null });
    expect(profile('MediaType', '')).toEqual(NONE);
    expect(profile('MediaType', 'text/html;charset=utf-82')).toEqual({
      type: ['text/html'],
      params: { charset: svProfile(2, 3, 0, 1, 0, 0, 3, 2048) },
    });
  });

  test('V-M4 case, quoting, spacing, failures', () => {
    expect(profile('MediaType', 'Text/HTML; Charset="UTF-8"')).toEqual({ type: ['text/html'], params: { charset: UTF8 } });
    expect(profile('MediaType', 'text/html; charset')).toEqual(NONE);
    expect(profile('MediaType', 'a/b/c')).toEqual(NONE);
    expect(profile('MediaType', '/html')).toEqual(NONE);
    expect(profile('MediaType', 'text/html;')).toEqual({ type: ['text/html'], params: null });
    expect(profile('MediaType', 'text/html ; q=0.5')).toEqual({
      type: ['text/html'],
      params: { q: svProfile(2, 0, 0, 1, 0, 0, 3, 4096) },
    });
  });

  test('V-M5 learn V-M1 and decide', () => {
    const config = learn('MediaType', ['text/html;charset=utf-8']);
    expect(config).toEqual({
      type: { set: ['text/html'] },
      params: { vals: { charset: svConfig(1, 3, 0, 1, 0, 0, 3, 2048) }, otherVals: null, otherKeynames: null },
    });
    expectDecide(
      'MediaType',
      config,
      'text/html;charset=utf-8;charset=utf-1;serkpodks485re&*^&^%&&%*',
      '[Type:[Unexpected key none in Set,],]',
    );
    expectDecide('MediaType', config, 'text;charset=utf-8', '[Type:[Unexpected key text in Set,],]');
    expectDecide(
      'MediaType',
      config,
      'text/html;charset=utf-82',
      '[Params:[KnownKey charset:[Digits:[Limit out of Range: 2,],],],]',
    );
    expectDecide('MediaType', config, 'text/html; foo=bar', '[Params:[Key foo is not known,],]');
    expectDecide('MediaType', config, 'TEXT/HTML; charset=UTF-8', '');
  });

  test('MediaType pile and empty config', () => {
    expect(pile('MediaType', ['text/plain'])).toEqual({ type: { set: ['text/plain'] }, params: {} });
    expect(pile('MediaType', [])).toEqual({ type: { set: null }, params: null });
    expect(learn('MediaType', [])).toEqual({ type: { set: null }, params: EMPTY_KV_CONFIG });
  });
});

describe('mime.ParseMediaType details', () => {
  test('RFC 2231 continuations and encodings, quoting, token errors', () => {
    expect(profile('MediaType', "text/plain; title*=utf-8''%E2%82%AC").params).toEqual({
      title: profile('SimpleVal', '€'),
    });
    expect(profile('MediaType', 'text/plain; title*0=ab; title*1=cd').params).toEqual({
      title: profile('SimpleVal', 'abcd'),
    });
    expect(profile('MediaType', 'text/plain; a="x\\"y"').params).toEqual({ a: profile('SimpleVal', 'x"y') });
    expect(profile('MediaType', 'text/plain; a="unterminated')).toEqual({ type: ['none'], params: null });
    expect(profile('MediaType', 'text/(html)')).toEqual({ type: ['none'], params: null });
    expect(profile('MediaType', 'text/html x')).toEqual({ type: ['none'], params: null });
    expect(profile('MediaType', 'multipart/form-data; boundary=----abc')).toEqual({
      type: ['multipart/form-data'],
      params: { boundary: profile('SimpleVal', '----abc') },
    });
  });
});
