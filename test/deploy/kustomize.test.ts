// deploy/ as one `kubectl apply -k deploy/`: kustomize builds it (kubectl kustomize, offline),
// every object it makes and every example validates against the published Kubernetes and Knative
// schemas (kubernetes-models), and the webhook configuration cannot take the cluster down.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Pod, Service, ServiceAccount } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectManifests } from '../../inject/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deploy = join(root, 'deploy');
const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
type Obj = Record<string, any>;

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'v1/Pod': Pod,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
  'serving.knative.dev/v1/Service': KnativeService,
};
/** Kinds with no schema package here: checked against the CRD in deploy/ (Guardian) or by shape (cert-manager's). */
const OTHER = new Set(['guard.security.knative.dev/v1alpha1/Guardian', 'cert-manager.io/v1/Issuer', 'cert-manager.io/v1/Certificate']);

const parse = (text: string): Obj[] => parseAllDocuments(text).map((d) => (d as { toJS(): Obj }).toJS()).filter((o) => o !== null);

function validate(o: Obj): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  if (Model) {
    const copy = structuredClone(o);
    // Knative defaults a missing container name; its schema (the core Container's) requires one.
    if (o.apiVersion === 'serving.knative.dev/v1') copy.spec.template.spec.containers.forEach((c: Obj, i: number, all: Obj[]) => (c.name ??= all.length === 1 ? 'user-container' : `user-container-${i}`));
    new Model(copy).validate();
    return;
  }
  expect(OTHER.has(key), `${key} has a schema check`).toBe(true);
  expect(o.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
}

describe.skipIf(!kubectl)('deploy/ with kubectl kustomize (offline)', () => {
  it('builds, and every object it makes validates against its schema', async () => {
    const { stdout } = await promisify(execFile)(kubectl!, ['kustomize', deploy], { timeout: 60_000 });
    const objects = parse(stdout);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['Certificate', 'Certificate', 'Certificate', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'Deployment', 'Guardian', 'Issuer', 'Issuer', 'MutatingWebhookConfiguration', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount'].sort(),
    );
    for (const o of objects) validate(o);
  });
});

describe('deploy/ manifests against the schemas', () => {
  const files = [...readdirSync(deploy).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml'), ...readdirSync(join(deploy, 'examples')).map((f) => `examples/${f}`)];

  it.each(files)('%s validates', (file) => {
    for (const o of parse(readFileSync(join(deploy, file), 'utf8'))) validate(o);
  });

  it('the examples, injected, still validate', () => {
    for (const file of ['deployment.yaml', 'knative-service.yaml']) {
      for (const o of parse(injectManifests(readFileSync(join(deploy, 'examples', file), 'utf8')).text)) validate(o);
    }
  });

  it('the Guardian of the namespace default is valid for the CRD', () => {
    const crd = parse(readFileSync(join(deploy, 'guardian-crd.yaml'), 'utf8'))[0]!;
    const guardian = parse(readFileSync(join(deploy, 'guardian-namespace-default.yaml'), 'utf8')).find((o) => o.kind === 'Guardian')!;
    expect(guardian.metadata.name).toBe(`ns-${guardian.metadata.namespace}`);
    const control = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.control.properties;
    for (const [k, v] of Object.entries(guardian.spec.control)) {
      expect(control[k]?.type, k).toBe('boolean');
      expect(typeof v).toBe('boolean');
    }
  });

  it('the webhook configuration cannot take the cluster down: scoped, bounded, never Guard\'s own or system namespaces', () => {
    const config = parse(readFileSync(join(deploy, 'guard-webhook.yaml'), 'utf8')).find((o) => o.kind === 'MutatingWebhookConfiguration')!;
    expect(config.webhooks).toHaveLength(2);
    for (const w of config.webhooks) {
      expect(w.timeoutSeconds).toBeLessThanOrEqual(10);
      expect(w.sideEffects).toBe('None');
      expect(w.admissionReviewVersions).toEqual(['v1']);
      // Fail (never admit an opted-in workload unguarded), limited to what opted in.
      expect(w.failurePolicy).toBe('Fail');
      const excluded = w.namespaceSelector.matchExpressions.find((e: Obj) => e.key === 'kubernetes.io/metadata.name');
      expect(excluded).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'knative-serving'] });
      expect(w.rules.flatMap((r: Obj) => r.resources).sort()).toEqual(['daemonsets', 'deployments', 'pods', 'services', 'statefulsets']);
    }
    const [byNamespace, byObject] = config.webhooks;
    expect(byNamespace.namespaceSelector.matchExpressions[0]).toEqual({ key: 'guard.security.knative.dev/inject', operator: 'In', values: ['enabled'] });
    expect(byObject.namespaceSelector.matchExpressions[0]).toEqual({ key: 'guard.security.knative.dev/inject', operator: 'NotIn', values: ['enabled'] });
    expect(byObject.matchConditions[0].expression).toContain("'qpoption.knative.dev/guard-activate'");
    expect(config.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('knative-serving/guard-webhook-tls');
    // The webhook needs no API access: no token, no role.
    const deployment = parse(readFileSync(join(deploy, 'guard-webhook.yaml'), 'utf8')).find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('the Guardian check is advisory and never in guard-service\'s way: Ignore when away, guard-service\'s own writes left out', () => {
    const config = parse(readFileSync(join(deploy, 'guard-webhook.yaml'), 'utf8')).find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
    expect(config.webhooks).toHaveLength(2);
    // guard-service's service account, as deploy/guard-service.yaml names it.
    const account = parse(readFileSync(join(deploy, 'guard-service.yaml'), 'utf8')).find((o) => o.kind === 'ServiceAccount')!;
    for (const w of config.webhooks) {
      expect(w).toMatchObject({ failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'], clientConfig: { service: { name: 'guard-webhook', namespace: 'knative-serving', path: '/validate-guardian' } } });
      expect(w.timeoutSeconds).toBeLessThanOrEqual(5);
      expect(w.matchConditions[0].expression).toBe(`request.userInfo.username != 'system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}'`);
    }
    const [guardians, configMaps] = config.webhooks;
    expect(guardians.rules).toEqual([{ apiGroups: ['guard.security.knative.dev'], apiVersions: ['*'], resources: ['guardians'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }]);
    // Of all ConfigMaps, only the ConfigMap store's Guardians reach it.
    expect(configMaps.rules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }]);
    expect(configMaps.matchConditions[1].expression).toBe("object.metadata.name.startsWith('guardian.') && has(object.data) && 'Guardian' in object.data");
    expect(config.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('knative-serving/guard-webhook-tls');
  });
});
