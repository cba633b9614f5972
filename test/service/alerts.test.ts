// The alert store: alerts as the core decodes them from sync messages, kept per service in a
// bounded ring, queried newest first with filters, and counted for metrics.
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../core/index.js';
import { AlertStore } from '../../service/alerts.js';

const core = loadCore();

function alert(level = 'Session', count = 1, reason = 'problemFound') {
  return { decision: { children: {}, reasons: [reason], result: 7 }, time: 1_700_000_000, level, count };
}

/** A wall clock a test moves by hand. */
function wallClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('AlertStore', () => {
  it('keeps the alerts of a sync message as the core decodes them, stamped with origin and receipt time', () => {
    const wall = wallClock();
    const alerts = new AlertStore({ now: wall.now });
    const msg = core.parseSyncRequest(JSON.stringify({ pile: null, alerts: [alert('Session', 3), alert('Pod', 1, 'podAlert')], compromised: false }));
    expect(alerts.add('shop', 'cart', 'cart-7d9f-x2', msg.alerts)).toBe(2);
    expect(alerts.query()).toEqual([
      { ...alert('Pod', 1, 'podAlert'), seq: 2, receivedAt: wall.now(), namespace: 'shop', service: 'cart', pod: 'cart-7d9f-x2' },
      { ...alert('Session', 3), seq: 1, receivedAt: wall.now(), namespace: 'shop', service: 'cart', pod: 'cart-7d9f-x2' },
    ]);
    expect(alerts.counts()).toEqual({ received: 2, occurrences: 4, dropped: 0, stored: 2 });
  });

  it('keeps at most perService alerts per service, dropping the oldest and counting them', () => {
    const alerts = new AlertStore({ perService: 3 });
    for (let i = 1; i <= 5; i++) alerts.add('shop', 'cart', 'p', [alert('Session', i)]);
    alerts.add('shop', 'other', 'p', [alert('Session', 9)]);
    expect(alerts.query({ service: 'cart' }).map((a) => a.count)).toEqual([5, 4, 3]);
    expect(alerts.counts('shop', 'cart')).toEqual({ received: 5, occurrences: 15, dropped: 2, stored: 3 });
    expect(alerts.counts('shop', 'other')).toEqual({ received: 1, occurrences: 9, dropped: 0, stored: 1 });
    expect(alerts.counts('shop', 'none')).toEqual({ received: 0, occurrences: 0, dropped: 0, stored: 0 });
    expect(alerts.counts()).toEqual({ received: 6, occurrences: 24, dropped: 2, stored: 4 });
  });

  it('filters by namespace, service, level and receipt time, newest first across services, up to a limit', () => {
    const wall = wallClock();
    const alerts = new AlertStore({ now: wall.now });
    alerts.add('shop', 'cart', 'c1', [alert('Session', 1)]);
    wall.advance(1000);
    alerts.add('bank', 'cart', 'b1', [alert('Pod', 2)]);
    wall.advance(1000);
    const since = wall.now();
    alerts.add('shop', 'pay', 'p1', [alert('Session', 3), alert('Pod', 4)]);
    wall.advance(1000);
    alerts.add('shop', 'cart', 'c2', [alert('Session', 5)]);

    const counts = (q: Parameters<AlertStore['query']>[0]) => alerts.query(q).map((a) => a.count);
    expect(counts({})).toEqual([5, 4, 3, 2, 1]);
    expect(counts({ namespace: 'shop' })).toEqual([5, 4, 3, 1]);
    expect(counts({ service: 'cart' })).toEqual([5, 2, 1]);
    expect(counts({ namespace: 'shop', service: 'cart' })).toEqual([5, 1]);
    expect(counts({ level: 'Pod' })).toEqual([4, 2]);
    expect(counts({ since })).toEqual([5, 4, 3]);
    expect(counts({ since, level: 'Session' })).toEqual([5, 3]);
    expect(counts({ limit: 2 })).toEqual([5, 4]);
    expect(counts({ limit: 0 })).toEqual([]);
    expect(alerts.query({ service: 'cart' }).map((a) => a.pod)).toEqual(['c2', 'b1', 'c1']);
  });

  it('caps a query at maxQueryLimit and defaults to 100', () => {
    const alerts = new AlertStore({ perService: 500, maxQueryLimit: 150 });
    alerts.add('shop', 'cart', 'p', Array.from({ length: 300 }, (_, i) => alert('Session', i)));
    expect(alerts.query()).toHaveLength(100);
    expect(alerts.query({ limit: 1000 })).toHaveLength(150);
    expect(alerts.query({ limit: 1000 })[0]!.count).toBe(299);
  });

  it('skips entries that are not alerts and keeps the rest', () => {
    const alerts = new AlertStore();
    const kept = alerts.add('shop', 'cart', 'p', [null, 'x', { level: 'Session' }, { ...alert(), count: -1 }, alert('Session', 2)]);
    expect(kept).toBe(1);
    expect(alerts.counts()).toEqual({ received: 1, occurrences: 2, dropped: 0, stored: 1 });
  });

  it('keeps at most maxServices services, forgetting the one quiet the longest', () => {
    const alerts = new AlertStore({ maxServices: 2 });
    alerts.add('shop', 'a', 'p', [alert()]);
    alerts.add('shop', 'b', 'p', [alert(), alert()]);
    alerts.add('shop', 'a', 'p', [alert()]);
    alerts.add('shop', 'c', 'p', [alert()]);
    expect(alerts.query().map((a) => a.service)).toEqual(['c', 'a', 'a']);
    expect(alerts.counts()).toEqual({ received: 5, occurrences: 5, dropped: 2, stored: 3 });
  });

  it('refuses bounds that are not positive integers', () => {
    expect(() => new AlertStore({ perService: 0 })).toThrow(RangeError);
    expect(() => new AlertStore({ maxServices: 1.5 })).toThrow(RangeError);
  });

  it('reads alerts back in time order among those it keeps, bounded, counted, and forgets a service handed over', () => {
    const wall = wallClock();
    const alerts = new AlertStore({ now: wall.now, perService: 4 });
    // Received here after a shard was taken over...
    alerts.add('shop', 'cart', 'live', [alert('Session', 10)]);
    wall.advance(1000);
    alerts.add('shop', 'cart', 'live', [alert('Session', 11)]);
    // ...then the older ones read back from their Events, one of them malformed (skipped).
    const t0 = wall.now() - 60_000;
    const kept = alerts.restoreAll([
      { namespace: 'shop', service: 'cart', pod: 'old', alert: alert('Session', 2), receivedAt: t0 + 2 },
      { namespace: 'shop', service: 'cart', pod: 'old', alert: alert('Session', 1), receivedAt: t0 + 1 },
      { namespace: 'shop', service: 'cart', pod: 'old', alert: alert('Session', 3), receivedAt: t0 + 3 },
      { namespace: 'shop', service: 'cart', pod: 'old', alert: { level: 'Session' }, receivedAt: t0 },
      { namespace: 'shop', service: 'pay', pod: 'old', alert: alert('Pod', 5), receivedAt: t0 },
    ]);
    expect(kept).toBe(4);
    // Newest first by the time received; the oldest beyond perService dropped and counted.
    expect(alerts.query({ service: 'cart' }).map((a) => a.count)).toEqual([11, 10, 3, 2]);
    expect(alerts.counts('shop', 'cart')).toEqual({ received: 5, occurrences: 27, dropped: 1, stored: 4 });
    expect(alerts.counts()).toEqual({ received: 6, occurrences: 32, dropped: 1, stored: 5 });
    // The recent windows see them in order too (the walk stops at the first older than asked).
    expect(alerts.recent([wall.now() - 30_000]).get('shop/cart')?.windows).toEqual([{ entries: 2, occurrences: 21 }]);
    // A query limited to some services; then those services forgotten (not counted as dropped).
    expect(alerts.query({}, (_ns, svc) => svc === 'pay').map((a) => a.service)).toEqual(['pay']);
    // Those received before a time only: the two live ones stay.
    expect(alerts.forget((_ns, svc) => svc === 'cart', wall.now() - 30_000)).toBe(2);
    expect(alerts.query({ service: 'cart' }).map((a) => a.count)).toEqual([11, 10]);
    expect(alerts.counts('shop', 'cart')).toEqual({ received: 5, occurrences: 27, dropped: 1, stored: 2 });
    expect(alerts.forget((_ns, svc) => svc === 'cart')).toBe(2);
    expect(alerts.query().map((a) => a.service)).toEqual(['pay']);
    expect(alerts.counts()).toEqual({ received: 6, occurrences: 32, dropped: 1, stored: 1 });
  });
});
