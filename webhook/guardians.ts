// Guardians as people write them with kubectl: a spec that guard-service and the gates would
// refuse to load — they keep the last good Guardian and log (fail-static) — is refused at the API
// server instead, with the core's reason, so that whoever wrote it sees it at once
// (POST /validate-guardian). The checks are the store's for a spec about to be written
// (store/validate.ts: the core loads it; samples within the cap; sync ids and the learning time in
// their forms). Only the spec is judged: names, labels and the rest are the API server's.
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
  const where = `Guardian ${String(namespace ?? '')}/${String(metadata.name ?? request.name ?? '')}`;
  if (!isObject(object.spec)) {
    return answer({ allowed: false, status: { code: 422, message: `guard-webhook: ${where} has no spec (a GuardianSpec: configured, learned, control, samples)` } });
  }
  try {
    specToWrite(core, object.spec, where);
  } catch (err) {
    if (!isStoreError(err)) throw err;
    return answer({ allowed: false, status: { code: 422, message: `guard-webhook: ${err.message} — guard-service and the gates would not load it and would keep the Guardian they have` } });
  }
  return answer({ allowed: true });
}
