// Vectors of the original's data model — Request, Response, SessionData (data-model level, no gate
// normalisation), with difference 5 of docs/compatibility.md (X-Forwarded-For hops merged and
// cleared).
import { describe, expect, test } from 'vitest';
import { zeroSessionConfig } from './fixtures.js';
import { expectDecide, expectSameJson, learn, pile, profile, svProfile, ZERO_SV_PROFILE } from './helpers.js';

const R1 = { method: 'GET', path: '/', cip: '1.2.3.5', contentLength: 41 };
const R2_FAR = { method: 'POST', path: '/eee/ddd/f.html', cip: '1.22.3.5', contentLength: 41 };
const R2_NEAR = { ...R2_FAR, cip: '1.2.3.5' };
const URL_R2 =
  'Url:[Segments:[Counter out of Range: 3,],Val:[Letters:[Limit out of Range: 11,],Sequences:[Limit out of Range: 3,],Special Chars Used:[Unexpected Flags DotSign  (0x1000) in Value,],SpecialChars:[Limit out of Range: 1,],],],';
const V_R2_NEAR = `Method:[Unexpected key POST in Set,],${URL_R2}`;
const V_R2_FAR = `ClientIp:[IP 1.22.3.5 not allowed,],${V_R2_NEAR}`;

describe('Request / Response / SessionData', () => {
  test('V-R1 request profile; learned client CIDR has a 16-byte mask', () => {
    expectSameJson(profile('Req', R1), {
      cip: ['1.2.3.5'],
      hopip: null,
      method: ['GET'],
      proto: ['HTTP/1.1'],
      mediatype: { type: ['none'], params: null },
      contentlength: 6,
      url: { val: ZERO_SV_PROFILE, segments: 0 },
      qs: { kv: null },
      headers: { kv: null },
    });
    const config = learn('Req', [R1]);
    expect(config.cip).toEqual([{ IP: '1.2.3.5', Mask: '/////////////////////w==' }]);
    expect(config.hopip).toBe(null);
    expect(config.method).toEqual({ set: ['GET'] });
    expect(config.contentlength).toEqual([{ min: 6, max: 6 }]);
    expect(Object.keys(config)).toEqual(['cip', 'hopip', 'method', 'proto', 'mediatype', 'contentlength', 'url', 'qs', 'headers']);
  });

  test('V-R2 learn V-R1, decide POST /eee/ddd/f.html', () => {
    const config = learn('Req', [R1]);
    expectDecide('Req', config, R2_FAR, `[${V_R2_FAR}]`);
    expectDecide('Req', config, R2_NEAR, `[${V_R2_NEAR}]`);
    expectDecide('Req', config, R1, '');
  });

  test('V-R3 response headers (literal key "a")', () => {
    const config = learn('Resp', [{ headers: { a: ['x'] } }]);
    expect(Object.keys(config)).toEqual(['headers', 'mediatype', 'contentlength']);
    expectDecide('Resp', config, { headers: { b: ['x'] } }, '[Headers:[KeyVal:[Key b is not known,],],]');
    expectDecide('Resp', config, { headers: { a: ['y'] } }, '');
    // media type from the first Content-Type value; content length as bit length
    const p = profile('Resp', { headers: { 'Content-Type': ['text/html; charset=utf-8', 'text/plain'] }, contentLength: 100 });
    expect(p.mediatype).toEqual({ type: ['text/html'], params: { charset: svProfile(1, 3, 0, 1, 0, 0, 3, 2048) } });
    expect(p.contentlength).toBe(7);
    expect(Object.keys(p)).toEqual(['headers', 'mediatype', 'contentlength']);
  });

  test('V-R4 SessionData learn and decide', () => {
    const learnInput = {
      req: R1,
      resp: { headers: { a: ['x'] } },
      reqBody: { structured: null },
      respBody: { structured: null },
      envelop: [0, 0, 0],
    };
    const config = learn('SessionData', [learnInput]);
    expect(config.active).toBe(true);
    expect(Object.keys(config)).toEqual(['active', 'req', 'resp', 'reqbody', 'respbody', 'envelop', 'pod']);
    expectDecide(
      'SessionData',
      config,
      { ...learnInput, req: R2_FAR, resp: { headers: { b: ['x'] } } },
      `[Req:[${V_R2_FAR}],Resp:[Headers:[KeyVal:[Key b is not known,],],],]`,
    );
    expectDecide('SessionData', config, learnInput, '');
  });

  test('V-R5 minimal request against the empty config', () => {
    expectDecide(
      'SessionData',
      zeroSessionConfig(),
      {
        req: { method: 'GET', path: '/' },
        resp: { headers: {} },
        reqBody: { structured: null },
        respBody: { structured: null },
        envelop: [0, 0, 0],
      },
      '[Req:[MediaType:[Type:[Unexpected key none in Set,],],Method:[Unexpected key GET in Set,],Proto:[Unexpected key HTTP/1.1 in Set,],],ReqBody:[Structured Body not allowed,],Resp:[MediaType:[Type:[Unexpected key none in Set,],],],RespBody:[Structured Body not allowed,],]',
    );
    // all parts absent → zero profiles → accepted by the empty config
    expectDecide('SessionData', zeroSessionConfig(), {}, '');
  });

  test('V-R6 "req" case: Post /abc2/א, string body, times (1000,0,0)', () => {
    expectDecide(
      'SessionData',
      zeroSessionConfig(),
      {
        req: { method: 'Post', path: '/abc2/א' },
        resp: { headers: {} },
        reqBody: { structured: 'abc' },
        respBody: { structured: null },
        envelop: [1000, 0, 0],
      },
      '[Envelop:[CompletionTime:[Limit out of Range: 255,],ResponseTime:[Limit out of Range: 255,],],Req:[MediaType:[Type:[Unexpected key none in Set,],],Method:[Unexpected key Post in Set,],Proto:[Unexpected key HTTP/1.1 in Set,],Url:[Segments:[Value 2 Not Allowed!,],Val:[Digits:[Limit out of Range: 1,],Letters:[Limit out of Range: 3,],Sequences:[Limit out of Range: 3,],Unicode Blocks:[Unexpected Flags in FlagSlice 400 on Element 0,],Unicodes:[Limit out of Range: 1,],],],],ReqBody:[Structured Body not allowed,],Resp:[MediaType:[Type:[Unexpected key none in Set,],],],RespBody:[Structured Body not allowed,],]',
    );
  });

  test('V-R7 ContentLength is the bit length (untouched when ≤ 0)', () => {
    const table: Array<[number, number]> = [
      [-1, 0], [0, 0], [1, 1], [2, 2], [3, 2], [4, 3], [7, 3], [8, 4], [41, 6], [255, 8], [256, 9],
      [1023, 10], [1024, 11], [1048576, 21], [2 ** 40, 41],
    ];
    for (const [len, bits] of table) {
      expect(profile('Req', { method: 'GET', path: '/', contentLength: len }).contentlength, `length ${len}`).toBe(bits);
      expect(profile('Resp', { headers: {}, contentLength: len }).contentlength, `resp length ${len}`).toBe(bits);
    }
  });

  test('V-R8 HopIp merged and cleared like every pile (compatibility difference 5; the original keeps it)', () => {
    const withHop = { method: 'GET', path: '/', headers: { 'X-Forwarded-For': ['9.9.9.9'] } };
    expect(profile('Req', withHop).hopip).toEqual(['9.9.9.9']);
    const p = pile('Req', [withHop]);
    expect(p.hopip).toEqual({ List: ['9.9.9.9'] });
    // merged into an empty pile: upstream {"List":null}; Guard carries the hop
    expect(pile('Req', [], { merge: [p] }).hopip).toEqual({ List: ['9.9.9.9'] });
    // after Clear: upstream still {"List":["9.9.9.9"]}; Guard empties it
    expect(pile('Req', [withHop], { clear: true }).hopip).toEqual({ List: null });
    const s = pile('SessionData', [{ req: withHop }], { clear: true });
    expect(s.count).toBe(0);
    expect(s.req.hopip).toEqual({ List: null });
    const merged = pile('SessionData', [], { merge: [pile('SessionData', [{ req: withHop }])] });
    expect(merged.count).toBe(1);
    expect(merged.req.hopip).toEqual({ List: ['9.9.9.9'] });
    // learned from the merged pile, the hop is accepted
    const config = learn('SessionData', undefined, { pile: merged });
    expect(config.req.hopip).toEqual([{ IP: '9.9.9.9', Mask: '/////////////////////w==' }]);
    expectDecide('SessionData', config, { req: withHop }, '');
  });

  test('HopIp = last X-Forwarded-For line, comma lists fail', () => {
    const p = (xff: string[]) => profile('Req', { method: 'GET', path: '/', headers: { 'X-Forwarded-For': xff } }).hopip;
    expect(p(['1.1.1.1', '9.9.9.9'])).toEqual(['9.9.9.9']);
    expect(p(['1.2.3.4, 5.6.7.8'])).toBe(null);
    expect(p(['10.0.0.1'])).toBe(null);
    expect(p([])).toBe(null);
  });

  test('Req: decoded path, query, proto and headers as given', () => {
    const r = profile('Req', {
      method: 'GET',
      proto: 'HTTP/2.0',
      path: '/p/a/b/c',
      query: 'x=%41%42&y=a+b',
      headers: { 'x-custom_header': ['v1', 'v2'], 'Content-Type': ['application/json'] },
    });
    expect(r.proto).toEqual(['HTTP/2.0']);
    expect(r.url.segments).toBe(4);
    expect(r.qs).toEqual({ kv: { x: svProfile(0, 2, 0, 0, 0, 0, 1, 0), y: svProfile(0, 2, 1, 0, 0, 0, 3, 0) } });
    expect(Object.keys(r.headers.kv).sort()).toEqual(['Content-Type', 'x-custom_header']);
    expect(r.headers.kv['x-custom_header']).toEqual(profile('SimpleVal', 'v1 v2'));
    expect(r.mediatype).toEqual({ type: ['application/json'], params: null });
    // a private / loopback client address is dropped
    expect(profile('Req', { method: 'GET', path: '/', cip: '10.0.0.1' }).cip).toBe(null);
    expect(profile('Req', { method: 'GET', path: '/', cip: '::1' }).cip).toBe(null);
  });

  test('SessionData pile counts and shapes', () => {
    const s = pile('SessionData', [{}, {}]);
    expect(s.count).toBe(2);
    expect(Object.keys(s)).toEqual(['count', 'req', 'resp', 'reqbody', 'respbody', 'envelop', 'pod']);
    // a zero profile added: Limit/Count piles "AA==", params / kv maps {}
    const one = pile('SessionData', [{}]);
    expect(one.count).toBe(1);
    expect(one.req.contentlength).toBe('AA==');
    expect(one.req.url.segments).toBe('AA==');
    expect(one.req.url.val.Digits).toBe('AA==');
    expect(one.envelop).toEqual({ responsetime: 'AA==', completiontime: 'AA==' });
    expect(one.req.mediatype.params).toEqual({});
    expect(one.resp.mediatype.params).toEqual({});
    expect(one.req.qs.kv).toEqual({});
    expect(one.req.headers.kv).toEqual({});
    expect(one.resp.headers.kv).toEqual({});
    expect(one.req.method).toEqual({ set: null });
  });
});
