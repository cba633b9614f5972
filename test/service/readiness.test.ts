// Readiness as a person sees it in guard-service (docs/tokens.md, Readiness): the services overview
// (`readiness`), a Guardian's learning status (`learning.readiness`) and the metric
// guard_service_guardians_ready{ready} say "not ready" while the learned rules have not gone
// READY_STABLE_SAMPLES samples without widening, and "ready" from then on. Real service on port 0,
// file store, gates identified by query (local mode).
import { describe, expect, it } from 'vitest';
import { READY_STABLE_SAMPLES } from '../../core/index.js';
import { readServiceConfig } from '../../service/index.js';
import { call, eventually, start, sync, syncBody } from './api-support.js';

const PER_SYNC = 200;

describe('readiness of the learned rules in guard-service', () => {
  it('is "not ready" in the overview, the learning status and the metric until enough samples widened nothing, then "ready"', async () => {
    // Each sync is learned at once (100 samples are enough) and written within a second.
    const limits = readServiceConfig({ GUARD_LEARN_SAMPLES: '100', GUARD_LEARN_NEW_PERCENT: '100', GUARD_PERSIST_INTERVAL: '1' }).learnerLimits;
    const { url, service } = await start(null, { learnerLimits: limits });
    const token = service.peopleToken!;
    const seen = async () => {
      const overview = await call(`${url}/api/v1/services?namespace=shop`, { token });
      const guardian = await call(`${url}/api/v1/guardians/shop/cart`, { token });
      const metrics = (await call(`${url}/metrics`)).text;
      const gauge = (ready: string) => Number(new RegExp(`^guard_service_guardians_ready\\{ready="${ready}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
      return {
        overview: overview.json.items.find((i: { service: string }) => i.service === 'cart')?.readiness ?? null,
        learning: guardian.status === 200 ? { ready: guardian.json.learning?.readiness?.ready, stable: guardian.json.learning?.readiness?.stable } : null,
        gauge: { ready: gauge('true'), notReady: gauge('false') },
      };
    };
    const learnSync = async () => expect((await sync(url, undefined, syncBody(PER_SYNC), '?ns=shop&sid=cart&pod=cart-1')).status).toBe(200);

    // The first learn widens the rules from nothing: the count starts at 0.
    await learnSync();
    expect(await eventually(async () => ((await seen()).overview ? seen() : null))).toEqual({
      overview: { ready: false, stable: 0 },
      learning: { ready: false, stable: 0 },
      gauge: { ready: 0, notReady: 1 },
    });

    // The same traffic again, short of the threshold by one sync: still not ready.
    const short = READY_STABLE_SAMPLES / PER_SYNC - 1;
    for (let i = 0; i < short; i++) await learnSync();
    const before = await eventually(async () => {
      const s = await seen();
      return s.overview?.stable === short * PER_SYNC ? s : null;
    });
    expect(before).toEqual({ overview: { ready: false, stable: short * PER_SYNC }, learning: { ready: false, stable: short * PER_SYNC }, gauge: { ready: 0, notReady: 1 } });

    // One more sync that widens nothing reaches READY_STABLE_SAMPLES: ready everywhere.
    await learnSync();
    const after = await eventually(async () => {
      const s = await seen();
      return s.overview?.ready ? s : null;
    });
    expect(after).toEqual({
      overview: { ready: true, stable: READY_STABLE_SAMPLES },
      learning: { ready: true, stable: READY_STABLE_SAMPLES },
      gauge: { ready: 1, notReady: 0 },
    });
  });
});
