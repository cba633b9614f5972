// The NetworkPolicy `guard inject --network-policy` writes beside an injected Deployment,
// StatefulSet, DaemonSet or Pod. The app still listens on every address at its moved port, so
// without one any pod of the cluster reaches it around the gate. The policy admits the gate's
// serving and admin ports and every other port the pod declares — and so, once it selects the pod,
// nothing else: not the app's port, nor a port some container listens on without declaring it.
// It selects the workload's pods that carry the gate (their service label), so a policy left in the
// cluster after --uninject selects nothing. Knative Services get none: their traffic arrives
// through the activator and queue-proxy on ports Knative owns (docs/operations.md).
import { get, isObject, type Json, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';
import { GATE_CONTAINER } from './gate-container.js';
import { SERVICE_LABEL } from './template.js';

/** Marks a NetworkPolicy guard inject wrote, naming its workload ("Deployment/shop"); --uninject removes only those. */
export const POLICY_ANNOTATION = 'guard.security.knative.dev/network-policy-for';
/** Lets `kubectl get/delete networkpolicy -l` find every policy guard inject wrote. */
export const POLICY_LABEL = 'app.kubernetes.io/managed-by';
export const POLICY_LABEL_VALUE = 'guard-inject';
const POLICY_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Pod']);
const DNS1123_SUBDOMAIN_MAX = 253;

/** Whether guard inject writes a NetworkPolicy for this kind of workload (Knative Services: no). */
export function takesNetworkPolicy(kind: string): boolean {
  return POLICY_KINDS.has(kind);
}

/** A NetworkPolicy that carries guard inject's mark, well formed. */
export function isOurNetworkPolicy(o: JsonObject): boolean {
  if (o.kind !== 'NetworkPolicy' || o.apiVersion !== 'networking.k8s.io/v1') return false;
  const mark = get(o, ['metadata', 'annotations', POLICY_ANNOTATION]);
  return typeof mark === 'string' && POLICY_KINDS.has(mark.split('/')[0]!) && mark.includes('/');
}

/** "name" or "namespace/name": how two objects of a manifest are told apart. */
export function policyKey(o: JsonObject): string {
  const ns = get(o, ['metadata', 'namespace']);
  return `${typeof ns === 'string' ? `${ns}/` : ''}${String(get(o, ['metadata', 'name']) ?? '')}`;
}

/**
 * The workload's pod selector, narrowed to the pods that carry the gate: a Pod's labels as they
 * are; a workload's `spec.selector` with the service label added. Refused when the workload gives
 * nothing to select its pods by: a policy of the service label alone would restrict the pods of
 * every workload guarded under the same service name.
 */
function podSelectorOf(o: JsonObject, kind: string, template: JsonObject, where: string): JsonObject {
  const labels = get(template, ['metadata', 'labels']);
  const service = isObject(labels) ? labels[SERVICE_LABEL] : undefined;
  if (typeof service !== 'string') throw new Error(`inject: ${where} carries no ${SERVICE_LABEL} label`);
  if (kind === 'Pod') {
    const own = isObject(labels) ? Object.keys(labels).filter((k) => k !== SERVICE_LABEL) : [];
    if (own.length === 0) {
      throw new InjectError('GUARD_INJECT_NO_SELECTOR', `${where}: --network-policy needs labels to select the pod by and the pod has none; add metadata.labels (an app label) or leave out --network-policy`);
    }
    return { matchLabels: structuredClone(labels as JsonObject) };
  }
  const selector = get(o, ['spec', 'selector']);
  const matchLabels = isObject(selector) && isObject(selector.matchLabels) ? selector.matchLabels : {};
  const matchExpressions = isObject(selector) && Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (Object.keys(matchLabels).length === 0 && matchExpressions.length === 0) {
    throw new InjectError('GUARD_INJECT_NO_SELECTOR', `${where}: --network-policy selects the pods by spec.selector and it is empty; add spec.selector.matchLabels (as the template's labels) or leave out --network-policy`);
  }
  const out: JsonObject = { matchLabels: { ...structuredClone(matchLabels), [SERVICE_LABEL]: service } };
  if (matchExpressions.length > 0) out.matchExpressions = structuredClone(matchExpressions);
  return out;
}

/** The app's moved port, as the gate reaches it (PROTECTED_SERVICE http://127.0.0.1:N). */
function appPortOf(gate: JsonObject, where: string): number {
  const env = Array.isArray(gate.env) ? gate.env : [];
  const entry = env.find((e) => isObject(e) && e.name === 'PROTECTED_SERVICE');
  const match = isObject(entry) && typeof entry.value === 'string' ? /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(entry.value) : null;
  if (!match) throw new Error(`inject: ${where}: ${GATE_CONTAINER} has no PROTECTED_SERVICE on 127.0.0.1`);
  return Number(match[1]);
}

/**
 * The ports the policy admits: the gate's serving port, its admin port (the kubelet's probes and
 * Prometheus), then every port any other container declares in the pod's order — but the app's.
 */
function admittedPorts(template: JsonObject, where: string): JsonObject[] {
  const spec = get(template, ['spec']);
  const containers = isObject(spec) ? [spec.initContainers, spec.containers].flatMap((cs) => (Array.isArray(cs) ? cs.filter(isObject) : [])) : [];
  const gate = containers.find((c) => c.name === GATE_CONTAINER);
  if (!gate) throw new Error(`inject: ${where} carries no ${GATE_CONTAINER}`);
  const appPort = appPortOf(gate, where);
  const seen = new Set<string>();
  const out: JsonObject[] = [];
  const admit = (p: Json): void => {
    if (!isObject(p) || !Number.isInteger(p.containerPort)) return;
    const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
    const port = p.containerPort as number;
    // The app's moved port stays closed even if some container declares it: that is the point.
    if (port === appPort && protocol === 'TCP') return;
    if (seen.has(`${protocol}/${port}`)) return;
    seen.add(`${protocol}/${port}`);
    out.push({ protocol, port });
  };
  const gatePorts = Array.isArray(gate.ports) ? gate.ports : [];
  admit(gatePorts[0] ?? null);
  admit(gatePorts.find((p) => isObject(p) && p.name === 'guard-admin') ?? null);
  for (const c of containers) if (c !== gate && Array.isArray(c.ports)) for (const p of c.ports) admit(p);
  return out;
}

/** The NetworkPolicy for an injected workload `o` whose pod template is `template`. */
export function networkPolicyFor(o: JsonObject, kind: string, template: JsonObject, where: string): JsonObject {
  const name = get(o, ['metadata', 'name']);
  if (typeof name !== 'string' || name === '') {
    throw new InjectError('GUARD_INJECT_NAME', `${where}: --network-policy names the policy after the workload, which has no metadata.name`);
  }
  const policyName = `${name}-guard`;
  if (policyName.length > DNS1123_SUBDOMAIN_MAX) {
    throw new InjectError('GUARD_INJECT_NAME', `${where}: the NetworkPolicy's name ${policyName} would be longer than ${DNS1123_SUBDOMAIN_MAX} characters`);
  }
  const namespace = get(o, ['metadata', 'namespace']);
  const metadata: JsonObject = { name: policyName };
  if (typeof namespace === 'string') metadata.namespace = namespace;
  metadata.labels = { [POLICY_LABEL]: POLICY_LABEL_VALUE };
  metadata.annotations = { [POLICY_ANNOTATION]: `${kind}/${name}` };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: podSelectorOf(o, kind, template, where),
      policyTypes: ['Ingress'],
      // No `from`: every source may reach these ports, as before; only the app's port is closed.
      ingress: [{ ports: admittedPorts(template, where) }],
    },
  };
}
