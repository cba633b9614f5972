// One AdmissionReview in, one out: the object is injected as `guard inject` would, and the answer
// carries a JSON patch from the object received to the injected one. The webhook only ever adds
// the gate: an object already injected, not opted in, or opted out gets no patch. Already injected
// means the record annotation *and* the gate it names: an update that replaced the containers and
// kept the annotations (a client-side `kubectl apply`) is injected again. An opted-in object that
// cannot be guarded (hostNetwork, an ambiguous port, h2c, a gate dropped that cannot come back) is
// refused with the reason — never admitted unprotected in silence. A request that is not an
// AdmissionReview gets an error and no patch.
import { ACTIVATE_ANNOTATION, InjectError, injectObject, isInjected, workloadOf, type InjectOptions, type Json, type JsonObject } from '../inject/index.js';

/** The label that opts a namespace, a workload, a Pod or a Knative Service in (`enabled`) or out (`disabled`). */
export const INJECT_LABEL = 'guard.security.knative.dev/inject';

export type Scope = 'namespace' | 'object';

export class ReviewError extends Error {
  readonly code = 'GUARD_WEBHOOK_REVIEW' as const;
}

export interface ReviewAnswer {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    patch?: string;
    status?: { code: number; message: string };
    warnings?: string[];
  };
}

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: Json;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const pointer = (path: Array<string | number>) => path.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * A JSON patch from `a` to `b`: members added, removed or replaced; an array that grew is diffed
 * element by element and the new elements appended; one that shrank is replaced whole.
 */
export function diff(a: Json, b: Json, path: Array<string | number> = [], out: PatchOp[] = []): PatchOp[] {
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) out.push({ op: 'remove', path: pointer([...path, k]) });
    for (const [k, v] of Object.entries(b)) {
      if (!Object.hasOwn(a, k)) out.push({ op: 'add', path: pointer([...path, k]), value: v });
      else diff(a[k]!, v, [...path, k], out);
    }
  } else if (Array.isArray(a) && Array.isArray(b) && a.length <= b.length) {
    a.forEach((v, i) => diff(v, b[i]!, [...path, i], out));
    for (const v of b.slice(a.length)) out.push({ op: 'add', path: `${pointer(path)}/-`, value: v });
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ op: 'replace', path: pointer(path), value: b });
  }
  return out;
}

function optedIn(o: JsonObject, scope: Scope): boolean {
  const labels = isObject(o.metadata) && isObject(o.metadata.labels) ? o.metadata.labels : {};
  const label = labels[INJECT_LABEL];
  if (label === 'disabled') return false;
  if (scope === 'namespace' || label === 'enabled') return true;
  // The original's marker on a Knative Service's template.
  const w = workloadOf(o);
  const annotations = w && isObject(w.template.metadata) && isObject(w.template.metadata.annotations) ? w.template.metadata.annotations : {};
  return w?.knative === true && String(annotations[ACTIVATE_ANNOTATION] ?? '').toLowerCase() === 'enable';
}

/**
 * The request of an AdmissionReview (the parsed body), and how to answer it. Throws ReviewError when
 * the body is not an AdmissionReview of admission.k8s.io/v1 with a request that has a uid.
 */
export function admissionRequest(body: unknown): { request: JsonObject; answer: (response: Omit<ReviewAnswer['response'], 'uid'>) => ReviewAnswer } {
  if (!isObject(body) || body.kind !== 'AdmissionReview' || body.apiVersion !== 'admission.k8s.io/v1' || !isObject(body.request)) {
    throw new ReviewError('expected an AdmissionReview of admission.k8s.io/v1 with a request');
  }
  const request = body.request;
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') throw new ReviewError('the AdmissionReview request has no uid');
  return { request, answer: (response) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } }) };
}

/** Answer one review (the parsed request body). Throws ReviewError when it is not an AdmissionReview. */
export function review(body: unknown, scope: Scope, options: InjectOptions): ReviewAnswer {
  const { request, answer } = admissionRequest(body);
  const object = request.object;
  if (!isObject(object) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return answer({ allowed: true });
  let w: ReturnType<typeof workloadOf>;
  try {
    w = workloadOf(object);
  } catch {
    return answer({ allowed: true }); // a kind this webhook does not handle: not its to refuse
  }
  if (!w || isInjected(w.template) || !optedIn(object, scope)) return answer({ allowed: true });
  const injected = structuredClone(object);
  // The object's namespace is known here even when its manifest named none.
  const namespace = typeof request.namespace === 'string' && request.namespace !== '' ? request.namespace : undefined;
  // A Pod made by a controller has no name yet: its service is its workload's, from its labels.
  try {
    injectObject(injected, { ...options, namespace });
  } catch (err) {
    if (!(err instanceof InjectError)) throw err;
    // In a namespace opted in as a whole, a pod that serves nothing (a Job's, one without declared
    // ports) or shares the node's network has nothing the gate could guard: it is admitted, with a
    // warning its creator sees. What was opted in by itself, or is ambiguous, is refused.
    if (scope === 'namespace' && (err.code === 'GUARD_INJECT_NO_PORT' || err.code === 'GUARD_INJECT_HOST_NETWORK')) {
      return answer({ allowed: true, warnings: [`guard-webhook: not guarded: ${err.message} (${err.code})`] });
    }
    return answer({ allowed: false, status: { code: 403, message: `guard-webhook: ${err.message} (${err.code}); label it ${INJECT_LABEL}=disabled to admit it without Guard` } });
  }
  const patch = diff(object, injected);
  return answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
}
