// The behaviour both Kubernetes Guardian stores share, run against the kube stand-in through the
// real @kubernetes/client-node: each test file calls kubeStoreSuite with how its kind keeps a
// Guardian as an object.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStoreError, MAX_SAMPLES, StoreError, type GuardianSpecJson, type GuardianStore, type GuardianWatchEvent, type StoredGuardian } from '../../store/index.js';
import type { KubeGuardianStoreOptions } from '../../store/kube-store.js';
import { resolveGuardian } from '../../store/resolve.js';
import { startKubeStandin, type KubeStandin } from '../kube/standin.js';
import { canonical, defaultSpec, exampleSpec, storeError } from './support.js';
import { waitFor } from '../support/waiters.js';

export interface KubeStoreKind {
  name: 'kube-crd' | 'kube-configmap';
  make(options: KubeGuardianStoreOptions): GuardianStore;
  /** Seed an object holding `spec` (any value, valid or not) straight into the stand-in. */
  plant(kube: KubeStandin, namespace: string, service: string, spec: unknown): void;
  /** Seed an object that holds no Guardian the core loads. */
  plantInvalid(kube: KubeStandin, namespace: string, service: string): void;
  /** The spec as stored in the stand-in (parsed), or undefined if there is no object. */
  storedSpec(kube: KubeStandin, namespace: string, service: string): Record<string, unknown> | undefined;
  /** "Guardian ns/svc" or "ConfigMap ns/guardian.svc": how errors name the object. */
  describe(namespace: string, service: string): string;
  /** failNext patterns for a read and for a write of one Guardian. */
  readPath: string;
  writePattern: RegExp;
}

/** A learned config that records `marks` (as HTTP methods): enough to see whose learning survived. */
export function learnedWith(marks: Iterable<string>): unknown {
  return { req: { method: { set: [...marks].sort() } } };
}

export function marksOf(spec: GuardianSpecJson | Record<string, unknown> | undefined): string[] {
  const learned = spec?.learned as { req?: { method?: { set?: string[] | null } } } | undefined;
  return [...(learned?.req?.method?.set ?? [])].sort();
}

function configuredWith(marks: string[]): unknown {
  return { req: { method: { set: marks } } };
}

/** Collects a watch's events and its view of the Guardians; resolves waits on its own callbacks. */
function watcher(store: GuardianStore) {
  const events: GuardianWatchEvent[] = [];
  const view = new Map<string, StoredGuardian>();
  const waiters = new Set<() => void>();
  const handle = store.watch((event) => {
    events.push(event);
    const key = `${event.guardian.namespace}/${event.guardian.service}`;
    if (event.type === 'put') view.set(key, event.guardian);
    else view.delete(key);
    for (const w of [...waiters]) w();
  });
  const until = (predicate: () => boolean, what: string, timeoutMs = 5000) =>
    waitFor(waiters, predicate, what, () => `saw ${JSON.stringify(events.map((e) => `${e.type} ${e.guardian.service}`))}`, timeoutMs);
  return { events, view, until, close: () => handle.close() };
}

function summary(guardians: Iterable<StoredGuardian>): Record<string, number> {
  return Object.fromEntries([...guardians].map((g) => [`${g.namespace}/${g.service}`, g.spec.samples]));
}

