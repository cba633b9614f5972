// The kube stand-in, exercised only through the real @kubernetes/client-node 1.4.0 (plus raw HTTP
// for the protocol errors a typed client cannot produce).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  makeInformer,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { failure } from './api-failure.js';
import { startKubeStandin, type KubeStandin } from './standin.js';
import { waitFor } from '../support/waiters.js';

const group = 'guard.security.knative.dev';
const version = 'v1alpha1';
const plural = 'guardians';
const crd = { group, version, plural };
const guardiansPath = (ns: string) => `/apis/${group}/${version}/namespaces/${ns}/${plural}`;

interface Guardian {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; generation?: number; creationTimestamp?: string };
  spec?: Record<string, unknown>;
}

function guardianBody(name: string, spec: Record<string, unknown> = {}): Guardian {
  return { apiVersion: `${group}/${version}`, kind: 'Guardian', metadata: { name }, spec };
}


interface Event {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string; spec?: Record<string, unknown> };
}

/**
 * Opens a watch through client-node's Watch and collects its events. Watch.watch() resolves once the
 * response headers arrived, i.e. once the stand-in has registered the watch.
 */
async function openWatch(config: KubeConfig, path: string, query: Record<string, string> = {}) {
  const events: Event[] = [];
  const waiters = new Set<() => void>();
  let ended: { error: unknown } | undefined;
  const controller = await new Watch(config).watch(
    path,
    query,
    (type, object) => {
      events.push({ type, object });
      for (const w of [...waiters]) w();
    },
    (error) => {
      ended = { error };
      for (const w of [...waiters]) w();
    },
  );
  const until = (predicate: () => boolean, what: string) => waitFor(waiters, predicate, what, () => `got ${JSON.stringify(events.map((e) => e.type))}`);
  return {
    events,
    untilEvents: (n: number) => until(() => events.length >= n, `${n} events`),
    /** Resolves with the error client-node passed to `done` (null for a clean end). */
    ended: async () => {
      await until(() => ended !== undefined, 'the stream to end');
      return ended!.error;
    },
    stop: () => controller.abort(),
  };
}

