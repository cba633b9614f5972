// The kube-configmap store: one ConfigMap `guardian.<service>` per service, its data key `Guardian`
// holding the GuardianSpec as JSON text — all of it, samples included (the original left samples
// stale, docs/threat-model.md B-4). The text is one value, so the learner's writes are a replace
// carrying the resourceVersion read: a person's concurrent edit makes it a 409, and it is redone on
// top of theirs.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { StoreError } from './errors.js';
import { KubeGuardianStore, type GuardianObjects, type KubeGuardianStoreOptions } from './kube-store.js';
import type { GuardianSpecJson } from './types.js';

export const CONFIGMAP_PREFIX = 'guardian.';
export const CONFIGMAP_KEY = 'Guardian';
const FIELD_MANAGER = 'guard-service';

type ConfigMap = V1ConfigMap & { metadata: NonNullable<V1ConfigMap['metadata']> };

export class KubeConfigMapGuardianStore extends KubeGuardianStore<ConfigMap> {
  readonly kind = 'kube-configmap' as const;
  protected readonly objects: GuardianObjects<ConfigMap>;

  constructor(options: KubeGuardianStoreOptions = {}) {
    super(options);
    const core = this.api.core;
    const write = (namespace: string, name: string, current: ConfigMap | null, spec: GuardianSpecJson): ConfigMap => {
      // Other keys and the metadata (labels, annotations, resourceVersion) are kept.
      const data = { ...(current?.data ?? {}), [CONFIGMAP_KEY]: JSON.stringify(spec) };
      return current ? { ...current, data } : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
    };
    this.objects = {
      objectName: (service) => `${CONFIGMAP_PREFIX}${service}`,
      serviceOf: (name) => (name.startsWith(CONFIGMAP_PREFIX) ? name.slice(CONFIGMAP_PREFIX.length) : undefined),
      describe: (namespace, name) => `ConfigMap ${namespace}/${name}`,
      specOf: (object, where) => {
        const text = object.data?.[CONFIGMAP_KEY];
        if (typeof text !== 'string' || text.trim() === '') {
          const hint = object.binaryData?.[CONFIGMAP_KEY] !== undefined ? ' (it is in binaryData, a pre-v0.6 format: move it to data)' : '';
          throw new StoreError('GUARD_STORE_INVALID', `${where}: no GuardianSpec under data.${CONFIGMAP_KEY}${hint}`, { location: where });
        }
        return text;
      },
      withSpec: write,
      watchPath: (namespace) => (namespace === undefined ? '/api/v1/configmaps' : `/api/v1/namespaces/${namespace}/configmaps`),

      read: async (namespace, name) => (await core.readNamespacedConfigMap({ namespace, name })) as ConfigMap,
      list: async (namespace) => {
        const items: ConfigMap[] = [];
        let resourceVersion = '';
        let next: string | undefined;
        do {
          const page =
            namespace === undefined
              ? await core.listConfigMapForAllNamespaces({ limit: 500, _continue: next })
              : await core.listNamespacedConfigMap({ namespace, limit: 500, _continue: next });
          // Every ConfigMap of the namespace comes back; only guardian.* hold Guardians.
          for (const item of page.items) if (item.metadata?.name?.startsWith(CONFIGMAP_PREFIX)) items.push(item as ConfigMap);
          resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
          next = page.metadata?._continue || undefined;
        } while (next);
        return { items, resourceVersion };
      },
      create: async (namespace, body) => (await core.createNamespacedConfigMap({ namespace, body, fieldManager: FIELD_MANAGER })) as ConfigMap,
      // A ConfigMap replace without a resourceVersion would win unconditionally: it always has one here.
      replace: async (namespace, name, body) => (await core.replaceNamespacedConfigMap({ namespace, name, body, fieldManager: FIELD_MANAGER })) as ConfigMap,
      writeLearned: async (namespace, name, current, spec) =>
        (await core.replaceNamespacedConfigMap({ namespace, name, body: write(namespace, name, current, spec), fieldManager: FIELD_MANAGER })) as ConfigMap,
      remove: async (namespace, name) => {
        await core.deleteNamespacedConfigMap({ namespace, name });
      },
    };
  }
}
