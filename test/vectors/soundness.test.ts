// Vectors of the original's data model — properties the original's generic test driver
// (ValueTests_All) requires of every type: learning is sound (whatever was piled is accepted
// afterwards) through add, self-merge, JSON round trips, learning twice and learning from two
// piles; zero values work.
import { describe, expect, test } from 'vitest';
import { decideRaw, introspect, learn, pile } from './helpers.js';

const v4mapped = (a: number, b: number, c: number, d: number) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, c, d];
const TCP =
  '  sl  local_address rem_address   st\n   0: 02001102:E12E 0217D902:0050 01\n   1: 02001102:E12F 04B9FA02:0050 01\n';

const SAMPLES: Record<string, [unknown[], unknown[]]> = {
  Limit: [[0, 5, 1000], [17, '18446744073709551615']],
  Count: [[0, 1, 200], [3, 255]],
  AsciiFlags: [[1, 0x80000000], [6]],
  FlagSlice: [[[1], [0, 0, 5]], [[0, 0, 0, 0, 1]]],
  Set: [['a', ['b', 'c', 'b']], ['', 'd']],
  SimpleVal: [['A23/*מכבי*/', '', '😀x'], [{ bytes: [255, 0, 10] }, '0x--/**/']],
  IpSet: [['1.2.3.4', '2001:db8::1', { ip: v4mapped(5, 6, 7, 8) }], ['111.7.1.126', '111.7.1.200', { ips: [[9, 9, 9, 9]] }]],
  KeyVal: [
    [{ a: 'x', b: ['1', '2'] }, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'.repeat(i)]))],
    [{ ['z'.repeat(80)]: 'long', '': 'e' }],
  ],
  Headers: [[{ Accept: ['*/*'], Cookie: ['a=1', 'b=2'] }], [{ 'X-Y': [''] }]],
  Query: [[{ raw: 'a=1&a=2&b' }], [{ raw: 'q=hello%20world' }, { c: ['x'] }]],
  MediaType: [['text/html; charset=utf-8', ''], ['application/json', 'bad/type/x']],
  Url: [['/a/b/c', '/', ''], ['/x%y/😀', '//a//']],
  Structured: [[{ a: 'x', f: { g: 1 } }, { a: 'yy' }], [{ b: [1, 2] }]],
  Body: [[{ unstructured: 'hello' }, { fault: 'TooLargeBody' }], [{ structured: { a: 1 } }, { structured: null }]],
  Envelop: [[[1000, 1001, 1002]], [[1000, 0, 0], [5, 7200, 9000]]],
  Pod: [[{ tcp: TCP }], [{ udp6: TCP, tcp: TCP }]],
  Req: [
    [{ method: 'GET', path: '/a', query: 'x=1', headers: { A: ['1'] }, cip: '8.8.8.8', contentLength: 10 }],
    [{ method: 'POST', proto: 'HTTP/2.0', path: '/b/c', headers: { 'X-Forwarded-For': ['9.9.9.9'] }, cip: '2001:db8::5' }],
  ],
  Resp: [[{ headers: { 'Content-Type': ['text/plain'] }, contentLength: 2 }], [{ headers: {} }]],
  SessionData: [
    [{ req: { method: 'GET', path: '/' }, resp: { headers: {} }, envelop: [1, 2, 3] }],
    [{ req: { method: 'PUT', path: '/x', cip: '1.1.1.1' }, reqBody: { unstructured: 'x' }, pod: { tcp: TCP } }],
  ],
};

function acceptsAll(type: string, config: unknown, inputs: unknown[], how: string): void {
  for (const input of inputs) {
    expect(decideRaw(type, config, input).decision, `${type} ${how}: ${JSON.stringify(input)}`).toBe('');
  }
}

describe('soundness of every type', () => {
  for (const [type, [a, b]] of Object.entries(SAMPLES)) {
    test(`${type}`, () => {
      // add + learn (twice)
      acceptsAll(type, learn(type, a), a, 'learn');
      acceptsAll(type, learn(type, a, { times: 2 }), a, 'learn twice');
      // a pile through JSON, merged into itself twice
      const p = pile(type, a);
      expect(introspect({ op: 'roundtrip', type, kind: 'pile', json: p })).toEqual(p);
      acceptsAll(type, learn(type, undefined, { pile: p }), a, 'learn from JSON pile');
      acceptsAll(type, learn(type, undefined, { pile: pile(type, a, { merge: [p, p] }) }), a, 'self-merge');
      // Clear then add again
      const cleared = pile(type, a, { clear: true });
      acceptsAll(type, learn(type, b, { pile: cleared }), b, 'learn after clear');
      // learning from two piles (learn as fuse), the second into a decoded config
      const both = learn(type, b, { config: learn(type, a) });
      acceptsAll(type, both, [...a, ...b], 'learn two piles');
      // the config survives its own JSON round trip
      const rt = introspect({ op: 'roundtrip', type, kind: 'config', json: both });
      acceptsAll(type, rt, [...a, ...b], 'config round trip');
      // zero values: empty pile, empty learn, merge of empties
      expect(() => pile(type, [], { merge: [pile(type, [])], clear: true })).not.toThrow();
      expect(() => learn(type, [])).not.toThrow();
    });
  }
});
