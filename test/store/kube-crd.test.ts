// KubeCrdGuardianStore against the kube stand-in: the shared store behaviour (kube-store-suite.ts)
// plus what is particular to Guardian objects — the learner's JSON patch and the object written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeCrdGuardianStore } from '../../store/kube-crd.js';
import { startKubeStandin, type KubeStandin } from '../kube/standin.js';
import { kubeStoreSuite, learnedWith, marksOf } from './kube-store-suite.js';
import { defaultSpec } from './support.js';

kubeStoreSuite({
  name: 'kube-crd',
  make: (options) => new KubeCrdGuardianStore(options),
  plant: (kube, namespace, name, spec) => void kube.state.putObject('guardians', { metadata: { namespace, name }, spec }),
  plantInvalid: (kube, namespace, name) => void kube.state.putObject('guardians', { metadata: { namespace, name }, spec: { configured: { req: 7 } } }),
  storedSpec: (kube, namespace, name) => kube.state.getObject('guardians', namespace, name)?.spec as Record<string, unknown> | undefined,
  describe: (namespace, service) => `Guardian ${namespace}/${service}`,
  readPath: '/apis/guard.security.knative.dev/v1alpha1/namespaces/{ns}/guardians/{name}',
  writePattern: /^(PUT|PATCH) \/apis\/guard\.security\.knative\.dev\/v1alpha1\/namespaces\/[^/]+\/guardians\//,
});

describe('kube-crd store specifics', () => {
  let kube: KubeStandin;
  beforeAll(async () => {
    kube = await startKubeStandin();
  });
  afterAll(async () => {
    await kube.close();
  });

  it('writes a Guardian object named after the service, and the learner only patches learned and samples', async () => {
    const store = new KubeCrdGuardianStore({ kubeConfig: kube.kubeConfig() });
    try {
      await store.update('shop', 'cart', () => defaultSpec());
      const object = kube.state.getObject('guardians', 'shop', 'cart')!;
      expect(object).toMatchObject({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', metadata: { name: 'cart', namespace: 'shop' } });
      expect(object.spec).toEqual({ samples: 0, control: defaultSpec().control });

      const before = kube.state.requests.length;
      await store.updateLearned('shop', 'cart', learnedWith(['A']), 5);
      const writes = kube.state.requests.slice(before).filter((r) => r.method !== 'GET');
      expect(writes.map((r) => `${r.method} ${r.status}`)).toEqual(['PATCH 200']);
      expect(marksOf(kube.state.getObject('guardians', 'shop', 'cart')!.spec as Record<string, unknown>)).toEqual(['A']);

      // Labels and annotations a person added survive the learner's writes and update().
      const labelled = structuredClone(kube.state.getObject('guardians', 'shop', 'cart')!);
      labelled.metadata.labels = { team: 'payments' };
      kube.state.putObject('guardians', labelled);
      await store.updateLearned('shop', 'cart', learnedWith(['A', 'B']), 6);
      await store.update('shop', 'cart', (cur) => ({ ...cur!, samples: 7 }));
      expect(kube.state.getObject('guardians', 'shop', 'cart')!.metadata.labels).toEqual({ team: 'payments' });
    } finally {
      await store.close();
    }
  });

  it('treats a Guardian without a spec as invalid, not as absent', async () => {
    const reports: string[] = [];
    const store = new KubeCrdGuardianStore({ kubeConfig: kube.kubeConfig(), report: (p) => reports.push(p.message) });
    try {
      kube.state.putObject('guardians', { metadata: { namespace: 'shop', name: 'bare' } });
      await expect(store.get('shop', 'bare')).rejects.toMatchObject({ code: 'GUARD_STORE_INVALID', location: 'Guardian shop/bare' });
      expect((await store.list('shop')).map((g) => g.service)).not.toContain('bare');
      expect(reports.some((m) => m.includes('Guardian shop/bare'))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
