// Leases (coordination.k8s.io/v1) and Events (core v1) on the kube stand-in, through the real
// @kubernetes/client-node 1.4.0: what guard-service's replicas and alert recording rely on, with the
// API server's validation (MicroTime precision, preconditions, the event's namespace).
import { CoordinationV1Api, CoreV1Api, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from './api-failure.js';
import { startKubeStandin, type KubeStandin } from './standin.js';


describe('kube stand-in: Leases and Events', () => {
  let kube: KubeStandin;
  let leases: CoordinationV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    kube = await startKubeStandin();
    leases = kube.kubeConfig().makeApiClient(CoordinationV1Api);
    core = kube.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await kube.close();
  });

  it('creates, reads, lists by label and renews a Lease with MicroTime timestamps; a stale or missing resourceVersion is refused', async () => {
    const created = await leases.createNamespacedLease({
      namespace: 'sys',
      body: { metadata: { name: 'shard-0', labels: { kind: 'shard' } }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: new V1MicroTime(), renewTime: new V1MicroTime(), leaseTransitions: 0 } },
    });
    expect(created.spec?.holderIdentity).toBe('a');
    const raw = kube.state.getObject('leases', 'sys', 'shard-0')!;
    expect((raw.spec as { renewTime: string }).renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await leases.createNamespacedLease({ namespace: 'sys', body: { metadata: { name: 'other' }, spec: { holderIdentity: 'b' } } });
    expect((await leases.listNamespacedLease({ namespace: 'sys', labelSelector: 'kind=shard' })).items.map((l) => l.metadata?.name)).toEqual(['shard-0']);

    const renewed = await leases.replaceNamespacedLease({
      namespace: 'sys',
      name: 'shard-0',
      body: { metadata: { name: 'shard-0', resourceVersion: created.metadata!.resourceVersion }, spec: { ...created.spec, renewTime: new V1MicroTime() } },
    });
    expect(Number(renewed.metadata!.resourceVersion)).toBeGreaterThan(Number(created.metadata!.resourceVersion));
    // Two candidates that read the same version: the second write loses with 409.
    const stale = await failure(
      leases.replaceNamespacedLease({ namespace: 'sys', name: 'shard-0', body: { metadata: { name: 'shard-0', resourceVersion: created.metadata!.resourceVersion }, spec: { holderIdentity: 'b' } } }),
    );
    expect(stale).toMatchObject({ code: 409, status: { reason: 'Conflict' } });
    // The Lease strategy refuses an unconditional update.
    const blind = await failure(leases.replaceNamespacedLease({ namespace: 'sys', name: 'shard-0', body: { metadata: { name: 'shard-0' }, spec: { holderIdentity: 'b' } } }));
    expect(blind.code).toBe(422);
    expect((await leases.readNamespacedLease({ namespace: 'sys', name: 'shard-0' })).spec?.holderIdentity).toBe('a');
    await leases.deleteNamespacedLease({ namespace: 'sys', name: 'other' });
    expect(kube.state.getObject('leases', 'sys', 'other')).toBeUndefined();
  });

  it('refuses what the API server refuses: millisecond timestamps, a duration of 0, a field of the wrong type', async () => {
    // A plain Date is sent with milliseconds; Go's MicroTime parser wants six digits.
    const ms = await failure(leases.createNamespacedLease({ namespace: 'sys', body: { metadata: { name: 'ms' }, spec: { renewTime: new Date() as never } } }));
    expect(ms.code).toBe(400);
    expect(ms.status?.message).toContain('2006-01-02T15:04:05.000000Z07:00');
    const zero = await failure(leases.createNamespacedLease({ namespace: 'sys', body: { metadata: { name: 'zero' }, spec: { leaseDurationSeconds: 0 } } }));
    expect(zero).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    const typed = await failure(leases.createNamespacedLease({ namespace: 'sys', body: { metadata: { name: 'typed' }, spec: { holderIdentity: 7 as never } } }));
    expect(typed.code).toBe(400);
  });

  it('records Events on an object, patches their count, and selects them by involvedObject, source and reason', async () => {
    const now = new Date();
    const event = await core.createNamespacedEvent({
      namespace: 'shop',
      body: {
        metadata: { name: 'cart.1', namespace: 'shop' },
        involvedObject: { apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', namespace: 'shop', name: 'cart' },
        reason: 'SessionAlert',
        message: 'm',
        type: 'Warning',
        source: { component: 'guard-service' },
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
      },
    });
    expect(event.count).toBe(1);
    await core.patchNamespacedEvent({ namespace: 'shop', name: 'cart.1', body: [{ op: 'replace', path: '/count', value: 5 }] });
    await core.createNamespacedEvent({ namespace: 'shop', body: { metadata: { name: 'pay.1' }, involvedObject: { kind: 'Guardian', namespace: 'shop', name: 'pay' }, reason: 'PodAlert', type: 'Warning', source: { component: 'other' } } });

    const forCart = await core.listNamespacedEvent({ namespace: 'shop', fieldSelector: 'involvedObject.kind=Guardian,involvedObject.name=cart' });
    expect(forCart.items.map((e) => [e.metadata?.name, e.count])).toEqual([['cart.1', 5]]);
    const bySource = await core.listEventForAllNamespaces({ fieldSelector: 'source=guard-service' });
    expect(bySource.items.map((e) => e.metadata?.name)).toEqual(['cart.1']);
    expect((await core.listNamespacedEvent({ namespace: 'shop', fieldSelector: 'reason=PodAlert' })).items.map((e) => e.metadata?.name)).toEqual(['pay.1']);
  });

  it('refuses an Event outside its object\'s namespace, of an unknown type, or with a negative count', async () => {
    const body = (extra: object) => ({ metadata: { name: `e${Math.random().toString(16).slice(2, 8)}` }, involvedObject: { kind: 'Guardian', namespace: 'shop', name: 'cart' }, reason: 'R', ...extra });
    const elsewhere = await failure(core.createNamespacedEvent({ namespace: 'bank', body: body({}) }));
    expect(elsewhere).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    expect(elsewhere.status?.message).toContain('does not match event.namespace');
    expect((await failure(core.createNamespacedEvent({ namespace: 'shop', body: body({ type: 'Alert' }) }))).code).toBe(422);
    expect((await failure(core.createNamespacedEvent({ namespace: 'shop', body: body({ count: -1 }) }))).code).toBe(422);
  });
});
