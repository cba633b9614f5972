// Guardian storage, shared by guard-service and the gate: the contract (GuardianStore), its named
// errors, the checks every store applies, the default spec, resolution of the Guardian in force,
// and one opener for every kind of store. A store's module is loaded only when a store of that kind
// is opened: the Kubernetes stores bring the Kubernetes client, most of a gate's memory, and a gate
// outside a cluster never opens one (kube.ts is their surface for code that always needs them).
import type { FileGuardianStoreOptions } from './file.js';
import type { KubeGuardianStoreOptions } from './kube-store.js';
import type { GuardianStore } from './types.js';

export type { GuardianChange, GuardianSpecJson, GuardianStore, GuardianWatchEvent, LearnedExtras, StoredGuardian } from './types.js';
export { MAX_SAMPLES, MAX_SYNC_IDS, SYNC_ID, SYNC_ID_HEADER } from './types.js';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.js';
export { canonicalSpec, checkName, checkNames, defaultSpec, isDnsLabel, learnedSpec, specToWrite } from './validate.js';
export { namespaceDefaultName, resolveGuardian } from './resolve.js';
export type { FileGuardianStoreOptions, KubeGuardianStoreOptions };

export type StoreKind = GuardianStore['kind'];

/** What openGuardianStore needs: the file store's directory, or a Kubernetes store's options. */
export type StoreOptions = ({ kind: 'file'; dir: string } & FileGuardianStoreOptions) | ({ kind: 'kube-crd' | 'kube-configmap' } & KubeGuardianStoreOptions);

/**
 * Open a Guardian store of the given kind. A Kubernetes store without a kubeConfig uses the pod's
 * in-cluster configuration and fails with GUARD_STORE_IO when there is none.
 */
export async function openGuardianStore(options: StoreOptions): Promise<GuardianStore> {
  if (options.kind === 'file') {
    const { FileGuardianStore } = await import('./file.js');
    return new FileGuardianStore(options.dir, options);
  }
  const kube = await import('./kube.js');
  return options.kind === 'kube-crd' ? new kube.KubeCrdGuardianStore(options) : new kube.KubeConfigMapGuardianStore(options);
}
