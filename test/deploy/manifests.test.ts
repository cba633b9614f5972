// The Kubernetes manifests of deploy/: every document parses and names itself; guard-service's RBAC
// is exactly the least set it needs (the original's S-1/S-10 narrowed, docs/threat-model.md); its
// Deployment is hardened and probed; the Service keeps the original's ports; and the sidecar
// example hands the gate the projected token where the gate looks for it by default.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
/** GUARD_SERVICE_TOKEN_FILE's default (docs/configuration.md). */
const GATE_TOKEN_FILE = '/var/run/secrets/tokens/guard-service';
const SERVICE_NAMESPACE = 'knative-serving';
const SERVICE_ACCOUNT = 'guard-service-account';

// Loose shapes: the tests read what they assert on and let a missing field fail the assertion.
type Obj = Record<string, any>;

interface Manifest {
  file: string;
  objects: Obj[];
}

function load(file: string): Manifest {
  const docs = parseAllDocuments(readFileSync(DEPLOY + file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: no YAML documents`);
  const objects: Obj[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    if (doc.warnings.length > 0) throw new Error(`${file}: ${doc.warnings.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    if (value !== null) objects.push(value);
  }
  return { file, objects };
}

// kustomization.yaml is kustomize's own file, not an object of the cluster.
const files = readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
const manifests = files.map(load);
const all = manifests.flatMap((m) => m.objects.map((o) => ({ file: m.file, o })));

function find(file: string, kind: string, name: string): Obj {
  const m = manifests.find((x) => x.file === file);
  const o = m?.objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`${file}: no ${kind} ${name}`);
  return o;
}

/** RBAC rules as sorted "group/resource verb" grants, so a missing or an extra verb shows. */
function grants(role: Obj): string[] {
  const out: string[] = [];
  for (const rule of role.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs ?? []) out.push(`${group || 'core'}/${resource} ${verb}`);
      }
    }
  }
  return out.sort();
}

const expand = (groupResource: string, verbs: string[]) => verbs.map((v) => `${groupResource} ${v}`);

const envOf = (container: Obj): Record<string, Obj> => Object.fromEntries((container.env ?? []).map((e: Obj) => [e.name, e]));

