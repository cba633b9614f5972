// inject: adds guard-gate to Kubernetes and Knative workloads, and takes it out again exactly —
// for `guard inject` (YAML in, YAML out: one document or several, `kind: List` too) and for the
// admission webhook (one object). Documents without a pod template pass through untouched; with
// --network-policy a NetworkPolicy follows each injected workload (network-policy.ts).
import { Document, parseAllDocuments } from 'yaml';
import { get, isObject, type Json, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';
import { GATE_CONTAINER } from './gate-container.js';
import { isOurNetworkPolicy, networkPolicyFor, POLICY_ANNOTATION, policyKey, takesNetworkPolicy } from './network-policy.js';
import { refuseH2cServices } from './protocol.js';
import { describeObject, injectObject, uninjectObject, workloadOf, type InjectOptions, type ObjectResult } from './workload.js';

export { InjectError, type InjectErrorCode } from './errors.js';
export { injectObject, uninjectObject, workloadOf, ACTIVATE_ANNOTATION, type InjectOptions, type ObjectResult, type Outcome } from './workload.js';
export { injectionState, isInjected, RECORD_ANNOTATION, SERVICE_LABEL, PORT_ANNOTATION, APP_PORT_ANNOTATION, type InjectionState } from './template.js';
export { DEFAULT_GATE_IMAGE, GATE_CONTAINER, MIN_GRACE_SECONDS } from './gate-container.js';
export { POLICY_ANNOTATION, POLICY_LABEL, POLICY_LABEL_VALUE } from './network-policy.js';
export type { Json, JsonObject } from './changes.js';

/** guard inject's options for a manifest; `networkPolicy` is the CLI's alone (a webhook creates no objects). */
export interface ManifestOptions extends InjectOptions {
  /** A NetworkPolicy beside each injected Deployment, StatefulSet, DaemonSet and Pod. */
  networkPolicy?: boolean;
}

export type PolicyOutcome = 'added' | 'updated' | 'unchanged' | 'removed';

export interface PolicyResult {
  /** "name" or "namespace/name". */
  name: string;
  outcome: PolicyOutcome;
}

export interface ManifestResult {
  text: string;
  objects: ObjectResult[];
  /** The NetworkPolicies guard inject wrote, kept or took out. */
  policies: PolicyResult[];
  /** What was asked for and not done, with the reason (a Knative Service gets no NetworkPolicy). */
  notes: string[];
}

/** One document: its value, the parsed Document that prints it as it was (null for one guard inject adds), whether it changed. */
interface Entry {
  doc: Document | null;
  value: unknown;
  changed: boolean;
}

/** Each object of a value, with the array that holds it when it is an item of a List. */
function eachObject(value: unknown, fn: (o: JsonObject, items: Json[] | null) => void, items: Json[] | null = null): void {
  if (!isObject(value)) return;
  // `kubectl get -o yaml` of several objects: a List whose items are the objects.
  if (value.kind === 'List' && Array.isArray(value.items)) {
    // A copy: fn may put a NetworkPolicy among the items, which is not to be visited.
    for (const item of [...value.items]) eachObject(item, fn, value.items);
    return;
  }
  fn(value, items);
}

function parse(text: string): Entry[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  return docs.map((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new InjectError('GUARD_INJECT_YAML', `document ${i + 1}: ${problem.message}`);
    return { doc, value: doc.toJS({ maxAliasCount: 100 }) as unknown, changed: false };
  });
}

/** The documents again, in order: unchanged ones keep their comments and layout; the others are printed from their value. */
function print(entries: readonly Entry[]): string {
  const printed = entries.map((e) => {
    const out = e.changed || e.doc === null ? new Document(e.value).toString({ lineWidth: 0 }) : e.doc.toString({ lineWidth: 0 });
    return out.replace(/^---[ \t]*\n/, '');
  });
  return printed.filter((d) => d.trim() !== '').join('---\n');
}

interface Located {
  o: JsonObject;
  entry: Entry;
}

function allObjects(entries: readonly Entry[]): Located[] {
  const out: Located[] = [];
  for (const entry of entries) eachObject(entry.value, (o) => out.push({ o, entry }));
  return out;
}

/** Add the gate to every workload of a manifest text. Throws InjectError (nothing printed) on the first refusal. */
export function injectManifests(text: string, options: ManifestOptions = {}): ManifestResult {
  const entries = parse(text);
  const all = allObjects(entries);
  const policies = new Map(all.filter(({ o }) => o.kind === 'NetworkPolicy').map((l) => [policyKey(l.o), l] as const));
  const result: ManifestResult = { text: '', objects: [], policies: [], notes: [] };
  for (const entry of [...entries]) {
    eachObject(entry.value, (o, items) => {
      const r = injectObject(o, options);
      result.objects.push(r);
      if (r.outcome === 'injected') {
        entry.changed = true;
        refuseH2cOfManifest(o, all.map((l) => l.o));
      }
      if (!options.networkPolicy || (r.outcome !== 'injected' && r.outcome !== 'already injected')) return;
      if (!takesNetworkPolicy(r.kind)) {
        result.notes.push(`${describeObject(o)}: no NetworkPolicy: Knative sends its requests through the activator and the pod's queue-proxy, on ports Knative owns, which a policy of the pod's declared ports would shut out (docs/operations.md)`);
        return;
      }
      const placed = placePolicy(o, r.kind, policies, (policy) => {
        if (!items) {
          const added: Entry = { doc: null, value: policy, changed: true };
          entries.splice(entries.indexOf(entry) + 1, 0, added);
          return added;
        }
        items.splice(items.indexOf(o) + 1, 0, policy);
        entry.changed = true;
        return entry;
      });
      result.policies.push(placed);
    });
  }
  result.text = print(entries);
  return result;
}

/**
 * The workload's NetworkPolicy into the manifest: added after it (by `add`, which says where), or,
 * when guard inject's policy of that name is there already, its spec brought up to date — so
 * injecting twice writes one policy. A policy of the name that guard inject did not write is refused.
 */
function placePolicy(o: JsonObject, kind: string, policies: Map<string, Located>, add: (policy: JsonObject) => Entry): PolicyResult {
  const where = describeObject(o);
  const policy = networkPolicyFor(o, kind, workloadOf(o)!.template, where);
  const key = policyKey(policy);
  const found = policies.get(key);
  if (!found) {
    policies.set(key, { o: policy, entry: add(policy) });
    return { name: key, outcome: 'added' };
  }
  const mark = get(policy, ['metadata', 'annotations', POLICY_ANNOTATION]);
  if (!isOurNetworkPolicy(found.o) || get(found.o, ['metadata', 'annotations', POLICY_ANNOTATION]) !== mark) {
    throw new InjectError('GUARD_INJECT_POLICY_CONFLICT', `${where}: the manifest has a NetworkPolicy ${key} already, which guard inject did not write for it (no ${POLICY_ANNOTATION}: ${String(mark)}); rename or remove it, or leave out --network-policy`);
  }
  // Only the spec is ours to compare: `kubectl get -o yaml` adds metadata guard inject did not write.
  if (JSON.stringify(found.o.spec) === JSON.stringify(policy.spec)) return { name: key, outcome: 'unchanged' };
  found.o.spec = policy.spec as Json;
  found.entry.changed = true;
  return { name: key, outcome: 'updated' };
}

/** A Service of the same manifest that reaches the injected workload's gate with h2c refuses it. */
function refuseH2cOfManifest(o: JsonObject, all: readonly JsonObject[]): void {
  const services = all.filter((s) => s.kind === 'Service' && s.apiVersion === 'v1');
  const template = workloadOf(o)?.template;
  const containers = template ? get(template, ['spec', 'containers']) : undefined;
  const gate = Array.isArray(containers) ? containers.find((c) => isObject(c) && c.name === GATE_CONTAINER) : undefined;
  const port = isObject(gate) && Array.isArray(gate.ports) ? gate.ports[0] : undefined;
  if (!template || !isObject(port) || typeof port.containerPort !== 'number') return;
  refuseH2cServices(services, o, template, { port: port.containerPort, name: typeof port.name === 'string' ? port.name : null }, describeObject(o));
}

/** Take the gate out of every workload guard inject changed, and the NetworkPolicies it wrote (only those). */
export function uninjectManifests(text: string): ManifestResult {
  const entries = parse(text);
  const result: ManifestResult = { text: '', objects: [], policies: [], notes: [] };
  for (const entry of entries) {
    eachObject(entry.value, (o) => {
      const r = uninjectObject(o);
      result.objects.push(r);
      if (r.outcome === 'uninjected') entry.changed = true;
    });
  }
  const removed = (o: JsonObject): boolean => {
    if (!isOurNetworkPolicy(o)) return false;
    result.policies.push({ name: policyKey(o), outcome: 'removed' });
    return true;
  };
  const kept = entries.filter((entry) => !(isObject(entry.value) && removed(entry.value)));
  for (const entry of kept) if (dropFromLists(entry.value, removed)) entry.changed = true;
  result.text = print(kept);
  return result;
}

/** Take the items `drop` says out of a List (and the Lists in it); true when any went. */
function dropFromLists(value: unknown, drop: (o: JsonObject) => boolean): boolean {
  if (!isObject(value) || value.kind !== 'List' || !Array.isArray(value.items)) return false;
  let any = false;
  value.items = value.items.filter((item) => {
    if (isObject(item) && item.kind !== 'List' && drop(item)) {
      any = true;
      return false;
    }
    if (dropFromLists(item, drop)) any = true;
    return true;
  });
  return any;
}
