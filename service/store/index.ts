// Guardian storage for guard-service and the gate: the contract, its named errors, the checks every
// store applies, the file store and the Kubernetes stores (Guardian CRDs, ConfigMaps).
export type { GuardianChange, GuardianSpecJson, GuardianStore, GuardianWatchEvent, StoredGuardian } from './types.js';
export { MAX_SAMPLES } from './types.js';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.js';
export { canonicalSpec, checkName, checkNames, isDnsLabel, specToWrite } from './validate.js';
export { FileGuardianStore, type FileGuardianStoreOptions } from './file.js';
export { KubeCrdGuardianStore } from './kube-crd.js';
export { KubeConfigMapGuardianStore } from './kube-configmap.js';
export type { KubeGuardianStoreOptions } from './kube-store.js';
export { inClusterKubeConfig } from './kube-client.js';
export { namespaceDefaultName, resolveGuardian } from './resolve.js';
