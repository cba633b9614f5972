// Vectors of the original's data model — Envelop (timings in seconds; negative differences → 255).
import { describe, expect, test } from 'vitest';
import { expectDecide, learn, pile, profile } from './helpers.js';

describe('Envelop', () => {
  test('V-E1 learn (t,t,t); a 2-hour gap is code 140', () => {
    const t = 1_700_000_000;
    const config = learn('Envelop', [[t, t, t]]);
    expect(config).toEqual({ responsetime: 0, completiontime: 0 });
    expect(profile('Envelop', [t, t + 7200, t + 7200])).toEqual({ responsetime: 140, completiontime: 140 });
    expectDecide(
      'Envelop',
      config,
      [t, t + 7200, t + 7200],
      '[CompletionTime:[Limit out of Range: 140,],ResponseTime:[Limit out of Range: 140,],]',
    );
    expectDecide('Envelop', config, [t, t, t], '');
  });

  test('V-E2 profile, pile, config, decide', () => {
    expect(profile('Envelop', [1000, 1005, 1010])).toEqual({ responsetime: 5, completiontime: 10 });
    expect(pile('Envelop', [[1000, 1005, 1010]])).toEqual({ responsetime: 'BQ==', completiontime: 'Cg==' });
    expect(pile('Envelop', [])).toEqual({ responsetime: null, completiontime: null });
    const config = learn('Envelop', [[1000, 1005, 1010]]);
    expect(config).toEqual({ responsetime: 5, completiontime: 10 });
    expectDecide(
      'Envelop',
      config,
      [0, 100, 200],
      '[CompletionTime:[Limit out of Range: 59,],ResponseTime:[Limit out of Range: 45,],]',
    );
    expectDecide('Envelop', config, [0, 5, 10], '');
  });

  test('V-E3 negative durations saturate', () => {
    expect(profile('Envelop', [1000, 0, 0])).toEqual({ responsetime: 255, completiontime: 255 });
    expect(profile('Envelop', [1000, 1003, 999])).toEqual({ responsetime: 3, completiontime: 255 });
    expectDecide(
      'Envelop',
      { responsetime: 3, completiontime: 3 },
      [1000, 1003, 999],
      '[CompletionTime:[Limit out of Range: 255,],]',
    );
  });
});
