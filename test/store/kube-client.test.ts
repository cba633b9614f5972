// kube-client.ts: the in-cluster configuration from a pod's service-account files, checked against
// the kube stand-in (its token read from the file), and the failures it names.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClusterKubeConfig } from '../../store/kube-client.js';
import { KubeCrdGuardianStore } from '../../store/kube-crd.js';
import { startKubeStandin, type KubeStandin } from '../kube/standin.js';

describe('inClusterKubeConfig', () => {
  let kube: KubeStandin;
  let dir: string;
  beforeAll(async () => {
    kube = await startKubeStandin();
    dir = await mkdtemp(join(tmpdir(), 'guard-sa-'));
    await writeFile(join(dir, 'token'), kube.token);
    await writeFile(join(dir, 'ca.crt'), 'not used against the http stand-in');
    await writeFile(join(dir, 'namespace'), 'shop');
  });
  afterAll(async () => {
    await kube.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('points at the service address over https with the mounted CA and token file', () => {
    const config = inClusterKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(config.getCurrentCluster()).toMatchObject({ server: 'https://10.0.0.1:443', caFile: join(dir, 'ca.crt'), skipTLSVerify: false });
    expect(config.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: join(dir, 'token') } });
    const v6 = inClusterKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(v6.getCurrentCluster()?.server).toBe('https://[fd00::1]:443');
  });

  it('authenticates with the token read from the file', async () => {
    const config = inClusterKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    // Same user (token file); the cluster swapped for the plain-http stand-in.
    config.clusters = [{ name: 'in-cluster', server: kube.url, skipTLSVerify: true }];
    const store = new KubeCrdGuardianStore({ kubeConfig: config });
    try {
      expect(await store.get('shop', 'cart')).toBeNull();
      expect(kube.state.requests.at(-1)).toMatchObject({ method: 'GET', status: 404, username: 'standin:admin' });
    } finally {
      await store.close();
    }
  });

  it('says why it cannot work outside a pod', () => {
    expect(() => inClusterKubeConfig({ env: {}, serviceAccountDir: dir })).toThrow(/KUBERNETES_SERVICE_HOST/);
    expect(() => inClusterKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: join(dir, 'missing') })).toThrow(
      expect.objectContaining({ code: 'GUARD_STORE_IO', message: expect.stringContaining('token is missing') }),
    );
  });
});