describe('kube stand-in through @kubernetes/client-node 1.4.0', () => {
  let kube: KubeStandin;
  let config: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let auth: AuthenticationV1Api;

  beforeAll(async () => {
    kube = await startKubeStandin({ bookmarkIntervalMs: 200 });
    config = kube.kubeConfig();
    custom = config.makeApiClient(CustomObjectsApi);
    core = config.makeApiClient(CoreV1Api);
    auth = config.makeApiClient(AuthenticationV1Api);
  });

  afterAll(async () => {
    await kube.close();
  });

  describe('Guardians (custom resources)', () => {
    const ns = 'guardians-crud';

    it('creates, reads and lists a Guardian with server-set metadata and schema defaults', async () => {
      const before = Number(kube.state.resourceVersion);
      const created: Guardian = await custom.createNamespacedCustomObject({
        ...crd,
        namespace: ns,
        body: guardianBody('httptest1', { control: { alert: true, auto: true }, configured: null, samples: 0 }),
      });
      expect(created.metadata).toMatchObject({ name: 'httptest1', namespace: ns, generation: 1 });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(before);
      // The CRD schema defaults the control flags and prunes a null `configured`.
      expect(created.spec).toEqual({ control: { alert: true, auto: true, block: false, force: false, learn: false }, samples: 0 });

      const read: Guardian = await custom.getNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1' });
      expect(read).toEqual(created);

      await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody(`ns-${ns}`) });
      const list = await custom.listNamespacedCustomObject({ ...crd, namespace: ns });
      expect(list.kind).toBe('GuardianList');
      expect(list.metadata.resourceVersion).toBe(kube.state.resourceVersion);
      expect(list.items.map((g: Guardian) => g.metadata.name)).toEqual(['httptest1', `ns-${ns}`]);
      expect(list.items[0].kind).toBe('Guardian');
    });

    it('answers 409 AlreadyExists, 404 NotFound, 422 Invalid and 400 BadRequest as the API server does', async () => {
      const duplicate = await failure(custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('httptest1') }));
      expect(duplicate.code).toBe(409);
      expect(duplicate.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409 });

      const missing = await failure(custom.getNamespacedCustomObject({ ...crd, namespace: ns, name: 'nope' }));
      expect(missing.code).toBe(404);
      expect(missing.status).toMatchObject({ reason: 'NotFound', message: 'guardians.guard.security.knative.dev "nope" not found' });

      const badName = await failure(custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('My_Service') }));
      expect(badName.code).toBe(422);
      expect(badName.status?.reason).toBe('Invalid');

      const badType = await failure(
        custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('typed', { control: { block: 'yes' } }) }),
      );
      expect(badType.code).toBe(422);
      expect(badType.status?.message).toContain('spec.control.block in body must be of type boolean');

      const noKind = await failure(custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: { metadata: { name: 'kindless' } } }));
      expect(noKind.code).toBe(400);
      expect(noKind.status?.reason).toBe('BadRequest');
    });

    it('replaces only at the current resourceVersion: a stale one gets 409 Conflict', async () => {
      const current: Guardian = await custom.getNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1' });
      const next = structuredClone(current);
      next.spec = { ...next.spec, control: { alert: true, auto: false, block: true, force: false, learn: false } };
      const replaced: Guardian = await custom.replaceNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1', body: next });
      expect(replaced.metadata.generation).toBe(2);
      expect(replaced.metadata.uid).toBe(current.metadata.uid);
      expect(Number(replaced.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));

      const stale = await failure(custom.replaceNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1', body: current }));
      expect(stale.code).toBe(409);
      expect(stale.status).toMatchObject({ reason: 'Conflict', code: 409 });
      expect(stale.status?.message).toContain('the object has been modified');

      const { resourceVersion: _rv, ...unversioned } = current.metadata;
      const noVersion = await failure(
        custom.replaceNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1', body: { ...current, metadata: unversioned } }),
      );
      expect(noVersion.code).toBe(422);

      // Writing what is already stored changes nothing: same resourceVersion, no event.
      const same: Guardian = await custom.replaceNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1', body: replaced });
      expect(same.metadata.resourceVersion).toBe(replaced.metadata.resourceVersion);
    });

    it('applies a JSON patch to /spec/learned and /spec/samples, and refuses failed tests and missing paths', async () => {
      const learned = { active: true, req: { method: { set: ['GET'] } } };
      const patched: Guardian = await custom.patchNamespacedCustomObject({
        ...crd,
        namespace: ns,
        name: 'httptest1',
        body: [
          { op: 'add', path: '/spec/learned', value: learned },
          { op: 'replace', path: '/spec/samples', value: 42 },
        ],
      });
      expect(patched.spec).toMatchObject({ learned, samples: 42 });
      expect(patched.spec?.control).toMatchObject({ block: true });

      const failedTest = await failure(
        custom.patchNamespacedCustomObject({
          ...crd,
          namespace: ns,
          name: 'httptest1',
          body: [
            { op: 'test', path: '/spec/samples', value: 7 },
            { op: 'replace', path: '/spec/samples', value: 8 },
          ],
        }),
      );
      expect(failedTest.code).toBe(422);
      expect(failedTest.status?.reason).toBe('Invalid');

      // RFC 6902 replace needs the member to exist: writers must `add` a learned set that is absent.
      const missingMember = await failure(
        custom.patchNamespacedCustomObject({ ...crd, namespace: ns, name: `ns-${ns}`, body: [{ op: 'replace', path: '/spec/learned', value: learned }] }),
      );
      expect(missingMember.code).toBe(422);

      // A resourceVersion test is the optimistic-concurrency form of a JSON patch.
      const stale = await failure(
        custom.patchNamespacedCustomObject({
          ...crd,
          namespace: ns,
          name: 'httptest1',
          body: [{ op: 'test', path: '/metadata/resourceVersion', value: '1' }, { op: 'remove', path: '/spec/learned' }],
        }),
      );
      expect(stale.code).toBe(422);
      const after: Guardian = await custom.getNamespacedCustomObject({ ...crd, namespace: ns, name: 'httptest1' });
      expect(after.spec?.samples).toBe(42);
    });

    it('applies a merge patch when the Content-Type is set through setHeaderOptions', async () => {
      const merged: Guardian = await custom.patchNamespacedCustomObject(
        { ...crd, namespace: ns, name: 'httptest1', body: { spec: { learned: null, control: { learn: true } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(merged.spec).not.toHaveProperty('learned');
      expect(merged.spec?.control).toEqual({ alert: true, auto: false, block: true, force: false, learn: true });

      const stale = await failure(
        custom.patchNamespacedCustomObject(
          { ...crd, namespace: ns, name: 'httptest1', body: { metadata: { resourceVersion: '1' }, spec: { samples: 1 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(stale.code).toBe(409);

      const strategic = await failure(
        custom.patchNamespacedCustomObject(
          { ...crd, namespace: ns, name: 'httptest1', body: { spec: { samples: 1 } } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(strategic.code).toBe(415);
    });

    it('deletes a Guardian, answering with the deleted object', async () => {
      const deleted: Guardian = await custom.deleteNamespacedCustomObject({ ...crd, namespace: ns, name: `ns-${ns}` });
      expect(deleted.metadata.name).toBe(`ns-${ns}`);
      expect((await failure(custom.getNamespacedCustomObject({ ...crd, namespace: ns, name: `ns-${ns}` }))).code).toBe(404);
      expect((await failure(custom.deleteNamespacedCustomObject({ ...crd, namespace: ns, name: `ns-${ns}` }))).code).toBe(404);
    });
  });

  describe('ConfigMaps (core v1)', () => {
    const ns = 'configmaps';
    const spec = { control: { alert: true, auto: true, block: false, force: true, learn: true }, samples: 3 };

    it('creates, reads, replaces, patches and deletes a guardian.<service> ConfigMap', async () => {
      const created = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'guardian.httptest1', labels: { app: 'httptest1' } }, data: { Guardian: JSON.stringify(spec) } },
      });
      expect(created.metadata?.resourceVersion).toBe(kube.state.resourceVersion);
      expect(created.metadata?.generation).toBeUndefined();

      const read = await core.readNamespacedConfigMap({ namespace: ns, name: 'guardian.httptest1' });
      expect(JSON.parse(read.data!.Guardian!)).toEqual(spec);

      read.data = { Guardian: JSON.stringify({ ...spec, samples: 4 }) };
      const replaced = await core.replaceNamespacedConfigMap({ namespace: ns, name: 'guardian.httptest1', body: read });
      expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(read.metadata!.resourceVersion));

      const stale = await failure(core.replaceNamespacedConfigMap({ namespace: ns, name: 'guardian.httptest1', body: created }));
      expect(stale.code).toBe(409);
      expect(stale.status?.reason).toBe('Conflict');

      const patched = await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'guardian.httptest1', body: { data: { Other: 'x' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(Object.keys(patched.data!).sort()).toEqual(['Guardian', 'Other']);

      const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'app=httptest1' });
      expect(list.items.map((c) => c.metadata?.name)).toEqual(['guardian.httptest1']);
      expect(list.metadata?.resourceVersion).toBe(kube.state.resourceVersion);

      const notString = await failure(
        core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bad' }, data: { Guardian: 5 as unknown as string } } }),
      );
      expect(notString.code).toBe(400);

      const status = await core.deleteNamespacedConfigMap({ namespace: ns, name: 'guardian.httptest1' });
      expect(status).toMatchObject({ kind: 'Status', status: 'Success' });
      expect((await failure(core.readNamespacedConfigMap({ namespace: ns, name: 'guardian.httptest1' }))).code).toBe(404);
    });

    it('streams ConfigMap changes to a label-selected watch', async () => {
      const start = kube.state.resourceVersion;
      const watch = await openWatch(config, `/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: start, labelSelector: 'guard=yes' });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'guardian.other' }, data: { Guardian: '{}' } } });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'guardian.watched', labels: { guard: 'yes' } }, data: { Guardian: '{}' } } });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'guardian.watched' });
      await watch.untilEvents(2);
      expect(watch.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED guardian.watched', 'DELETED guardian.watched']);
      watch.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });
  });

  describe('watching Guardians', () => {
    const ns = 'watched';

    it('delivers ADDED, MODIFIED and DELETED in order, and resumes after dropWatches without losing an event', async () => {
      const listed = await custom.listNamespacedCustomObject({ ...crd, namespace: ns });
      const first = await openWatch(config, guardiansPath(ns), { resourceVersion: listed.metadata.resourceVersion });
      expect(kube.state.openWatches).toBe(1);

      const created: Guardian = await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('svc', { samples: 1 }) });
      await custom.patchNamespacedCustomObject({ ...crd, namespace: ns, name: 'svc', body: [{ op: 'replace', path: '/spec/samples', value: 2 }] });
      await custom.deleteNamespacedCustomObject({ ...crd, namespace: ns, name: 'svc' });
      await first.untilEvents(3);
      expect(first.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      expect(first.events[0]!.object.metadata?.resourceVersion).toBe(created.metadata.resourceVersion);
      const versions = first.events.map((e) => Number(e.object.metadata?.resourceVersion));
      expect(versions).toEqual([...versions].sort((a, b) => a - b));

      // Cut the stream; changes made while no watch is open must arrive on the resumed one.
      const lastSeen = first.events.at(-1)!.object.metadata!.resourceVersion!;
      expect(kube.state.dropWatches()).toBe(1);
      expect(await first.ended()).toBeNull();
      await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('svc', { samples: 10 }) });
      await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('svc2') });

      const resumed = await openWatch(config, guardiansPath(ns), { resourceVersion: lastSeen });
      await resumed.untilEvents(2);
      await custom.patchNamespacedCustomObject(
        { ...crd, namespace: ns, name: 'svc2', body: { spec: { samples: 5 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await resumed.untilEvents(3);
      expect(resumed.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED svc', 'ADDED svc2', 'MODIFIED svc2']);
      expect(resumed.events[0]!.object.spec).toEqual({ samples: 10 });
      resumed.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('starts a watch without resourceVersion with every existing object as ADDED, and sends bookmarks on request', async () => {
      const watch = await openWatch(config, guardiansPath(ns), { allowWatchBookmarks: 'true' });
      await watch.untilEvents(3);
      expect(watch.events.slice(0, 2).map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED svc', 'ADDED svc2']);
      expect(watch.events[2]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { resourceVersion: kube.state.resourceVersion } } });
      watch.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('answers a too-old resourceVersion with an ERROR event carrying 410 Expired, so the client relists', async () => {
      const old = kube.state.resourceVersion;
      await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('svc3') });
      kube.state.compact();
      const watch = await openWatch(config, guardiansPath(ns), { resourceVersion: old });
      await watch.untilEvents(1);
      expect(watch.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      expect(await watch.ended()).toBeNull();

      const relisted = await custom.listNamespacedCustomObject({ ...crd, namespace: ns });
      const fresh = await openWatch(config, guardiansPath(ns), { resourceVersion: relisted.metadata.resourceVersion });
      await custom.deleteNamespacedCustomObject({ ...crd, namespace: ns, name: 'svc3' });
      await fresh.untilEvents(1);
      expect(fresh.events[0]).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'svc3' } } });
      fresh.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('keeps a client-node informer in step across a dropped watch and a compaction (relist on 410)', async () => {
      const list = () => custom.listNamespacedCustomObject({ ...crd, namespace: 'informed' });
      const informer = makeInformer<KubernetesObject & { spec?: { samples?: number } }>(config, guardiansPath('informed'), list);
      const seen: string[] = [];
      let wake = () => {};
      const saw = (line: string) => {
        seen.push(line);
        wake();
      };
      // Client-side progress: wait on the informer's own callbacks, not on the stand-in.
      const untilSeen = (n: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`informer saw only ${JSON.stringify(seen)}`)), 5000);
          wake = () => {
            if (seen.length < n) return;
            clearTimeout(timer);
            resolve();
          };
          wake();
        });
      informer.on('add', (g) => saw(`add ${g.metadata?.name}`));
      informer.on('update', (g) => saw(`update ${g.metadata?.name} ${String(g.spec?.samples)}`));
      informer.on('delete', (g) => saw(`delete ${g.metadata?.name}`));
      await custom.createNamespacedCustomObject({ ...crd, namespace: 'informed', body: guardianBody('a', { samples: 1 }) });
      await informer.start();
      await untilSeen(1);
      await kube.state.waitFor(() => kube.state.openWatches === 1);

      // A clean cut: the informer rewatches from its last resourceVersion by itself.
      kube.state.dropWatches();
      await custom.createNamespacedCustomObject({ ...crd, namespace: 'informed', body: guardianBody('b') });
      await untilSeen(2);

      // A cut plus a compaction: the rewatch gets 410, and the informer relists.
      kube.state.compact();
      kube.state.dropWatches();
      await custom.deleteNamespacedCustomObject({ ...crd, namespace: 'informed', name: 'a' });
      await untilSeen(3);
      await kube.state.waitFor(() => kube.state.openWatches === 1);
      await custom.patchNamespacedCustomObject({ ...crd, namespace: 'informed', name: 'b', body: [{ op: 'add', path: '/spec/samples', value: 9 }] });
      await untilSeen(4);
      expect(seen).toEqual(['add a', 'add b', 'delete a', 'update b 9']);
      await informer.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('survives a reset connection as well: the client sees the stream end and can resume', async () => {
      const from = kube.state.resourceVersion;
      const watch = await openWatch(config, guardiansPath(ns), { resourceVersion: from });
      expect(kube.state.dropWatches('reset')).toBe(1);
      // client-node reports a cut socket as node-fetch's "Premature close", a clean end as null.
      expect(await watch.ended()).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
      await custom.deleteNamespacedCustomObject({ ...crd, namespace: ns, name: 'svc2' });
      const resumed = await openWatch(config, guardiansPath(ns), { resourceVersion: from });
      await resumed.untilEvents(1);
      expect(resumed.events[0]).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'svc2' } } });
      resumed.stop();
    });
  });

  describe('TokenReview and pods', () => {
    const ns = 'shop';

    it('authenticates a projected token bound to a pod, and refuses unknown, wrong-audience and expired tokens', async () => {
      const gate = kube.state.addPod({ namespace: ns, name: 'cart-7d9f', labels: { app: 'cart' }, serviceAccount: 'cart' });
      const token = kube.state.mintServiceAccountToken({ namespace: ns, serviceAccount: 'cart', podName: 'cart-7d9f', audiences: ['guard-service'] });
      kube.state.addToken('opaque-token', { username: `system:serviceaccount:${ns}:cart`, audiences: ['guard-service'], podName: 'cart-7d9f' });
      kube.state.addToken('expired-token', { username: `system:serviceaccount:${ns}:cart`, audiences: ['guard-service'], expiresAt: new Date(Date.now() - 1000) });

      const review = (t: string, audiences?: string[]) =>
        auth.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t, audiences } } });

      const good = await review(token, ['guard-service']);
      expect(good.status?.authenticated).toBe(true);
      expect(good.status?.audiences).toEqual(['guard-service']);
      expect(good.status?.user?.username).toBe(`system:serviceaccount:${ns}:cart`);
      expect(good.status?.user?.groups).toEqual(['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated']);
      expect(good.status?.user?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(good.status?.user?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['cart-7d9f']);
      expect(good.status?.user?.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([gate.metadata.uid]);
      // The token is JWT-shaped with the claims Kubernetes puts in a projected token.
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
      expect(claims['kubernetes.io']).toMatchObject({ namespace: ns, pod: { name: 'cart-7d9f', uid: gate.metadata.uid }, serviceaccount: { name: 'cart' } });

      expect((await review('opaque-token', ['guard-service'])).status?.user?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['cart-7d9f']);

      for (const [t, audiences, why] of [
        ['not-a-token', ['guard-service'], 'invalid bearer token'],
        [token, ['other-service'], 'is invalid for the target audiences'],
        [token, undefined, 'is invalid for the target audiences'],
        ['expired-token', ['guard-service'], 'expired'],
      ] as const) {
        const refused = await review(t, audiences ? [...audiences] : undefined);
        expect(refused.status?.authenticated).not.toBe(true);
        expect(refused.status?.error).toContain(why);
      }

      // A token meant for guard-service cannot call the API server itself.
      const asGate = kube.kubeConfig(token).makeApiClient(CoreV1Api);
      expect((await failure(asGate.readNamespacedPod({ namespace: ns, name: 'cart-7d9f' }))).code).toBe(401);
    });

    it('serves pods, records a pod deletion, and invalidates tokens bound to the deleted pod', async () => {
      kube.state.addPod({ namespace: ns, name: 'api-1', labels: { app: 'api' } });
      kube.state.addPod({ namespace: ns, name: 'api-2', labels: { app: 'api' } });
      const token = kube.state.mintServiceAccountToken({ namespace: ns, serviceAccount: 'api', podName: 'api-1', audiences: ['guard-service'] });

      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=api' });
      expect(pods.items.map((p) => p.metadata?.name)).toEqual(['api-1', 'api-2']);
      const one = await core.readNamespacedPod({ namespace: ns, name: 'api-1' });
      expect(one.spec?.serviceAccountName).toBe('default');

      const deleted = await core.deleteNamespacedPod({ namespace: ns, name: 'api-1' });
      expect(deleted.metadata?.deletionTimestamp).toBeDefined();
      expect(kube.state.podDeletions).toEqual([
        expect.objectContaining({ namespace: ns, name: 'api-1', uid: one.metadata?.uid, username: 'standin:admin' }),
      ]);
      expect((await failure(core.readNamespacedPod({ namespace: ns, name: 'api-1' }))).code).toBe(404);
      expect((await failure(core.deleteNamespacedPod({ namespace: ns, name: 'api-1' }))).code).toBe(404);

      const review = await auth.createTokenReview({ body: { spec: { token, audiences: ['guard-service'] } } });
      expect(review.status?.authenticated).not.toBe(true);
      expect(review.status?.error).toContain('invalidated');

      // Pods are created by the cluster, not through this API.
      expect((await failure(core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'x' } } }))).code).toBe(405);
    });
  });

  describe('authentication, authorization and faults', () => {
    it('refuses a request without a token or with an unknown one with 401', async () => {
      const noToken = kube.kubeConfig();
      noToken.users[0] = { name: 'standin-user' };
      expect((await failure(noToken.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' }))).code).toBe(401);
      const wrong = kube.kubeConfig('wrong-token').makeApiClient(CustomObjectsApi);
      expect((await failure(wrong.listNamespacedCustomObject({ ...crd, namespace: 'default' }))).code).toBe(401);
      expect(kube.state.requests.at(-1)).toMatchObject({ status: 401, username: undefined });
    });

    it('limits a token with rules to what they allow (403 Forbidden otherwise)', async () => {
      const reader = kube.state.mintServiceAccountToken({
        namespace: 'shop',
        serviceAccount: 'guardian-reader',
        rules: [{ verbs: ['get', 'list', 'watch'], resources: ['guardians', 'configmaps'], namespaces: ['shop'] }],
      });
      const api = kube.kubeConfig(reader).makeApiClient(CustomObjectsApi);
      await expect(api.listNamespacedCustomObject({ ...crd, namespace: 'shop' })).resolves.toMatchObject({ kind: 'GuardianList' });
      const write = await failure(api.createNamespacedCustomObject({ ...crd, namespace: 'shop', body: guardianBody('x') }));
      expect(write.code).toBe(403);
      expect(write.status?.message).toContain('cannot create resource "guardians"');
      expect((await failure(api.listNamespacedCustomObject({ ...crd, namespace: 'other' }))).code).toBe(403);
    });

    it('fails the next matching request with an injected status, then serves normally', async () => {
      const ns = 'faults';
      await custom.createNamespacedCustomObject({ ...crd, namespace: ns, body: guardianBody('svc') });
      kube.state.failNext(`PATCH ${guardiansPath(ns)}/*`, 500);
      kube.state.failNext('GET /api/v1/namespaces/*/configmaps/**', 409, { times: 2 });
      const patch = () => custom.patchNamespacedCustomObject({ ...crd, namespace: ns, name: 'svc', body: [{ op: 'add', path: '/spec/samples', value: 1 }] });
      const injected = await failure(patch());
      expect(injected).toMatchObject({ code: 500, status: { reason: 'InternalError' } });
      await expect(patch()).resolves.toMatchObject({ spec: { samples: 1 } });
      for (let i = 0; i < 2; i++) expect((await failure(core.readNamespacedConfigMap({ namespace: ns, name: 'any' }))).code).toBe(409);
      expect((await failure(core.readNamespacedConfigMap({ namespace: ns, name: 'any' }))).code).toBe(404);
      expect(kube.state.pendingFaults).toBe(0);
    });

    it('delays responses when asked', async () => {
      kube.state.delay(150);
      const started = performance.now();
      await custom.listNamespacedCustomObject({ ...crd, namespace: 'faults' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      kube.state.delay(0);
    });
  });

  describe('protocol strictness (raw HTTP)', () => {
    const call = (path: string, init: RequestInit = {}, token: string | null = kube.token) =>
      fetch(`${kube.url}${path}`, {
        ...init,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
      });

    it('answers unknown paths 404, wrong methods 405, malformed bodies 400 and missing tokens 401, each with a Status', async () => {
      const cases: Array<[Promise<Response>, number, string]> = [
        [call('/apis/guard.security.knative.dev/v1alpha1/namespaces/a/widgets'), 404, 'NotFound'],
        [call('/apis/guard.security.knative.dev/v1alpha1/namespaces/a/guardians/x/status'), 404, 'NotFound'],
        [call(`${guardiansPath('a')}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }), 405, 'MethodNotAllowed'],
        [call(guardiansPath('a'), { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } }), 405, 'MethodNotAllowed'],
        [call(guardiansPath('a'), { method: 'POST', body: '{"kind":', headers: { 'content-type': 'application/json' } }), 400, 'BadRequest'],
        [call(guardiansPath('a'), { method: 'POST', body: 'kind: Guardian', headers: { 'content-type': 'application/yaml' } }), 415, 'UnsupportedMediaType'],
        [call(guardiansPath('a')), 200, ''],
        [call(guardiansPath('a'), {}, null), 401, 'Unauthorized'],
        [call(guardiansPath('a'), { headers: { authorization: `Basic ${kube.token}` } }, null), 401, 'Unauthorized'],
      ];
      for (const [response, code, reason] of cases) {
        const res = await response;
        expect(res.status).toBe(code);
        const body = await res.json();
        if (code !== 200) expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
      }
    });

    it('lists and watches across namespaces on the cluster-wide paths', async () => {
      const all = await custom.listClusterCustomObject({ ...crd });
      const namespaces = new Set(all.items.map((g: Guardian) => g.metadata.namespace));
      expect(namespaces).toEqual(new Set(['guardians-crud', 'watched', 'informed', 'faults']));
      const watch = await openWatch(config, `/apis/${group}/${version}/${plural}`, { resourceVersion: all.metadata.resourceVersion });
      await custom.createNamespacedCustomObject({ ...crd, namespace: 'elsewhere', body: guardianBody('svc') });
      await watch.untilEvents(1);
      expect(watch.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'svc', namespace: 'elsewhere' } } });
      watch.stop();
      await kube.state.waitFor(() => kube.state.openWatches === 0);
    });

    it('keeps one cluster-wide resourceVersion across resource types', async () => {
      const a = Number(kube.state.resourceVersion);
      await core.createNamespacedConfigMap({ namespace: 'rv', body: { metadata: { name: 'a' } } });
      const g: Guardian = await custom.createNamespacedCustomObject({ ...crd, namespace: 'rv', body: guardianBody('b') });
      expect(Number(g.metadata.resourceVersion)).toBe(a + 2);
    });
  });
});