describe('deploy/ manifests', () => {
  it('has the service, its optional ConfigMap role, the sidecar example and the CRD', () => {
    expect(files).toEqual(expect.arrayContaining(['gate-sidecar-example.yaml', 'guard-service-configmaps.yaml', 'guard-service.yaml', 'guardian-crd.yaml']));
  });

  it('every document is an object with apiVersion, kind and metadata.name', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const { file, o } of all) {
      const where = `${file}: ${o.kind}/${o.metadata?.name}`;
      expect(typeof o.apiVersion, where).toBe('string');
      expect(o.apiVersion.length, where).toBeGreaterThan(0);
      expect(typeof o.kind, where).toBe('string');
      expect(typeof o.metadata?.name, where).toBe('string');
      expect(o.metadata.name, where).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });

  it('names a namespace on every namespaced object, so nothing lands in the applier\'s namespace', () => {
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
    for (const { file, o } of all) {
      if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${file}: ${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${file}: ${o.kind}/${o.metadata.name}`).toMatch(/^[a-z0-9-]+$/);
    }
    for (const { o } of all.filter((x) => x.file.startsWith('guard-service') && !clusterScoped.has(x.o.kind))) {
      expect(o.metadata.namespace).toBe(SERVICE_NAMESPACE);
    }
  });
});

describe('guard-service RBAC', () => {
  it('grants exactly the least set the service needs, cluster-wide', () => {
    const role = find('guard-service.yaml', 'ClusterRole', 'guard-service');
    expect(grants(role)).toEqual(
      [
        ...expand('guard.security.knative.dev/guardians', ['get', 'list', 'watch', 'create', 'update', 'patch']),
        ...expand('core/pods', ['get', 'delete']),
        ...expand('authentication.k8s.io/tokenreviews', ['create']),
        ...expand('authorization.k8s.io/subjectaccessreviews', ['create']),
        ...expand('core/events', ['get', 'list', 'create', 'patch']),
      ].sort(),
    );
  });

  it('keeps ConfigMap access in its own optional ClusterRole, without delete', () => {
    const role = find('guard-service-configmaps.yaml', 'ClusterRole', 'guard-service-configmaps');
    expect(grants(role)).toEqual(expand('core/configmaps', ['get', 'list', 'watch', 'create', 'update', 'patch']).sort());
    const service = manifests.find((m) => m.file === 'guard-service.yaml')!;
    expect(service.objects.flatMap((o) => (o.kind.endsWith('Role') ? grants(o) : []))).not.toContain('core/configmaps get');
  });

  it('grants leases only in its own namespace, with a Role', () => {
    const role = find('guard-service.yaml', 'Role', 'guard-service-leases');
    expect(role.metadata.namespace).toBe(SERVICE_NAMESPACE);
    expect(grants(role)).toEqual(expand('coordination.k8s.io/leases', ['get', 'list', 'create', 'update', 'delete']).sort());
    const cluster = all.filter(({ o }) => o.kind === 'ClusterRole').flatMap(({ o }) => grants(o));
    expect(cluster.some((g) => g.startsWith('coordination.k8s.io/'))).toBe(false);
  });

  it('binds each role to guard-service-account and to nothing else', () => {
    const bindings: Array<[string, string, string]> = [
      ['guard-service.yaml', 'ClusterRoleBinding', 'guard-service'],
      ['guard-service.yaml', 'RoleBinding', 'guard-service-leases'],
      ['guard-service-configmaps.yaml', 'ClusterRoleBinding', 'guard-service-configmaps'],
    ];
    for (const [file, kind, name] of bindings) {
      const b = find(file, kind, name);
      expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: SERVICE_NAMESPACE }]);
    }
    expect(find('guard-service.yaml', 'ServiceAccount', SERVICE_ACCOUNT).metadata.namespace).toBe(SERVICE_NAMESPACE);
  });

  it('has no wildcard, no secrets, no privilege-granting verb and no built-in admin role anywhere', () => {
    const roles = all.filter(({ o }) => o.kind === 'Role' || o.kind === 'ClusterRole');
    expect(roles.map(({ o }) => o.metadata.name).sort()).toEqual(['guard-service', 'guard-service-configmaps', 'guard-service-leases', 'guardian-reader', 'guardian-reader']);
    for (const { file, o } of roles) {
      const where = `${file}: ${o.kind}/${o.metadata.name}`;
      expect(o.aggregationRule, where).toBeUndefined();
      for (const rule of o.rules) {
        for (const list of [rule.apiGroups, rule.resources, rule.verbs]) {
          expect(list, where).toBeInstanceOf(Array);
          expect(list.length, where).toBeGreaterThan(0);
          for (const item of list) expect(item, where).not.toContain('*');
        }
        expect(rule.nonResourceURLs, where).toBeUndefined();
        expect(rule.resources, where).not.toContain('secrets');
        expect(rule.resources.some((r: string) => r.includes('/')), `${where}: subresources`).toBe(false);
        for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) expect(rule.verbs, where).not.toContain(verb);
      }
    }
    const builtIn = /^(cluster-admin|admin|edit|view)$|^system:/;
    for (const { o } of all.filter(({ o }) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      expect(o.roleRef.name).not.toMatch(builtIn);
      // Every binding points at a role defined here, so what it grants is what the tests above read.
      expect(roles.some((r) => r.o.kind === o.roleRef.kind && r.o.metadata.name === o.roleRef.name)).toBe(true);
    }
  });
});

describe('guard-service Deployment', () => {
  const deployment = find('guard-service.yaml', 'Deployment', 'guard-service');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs three replicas on Leases, rolled one at a time, under a disruption budget', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(Number(env.GUARD_SERVICE_SHARDS)).toBeGreaterThanOrEqual(deployment.spec.replicas);
    expect(env.GUARD_SERVICE_PEER_URL).toBe('https://$(POD_IP):8888');
    // $(POD_IP) is expanded only from a variable defined before it.
    const names = container.env.map((e: { name: string }) => e.name);
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('GUARD_SERVICE_PEER_URL'));
    const pdb = find('guard-service.yaml', 'PodDisruptionBudget', 'guard-service');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
    expect(deployment.spec.selector.matchLabels).toEqual({ app: 'guard-service' });
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(pod.serviceAccountName).toBe(SERVICE_ACCOUNT);
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers).toBeUndefined();
  });

  it('runs non-root, read-only, without capabilities, under the runtime\'s seccomp profile', () => {
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    const sc = container.securityContext;
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged ?? false).toBe(false);
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  });

  it('requests and limits CPU and memory', () => {
    for (const bound of ['requests', 'limits']) {
      expect(container.resources[bound].cpu, bound).toMatch(/^\d+m?$/);
      expect(container.resources[bound].memory, bound).toMatch(/^\d+(Mi|Gi)$/);
    }
  });

  it('probes /healthz for liveness and /readyz for readiness on port 8888', () => {
    expect(container.ports).toEqual([{ name: 'https', containerPort: 8888, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8888 });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8888 });
    // TLS is on, so the probes must speak it.
    expect(container.livenessProbe.httpGet.scheme).toBe('HTTPS');
    expect(container.readinessProbe.httpGet.scheme).toBe('HTTPS');
  });

  it('keeps the original\'s env names, auth and TLS on, and the CRD store', () => {
    const env = envOf(container);
    expect(Object.keys(env).sort()).toEqual(
      [
        'GUARD_SERVICE_AUTH',
        'GUARD_SERVICE_LABELS',
        'GUARD_SERVICE_LOG_LEVEL',
        'GUARD_SERVICE_TLS',
        'GUARD_SERVICE_TLS_CERT',
        'GUARD_SERVICE_TLS_KEY',
        'GUARD_STORE',
        'GUARD_SERVICE_SHARDS',
        'GUARD_SERVICE_LEASE_SECONDS',
        'POD_NAMESPACE',
        'GUARD_SERVICE_REPLICA_NAME',
        'POD_IP',
        'GUARD_SERVICE_PEER_URL',
        'GUARD_SERVICE_PEER_CA',
        'GUARD_SERVICE_PEER_SERVER_NAME',
      ].sort(),
    );
    expect(env.GUARD_SERVICE_AUTH.value).toBe('true');
    expect(env.GUARD_SERVICE_TLS.value).toBe('true');
    // The label guard inject and guard-webhook put on every injected pod names its service.
    expect(env.GUARD_SERVICE_LABELS.value).toBe('guard.security.knative.dev/service');
    expect(env.GUARD_SERVICE_LOG_LEVEL.value).toBe('info');
    expect(env.GUARD_STORE.value).toBe('kube-crd');
  });

  it('reads its certificate and key from a mounted TLS secret', () => {
    const env = envOf(container);
    const mount = container.volumeMounts.find((m: Obj) => m.name === 'tls');
    expect(mount.readOnly).toBe(true);
    const volume = pod.volumes.find((v: Obj) => v.name === 'tls');
    expect(volume.secret.secretName).toBe('guard-service-tls');
    expect(volume.secret.optional ?? false).toBe(false);
    expect(env.GUARD_SERVICE_TLS_CERT.value).toBe(`${mount.mountPath}/tls.crt`);
    expect(env.GUARD_SERVICE_TLS_KEY.value).toBe(`${mount.mountPath}/tls.key`);
    // Readable by the pod's group only (0440).
    expect(volume.secret.defaultMode).toBe(0o440);
  });
});

describe('guard-service Service', () => {
  it('exposes 80 and 443 onto 8888, as the original, for the Deployment\'s pods', () => {
    const service = find('guard-service.yaml', 'Service', 'guard-service');
    expect(service.metadata.namespace).toBe(SERVICE_NAMESPACE);
    expect(service.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort])).toEqual([
      ['http', 80, 8888],
      ['https', 443, 8888],
    ]);
    const deployment = find('guard-service.yaml', 'Deployment', 'guard-service');
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });
});

describe('gate sidecar example', () => {
  const file = 'gate-sidecar-example.yaml';
  const deployment = find(file, 'Deployment', 'shop');
  const pod = deployment.spec.template.spec;
  const gate = pod.containers.find((c: Obj) => c.name === 'guard-gate');
  const app = pod.containers.find((c: Obj) => c.name === 'app');
  const env = envOf(gate);

  it('runs the gate from the placeholder image with the required env', () => {
    expect(gate.image).toBe('guard:0.1.0');
    for (const name of ['SERVICE_NAME', 'NAMESPACE', 'PROTECTED_SERVICE', 'GUARD_SERVICE_URL']) expect(env[name], name).toBeDefined();
    expect(env.NAMESPACE.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(env.PROTECTED_SERVICE.value).toBe(`http://127.0.0.1:${app.ports[0].containerPort}`);
    // guard-service names the caller's service from its pod's `app` label (no GUARD_SERVICE_LABELS).
    expect(deployment.spec.template.metadata.labels.app).toBe(env.SERVICE_NAME.value);
    const url = new URL(env.GUARD_SERVICE_URL.value);
    expect(url.protocol).toBe('https:');
    expect(url.hostname).toBe(`guard-service.${SERVICE_NAMESPACE}.svc`);
  });

  it('mounts a projected token of audience guard-service where GUARD_SERVICE_TOKEN_FILE points by default', () => {
    const tokenVolumes = pod.volumes.filter((v: Obj) => v.projected?.sources.some((s: Obj) => s.serviceAccountToken?.audience === 'guard-service'));
    expect(tokenVolumes).toHaveLength(1);
    const volume = tokenVolumes[0];
    const source = volume.projected.sources.find((s: Obj) => s.serviceAccountToken).serviceAccountToken;
    expect(source.expirationSeconds).toBeLessThanOrEqual(3600);
    const mount = gate.volumeMounts.find((m: Obj) => m.name === volume.name);
    expect(mount.readOnly).toBe(true);
    expect(`${mount.mountPath}/${source.path}`).toBe(GATE_TOKEN_FILE);
    // Written out, it must still be the default.
    expect(env.GUARD_SERVICE_TOKEN_FILE?.value ?? GATE_TOKEN_FILE).toBe(GATE_TOKEN_FILE);
  });

  it('gives API tokens to the gate only, never to the app', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokenVolumeNames = pod.volumes.filter((v: Obj) => v.projected?.sources.some((s: Obj) => s.serviceAccountToken)).map((v: Obj) => v.name);
    expect(tokenVolumeNames.length).toBe(2);
    expect((app.volumeMounts ?? []).filter((m: Obj) => tokenVolumeNames.includes(m.name))).toEqual([]);
    const reader = find(file, 'Role', 'guardian-reader');
    expect(grants(reader)).toEqual(expand('guard.security.knative.dev/guardians', ['get', 'list', 'watch']).sort());
    const binding = find(file, 'RoleBinding', 'guardian-reader');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deployment.metadata.namespace }]);
  });

  it('hardens the gate container and sends client traffic through it only', () => {
    const sc = gate.securityContext;
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    expect(gate.readinessProbe.httpGet.path).toBe('/readyz');
    expect(gate.livenessProbe.httpGet.path).toBe('/healthz');
    const gatePort = gate.ports.find((p: Obj) => p.name === 'http').containerPort;
    expect(env.PORT?.value ?? '22000').toBe(String(gatePort));
    const service = find(file, 'Service', 'shop');
    expect(service.spec.ports.map((p: Obj) => p.targetPort)).toEqual(['http']);
    const policy = find(file, 'NetworkPolicy', 'shop-through-guard-gate');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(policy.spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port))).toEqual([gatePort]);
  });
});

