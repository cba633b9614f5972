// The kube-crd store (the default in a cluster): one Guardian object
// (guardians.guard.security.knative.dev/v1alpha1) per service, named `<service>` in its namespace,
// its spec the GuardianSpec. The learner's writes patch only /spec/learned and /spec/samples, so a
// person's edits of configured and control are never written over.
import { StoreError } from './errors.js';
import type { KubeObjectLike } from './kube-watch.js';
import { KubeGuardianStore, withoutNulls, type GuardianObjects, type KubeGuardianStoreOptions } from './kube-store.js';
import type { GuardianSpecJson } from './types.js';

export const GUARDIAN_GROUP = 'guard.security.knative.dev';
export const GUARDIAN_VERSION = 'v1alpha1';
export const GUARDIAN_PLURAL = 'guardians';
const API_VERSION = `${GUARDIAN_GROUP}/${GUARDIAN_VERSION}`;
const FIELD_MANAGER = 'guard-service';

export interface GuardianObject extends KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  spec?: unknown;
}

export class KubeCrdGuardianStore extends KubeGuardianStore<GuardianObject> {
  readonly kind = 'kube-crd' as const;
  protected readonly objects: GuardianObjects<GuardianObject>;

  constructor(options: KubeGuardianStoreOptions = {}) {
    super(options);
    const custom = this.api.custom;
    const crd = { group: GUARDIAN_GROUP, version: GUARDIAN_VERSION, plural: GUARDIAN_PLURAL };
    this.objects = {
      objectName: (service) => service,
      serviceOf: (name) => name,
      describe: (namespace, name) => `Guardian ${namespace}/${name}`,
      specOf: (object, where) => {
        const spec = object.spec;
        if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
          throw new StoreError('GUARD_STORE_INVALID', `${where}: has no spec object`, { location: where });
        }
        return spec;
      },
      withSpec: (namespace, name, current, spec) =>
        current
          ? { ...current, spec: withoutNulls(spec) }
          : { apiVersion: API_VERSION, kind: 'Guardian', metadata: { name, namespace }, spec: withoutNulls(spec) },
      watchPath: (namespace) =>
        namespace === undefined
          ? `/apis/${GUARDIAN_GROUP}/${GUARDIAN_VERSION}/${GUARDIAN_PLURAL}`
          : `/apis/${GUARDIAN_GROUP}/${GUARDIAN_VERSION}/namespaces/${namespace}/${GUARDIAN_PLURAL}`,

      read: (namespace, name) => custom.getNamespacedCustomObject({ ...crd, namespace, name }),
      list: async (namespace) => {
        const items: GuardianObject[] = [];
        let resourceVersion = '';
        let next: string | undefined;
        do {
          const page: { items?: GuardianObject[]; metadata?: { resourceVersion?: string; continue?: string } } =
            namespace === undefined
              ? await custom.listClusterCustomObject({ ...crd, limit: 500, _continue: next })
              : await custom.listNamespacedCustomObject({ ...crd, namespace, limit: 500, _continue: next });
          items.push(...(page.items ?? []));
          resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
          next = page.metadata?.continue || undefined;
        } while (next);
        return { items, resourceVersion };
      },
      create: (namespace, body) => custom.createNamespacedCustomObject({ ...crd, namespace, body, fieldManager: FIELD_MANAGER }),
      // current carries its metadata.resourceVersion: the server refuses the replace (409) if stale.
      replace: (namespace, name, body) => custom.replaceNamespacedCustomObject({ ...crd, namespace, name, body, fieldManager: FIELD_MANAGER }),
      writeLearned: (namespace, name, current, spec) =>
        custom.patchNamespacedCustomObject({ ...crd, namespace, name, body: learnedPatch(current, spec), fieldManager: FIELD_MANAGER }),
      remove: async (namespace, name) => {
        await custom.deleteNamespacedCustomObject({ ...crd, namespace, name });
      },
    };
  }
}

/**
 * A JSON patch of learned and samples (and the sync ids they hold, and when they were learned) only. The resourceVersion it sets is the one read: the
 * server takes a resourceVersion in a patched object as a precondition and answers 409 if the
 * Guardian changed meanwhile, so what the core validated (those learned rules with the configured
 * and control read) is exactly what is stored. `add` works whether or not the member exists.
 */
function learnedPatch(current: GuardianObject, spec: GuardianSpecJson): unknown[] {
  const ops: unknown[] = [{ op: 'replace', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion }];
  const hasLearned = spec.learned !== null && spec.learned !== undefined;
  if (hasLearned) ops.push({ op: 'add', path: '/spec/learned', value: spec.learned });
  else if ((current.spec as Record<string, unknown>).learned !== undefined) ops.push({ op: 'remove', path: '/spec/learned' });
  ops.push({ op: 'add', path: '/spec/samples', value: spec.samples });
  // The ids of the syncs those learned rules hold go with them (the learner's, not people's).
  if (spec.syncs !== undefined) ops.push({ op: 'add', path: '/spec/syncs', value: spec.syncs });
  if (spec.learnedAt !== undefined) ops.push({ op: 'add', path: '/spec/learnedAt', value: spec.learnedAt });
  return ops;
}
