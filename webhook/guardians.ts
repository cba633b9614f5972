// Guardians as people write them with kubectl: a spec that guard-service and the gates would
// refuse to load — they keep the last good Guardian and log (fail-static) — is refused at the API
// server instead, with the core's reason, so that whoever wrote it sees it at once
// (POST /validate-guardian). The checks are the store's for a spec about to be written
// (store/validate.ts: the core loads it; samples within the cap; sync ids and the learning time in
// their forms). Guardian objects (the CRD store) and ConfigMaps `guardian.<service>` holding one
// under `data.Guardian` (the ConfigMap store) alike. Only the spec is judged: names, labels and the
// rest are the API server's.
import type { Core } from '../core/index.js';
import { isStoreError, specToWrite } from '../store/index.js';
import { admissionRequest, type ReviewAnswer } from './review.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Answer one review of a Guardian (the parsed request body). Throws ReviewError when it is not an AdmissionReview. */
export function reviewGuardian(body: unknown, core: Core): ReviewAnswer {
  const { request, answer } = admissionRequest(body);
  const object = request.object;
  if (!isObject(object) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return answer({ allowed: true });
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const namespace = typeof request.namespace === 'string' && request.namespace !== '' ? request.namespace : metadata.namespace;
  const configMap = object.kind === 'ConfigMap';
  const where = `${configMap ? 'ConfigMap' : 'Guardian'} ${String(namespace ?? '')}/${String(metadata.name ?? request.name ?? '')}`;
  const refuse = (why: string): ReviewAnswer =>
    answer({ allowed: false, status: { code: 422, message: `guard-webhook: ${why} — guard-service and the gates would not load it and would keep the Guardian they have` } });
  let spec: unknown;
  if (configMap) {
    const text = isObject(object.data) ? object.data.Guardian : undefined;
    // A ConfigMap without the key is not a Guardian's (the API server sends only those with it).
    if (text === undefined) return answer({ allowed: true });
    try {
      spec = JSON.parse(String(text));
    } catch (err) {
      return refuse(`${where}: data.Guardian is not JSON (${(err as Error).message})`);
    }
  } else {
    spec = object.spec;
    if (!isObject(spec)) return refuse(`${where} has no spec (a GuardianSpec: configured, learned, control, samples)`);
  }
  try {
    specToWrite(core, spec, where);
  } catch (err) {
    if (!isStoreError(err)) throw err;
    return refuse(err.message);
  }
  return answer({ allowed: true });
}