describe('the image (deploy/Dockerfile)', () => {
  const dockerfile = readFileSync(DEPLOY + 'Dockerfile', 'utf8');
  const gate = find('gate-sidecar-example.yaml', 'Deployment', 'shop').spec.template.spec.containers.find((c: Obj) => c.name === 'guard-gate');
  const service = find('guard-service.yaml', 'Deployment', 'guard-service').spec.template.spec.containers[0];

  it('builds on Debian bookworm with Node.js 20 (the uWS binary needs glibc 2.36 and Node 20), and runs on bare Debian', () => {
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(bases).toEqual(['node:20-bookworm-slim', 'debian:bookworm-slim']);
    // The final stage takes the Node.js binary alone from the build stage: no npm, no compiler.
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^COPY --from=build \/usr\/local\/bin\/node \/usr\/local\/bin\/node$/m);
    expect(final).not.toMatch(/\bRUN\b/);
    expect(final).toMatch(/^HEALTHCHECK .*bin\/healthcheck\.js/m);
  });

  it('runs as the user the manifests ask for, with the guard command as entrypoint', () => {
    const user = /^USER\s+(\d+)(?::(\d+))?/m.exec(dockerfile);
    expect(Number(user?.[1])).toBe(gate.securityContext.runAsUser);
    expect(Number(user?.[1])).toBe(service.securityContext?.runAsUser ?? find('guard-service.yaml', 'Deployment', 'guard-service').spec.template.spec.securityContext?.runAsUser);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/guard\.js"\]/m);
    expect(gate.args).toEqual(['gate']);
    expect(service.args).toEqual(['service']);
  });

  it('installs from the lock file and ships no dev dependencies', () => {
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });
});

