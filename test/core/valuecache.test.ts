// Header and query values are profiled through a cache of recent values (assembly/ingest/
// valuecache.ts): a value's profile must not depend on whether it was seen before, what was seen
// in between, or which slot it shares.
import { describe, expect, test } from 'vitest';
import { pileWire, Rng, svPile } from './support.js';

/** Header values lose leading and trailing spaces and tabs (as Go's reader trims them). */
const trimmed = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

function headerPile(value: string): any {
  return pileWire({ method: 'GET', path: '/', headers: [['X-Value', value]] }).req.headers.kv['X-Value'];
}

function queryPile(value: string): any {
  return pileWire({ method: 'GET', path: '/', query: `v=${encodeURIComponent(value)}`, headers: [] }).req.qs.kv.v;
}

const SAMPLES = [
  '',
  'gzip, deflate, br',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'päth ünïcode ✓ 𝄞',
  'x'.repeat(255),
  'y'.repeat(256),
  'z'.repeat(257),
  `${'a1-'.repeat(100)}é`,
  '0x41 /* -- */',
  'tab\there',
];

describe('value cache', () => {
  test('a value profiles the same the first time, again, and after others', () => {
    for (const v of SAMPLES) {
      const expected = svPile(v);
      expect(headerPile(v)).toEqual(expected);
      expect(headerPile(v)).toEqual(expected);
      expect(queryPile(v)).toEqual(expected);
      expect(queryPile(v)).toEqual(expected);
    }
    for (const v of SAMPLES) expect(headerPile(v)).toEqual(svPile(v));
  });

  test('many distinct values sharing slots never answer for one another', () => {
    const rng = new Rng(7);
    const alphabet = 'abcXYZ019 -_/;=,.é✓';
    const values: string[] = [];
    for (let i = 0; i < 1500; i++) {
      let s = '';
      const n = rng.int(40);
      for (let k = 0; k < n; k++) s += rng.pick([...alphabet]);
      values.push(i % 5 === 0 ? rng.string(60) : s);
    }
    for (const pass of [0, 1]) {
      for (let i = 0; i < values.length; i += pass === 0 ? 1 : 7) {
        expect(headerPile(values[i])).toEqual(svPile(trimmed(values[i])));
      }
    }
  });

  test('repeated header lines are joined, not taken from the cache of one line', () => {
    const kv = pileWire({ method: 'GET', path: '/', headers: [['Accept', 'a'], ['Accept', 'b']] }).req.headers.kv;
    expect(kv.Accept).toEqual(svPile('a b'));
    expect(headerPile('a')).toEqual(svPile('a'));
  });
});
