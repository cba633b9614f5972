// inject: adds guard-gate to Kubernetes and Knative workloads, and takes it out again exactly —
// for `guard inject` (YAML in, YAML out: one document or several, `kind: List` too) and for the
// admission webhook (one object). Documents without a pod template pass through untouched.
import { Document, parseAllDocuments } from 'yaml';
import { get, isObject, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';
import { GATE_CONTAINER } from './gate-container.js';
import { refuseH2cServices } from './protocol.js';
import { describeObject, injectObject, uninjectObject, workloadOf, type InjectOptions, type ObjectResult } from './workload.js';

export { InjectError, type InjectErrorCode } from './errors.js';
export { injectObject, uninjectObject, workloadOf, ACTIVATE_ANNOTATION, type InjectOptions, type ObjectResult, type Outcome } from './workload.js';
export { injectionState, isInjected, RECORD_ANNOTATION, SERVICE_LABEL, PORT_ANNOTATION, APP_PORT_ANNOTATION, type InjectionState } from './template.js';
export { DEFAULT_GATE_IMAGE, GATE_CONTAINER, MIN_GRACE_SECONDS } from './gate-container.js';
export type { Json, JsonObject } from './changes.js';

export interface ManifestResult {
  text: string;
  objects: ObjectResult[];
}

function eachObject(value: unknown, fn: (o: JsonObject) => void): void {
  if (!isObject(value)) return;
  // `kubectl get -o yaml` of several objects: a List whose items are the objects.
  if (value.kind === 'List' && Array.isArray(value.items)) {
    for (const item of value.items) eachObject(item, fn);
    return;
  }
  fn(value);
}

/**
 * Parse every document, change each object with `fn` (which sees every object of the text too),
 * print the documents again in order.
 */
function transform(text: string, fn: (o: JsonObject, all: readonly JsonObject[]) => ObjectResult): ManifestResult {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return { text, objects: [] };
  const values = docs.map((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new InjectError('GUARD_INJECT_YAML', `document ${i + 1}: ${problem.message}`);
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  });
  const all: JsonObject[] = [];
  for (const value of values) eachObject(value, (o) => all.push(o));
  const objects: ObjectResult[] = [];
  const printed: string[] = [];
  docs.forEach((doc, i) => {
    const value = values[i];
    const before = objects.length;
    eachObject(value, (o) => objects.push(fn(o, all)));
    const changed = objects.slice(before).some((r) => r.outcome === 'injected' || r.outcome === 'uninjected');
    // Unchanged documents keep their comments and layout; changed ones are printed from the object.
    const out = changed ? new Document(value).toString({ lineWidth: 0 }) : doc.toString({ lineWidth: 0 });
    printed.push(out.replace(/^---[ \t]*\n/, ''));
  });
  return { text: printed.filter((d) => d.trim() !== '').join('---\n'), objects };
}

/** Add the gate to every workload of a manifest text. Throws InjectError (nothing printed) on the first refusal. */
export function injectManifests(text: string, options: InjectOptions = {}): ManifestResult {
  return transform(text, (o, all) => {
    const result = injectObject(o, options);
    if (result.outcome === 'injected') refuseH2cOfManifest(o, all);
    return result;
  });
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

/** Take the gate out of every workload guard inject changed. */
export function uninjectManifests(text: string): ManifestResult {
  return transform(text, (o) => uninjectObject(o));
}
