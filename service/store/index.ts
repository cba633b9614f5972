// Guardian storage for guard-service and the gate: the contract, its named errors, the checks every
// store applies, and the file store. The Kubernetes stores live beside it.
export type { GuardianSpecJson, GuardianStore, GuardianWatchEvent, StoredGuardian } from './types.js';
export { MAX_SAMPLES } from './types.js';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.js';
export { canonicalSpec, checkName, checkNames, isDnsLabel, specToWrite } from './validate.js';
export { FileGuardianStore, type FileGuardianStoreOptions } from './file.js';
