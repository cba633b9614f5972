// The pile data structures behind a KeyVal pile (keys indexed by hash) and a SimpleVal pile (code
// sets inline): bounded key count, colliding hashes, merges of piles built by adding and by
// reading the wire, and the wire's null for a code set that was never added.
import { describe, expect, test } from 'vitest';
import { pile, learn } from '../vectors/helpers.js';

const MAX_PILE_KEYS = 1024;

/** The core's keyHash: FNV-1a over UTF-16 code units. */
function keyHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

// Three pairs of distinct keys with the same 32-bit keyHash.
const COLLIDING = [
  ['key51wu', 'keyktfa'],
  ['key51wv', 'keyktfb'],
  ['key51ww', 'keyktfc'],
];

const sorted = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('KeyVal pile', () => {
  test('keeps the first MAX_PILE_KEYS distinct keys, in arrival order over adds and merges, written sorted', () => {
    const inputs: Record<string, string>[] = [];
    const arrived: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const input: Record<string, string> = {};
      for (const k of [`k${(i * 7919) % 3001}`, `k${i}`, 'same']) {
        input[k] = 'v' + i;
        if (!arrived.includes(k)) arrived.push(k);
      }
      inputs.push(input);
    }
    const p = pile('KeyVal', inputs);
    expect(Object.keys(p)).toEqual(sorted(arrived.slice(0, MAX_PILE_KEYS)));
    // A full pile still widens the keys it holds.
    const more = pile('KeyVal', [...inputs, { same: 'a b c' }]);
    expect(more.same.Spaces).not.toEqual(p.same.Spaces);
    // Merged into a pile that already holds other keys: its own keys first, then the merged
    // pile's in their order (the wire's, which is sorted) until the cap.
    const own: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) own[`own${i}`] = 'x';
    const merged = pile('KeyVal', [own], { merge: [p] });
    expect(Object.keys(merged)).toEqual(sorted([...Object.keys(own), ...Object.keys(p).slice(0, MAX_PILE_KEYS - 1000)]));
  });

  test('keeps keys with the same hash apart', () => {
    for (const [a, b] of COLLIDING) expect(keyHash(a)).toBe(keyHash(b));
    const inputs = [{ [COLLIDING[0][0]]: '1' }, { [COLLIDING[0][1]]: 'ab' }, { [COLLIDING[0][0]]: '22', [COLLIDING[0][1]]: 'c d' }];
    const all: Record<string, string> = {};
    for (const [a, b] of COLLIDING) Object.assign(all, { [a]: '1', [b]: 'x' });
    const p = pile('KeyVal', [...inputs, all]);
    expect(Object.keys(p)).toEqual(sorted(COLLIDING.flat()));
    expect(p[COLLIDING[0][0]].Digits).toBe(Buffer.from([1, 2]).toString('base64'));
    expect(p[COLLIDING[0][1]].Digits).toBe(Buffer.from([0]).toString('base64'));
    expect(p[COLLIDING[0][1]].Letters).toBe(Buffer.from([1, 2]).toString('base64'));
    expect(p[COLLIDING[0][1]].Spaces).toBe(Buffer.from([0, 1]).toString('base64'));
    // The same through a merge of a pile read from the wire, in both directions.
    const half1 = pile('KeyVal', inputs);
    const half2 = pile('KeyVal', [all]);
    expect(pile('KeyVal', inputs, { merge: [half2] })).toEqual(p);
    expect(pile('KeyVal', [all], { merge: [half1] })).toEqual(p);
    // A config learned from it knows every colliding key by its own name.
    const config = learn('KeyVal', [...inputs, all]);
    expect(Object.keys(config.vals)).toEqual(sorted(COLLIDING.flat()));
    expect(learn('KeyVal', undefined, { pile: p })).toEqual(config);
  });

  test('a pile built by adding and one read from the wire merge to what adding everything gives', () => {
    const a = [{ x: 'abc', y: '12' }, { x: 'a-b', z: 'é' }];
    const b = [{ y: 'x y z', w: '' }, { z: '😀', x: 'q' }];
    const whole = pile('KeyVal', [...a, ...b]);
    expect(pile('KeyVal', a, { merge: [pile('KeyVal', b)] })).toEqual(whole);
    expect(pile('KeyVal', b, { merge: [pile('KeyVal', a)] })).toEqual(whole);
    expect(pile('KeyVal', [], { merge: [pile('KeyVal', a), pile('KeyVal', b)] })).toEqual(whole);
    // the wire's repeated key: the last one wins, as it did with a map
    expect(pile('KeyVal', [], { merge: [JSON.parse('{"x":{"Digits":"AQ=="},"x":{"Digits":"Ag=="}}')] }).x.Digits).toBe('Ag==');
    // cleared (after the adds and merges): null again
    expect(pile('KeyVal', a, { clear: true })).toBe(null);
    expect(pile('Headers', [{ A: 'x' }], { clear: true, merge: [{ kv: pile('KeyVal', a) }] })).toEqual({ kv: null });
  });
});

describe('SimpleVal pile', () => {
  const NULLS = { Digits: null, Letters: null, Spaces: null, SpecialChars: null, NonReadables: null, Unicodes: null, Sequences: null, Flags: 0, UnicodeFlags: null };

  test('a code set never added is null on the wire, an empty one is not', () => {
    expect(pile('SimpleVal', [], { merge: [NULLS] })).toEqual(NULLS);
    const some = { ...NULLS, Letters: 'AwU=', SpecialChars: '', Flags: 8 };
    expect(pile('SimpleVal', [], { merge: [some] })).toEqual(some);
    // merging sets a set present only where the merged pile has it
    const merged = pile('SimpleVal', [], { merge: [some, { ...NULLS, Sequences: [9, 1] }] });
    expect(merged).toEqual({ ...some, Sequences: Buffer.from([1, 9]).toString('base64') });
    // adding a profile makes all seven present
    const added = pile('SimpleVal', ['ab1'], { merge: [some] });
    expect(Object.values(added).filter((v) => v === null)).toEqual([null]); // UnicodeFlags only
    expect(added.Letters).toBe(Buffer.from([2, 3, 5]).toString('base64'));
    expect(pile('SimpleVal', ['ab1'], { clear: true })).toEqual(NULLS);
  });

  test('codes of every word of the 256-bit set round-trip and merge', () => {
    const codes = [0, 1, 63, 64, 127, 128, 191, 192, 254, 255];
    const p = { ...NULLS, Unicodes: codes };
    const wire = pile('SimpleVal', [], { merge: [p] });
    expect(wire.Unicodes).toBe(Buffer.from(codes).toString('base64'));
    expect(pile('SimpleVal', [], { merge: [wire, { ...NULLS, Unicodes: [5, 200] }] }).Unicodes).toBe(
      Buffer.from([...codes, 5, 200].sort((a, b) => a - b)).toString('base64'),
    );
    // learning takes the largest code of each present set
    expect(learn('SimpleVal', undefined, { pile: wire }).unicodes).toBe(255);
    expect(learn('SimpleVal', undefined, { pile: { ...NULLS, Letters: '' } }).letters).toBe(0);
  });
});
