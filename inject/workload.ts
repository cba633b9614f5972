// Which objects carry a pod template, where it is, and what the gate is told about them: the
// service name and namespace come from the workload; a Knative Service's qpoption guard-config-*
// annotations (the original's settings) become the gate's variables.
import { get, isObject, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';
import { DEFAULT_GATE_IMAGE } from './gate-container.js';
import { injectTemplate, SERVICE_LABEL, uninjectTemplate, type TemplateTarget } from './template.js';

/** The original's activation annotation; its value `enable` marks a Knative Service for Guard. */
export const ACTIVATE_ANNOTATION = 'qpoption.knative.dev/guard-activate';
const QPOPTION_CONFIG = 'qpoption.knative.dev/guard-config-';
/** The original's plug configuration keys and the gate variables they are. */
const QPOPTION_ENV: Record<string, string> = {
  'guard-url': 'GUARD_SERVICE_URL',
  'use-crd': 'USE_CRD',
  'monitor-pod': 'MONITOR_POD',
  'analyze-body': 'ANALYZE_BODY',
  'guardian-sync-interval': 'GUARDIAN_SYNC_INTERVAL',
  'pod-monitor-interval': 'POD_MONITOR_INTERVAL',
};

export interface InjectOptions {
  /** The gate's image (default guard:0.1.0). */
  image?: string;
  /** SERVICE_NAME (default: the workload's name; a Pod's `app` label). */
  serviceName?: string;
  /** A Knative Service's namespace when its manifest names none. */
  namespace?: string;
  /** The port clients use, by name or number, when the template declares several. */
  port?: string;
  /** The app's new port (default: the first free from 8081). */
  appPort?: number;
  /** GUARD_SERVICE_URL (default: the gate's own default). */
  guardServiceUrl?: string;
  /** guard-service's CA (PEM) for GUARD_SERVICE_CA; without it the ConfigMap guard-service-ca is mounted. */
  guardServiceCa?: string;
}

export type Outcome = 'injected' | 'already injected' | 'uninjected' | 'not injected' | 'no pod template';

export interface ObjectResult {
  kind: string;
  name: string;
  outcome: Outcome;
}

interface Workload {
  kind: string;
  knative: boolean;
  template: JsonObject;
}

const TEMPLATED: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1' };
/** Kinds with pods that guard inject refuses rather than pass over silently. */
const UNSUPPORTED = new Set(['ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'Configuration', 'Revision']);
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** "Deployment shop/web", for messages. */
export function describeObject(o: JsonObject): string {
  const meta = isObject(o.metadata) ? o.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(o.kind)} ${ns}${String(meta.name ?? meta.generateName ?? '(unnamed)')}`;
}

/** The object's pod template, or null when it has none; throws for pod-bearing kinds it cannot handle. */
export function workloadOf(o: JsonObject): Workload | null {
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  if (kind === 'Pod' && apiVersion === 'v1') return { kind, knative: false, template: o };
  if (TEMPLATED[kind] === apiVersion || (kind === 'Service' && apiVersion === 'serving.knative.dev/v1')) {
    const spec = isObject(o.spec) ? o.spec : null;
    const template = spec && isObject(spec.template) ? spec.template : null;
    if (!template) throw new InjectError('GUARD_INJECT_UNSUPPORTED', `${describeObject(o)}: no spec.template`);
    return { kind, knative: kind === 'Service', template };
  }
  if (UNSUPPORTED.has(kind) || (TEMPLATED[kind] !== undefined && apiVersion !== TEMPLATED[kind])) {
    throw new InjectError('GUARD_INJECT_UNSUPPORTED', `${describeObject(o)}: guard inject handles Deployments, StatefulSets, DaemonSets and Pods (apps/v1, v1) and Knative Services (serving.knative.dev/v1), not ${kind} ${apiVersion}`);
  }
  return null;
}

function serviceNameOf(o: JsonObject, w: Workload, options: InjectOptions): string {
  const labels = get(w.template, ['metadata', 'labels']);
  const label = (k: string) => (isObject(labels) && typeof labels[k] === 'string' ? (labels[k] as string) : undefined);
  const name = get(o, ['metadata', 'name']);
  const chosen = options.serviceName ?? (w.kind === 'Pod' ? (label(SERVICE_LABEL) ?? label('app') ?? label('app.kubernetes.io/name')) : undefined) ?? (typeof name === 'string' ? name : undefined);
  if (chosen === undefined || !DNS1123_LABEL.test(chosen)) {
    throw new InjectError('GUARD_INJECT_NAME', `${describeObject(o)}: the service name ${chosen === undefined ? 'is unknown' : `${JSON.stringify(chosen)} is not a DNS-1123 label`}; give one with --service NAME`);
  }
  return chosen;
}

function namespaceOf(o: JsonObject, w: Workload, options: InjectOptions): string | null {
  if (!w.knative) return null; // the downward API: the pod's own namespace
  const ns = options.namespace ?? get(o, ['metadata', 'namespace']);
  if (typeof ns !== 'string' || !DNS1123_LABEL.test(ns)) {
    throw new InjectError('GUARD_INJECT_NAME', `${describeObject(o)}: a Knative Service needs its namespace written out (Knative turns the downward API off by default); add metadata.namespace or pass --namespace NS`);
  }
  return ns;
}

/** The original's guard-config-* annotations of a Knative template, as gate variables. */
function qpoptionEnv(w: Workload, options: InjectOptions): Array<[string, string]> {
  const annotations = get(w.template, ['metadata', 'annotations']);
  if (!w.knative || !isObject(annotations)) return [];
  const out: Array<[string, string]> = [];
  for (const [key, name] of Object.entries(QPOPTION_ENV)) {
    const v = annotations[QPOPTION_CONFIG + key];
    if (typeof v !== 'string' || v === '') continue;
    if (name === 'GUARD_SERVICE_URL' && options.guardServiceUrl !== undefined) continue;
    out.push([name, v]);
  }
  return out;
}

/** Add the gate to one object (in place). */
export function injectObject(o: JsonObject, options: InjectOptions = {}): ObjectResult {
  const w = workloadOf(o);
  const result = { kind: String(o.kind ?? ''), name: String(get(o, ['metadata', 'name']) ?? '') };
  if (!w) return { ...result, outcome: 'no pod template' };
  const target: TemplateTarget = {
    where: describeObject(o),
    knative: w.knative,
    serviceName: serviceNameOf(o, w, options),
    namespace: namespaceOf(o, w, options),
    image: options.image ?? DEFAULT_GATE_IMAGE,
    port: options.port,
    appPort: options.appPort,
    guardServiceUrl: options.guardServiceUrl ?? null,
    guardServiceCa: options.guardServiceCa ?? null,
    extraEnv: qpoptionEnv(w, options),
  };
  return { ...result, outcome: injectTemplate(w.template, target) ? 'injected' : 'already injected' };
}

/** Remove the gate from one object (in place), exactly as guard inject added it. */
export function uninjectObject(o: JsonObject): ObjectResult {
  const w = workloadOf(o);
  const result = { kind: String(o.kind ?? ''), name: String(get(o, ['metadata', 'name']) ?? '') };
  if (!w) return { ...result, outcome: 'no pod template' };
  return { ...result, outcome: uninjectTemplate(w.template, describeObject(o)) ? 'uninjected' : 'not injected' };
}
