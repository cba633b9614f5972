// Guardian resolution, as gate and service do it: a service's own Guardian, else its namespace's
// default (`ns-<namespace>`), else none. Only absence falls through: a failed read or an invalid
// Guardian is an error, so a caller keeps its last good Guardian instead of loosening protection
// (docs/threat-model.md, B-5).
import { StoreError } from './errors.js';
import type { GuardianStore, StoredGuardian } from './types.js';
import { checkNames, isDnsLabel } from './validate.js';

/** The name of a namespace's default Guardian: CRD `ns-<namespace>`, ConfigMap `guardian.ns-<namespace>`. */
export function namespaceDefaultName(namespace: string): string {
  return `ns-${namespace}`;
}

/**
 * The Guardian in force for a service: its own, else the namespace default (returned as stored,
 * so its `service` is `ns-<namespace>`), else null (the caller applies the built-in default).
 */
export async function resolveGuardian(store: GuardianStore, namespace: string, service: string): Promise<StoredGuardian | null> {
  checkNames(namespace, service);
  const fallback = namespaceDefaultName(namespace);
  if (service === fallback) {
    throw new StoreError('GUARD_STORE_INVALID_NAME', `a service may not be named ${fallback}: that is the name of namespace ${namespace}'s default Guardian`);
  }
  const own = await store.get(namespace, service);
  if (own) return own;
  // A namespace name of 61-63 characters leaves no valid name for a default.
  if (!isDnsLabel(fallback)) return null;
  return store.get(namespace, fallback);
}
