// KubeConfigMapGuardianStore against the kube stand-in: the shared store behaviour
// (kube-store-suite.ts) plus the ConfigMap format — `guardian.<service>`, data key `Guardian`,
// samples persisted (threat model B-4), other ConfigMaps ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfigMapGuardianStore } from '../../store/kube-configmap.js';
import { startKubeStandin, type KubeStandin } from '../kube/standin.js';
import { kubeStoreSuite, learnedWith, marksOf } from './kube-store-suite.js';
import { canonical, defaultSpec } from './support.js';

const cmName = (service: string) => `guardian.${service}`;

kubeStoreSuite({
  name: 'kube-configmap',
  make: (options) => new KubeConfigMapGuardianStore(options),
  plant: (kube, namespace, service, spec) =>
    void kube.state.putObject('configmaps', { metadata: { namespace, name: cmName(service) }, data: { Guardian: JSON.stringify(spec) } }),
  plantInvalid: (kube, namespace, service) => void kube.state.putObject('configmaps', { metadata: { namespace, name: cmName(service) }, data: { Guardian: 'abc' } }),
  storedSpec: (kube, namespace, service) => {
    const text = (kube.state.getObject('configmaps', namespace, cmName(service))?.data as Record<string, string> | undefined)?.Guardian;
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { unparsed: text };
    }
  },
  describe: (namespace, service) => `ConfigMap ${namespace}/${cmName(service)}`,
  readPath: '/api/v1/namespaces/{ns}/configmaps/{name}',
  writePattern: /^PUT \/api\/v1\/namespaces\/[^/]+\/configmaps\//,
});

describe('kube-configmap store specifics', () => {
  let kube: KubeStandin;
  let store: KubeConfigMapGuardianStore;
  const reports: string[] = [];
  beforeAll(async () => {
    kube = await startKubeStandin();
    store = new KubeConfigMapGuardianStore({ kubeConfig: kube.kubeConfig(), report: (p) => reports.push(p.message) });
  });
  afterAll(async () => {
    await store.close();
    await kube.close();
  });

  it('persists samples with every write (the original left them stale)', async () => {
    await store.updateLearned('shop', 'cart', learnedWith(['A']), 42);
    const stored = () => JSON.parse((kube.state.getObject('configmaps', 'shop', 'guardian.cart')!.data as Record<string, string>).Guardian!);
    expect(stored().samples).toBe(42);
    expect(marksOf(stored())).toEqual(['A']);
    await store.updateLearned('shop', 'cart', learnedWith(['A', 'B']), 43);
    expect(stored().samples).toBe(43);
    await store.update('shop', 'cart', (cur) => ({ ...cur!, samples: 44 }));
    expect(stored().samples).toBe(44);
    expect((await store.get('shop', 'cart'))!.spec.samples).toBe(44);
  });

  it("reads the original's ConfigMaps, keeps other keys, and ignores ConfigMaps that are not Guardians", async () => {
    kube.state.putObject('configmaps', { metadata: { namespace: 'legacy', name: 'guardian.web' }, data: { Guardian: '{"control": {}}', note: 'keep me' } });
    kube.state.putObject('configmaps', { metadata: { namespace: 'legacy', name: 'app-settings' }, data: { Guardian: 'not ours' } });
    kube.state.putObject('configmaps', { metadata: { namespace: 'legacy', name: 'guardian.ns-legacy' }, data: { Guardian: JSON.stringify(defaultSpec()) } });
    expect((await store.get('legacy', 'web'))!.spec).toEqual(canonical({ control: {} }));
    expect((await store.list('legacy')).map((g) => g.service).sort()).toEqual(['ns-legacy', 'web']);
    await store.updateLearned('legacy', 'web', learnedWith(['L']), 1);
    expect(kube.state.getObject('configmaps', 'legacy', 'guardian.web')!.data).toMatchObject({ note: 'keep me' });
    expect(reports.filter((m) => m.includes('app-settings'))).toEqual([]);
  });

  it('names what is wrong with a ConfigMap that holds no Guardian', async () => {
    kube.state.putObject('configmaps', { metadata: { namespace: 'legacy', name: 'guardian.old' }, binaryData: { Guardian: Buffer.from('{}').toString('base64') } });
    await expect(store.get('legacy', 'old')).rejects.toMatchObject({ code: 'GUARD_STORE_INVALID', message: expect.stringContaining('binaryData') });
    kube.state.putObject('configmaps', { metadata: { namespace: 'legacy', name: 'guardian.empty' }, data: { Guardian: '' } });
    await expect(store.get('legacy', 'empty')).rejects.toMatchObject({ code: 'GUARD_STORE_INVALID', location: 'ConfigMap legacy/guardian.empty' });
  });
});
