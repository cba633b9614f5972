// inject: adds guard-gate to Kubernetes and Knative workloads, and takes it out again exactly —
// for `guard inject` (YAML in, YAML out: one document or several, `kind: List` too) and for the
// admission webhook (one object). Documents without a pod template pass through untouched.
import { Document, parseAllDocuments } from 'yaml';
import { isObject, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';
import { injectObject, uninjectObject, type InjectOptions, type ObjectResult } from './workload.js';

export { InjectError, type InjectErrorCode } from './errors.js';
export { injectObject, uninjectObject, workloadOf, ACTIVATE_ANNOTATION, type InjectOptions, type ObjectResult, type Outcome } from './workload.js';
export { isInjected, RECORD_ANNOTATION, SERVICE_LABEL, PORT_ANNOTATION } from './template.js';
export { DEFAULT_GATE_IMAGE, GATE_CONTAINER, MIN_GRACE_SECONDS } from './gate-container.js';
export type { Json, JsonObject } from './changes.js';

export interface ManifestResult {
  text: string;
  objects: ObjectResult[];
}

function eachObject(value: unknown, fn: (o: JsonObject) => ObjectResult, out: ObjectResult[]): void {
  if (!isObject(value)) return;
  // `kubectl get -o yaml` of several objects: a List whose items are the objects.
  if (value.kind === 'List' && Array.isArray(value.items)) {
    for (const item of value.items) eachObject(item, fn, out);
    return;
  }
  out.push(fn(value));
}

/** Parse every document, change each object with `fn`, print the documents again in order. */
function transform(text: string, fn: (o: JsonObject) => ObjectResult): ManifestResult {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return { text, objects: [] };
  const objects: ObjectResult[] = [];
  const printed: string[] = [];
  docs.forEach((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new InjectError('GUARD_INJECT_YAML', `document ${i + 1}: ${problem.message}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    const before = objects.length;
    eachObject(value, fn, objects);
    const changed = objects.slice(before).some((r) => r.outcome === 'injected' || r.outcome === 'uninjected');
    // Unchanged documents keep their comments and layout; changed ones are printed from the object.
    const out = changed ? new Document(value).toString({ lineWidth: 0 }) : doc.toString({ lineWidth: 0 });
    printed.push(out.replace(/^---[ \t]*\n/, ''));
  });
  return { text: printed.filter((d) => d.trim() !== '').join('---\n'), objects };
}

/** Add the gate to every workload of a manifest text. Throws InjectError (nothing printed) on the first refusal. */
export function injectManifests(text: string, options: InjectOptions = {}): ManifestResult {
  return transform(text, (o) => injectObject(o, options));
}

/** Take the gate out of every workload guard inject changed. */
export function uninjectManifests(text: string): ManifestResult {
  return transform(text, (o) => uninjectObject(o));
}
