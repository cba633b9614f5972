// Vectors of the original's data model — Decision and Alert.
import { describe, expect, test } from 'vitest';
import { introspect } from './helpers.js';

type Step = { inner: string; result?: number } | { child: Step[]; tag: string } | { childResult: number; tag: string };

/** The documented fields of the build answer (the core may add others, e.g. the tree as JSON). */
function build(tag: string, steps: Step[]): { result: number; summary: string; sorted: string } {
  const out = introspect({ type: 'Decision', op: 'build', tag, steps });
  return { result: out.result, summary: out.summary, sorted: out.sorted };
}

function buildJson(tag: string, steps: Step[]): unknown {
  return introspect({ type: 'Decision', op: 'build', tag, steps }).json;
}

describe('Decision / Alert', () => {
  test('V-D1 DecideInner', () => {
    expect(build('Y', [{ inner: 'X', result: 7 }])).toEqual({ result: 7, summary: 'Fail (7)', sorted: 'Y[X,]' });
    const tree = buildJson('Y', [{ inner: 'X', result: 7 }]);
    if (tree !== undefined) expect(tree).toEqual({ children: {}, reasons: ['X'], result: 7 });
    expect(build('Y', [{ inner: 'X', result: 7 }, { inner: 'Z(8)', result: 3 }])).toEqual({
      result: 10,
      summary: 'Fail (10)',
      sorted: 'Y[X,Z(8),]',
    });
    // default result 1, as inside the data model
    expect(build('Y', [{ inner: 'X' }])).toEqual({ result: 1, summary: 'Fail (1)', sorted: 'Y[X,]' });
  });

  test('V-D2 DecideChild', () => {
    // no steps / a nil child: no node
    expect(build('Y', [])).toEqual({ result: 0, summary: '', sorted: '' });
    expect(build('Y', [{ child: [], tag: 'X' }])).toEqual({ result: 0, summary: '', sorted: '' });
    expect(build('Y', [{ childResult: 4, tag: 'X' }])).toEqual({ result: 4, summary: 'Fail (4)', sorted: 'Y[X:[],]' });
    const tree = buildJson('Y', [{ childResult: 4, tag: 'X' }]);
    // a node with only children has "reasons": null, as Go writes it
    if (tree !== undefined) expect(tree).toEqual({ children: { X: { children: {}, reasons: null, result: 4 } }, reasons: null, result: 4 });
    expect(build('Y', [{ childResult: 4, tag: 'X' }, { childResult: 4, tag: 'Z' }])).toEqual({
      result: 8,
      summary: 'Fail (8)',
      sorted: 'Y[X:[],Z:[],]',
    });
    // sorted regardless of insertion order
    expect(build('Y', [{ childResult: 4, tag: 'Z' }, { childResult: 4, tag: 'X' }]).sorted).toBe('Y[X:[],Z:[],]');
    expect(build('Y', [{ child: [{ childResult: 4, tag: 'Z' }], tag: 'X' }])).toEqual({
      result: 4,
      summary: 'Fail (4)',
      sorted: 'Y[X:[Z:[],],]',
    });
    // overwriting a tag keeps counting, as in the original
    expect(build('Y', [{ childResult: 4, tag: 'X' }, { childResult: 2, tag: 'X' }])).toEqual({
      result: 6,
      summary: 'Fail (6)',
      sorted: 'Y[X:[],]',
    });
  });

  test('V-D3 sorted children then sorted reasons', () => {
    expect(
      build('L', [
        { inner: 'b-reason' },
        { inner: 'a-reason' },
        { child: [{ inner: 'x' }], tag: 'Zeta' },
        { child: [{ inner: 'x' }], tag: 'Alpha' },
      ]),
    ).toEqual({ result: 4, summary: 'Fail (4)', sorted: 'L[Alpha:[x,],Zeta:[x,],a-reason,b-reason,]' });
    // when the core also returns the tree (its wire JSON), the reasons are sorted in place
    const tree = buildJson('L', [
      { inner: 'b-reason' },
      { inner: 'a-reason' },
      { child: [{ inner: 'x' }], tag: 'Zeta' },
      { child: [{ inner: 'x' }], tag: 'Alpha' },
    ]);
    if (tree !== undefined) {
      expect(tree).toEqual({
        children: {
          Alpha: { children: {}, reasons: ['x'], result: 1 },
          Zeta: { children: {}, reasons: ['x'], result: 1 },
        },
        reasons: ['a-reason', 'b-reason'],
        result: 4,
      });
    }
    // byte-wise order: upper case before lower case
    expect(build('', [{ inner: 'b' }, { inner: 'B' }, { inner: 'a' }]).sorted).toBe('[B,a,b,]');
    // a Result-0 node prints ""
    expect(build('Y', [{ inner: 'X', result: 0 }])).toEqual({ result: 0, summary: '', sorted: '' });
  });

  // AddAlert is not reachable through the documented introspect commands; this uses the
  // natural extension {type:"Decision", op:"alerts", adds:[{level, tag?, steps}]} → Alert list.
  test('V-D4 AddAlert de-duplicates by SortedString(level) [API extension]', () => {
    const steps: Step[] = [{ inner: 'Value 3 Not Allowed!' }];
    const alerts = introspect({
      type: 'Decision',
      op: 'alerts',
      adds: [
        { level: 'Session', steps },
        { level: 'Session', steps },
        { level: 'Gate', steps },
      ],
    }) as Array<{ decision: unknown; time: number; level: string; count: number }>;
    expect(Array.isArray(alerts), `introspect has no "alerts" op: got ${JSON.stringify(alerts)}`).toBe(true);
    expect(alerts.map((a) => [a.level, a.count])).toEqual([
      ['Session', 2],
      ['Gate', 1],
    ]);
    expect(Object.keys(alerts[0])).toEqual(['decision', 'time', 'level', 'count']);
    expect(alerts[0].decision).toEqual({ children: {}, reasons: ['Value 3 Not Allowed!'], result: 1 });
  });
});
