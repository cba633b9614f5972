// The token buckets behind the alert Event rate limit and the per-pod sync limit: a burst, then one
// token per interval; a refused take takes nothing and says how long to wait; memory bounded by
// forgetting the least recently used key (which only gives it a full burst again).
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../clock/index.js';
import { SyncLimit } from '../../service/sync-limit.js';
import { TokenBuckets } from '../../service/token-buckets.js';

describe('token buckets', () => {
  it('give a burst, then one token per interval, and say how long to wait without taking one', () => {
    const clock = new FakeClock(1000);
    const b = new TokenBuckets({ burst: 3, msPerToken: 1000, clock, maxKeys: 10 });
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.take('a')).toBe(1000);
    clock.advance(400);
    // wait() says as much, and takes nothing either.
    expect([b.wait('a'), b.wait('a'), b.wait('never-seen')]).toEqual([600, 600, 0]);
    expect(b.take('a')).toBe(600);
    // Refusals took nothing: the token is whole after the interval.
    clock.advance(600);
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBe(1000);
    // Another key has its own burst; a long pause refills to the burst, not beyond.
    expect(b.take('b')).toBe(0);
    clock.advance(60_000);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0, 1000]);
    // A token given back (what it was taken for did not happen) is there at once, never beyond the burst.
    b.give('a');
    expect([b.take('a'), b.take('a')]).toEqual([0, 1000]);
    b.give('c');
    b.give('c');
    expect([b.take('c'), b.take('c'), b.take('c'), b.take('c')]).toEqual([0, 0, 0, 1000]);
  });

  it('forget the least recently used key beyond the bound, which starts again with a full burst', () => {
    const clock = new FakeClock();
    const b = new TokenBuckets({ burst: 1, msPerToken: 60_000, clock, maxKeys: 2 });
    expect([b.take('a'), b.take('b')]).toEqual([0, 0]);
    expect(b.take('a')).toBe(60_000); // a used last now
    expect(b.take('c')).toBe(0); // b, least recently used, is forgotten
    expect(b.take('a')).toBe(60_000);
    expect(b.take('b')).toBe(0);
  });

  it('as the sync limit: whole seconds to wait, at least one', () => {
    const clock = new FakeClock();
    const limit = new SyncLimit({ burst: 2, perMinute: 60, clock });
    expect([limit.take('shop/cart-1'), limit.take('shop/cart-1')]).toEqual([0, 0]);
    expect(limit.take('shop/cart-1')).toBe(1);
    clock.advance(999);
    expect(limit.take('shop/cart-1')).toBe(1);
    clock.advance(1);
    expect(limit.take('shop/cart-1')).toBe(0);
    const slow = new SyncLimit({ burst: 1, perMinute: 4, clock });
    expect(slow.take('shop/pay-1')).toBe(0);
    expect(slow.take('shop/pay-1')).toBe(15);
  });
});