export function kubeStoreSuite(kind: KubeStoreKind): void {
  describe(`${kind.name} store on the kube stand-in`, () => {
    let kube: KubeStandin;
    const problems: StoreError[] = [];
    const open: GuardianStore[] = [];
    let nsCounter = 0;
    /** A namespace of its own for each test: tests never see each other's Guardians. */
    const freshNamespace = () => `t${++nsCounter}-${kind.name}`;

    const make = (options: KubeGuardianStoreOptions = {}): GuardianStore => {
      const store = kind.make({
        kubeConfig: kube.kubeConfig(),
        report: (p) => problems.push(p),
        conflictBackoffMs: 5,
        maxConflictBackoffMs: 50,
        watchBackoffMs: 20,
        maxWatchBackoffMs: 200,
        ...options,
      });
      open.push(store);
      return store;
    };

    beforeAll(async () => {
      kube = await startKubeStandin();
    });
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
      problems.length = 0;
      kube.state.delay(0);
    });
    afterAll(async () => {
      await kube.close();
    });

    it('round-trips a Guardian: update creates, get and list read it, delete removes it', async () => {
      const ns = freshNamespace();
      const store = make();
      expect(store.kind).toBe(kind.name);
      expect(await store.get(ns, 'cart')).toBeNull();
      const written = await store.update(ns, 'cart', (current) => {
        expect(current).toBeNull();
        return exampleSpec();
      });
      expect(written).toMatchObject({ namespace: ns, service: 'cart', spec: canonical(exampleSpec()) });
      expect(written.resourceVersion).toMatch(/^\d+$/);
      expect(await store.get(ns, 'cart')).toEqual(written);
      expect(kind.storedSpec(kube, ns, 'cart')).toBeDefined();

      await store.update(ns, 'shop', () => defaultSpec());
      await store.update(`${ns}-other`, 'cart', () => defaultSpec());
      expect(summary(await store.list(ns))).toEqual({ [`${ns}/cart`]: 1, [`${ns}/shop`]: 0 });
      expect(Object.keys(summary(await store.list()))).toEqual(expect.arrayContaining([`${ns}/cart`, `${ns}/shop`, `${ns}-other/cart`]));

      const changed = await store.update(ns, 'cart', (current) => ({ ...current!, control: { ...current!.control!, block: true } }));
      expect(changed.spec.control?.block).toBe(true);
      expect(changed.resourceVersion).not.toBe(written.resourceVersion);

      await store.delete(ns, 'cart');
      expect(await store.get(ns, 'cart')).toBeNull();
      const missing = await storeError(store.delete(ns, 'cart'), 'GUARD_STORE_NOT_FOUND');
      expect(missing.message).toContain(kind.describe(ns, 'cart'));
    });

    it('updateLearned creates from the default Guardian and afterwards writes only learned and samples', async () => {
      const ns = freshNamespace();
      const store = make();
      const created = await store.updateLearned(ns, 'cart', learnedWith(['A']), 3);
      expect(created.spec.control).toEqual(defaultSpec().control);
      expect(created.spec.samples).toBe(3);
      expect(marksOf(created.spec)).toEqual(['A']);

      // A person sets configured and control; the learner's next write keeps them.
      await store.update(ns, 'cart', (cur) => ({ ...cur!, configured: configuredWith(['GET']), control: { alert: true, block: true, learn: false, force: false, auto: false } }));
      const learned = await store.updateLearned(ns, 'cart', learnedWith(['A', 'B']), 7);
      expect(learned.spec.control).toEqual({ alert: true, block: true, learn: false, force: false, auto: false });
      expect(marksOf({ learned: learned.spec.configured })).toEqual(['GET']);
      expect(marksOf(learned.spec)).toEqual(['A', 'B']);
      expect(learned.spec.samples).toBe(7);
      expect(await store.get(ns, 'cart')).toEqual(learned);
    });

    it('keeps the sync ids of the learned rules through learner writes and people edits; refuses malformed ones', async () => {
      const ns = freshNamespace();
      const store = make();
      const first = await store.updateLearned(ns, 'cart', learnedWith(['A']), 3, { syncs: ['gate-1:a', 'gate-2:b'] });
      expect(first.spec.syncs).toEqual(['gate-1:a', 'gate-2:b']);
      // Without ids (a single replica), the ones stored stay; a person's edit keeps them too.
      expect((await store.updateLearned(ns, 'cart', learnedWith(['A', 'B']), 5)).spec.syncs).toEqual(['gate-1:a', 'gate-2:b']);
      // With ids, they replace the stored ones (the learner writes every id its learned rules hold).
      expect((await store.updateLearned(ns, 'cart', learnedWith(['A', 'B']), 5, { syncs: ['gate-1:a', 'gate-2:c'] })).spec.syncs).toEqual(['gate-1:a', 'gate-2:c']);
      const edited = await store.update(ns, 'cart', (cur) => ({ ...cur!, configured: configuredWith(['GET']) }));
      expect(edited.spec.syncs).toEqual(['gate-1:a', 'gate-2:c']);
      expect((await store.get(ns, 'cart'))!.spec.syncs).toEqual(['gate-1:a', 'gate-2:c']);
      await storeError(store.updateLearned(ns, 'cart', learnedWith(['C']), 6, { syncs: ['not an id'] }), 'GUARD_STORE_INVALID');
      await storeError(store.updateLearned(ns, 'cart', learnedWith(['C']), 6, { syncs: Array.from({ length: 513 }, (_, i) => `s${i}`) }), 'GUARD_STORE_INVALID');
      expect((await store.get(ns, 'cart'))!.spec.samples).toBe(5);
    });

    it('keeps when the learned rules were learned through learner writes and people edits; refuses a time that is not one', async () => {
      const ns = freshNamespace();
      const store = make();
      const at = '2026-12-07T17:30:00.125Z';
      expect((await store.updateLearned(ns, 'cart', learnedWith(['A']), 3, { learnedAt: at })).spec.learnedAt).toBe(at);
      expect((await store.updateLearned(ns, 'cart', learnedWith(['A', 'B']), 5)).spec.learnedAt).toBe(at);
      const edited = await store.update(ns, 'cart', (cur) => ({ ...cur!, configured: configuredWith(['GET']) }));
      expect(edited.spec.learnedAt).toBe(at);
      const later = '2026-12-07T17:35:00.000Z';
      expect((await store.updateLearned(ns, 'cart', learnedWith(['A', 'B']), 6, { learnedAt: later })).spec.learnedAt).toBe(later);
      expect((await store.get(ns, 'cart'))!.spec.learnedAt).toBe(later);
      await storeError(store.updateLearned(ns, 'cart', learnedWith(['C']), 7, { learnedAt: 'yesterday' }), 'GUARD_STORE_INVALID');
      expect((await store.get(ns, 'cart'))!.spec).toMatchObject({ samples: 6, learnedAt: later });
    });

    it('refuses a spec the core does not load, and writes nothing', async () => {
      const ns = freshNamespace();
      const store = make();
      await storeError(store.update(ns, 'cart', () => ({ learned: 5 }) as unknown as GuardianSpecJson), 'GUARD_STORE_INVALID');
      await storeError(store.updateLearned(ns, 'cart', {}, MAX_SAMPLES + 1), 'GUARD_STORE_INVALID');
      await storeError(store.get(ns, 'Not_A_Name'), 'GUARD_STORE_INVALID_NAME');
      expect(kind.storedSpec(kube, ns, 'cart')).toBeUndefined();
    });

    it('resolves service → namespace default → null, and never falls through on an error', async () => {
      const ns = freshNamespace();
      const store = make();
      expect(await resolveGuardian(store, ns, 'cart')).toBeNull();
      kind.plant(kube, ns, `ns-${ns}`, { control: { alert: true, block: true } });
      const fallback = await resolveGuardian(store, ns, 'cart');
      expect(fallback).toMatchObject({ namespace: ns, service: `ns-${ns}`, spec: { control: { block: true } } });
      kind.plant(kube, ns, 'cart', { control: { alert: true, learn: true } });
      expect(await resolveGuardian(store, ns, 'cart')).toMatchObject({ service: 'cart', spec: { control: { block: false, learn: true } } });
      await storeError(resolveGuardian(store, ns, `ns-${ns}`), 'GUARD_STORE_INVALID_NAME');

      // A failed read of the service's own Guardian is not "no Guardian" (docs/threat-model.md,
      // B-5).
      kube.state.failNext(`GET ${kind.readPath.replace('{ns}', ns).replace('{name}', kind.name === 'kube-crd' ? 'cart' : 'guardian.cart')}`, 500);
      await storeError(resolveGuardian(store, ns, 'cart'), 'GUARD_STORE_IO');
      // Nor is an invalid one: the caller keeps its last good Guardian.
      kind.plantInvalid(kube, ns, 'cart');
      const invalid = await storeError(resolveGuardian(store, ns, 'cart'), 'GUARD_STORE_INVALID');
      expect(invalid.location).toBe(kind.describe(ns, 'cart'));
    });

    it('reports a failed read as an error, not as absence: 500, 403, a 404 of the path, a timeout', async () => {
      const ns = freshNamespace();
      const store = make({ requestTimeoutMs: 300 });
      await store.update(ns, 'cart', () => defaultSpec());
      const path = (name: string) => `GET ${kind.readPath.replace('{ns}', ns).replace('{name}', name)}`;
      const object = kind.name === 'kube-crd' ? 'cart' : 'guardian.cart';

      kube.state.failNext(path(object), 500, { message: 'etcdserver: leader changed' });
      const e500 = await storeError(store.get(ns, 'cart'), 'GUARD_STORE_IO');
      expect(e500.message).toContain('500');
      expect(e500.message).toContain('etcdserver: leader changed');
      expect(e500.location).toBe(kind.describe(ns, 'cart'));

      kube.state.failNext(path(object), 403);
      await storeError(store.get(ns, 'cart'), 'GUARD_STORE_IO');
      // A 404 that is not the object's NotFound (the path is unknown: no CRD installed).
      kube.state.failNext(path(object), 404, { message: 'the server could not find the requested resource' });
      await storeError(store.get(ns, 'cart'), 'GUARD_STORE_IO');
      // The learner's write is not turned into a create over a Guardian it could not read.
      kube.state.failNext(path(object), 503);
      await storeError(store.updateLearned(ns, 'cart', learnedWith(['X']), 1), 'GUARD_STORE_IO');
      expect(kind.storedSpec(kube, ns, 'cart')?.samples ?? 0).toBe(0);

      kube.state.delay(2000);
      const started = Date.now();
      const slow = await storeError(store.get(ns, 'cart'), 'GUARD_STORE_IO');
      expect(slow.message).toContain('did not answer in time');
      expect(Date.now() - started).toBeLessThan(1800);
      kube.state.delay(0);
      expect((await store.get(ns, 'cart'))?.spec).toEqual(canonical(defaultSpec()));
    });

    it('retries a write that met a stale resourceVersion, with the change applied to the new state', async () => {
      const ns = freshNamespace();
      const store = make();
      await store.update(ns, 'cart', () => defaultSpec());
      let calls = 0;
      const result = await store.update(ns, 'cart', (current) => {
        calls++;
        // A person's edit lands between this read and the write below: the write is stale.
        if (calls === 1) kind.plant(kube, ns, 'cart', { ...current, configured: configuredWith(['PERSON']) });
        return { ...current!, learned: learnedWith(['LEARNER']) as never };
      });
      expect(calls).toBe(2);
      expect(marksOf({ learned: result.spec.configured })).toEqual(['PERSON']);
      expect(marksOf(result.spec)).toEqual(['LEARNER']);
      expect(kube.state.requests.filter((r) => r.status === 409).length).toBeGreaterThanOrEqual(1);

      // The same for the learner's write, and a conflict on every attempt is GUARD_STORE_CONFLICT.
      kube.state.failNext(kind.writePattern, 409, { times: 1 });
      expect((await store.updateLearned(ns, 'cart', learnedWith(['L2']), 2)).spec.samples).toBe(2);
      const limited = make({ maxAttempts: 3 });
      kube.state.failNext(kind.writePattern, 409, { times: 3 });
      const conflict = await storeError(limited.updateLearned(ns, 'cart', learnedWith(['L3']), 3), 'GUARD_STORE_CONFLICT');
      expect(conflict.location).toBe(kind.describe(ns, 'cart'));
      expect(kube.state.pendingFaults).toBe(0);
      expect((await store.get(ns, 'cart'))?.spec.samples).toBe(2);
    });

    it('lands the learner’s write only on the Guardian it read and validated', async () => {
      const ns = freshNamespace();
      const store = make();
      await store.updateLearned(ns, 'cart', learnedWith(['OLD']), 1);
      const object = kind.name === 'kube-crd' ? 'cart' : 'guardian.cart';
      const readPath = kind.readPath.replace('{ns}', ns).replace('{name}', object);
      const served = kube.state.requests.length;
      // Right after the learner's read is answered, a person breaks the Guardian.
      const broken = kube.state.waitFor(() => {
        if (!kube.state.requests.slice(served).some((r) => r.method === 'GET' && r.path === readPath)) return false;
        kind.plantInvalid(kube, ns, 'cart');
        return true;
      });
      await storeError(store.updateLearned(ns, 'cart', learnedWith(['NEW']), 2), 'GUARD_STORE_INVALID');
      await broken;
      // The write met a 409, re-read, and refused the invalid Guardian instead of writing into it.
      expect(kube.state.requests.slice(served).some((r) => r.status === 409)).toBe(true);
      expect(JSON.stringify(kind.storedSpec(kube, ns, 'cart') ?? null)).not.toContain('NEW');
    });

    it("keeps a person's configured while two learners persist 50 times each, and loses no learning", async () => {
      const ns = freshNamespace();
      // The two learners share one store, which serializes their writes, so only the person's
      // writes can make a learner's write conflict, each at most once: with 10 edits, 11 attempts
      // always land. (With the default 10 and this test's 5 ms backoff, a slow machine let all 10
      // edits fall into one learner write's retries, and it gave up with GUARD_STORE_CONFLICT.)
      const store = make({ maxAttempts: 11 });
      await store.updateLearned(ns, 'cart', learnedWith([]), 0);
      // One guard-service: two learners (e.g. two sync handlers) persisting the service's record.
      const record = { samples: 0, marks: new Set<string>() };
      const learner = async (id: string) => {
        for (let i = 0; i < 50; i++) {
          record.samples += 1;
          record.marks.add(`${id}${i}`);
          await store.updateLearned(ns, 'cart', learnedWith(record.marks), record.samples);
        }
      };
      // A person editing through another client (kubectl edit): read, change configured, replace.
      const person = make();
      const edits = async () => {
        for (let i = 0; i < 10; i++) {
          await person.update(ns, 'cart', (cur) => ({ ...cur!, configured: configuredWith([`EDIT${i}`]) }));
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      await Promise.all([learner('A'), learner('B'), edits()]);
      const final = await store.get(ns, 'cart');
      expect(marksOf({ learned: final!.spec.configured })).toEqual(['EDIT9']);
      expect(final!.spec.samples).toBe(100);
      expect(marksOf(final!.spec)).toHaveLength(100);
    });

    it('loses no update when two replicas and a person read-modify-write one Guardian concurrently', async () => {
      const ns = freshNamespace();
      // Three writers back to back on one object: under CPU starvation one of them can lose its
      // read-modify-write race on every one of its attempts, and the store then gives up with
      // GUARD_STORE_CONFLICT (its retry budget; nothing was written). That was this test's old
      // flake. A caller that gets it retries, as the learner does with a failed persist; what this
      // test checks is that no *written* update is lost, so each writer here retries too.
      const [one, two, person] = [make(), make(), make()];
      await one.update(ns, 'cart', () => ({ ...defaultSpec(), learned: learnedWith([]) as never }));
      const persistently = async (write: () => Promise<unknown>) => {
        for (;;) {
          try {
            return await write();
          } catch (err) {
            if (!isStoreError(err, 'GUARD_STORE_CONFLICT')) throw err;
          }
        }
      };
      const replica = async (store: GuardianStore, id: string) => {
        for (let i = 0; i < 50; i++) {
          await persistently(() =>
            store.update(ns, 'cart', (cur) => ({ ...cur!, learned: learnedWith([...marksOf(cur!), `${id}${i}`]) as never, samples: cur!.samples + 1 })),
          );
        }
      };
      const edits = async () => {
        for (let i = 0; i < 10; i++) await persistently(() => person.update(ns, 'cart', (cur) => ({ ...cur!, configured: configuredWith([`EDIT${i}`]) })));
      };
      await Promise.all([replica(one, 'A'), replica(two, 'B'), edits()]);
      const final = (await one.get(ns, 'cart'))!.spec;
      expect(final.samples).toBe(100);
      expect(marksOf(final)).toHaveLength(100);
      expect(marksOf({ learned: final.configured })).toEqual(['EDIT9']);
    });

    it('watches puts and deletes, and keeps its view through dropped streams and a 410', async () => {
      const ns = freshNamespace();
      const store = make({ namespace: ns });
      const writer = make();
      await writer.update(ns, 'before', () => defaultSpec());
      const w = watcher(store);
      await w.until(() => w.view.has(`${ns}/before`), 'the initial put');
      expect(w.events[0]).toMatchObject({ type: 'put', guardian: { namespace: ns, service: 'before' } });

      await writer.updateLearned(ns, 'cart', learnedWith(['A']), 1);
      await w.until(() => w.view.get(`${ns}/cart`)?.spec.samples === 1, 'cart put');
      await writer.delete(ns, 'before');
      await w.until(() => !w.view.has(`${ns}/before`), 'before deleted');
      expect(w.events.filter((e) => e.type === 'delete')).toEqual([{ type: 'delete', guardian: { namespace: ns, service: 'before' } }]);

      // A clean end and a reset socket: changes made while no stream is open still arrive.
      for (const mode of ['end', 'reset'] as const) {
        await kube.state.waitFor(() => kube.state.openWatches === 1);
        kube.state.dropWatches(mode);
        kind.plant(kube, ns, `after-${mode}`, defaultSpec());
        await writer.updateLearned(ns, 'cart', learnedWith(['A', mode]), mode === 'end' ? 2 : 3);
        await w.until(() => w.view.has(`${ns}/after-${mode}`) && w.view.get(`${ns}/cart`)?.spec.samples === (mode === 'end' ? 2 : 3), `changes after ${mode}`);
      }

      // A drop plus a compaction: the resumed watch gets 410, relists, and sees a delete it missed.
      await kube.state.waitFor(() => kube.state.openWatches === 1);
      kube.state.dropWatches('end');
      kube.state.removeObject(kind.name === 'kube-crd' ? 'guardians' : 'configmaps', ns, kind.name === 'kube-crd' ? 'after-end' : 'guardian.after-end');
      kind.plant(kube, ns, 'late', { ...defaultSpec(), samples: 9 });
      kube.state.compact();
      await w.until(() => !w.view.has(`${ns}/after-end`) && w.view.get(`${ns}/late`)?.spec.samples === 9, 'the relist after 410');
      expect(summary(w.view.values())).toEqual(summary(await store.list()));
      expect(problems.some((p) => p.message.includes('watch'))).toBe(true);

      w.close();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('reports an invalid Guardian and skips it in get, list, watch and update, keeping the last good one', async () => {
      const ns = freshNamespace();
      const store = make();
      kind.plant(kube, ns, 'good', defaultSpec());
      kind.plant(kube, ns, 'flaky', { ...defaultSpec(), samples: 4 });
      kind.plantInvalid(kube, ns, 'bad');

      const bad = await storeError(store.get(ns, 'bad'), 'GUARD_STORE_INVALID');
      expect(bad.message).toContain(kind.describe(ns, 'bad'));
      expect(bad.location).toBe(kind.describe(ns, 'bad'));
      expect(Object.keys(summary(await store.list(ns))).sort()).toEqual([`${ns}/flaky`, `${ns}/good`]);
      expect(problems.map((p) => p.location)).toContain(kind.describe(ns, 'bad'));
      await storeError(store.update(ns, 'bad', () => defaultSpec()), 'GUARD_STORE_INVALID');
      await storeError(store.updateLearned(ns, 'bad', learnedWith(['X']), 1), 'GUARD_STORE_INVALID');

      const w = watcher(make({ namespace: ns }));
      await w.until(() => w.view.size === 2, 'two valid Guardians');
      // A good Guardian turning bad: reported, and the watcher keeps the last good one (no delete).
      problems.length = 0;
      kind.plantInvalid(kube, ns, 'flaky');
      kind.plant(kube, ns, 'marker', defaultSpec());
      await w.until(() => w.view.has(`${ns}/marker`), 'the marker');
      expect(w.view.get(`${ns}/flaky`)?.spec.samples).toBe(4);
      expect(w.events.some((e) => e.guardian.service === 'bad')).toBe(false);
      expect(problems.map((p) => p.location)).toContain(kind.describe(ns, 'flaky'));
      w.close();
    });

    it('close() stops watches and refuses later calls', async () => {
      const ns = freshNamespace();
      const store = make();
      const w = watcher(store);
      await kube.state.waitFor(() => kube.state.openWatches >= 1);
      const before = kube.state.openWatches;
      await store.close();
      await kube.state.waitFor(() => kube.state.openWatches === before - 1);
      await storeError(store.get(ns, 'cart'), 'GUARD_STORE_CLOSED');
      expect(() => store.watch(() => {})).toThrow(StoreError);
      w.close();
    });
  });
}
