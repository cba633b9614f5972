// The learner against the real core and an in-memory store, on a fake clock: every threshold of
// the learn and persist policy, flush, store failures, concurrency, and people's edits.
import { afterEach, describe, expect, it } from 'vitest';
import { CoreError, DEFAULT_LEARNING_CAPS, loadCore, type Pile } from '../../core/index.js';
import { FakeClock } from '../../clock/index.js';
import { silentLogger } from '../../log/index.js';
import { ConfigError, readServiceConfig } from '../../service/index.js';
import { SERVICE_HELP } from '../../cli/help.js';
import { DEFAULT_LEARNER_LIMITS, Learner, LearnerError, type LearnerLimits } from '../../service/learner.js';
import type { GuardianSpecJson, GuardianStore } from '../../store/index.js';
import { MemoryGuardianStore } from './memory-store.js';

const core = loadCore();
const NS = 'shop';
const SVC = 'cart';

/** A pile of n sessions of one request, as it arrives over the wire. */
function pileOf(n: number, method = 'GET'): Pile {
  const local = core.newPile();
  const s = core.newSession();
  s.profileRequest({ method, path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
  for (let i = 0; i < n; i++) local.add(s);
  s.dispose();
  const wire = core.parsePile(local.toWire());
  local.dispose();
  return wire;
}

type Spec = GuardianSpecJson & { learned?: { req: { method: { set: string[] } } } | null };

function spec(answer: string): Spec {
  return JSON.parse(answer) as Spec;
}

function methods(answer: string | GuardianSpecJson): string[] {
  const s = (typeof answer === 'string' ? spec(answer) : answer) as Spec;
  return [...(s.learned?.req.method.set ?? [])].sort();
}

const learners: Learner[] = [];
afterEach(async () => {
  for (const l of learners.splice(0)) await l.close();
});

function setup(limits?: Partial<LearnerLimits>, store = new MemoryGuardianStore(core), clock = new FakeClock(1_000_000)) {
  const learner = new Learner({ core, store, clock, limits });
  learners.push(learner);
  return { clock, store, learner };
}

/** Deliver the store's watch events to the learner; next() resolves after the next one. */
function wire(store: GuardianStore, learner: Learner) {
  const waiters: Array<() => void> = [];
  const w = store.watch((event) => {
    learner.onStoreChange(event);
    for (const resolve of waiters.splice(0)) resolve();
  });
  return { close: () => w.close(), next: () => new Promise<void>((resolve) => waiters.push(resolve)) };
}

/** The learned part another writer (a replica, a person) would write for this pile. */
function learnedFrom(pile: Pile): unknown {
  const g = core.defaultGuardian();
  g.learn(pile);
  pile.dispose();
  const learned = (JSON.parse(g.toWire()) as GuardianSpecJson).learned;
  g.dispose();
  return learned;
}

async function samplesStored(store: GuardianStore): Promise<number | undefined> {
  return (await store.get(NS, SVC))?.spec.samples;
}

describe('Learner: when to learn', () => {
  it('learns a pile of 1000 samples at once, not one of 999', async () => {
    const { clock, learner } = setup();
    expect(spec(await learner.sync(NS, SVC, pileOf(20_000))).samples).toBe(20_000);
    clock.advance(1000);
    // 999 new samples are < 1000, < 10 % of 20,000, and 1 s passed: kept in the pile.
    expect(spec(await learner.sync(NS, SVC, pileOf(999))).samples).toBe(20_000);
    expect(learner.status(NS, SVC)?.pileSamples).toBe(999);
    expect(spec(await learner.sync(NS, SVC, pileOf(1))).samples).toBe(21_000);
    expect(learner.status(NS, SVC)?.pileSamples).toBe(0);
  });

  it('learns when the pile is more than 10 % of the samples: at samples 9, not at 10 or 11', async () => {
    const { learner } = setup();
    await learner.sync(NS, 'nine', pileOf(9));
    expect(spec(await learner.sync(NS, 'nine', pileOf(1))).samples).toBe(10); // 9 < 1 × 10
    expect(spec(await learner.sync(NS, 'nine', pileOf(1))).samples).toBe(10); // 10 < 1 × 10 is false
    expect(learner.status(NS, 'nine')?.pileSamples).toBe(1);

    await learner.sync(NS, 'eleven', pileOf(11));
    expect(spec(await learner.sync(NS, 'eleven', pileOf(1))).samples).toBe(11); // 11 < 10 is false
    expect(spec(await learner.sync(NS, 'eleven', pileOf(1))).samples).toBe(13); // 11 < 2 × 10
  });

  it('learns the first ten single-session syncs of a new service, then waits, as the original does', async () => {
    const { store, learner } = setup();
    for (let i = 1; i <= 10; i++) expect(spec(await learner.sync(NS, SVC, pileOf(1))).samples).toBe(i);
    expect(spec(await learner.sync(NS, SVC, pileOf(1))).samples).toBe(10);
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([1]);
    expect(learner.status(NS, SVC)).toMatchObject({ pileSamples: 1, learns: 10, merges: 11, persists: 1 });
  });

  it('learns a small pile 30 s after the last learn, not at 29.9 s, on the tick', async () => {
    const { clock, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1000));
    clock.advance(1000);
    await learner.sync(NS, SVC, pileOf(1));
    clock.advance(28_900); // 29.9 s since the learn
    learner.tick();
    expect(learner.status(NS, SVC)).toMatchObject({ samples: 1000, pileSamples: 1, learns: 1 });
    clock.advance(100); // 30 s
    learner.tick();
    expect(learner.status(NS, SVC)).toMatchObject({ samples: 1001, pileSamples: 0, learns: 2 });
    expect(spec(await learner.sync(NS, SVC, null)).samples).toBe(1001);
  });

  it('learns at a sync 30 s after the last learn, and never learns an empty pile', async () => {
    const { clock, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1000));
    clock.advance(29_999);
    expect(spec(await learner.sync(NS, SVC, pileOf(2))).samples).toBe(1000);
    clock.advance(1);
    expect(spec(await learner.sync(NS, SVC, pileOf(3))).samples).toBe(1005);
    clock.advance(60_000);
    learner.tick();
    await learner.sync(NS, SVC, null);
    expect(learner.status(NS, SVC)?.learns).toBe(2);
  });

  it('learns a pile that reaches the memory cap at once, whatever the other rules say', async () => {
    const { clock, learner } = setup({ learnSamples: 1_000_000, newSamplesRatio: 0, maxPileSamples: 20_000 });
    await learner.sync(NS, SVC, pileOf(1)); // never learned here: the 30 s rule holds at once
    clock.advance(1000);
    expect(spec(await learner.sync(NS, SVC, pileOf(19_999))).samples).toBe(1);
    expect(spec(await learner.sync(NS, SVC, pileOf(1))).samples).toBe(20_001);
  });

  it('ticks by itself once started, on the clock', async () => {
    const { clock, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1000));
    await learner.sync(NS, SVC, pileOf(1));
    learner.start(1000);
    clock.advance(29_000);
    expect(learner.status(NS, SVC)?.samples).toBe(1000);
    clock.advance(1000);
    expect(learner.status(NS, SVC)?.samples).toBe(1001);
    learner.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('Learner: when to persist', () => {
  it('persists the first learn at once, later ones not before 5 min and only when something was learned', async () => {
    const { clock, store, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([1]);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['GET']);

    clock.advance(31_000);
    expect(spec(await learner.sync(NS, SVC, pileOf(1, 'POST'))).samples).toBe(2);
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(1);

    clock.advance(300_000 - 31_000 - 1); // 4 min 59.999 s after the first persist
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(1);

    clock.advance(1); // 5 min
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([1, 2]);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['GET', 'POST']);

    clock.advance(600_000); // nothing learned since: nothing written
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(2);
  });

  it('after a restart, a Guardian with learned rules counts as persisted at load (no write storm)', async () => {
    const store = new MemoryGuardianStore(core);
    const first = setup(undefined, store);
    await first.learner.sync(NS, SVC, pileOf(1));
    await first.learner.settled();

    const { clock, learner } = setup(undefined, store);
    expect(spec(await learner.sync(NS, SVC, pileOf(1, 'POST'))).samples).toBe(2);
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(1);
    clock.advance(299_999);
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(1);
    clock.advance(1);
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([1, 2]);
  });

  it('starts at most persistsPerTick writes per tick, taking services in turn', async () => {
    const { clock, store, learner } = setup({ persistsPerTick: 2 });
    const services = ['a', 'b', 'c', 'd', 'e'];
    for (const s of services) await learner.sync(NS, s, pileOf(1));
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(5); // first persists are not throttled
    clock.advance(31_000);
    for (const s of services) await learner.sync(NS, s, pileOf(1));
    clock.advance(300_000);
    const written = () => store.learnedWrites.slice(5).map((w) => w.service);
    learner.tick();
    await learner.settled();
    expect(written()).toEqual(['a', 'b']);
    learner.tick();
    await learner.settled();
    expect(written()).toEqual(['a', 'b', 'c', 'd']);
    learner.tick();
    await learner.settled();
    expect(written()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('Learner: flush and failures', () => {
  it('flush learns the pending piles and persists every service learned since its last persist', async () => {
    const { clock, store, learner } = setup();
    await learner.sync(NS, 'pending', pileOf(1000));
    await learner.sync(NS, 'learned', pileOf(1000));
    await learner.settled();
    clock.advance(31_000);
    await learner.sync(NS, 'pending', pileOf(3)); // not learned yet
    await learner.sync(NS, 'learned', pileOf(2)); // learned (30 s), not persisted (5 min)
    expect(learner.status(NS, 'learned')).toMatchObject({ pileSamples: 0, samples: 1002, unpersisted: true });
    await learner.sync(NS, 'idle', pileOf(1));
    await learner.settled();
    const before = store.learnedWrites.length;

    await learner.flush();
    expect(store.learnedWrites.length).toBe(before + 2);
    expect((await store.get(NS, 'pending'))?.spec.samples).toBe(1003);
    expect((await store.get(NS, 'learned'))?.spec.samples).toBe(1002);
    expect((await store.get(NS, 'idle'))?.spec.samples).toBe(1);
    expect(learner.status(NS, 'pending')).toMatchObject({ pileSamples: 0, unpersisted: false });
  });

  it('flush waits for a write in flight and then writes what was learned during it', async () => {
    const { store, learner } = setup();
    const release = store.holdWrites();
    await learner.sync(NS, SVC, pileOf(1)); // first persist, held
    await learner.sync(NS, SVC, pileOf(1)); // learned during it (10 % rule)
    const flushed = learner.flush();
    release();
    await flushed;
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([1, 2]);
  });

  it('retries a failed persist with back-off and loses nothing', async () => {
    const { clock, store, learner } = setup();
    store.failWrites = 1;
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(0);
    expect(learner.status(NS, SVC)).toMatchObject({ persistFailures: 1, unpersisted: true });

    clock.advance(1000);
    await learner.sync(NS, SVC, pileOf(1, 'POST')); // learned meanwhile
    clock.advance(3999); // 4.999 s after the failure
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(0);
    clock.advance(1); // 5 s
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([2]);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['GET', 'POST']);

    // Two failures in a row: retried after 5 s, then after 10 s more.
    clock.advance(31_000);
    await learner.sync(NS, SVC, pileOf(1, 'PUT'));
    clock.advance(300_000);
    store.failWrites = 2;
    learner.tick();
    await learner.settled();
    clock.advance(5000);
    learner.tick();
    await learner.settled();
    expect(learner.status(NS, SVC)?.persistFailures).toBe(3);
    clock.advance(9999);
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites).toHaveLength(1);
    clock.advance(1);
    learner.tick();
    await learner.settled();
    expect(store.learnedWrites.map((w) => w.samples)).toEqual([2, 3]);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['GET', 'POST', 'PUT']);
  });

  it('flush reports the services it could not persist, and a later flush still has everything', async () => {
    const { store, learner } = setup({ flushAttempts: 2 });
    store.failWrites = 3; // the first persist and both flush attempts
    await learner.sync(NS, SVC, pileOf(7));
    await learner.settled();
    const err = await learner.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LearnerError);
    expect((err as LearnerError).code).toBe('GUARD_LEARNER_FLUSH_FAILED');
    expect((err as LearnerError).message).toContain(`${NS}/${SVC}`);
    await learner.flush();
    expect(await samplesStored(store)).toBe(7);
  });

  it('a Guardian that cannot be read fails the sync without taking the pile, and never falls back to the default', async () => {
    const { store, learner } = setup();
    await store.updateLearned(NS, SVC, null, 0);
    await store.update(NS, SVC, (cur) => ({ ...cur!, control: { ...cur!.control!, block: true } }));
    store.failReads = 1;
    const pile = pileOf(5);
    const err = await learner.sync(NS, SVC, pile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LearnerError);
    expect((err as LearnerError).code).toBe('GUARD_LEARNER_STORE_UNAVAILABLE');
    expect(() => pile.count).toThrow(CoreError); // the learner took ownership and disposed it
    const answer = spec(await learner.sync(NS, SVC, pileOf(1)));
    expect(answer.samples).toBe(1); // the failed sync's 5 were not merged: the gate resends them
    expect(answer.control?.block).toBe(true);
  });

  it('refuses names that are not DNS labels and syncs after close', async () => {
    const { learner } = setup();
    await expect(learner.sync('Shop', SVC, pileOf(1))).rejects.toMatchObject({ code: 'GUARD_STORE_INVALID_NAME' });
    await learner.close();
    await expect(learner.sync(NS, SVC, pileOf(1))).rejects.toMatchObject({ code: 'GUARD_LEARNER_CLOSED' });
  });
});

describe('Learner: concurrency', () => {
  it('never loses samples across concurrent syncs, a slow first read and writes in flight', async () => {
    const { clock, store, learner } = setup();
    const watch = wire(store, learner);
    let sent = 0;
    const send = (n: number, method = 'GET') => {
      sent += n;
      return learner.sync(NS, SVC, pileOf(n, method));
    };
    const releaseRead = store.holdReads();
    const first = [3, 1, 40, 7, 1, 250, 2, 9].map((n) => send(n));
    const releaseWrites = store.holdWrites();
    releaseRead();
    await Promise.all(first);
    expect(learner.status(NS, SVC)?.persisting).toBe(true); // the first persist is held

    const more: Promise<string>[] = [];
    for (let i = 0; i < 40; i++) {
      more.push(send(1 + (i % 13) * 37, i % 2 ? 'POST' : 'GET'));
      clock.advance(10_000);
      learner.tick();
    }
    await Promise.all(more);
    releaseWrites();
    await learner.settled();
    for (let i = 0; i < 5; i++) {
      more.push(send(i + 1));
      clock.advance(100_000);
      learner.tick();
    }
    await Promise.all(more);
    await learner.flush();
    expect(spec(await learner.sync(NS, SVC, null)).samples).toBe(sent);
    expect(await samplesStored(store)).toBe(sent);
    expect(learner.status(NS, SVC)!.learns).toBeGreaterThan(5);
    watch.close();
  });
});

describe('Learner: changes in the store', () => {
  it("keeps people's configured and control while learning goes on", async () => {
    const { clock, store, learner } = setup();
    const watch = wire(store, learner);
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();

    const edited = watch.next();
    await store.update(NS, SVC, (cur) => ({ ...cur!, configured: cur!.learned, control: { ...cur!.control!, auto: false, block: true } }));
    await edited;
    const configured = (await store.get(NS, SVC))!.spec.configured;

    clock.advance(31_000);
    const answer = spec(await learner.sync(NS, SVC, pileOf(1, 'POST')));
    expect(answer.control).toMatchObject({ auto: false, block: true });
    expect(answer.configured).toEqual(configured);
    expect(methods(answer as GuardianSpecJson)).toEqual(['GET', 'POST']);
    expect(answer.samples).toBe(2);

    clock.advance(300_000);
    learner.tick();
    await learner.settled();
    const stored = (await store.get(NS, SVC))!.spec;
    expect(stored.control).toMatchObject({ auto: false, block: true });
    expect(stored.configured).toEqual(configured);
    expect(methods(stored)).toEqual(['GET', 'POST']);
    expect(stored.samples).toBe(2);
    watch.close();
  });

  it('takes a learned part written elsewhere and learns into it again what was learned here since', async () => {
    const { clock, store, learner } = setup();
    const watch = wire(store, learner);
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    clock.advance(31_000);
    await learner.sync(NS, SVC, pileOf(1, 'POST')); // learned, not persisted yet

    const changed = watch.next();
    await store.updateLearned(NS, SVC, learnedFrom(pileOf(500, 'PUT')), 500);
    await changed;

    const answer = await learner.sync(NS, SVC, null);
    expect(spec(answer).samples).toBe(501);
    expect(methods(answer)).toEqual(['POST', 'PUT']);
    clock.advance(300_000);
    learner.tick();
    await learner.settled();
    expect(await samplesStored(store)).toBe(501);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['POST', 'PUT']);
    watch.close();
  });

  it('a person resetting learned starts it over, and what was learned since is persisted at once', async () => {
    const { clock, store, learner } = setup();
    const watch = wire(store, learner);
    await learner.sync(NS, SVC, pileOf(1000));
    await learner.settled();
    clock.advance(31_000);
    await learner.sync(NS, SVC, pileOf(2, 'POST'));
    const reset = watch.next();
    await store.update(NS, SVC, (cur) => ({ ...cur!, learned: null, samples: 0 }));
    await reset;
    expect(spec(await learner.sync(NS, SVC, null)).samples).toBe(2);
    learner.tick();
    await learner.settled();
    expect(await samplesStored(store)).toBe(2);
    expect(methods((await store.get(NS, SVC))!.spec)).toEqual(['POST']);
    watch.close();
  });

  it('a deleted Guardian starts over from the default and is created again by the next learn', async () => {
    const { store, learner } = setup();
    const watch = wire(store, learner);
    await learner.sync(NS, SVC, pileOf(1000));
    await learner.settled();
    const deleted = watch.next();
    await store.delete(NS, SVC);
    await deleted;
    expect(spec(await learner.sync(NS, SVC, null)).samples).toBe(0);
    expect(spec(await learner.sync(NS, SVC, pileOf(3, 'POST'))).samples).toBe(3);
    await learner.settled();
    expect(await samplesStored(store)).toBe(3);
    watch.close();
  });

  it('an event older than its own write, delivered late, does not undo learning', async () => {
    const { store, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    const own = (await store.get(NS, SVC))!;
    const g = core.defaultGuardian();
    const defaults = JSON.parse(g.toWire()) as GuardianSpecJson;
    g.dispose();
    // A person's edit the store took before the learner's write (learned still empty then).
    learner.onStoreChange({
      type: 'put',
      guardian: { namespace: NS, service: SVC, resourceVersion: 'older', spec: { ...defaults, control: { ...defaults.control!, block: true } } },
    });
    let answer = await learner.sync(NS, SVC, null);
    expect(spec(answer)).toMatchObject({ samples: 1, control: { block: true } });
    expect(methods(answer)).toEqual(['GET']);
    learner.onStoreChange({ type: 'put', guardian: own });
    answer = await learner.sync(NS, SVC, null);
    expect(spec(answer)).toMatchObject({ samples: 1, control: { block: false } });
    expect(methods(answer)).toEqual(['GET']);
  });

  it('its own writes coming back through the watch change nothing', async () => {
    const store = new MemoryGuardianStore(core);
    const logged: string[] = [];
    const learner = new Learner({ core, store, clock: new FakeClock(), log: { ...silentLogger, info: (_, m) => void logged.push(m), warn: (_, m) => void logged.push(m) } });
    learners.push(learner);
    const watch = wire(store, learner);
    for (let i = 0; i < 5; i++) await learner.sync(NS, SVC, pileOf(1));
    await learner.flush(); // the echoes of its writes went out before each write returned
    expect(store.learnedWrites).toHaveLength(2);
    expect(spec(await learner.sync(NS, SVC, null)).samples).toBe(5);
    expect(await samplesStored(store)).toBe(5);
    expect(logged).toEqual([]);
    watch.close();
  });

  it('a learned part written elsewhere after a failed persist still gets what was learned here', async () => {
    const { store, learner } = setup();
    const watch = wire(store, learner);
    await store.updateLearned(NS, SVC, null, 0);
    store.failWrites = 1;
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    expect(learner.status(NS, SVC)?.persistFailures).toBe(1);

    const changed = watch.next();
    await store.updateLearned(NS, SVC, learnedFrom(pileOf(500, 'PUT')), 500);
    await changed;
    const answer = await learner.sync(NS, SVC, null);
    expect(spec(answer).samples).toBe(501);
    expect(methods(answer)).toEqual(['GET', 'PUT']);
    watch.close();
  });
});

describe('Learner: key caps and route tables (docs/routes.md)', () => {
  /** A pile of sessions on a few routes, as a gate sends it. */
  function routedPile(): Pile {
    const local = core.newPile();
    for (const [path, query] of [['/items/17', 'lang=en'], ['/items/18', 'lang=de'], ['/search', 'q=tea']]) {
      const s = core.newSession();
      s.profileRequest({ method: 'GET', path, query, headers: [['Accept', '*/*']], remote: '8.8.8.8' });
      local.add(s);
      s.dispose();
    }
    const wire = core.parsePile(local.toWire());
    local.dispose();
    return wire;
  }

  it('learns with its caps, starts a route table for a new service and stores both', async () => {
    const store = new MemoryGuardianStore(core);
    const learner = new Learner({ core, store, clock: new FakeClock(1_000_000), caps: { params: 9, routes: 10 } });
    learners.push(learner);
    await learner.sync(NS, SVC, routedPile());
    await learner.settled();
    const learned = (await store.get(NS, SVC))!.spec.learned as { caps: object; routes: object };
    expect(learned.caps).toEqual({ ...DEFAULT_LEARNING_CAPS, params: 9, routes: 10 });
    expect(learned.routes).toEqual({ 'GET /items/{id}': { query: ['lang'], body: [] }, 'GET /search': { query: ['q'], body: [] } });
  });

  it('starts no route table for rules learned before; a person resetting learned gets one', async () => {
    const { clock, store, learner } = setup();
    const watch = wire(store, learner);
    // learned the original's way (no caps recorded, no route table)
    await store.update(NS, SVC, () => ({ configured: null, learned: learnedFrom(pileOf(5)) as GuardianSpecJson['learned'], samples: 5, control: { alert: true, block: false, learn: true, force: true, auto: true } }));
    await learner.sync(NS, SVC, routedPile());
    await learner.settled();
    clock.advance(31_000);
    learner.tick();
    await learner.flush();
    const routesOf = async () => ((await store.get(NS, SVC))!.spec.learned as { routes?: object }).routes;
    expect(await routesOf()).toBeUndefined();
    const reset = watch.next();
    await store.update(NS, SVC, (cur) => ({ ...cur!, learned: null, samples: 0 }));
    await reset;
    await learner.sync(NS, SVC, routedPile());
    await learner.flush();
    expect(Object.keys((await routesOf())!)).toEqual(['GET /items/{id}', 'GET /search']);
    watch.close();
  });

  it('GUARD_LEARN_* set its caps and its policy; invalid values are ConfigErrors naming the variable', () => {
    expect(readServiceConfig({}).learningCaps).toEqual(DEFAULT_LEARNING_CAPS);
    expect(readServiceConfig({ GUARD_LEARN_PARAM_CAP: '100', GUARD_LEARN_HEADER_CAP: '20', GUARD_LEARN_ROUTE_CAP: '0', GUARD_LEARN_UNKNOWN_HEADERS: 'shape' }).learningCaps).toEqual({
      params: 100,
      headers: 20,
      routes: 0,
      unknownHeaders: 'shape',
    });
    expect(readServiceConfig({}).learnerLimits).toEqual({ learnSamples: 1000, newSamplesRatio: 10, learnIntervalMs: 30_000, persistIntervalMs: 300_000, idleMs: 3_600_000 });
    // `guard service --help` says the same defaults (it does not load the learner to ask).
    const d = DEFAULT_LEARNER_LIMITS;
    const sync = readServiceConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }).syncLimit!;
    for (const [name, value] of [['GUARD_LEARN_SAMPLES', d.learnSamples], ['GUARD_LEARN_NEW_PERCENT', 100 / d.newSamplesRatio], ['GUARD_LEARN_INTERVAL', d.learnIntervalMs / 1000], ['GUARD_PERSIST_INTERVAL', d.persistIntervalMs / 1000], ['GUARD_SERVICE_IDLE', d.idleMs / 1000], ['GUARD_SERVICE_SYNC_BURST', sync.burst], ['GUARD_SERVICE_SYNCS_PER_MINUTE', sync.perMinute]] as const) {
      expect(SERVICE_HELP).toMatch(new RegExp(`${name} [^\\n]*(\\n {29}[^\\n]*)*\\(default ${value}[;)]`));
    }
    expect(readServiceConfig({ GUARD_LEARN_SAMPLES: '5000', GUARD_LEARN_NEW_PERCENT: '25', GUARD_LEARN_INTERVAL: '120', GUARD_PERSIST_INTERVAL: '60', GUARD_SERVICE_IDLE: '0' }).learnerLimits).toEqual({
      learnSamples: 5000,
      newSamplesRatio: 4,
      learnIntervalMs: 120_000,
      persistIntervalMs: 60_000,
      idleMs: 0,
    });
    for (const [name, value] of [
      ['GUARD_LEARN_PARAM_CAP', '0'],
      ['GUARD_LEARN_HEADER_CAP', '300'],
      ['GUARD_LEARN_ROUTE_CAP', '-1'],
      ['GUARD_LEARN_UNKNOWN_HEADERS', 'ignore'],
      ['GUARD_LEARN_SAMPLES', '0'],
      ['GUARD_LEARN_NEW_PERCENT', '101'],
      ['GUARD_LEARN_INTERVAL', '30s'],
      ['GUARD_PERSIST_INTERVAL', '0'],
      ['GUARD_SERVICE_IDLE', '-1'],
    ]) {
      expect(() => readServiceConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => readServiceConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
    }
  });
});

describe('FakeClock', () => {
  it('runs due timers in order, with now() at their due time, including timers they set', () => {
    const clock = new FakeClock(100);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => seen.push('x'), 15);
    clock.clearTimeout(cancelled);
    clock.advance(14);
    expect(seen).toEqual(['a@110']);
    clock.advance(6);
    expect(seen).toEqual(['a@110', 'c@115', 'b@120']);
    expect(clock.now()).toBe(120);
    expect(clock.pending).toBe(0);
  });
});

describe('Learner: sync ids (a pile resent after its answer was lost)', () => {
  function durable(store = new MemoryGuardianStore(core), clock = new FakeClock(1_000_000)) {
    const learner = new Learner({ core, store, clock, durable: true });
    learners.push(learner);
    return { store, learner };
  }

  it('durable: a repeat is answered without merging; the ids are written with the learned rules and known to the next owner', async () => {
    const { store, learner } = durable();
    const first = await learner.syncOnce(NS, SVC, pileOf(40), 'gate-a:1');
    expect(first.repeated).toBe(false);
    expect(await samplesStored(store)).toBe(40);
    expect((await store.get(NS, SVC))!.spec.syncs).toEqual(['gate-a:1']);
    const again = await learner.syncOnce(NS, SVC, pileOf(40), 'gate-a:1');
    expect(again).toEqual({ answer: first.answer, repeated: true });
    expect(await samplesStored(store)).toBe(40);
    expect(learner.stats().repeats).toBe(1);

    // Another replica takes the service over (it reads the Guardian): the resend is still a repeat.
    const next = durable(store).learner;
    expect((await next.syncOnce(NS, SVC, pileOf(40), 'gate-a:1')).repeated).toBe(true);
    expect((await next.syncOnce(NS, SVC, pileOf(5), 'gate-a:2')).repeated).toBe(false);
    expect(await samplesStored(store)).toBe(45);
    // Each gate instance's last sync is what is kept: an older sequence of it is a repeat too.
    expect((await store.get(NS, SVC))!.spec.syncs).toEqual(['gate-a:2']);
    expect((await next.syncOnce(NS, SVC, pileOf(40), 'gate-a:1')).repeated).toBe(true);
    expect(await samplesStored(store)).toBe(45);
  });

  it('durable: a repeat that arrives while the first one is being written waits for that write', async () => {
    const { store, learner } = durable();
    await learner.sync(NS, SVC, pileOf(10), 'gate-b:0');
    const release = store.holdWrites();
    const first = learner.syncOnce(NS, SVC, pileOf(7), 'gate-b:1');
    const repeat = learner.syncOnce(NS, SVC, pileOf(7), 'gate-b:1');
    let settled = false;
    void repeat.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    release();
    expect((await first).repeated).toBe(false);
    expect((await repeat).repeated).toBe(true);
    expect(await samplesStored(store)).toBe(17);
  });

  it('keeps the last sync of the most recent 512 gate instances; ids of another form and syncs without one are always merged', async () => {
    const { store, learner } = durable();
    for (let i = 0; i < 520; i++) await learner.sync(NS, SVC, pileOf(1), `gate-${i}:7`);
    const ids = (await store.get(NS, SVC))!.spec.syncs!;
    expect(ids).toHaveLength(512);
    expect(ids[0]).toBe('gate-8:7');
    expect(ids.at(-1)).toBe('gate-519:7');
    // The oldest instances were forgotten: their resend is merged again (the bound the audit asks for).
    expect((await learner.syncOnce(NS, SVC, pileOf(1), 'gate-0:7')).repeated).toBe(false);
    expect((await learner.syncOnce(NS, SVC, pileOf(1), 'gate-519:7')).repeated).toBe(true);
    await learner.sync(NS, SVC, pileOf(1), 'no-sequence');
    await learner.sync(NS, SVC, pileOf(1), 'no-sequence');
    await learner.sync(NS, SVC, pileOf(1));
    await learner.sync(NS, SVC, pileOf(1));
    expect(await samplesStored(store)).toBe(525);
  });

  it('keeps at most 4 instances of one pod: a pod sending ever new instances forgets only its own', async () => {
    const { store, learner } = durable();
    const hex8 = (i: number) => i.toString(16).padStart(8, '0');
    // Instances as guard-service writes them: 8 hex digits of the pod, 8 of the instance.
    for (let i = 0; i < 3; i++) await learner.sync(NS, SVC, pileOf(1), `bbbbbbbb${hex8(i)}:1`);
    for (let i = 0; i < 600; i++) await learner.sync(NS, SVC, pileOf(1), `aaaaaaaa${hex8(i)}:1`);
    const ids = (await store.get(NS, SVC))!.spec.syncs!;
    expect(ids.filter((id) => id.startsWith('aaaaaaaa'))).toEqual([596, 597, 598, 599].map((i) => `aaaaaaaa${hex8(i)}:1`));
    expect(ids.filter((id) => id.startsWith('bbbbbbbb'))).toHaveLength(3);
    // The other pod's resends are still repeats.
    for (let i = 0; i < 3; i++) expect((await learner.syncOnce(NS, SVC, pileOf(1), `bbbbbbbb${hex8(i)}:1`)).repeated).toBe(true);
    expect(await samplesStored(store)).toBe(603);
  });

  it('one replica: repeats are known in memory, and no ids are written', async () => {
    const { store, learner } = setup();
    await learner.sync(NS, SVC, pileOf(30), 'gate-c:1');
    expect((await learner.syncOnce(NS, SVC, pileOf(30), 'gate-c:1')).repeated).toBe(true);
    await learner.flush();
    expect(await samplesStored(store)).toBe(30);
    expect((await store.get(NS, SVC))!.spec.syncs).toBeUndefined();
  });
});

describe('Learner: idle services are forgotten (bounded memory)', () => {
  it('forgets a service an hour after its last sync once nothing is pending; its next sync reads the store and loses nothing', async () => {
    const { clock, store, learner } = setup();
    await learner.sync(NS, SVC, pileOf(3));
    await learner.sync(NS, 'other', pileOf(2));
    await learner.settled();
    clock.advance(31_000);
    // Learned but not written yet (the 5-minute persist interval): pending, so kept however long idle.
    await learner.sync(NS, SVC, pileOf(4, 'POST'));
    expect(learner.status(NS, SVC)?.unpersisted).toBe(true);

    clock.advance(3_600_000);
    learner.tick();
    await learner.settled();
    // The tick that forgets also wrote what was pending (its persist was due): the next check forgets it.
    expect(learner.status(NS, 'other')).toBeNull();
    expect(learner.status(NS, SVC)).not.toBeNull();
    expect(learner.stats()).toMatchObject({ services: 1, forgotten: 1 });

    clock.advance(60_000);
    learner.tick();
    await learner.settled();
    expect(learner.status(NS, SVC)).toBeNull();
    expect(learner.stats()).toMatchObject({ services: 0, forgotten: 2 });
    expect(await samplesStored(store)).toBe(7);

    // The next sync reads the store again: everything learned before is there.
    const answer = await learner.sync(NS, SVC, pileOf(1, 'PUT'));
    expect(spec(answer).samples).toBe(8);
    expect(methods(answer)).toEqual(['GET', 'POST', 'PUT']);
    expect(learner.stats().services).toBe(1);
  });

  it('keeps a service that syncs, however long it runs, and forgets none with idleMs 0', async () => {
    const { clock, learner } = setup();
    for (let i = 0; i < 6; i++) {
      await learner.sync(NS, SVC, pileOf(1));
      clock.advance(50 * 60_000);
      learner.tick();
      await learner.settled();
    }
    expect(learner.stats()).toMatchObject({ services: 1, forgotten: 0 });

    const never = setup({ idleMs: 0 });
    await never.learner.sync(NS, SVC, pileOf(1));
    await never.learner.settled();
    never.clock.advance(24 * 3_600_000);
    never.learner.tick();
    expect(never.learner.stats()).toMatchObject({ services: 1, forgotten: 0 });
  });

  it('never forgets a service while its Guardian is being read or written', async () => {
    const { clock, store, learner } = setup();
    await learner.sync(NS, SVC, pileOf(1));
    await learner.settled();
    clock.advance(3_600_000);
    // A write in flight (flush persists at once): the tick leaves the service alone.
    await learner.sync(NS, SVC, pileOf(1, 'POST'));
    clock.advance(3_600_000);
    const release = store.holdWrites();
    const flushing = learner.flush();
    learner.tick();
    expect(learner.status(NS, SVC)?.persisting).toBe(true);
    release();
    await flushing;
    expect(await samplesStored(store)).toBe(2);
    clock.advance(60_000);
    learner.tick();
    expect(learner.status(NS, SVC)).toBeNull();
  });
});

describe('Learner: services spread over core instances (GUARD_SERVICE_CORES)', () => {
  /** A pile of n sessions of `method`, as it arrives over the wire, parsed in `into`. */
  const pileIn = (into: typeof core, n: number, method = 'GET') => {
    const local = pileOf(n, method);
    const wire = local.toWire();
    local.dispose();
    return into.parsePile(wire);
  };

  it('learns each service in its own instance, the same one every time, and answers as with one', async () => {
    const store = new MemoryGuardianStore(core);
    const learner = new Learner({ core, cores: 3, store, clock: new FakeClock(1_000_000) });
    learners.push(learner);
    const services = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    const used = new Set(services.map((s) => learner.coreFor(NS, s)));
    expect(used.size).toBe(3);
    expect(used.has(core)).toBe(true);
    for (const [i, svc] of services.entries()) {
      const into = learner.coreFor(NS, svc);
      expect(learner.coreFor(NS, svc)).toBe(into);
      const answer = await learner.sync(NS, svc, pileIn(into, 1 + i, i % 2 ? 'POST' : 'GET'));
      expect(methods(answer)).toEqual([i % 2 ? 'POST' : 'GET']);
      expect(spec(answer).samples).toBe(1 + i);
    }
    await learner.flush();
    for (const [i, svc] of services.entries()) expect((await store.get(NS, svc))?.spec.samples).toBe(1 + i);
  });

  it('refuses a pile parsed in another instance, merging nothing, and serves the service on', async () => {
    const learner = new Learner({ core, cores: 2, store: new MemoryGuardianStore(core), clock: new FakeClock(1_000_000) });
    learners.push(learner);
    const svc = ['a', 'b', 'c', 'd', 'e', 'f'].find((s) => learner.coreFor(NS, s) !== core)!;
    const err = await learner.sync(NS, svc, pileOf(5)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect(err).toMatchObject({ code: 'GUARD_INVALID_ARGUMENT', message: expect.stringContaining('another core instance') });
    expect(learner.status(NS, svc)?.pileSamples).toBe(0);
    const answer = await learner.sync(NS, svc, pileIn(learner.coreFor(NS, svc), 2));
    expect(spec(answer).samples).toBe(2);
  });

  it('GUARD_SERVICE_CORES: 4 by default, 1 to 64; anything else is a ConfigError naming it', () => {
    expect(readServiceConfig({}).cores).toBe(4);
    expect(readServiceConfig({ GUARD_SERVICE_CORES: '1' }).cores).toBe(1);
    for (const value of ['0', '65', 'two', '1.5']) expect(() => readServiceConfig({ GUARD_SERVICE_CORES: value })).toThrow(/^GUARD_SERVICE_CORES: /);
    expect(SERVICE_HELP).toMatch(/GUARD_SERVICE_CORES [^\n]*(\n {29}[^\n]*)*\(default 4[;)]/);
  });
});
