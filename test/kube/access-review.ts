// SubjectAccessReview for the stand-in: `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`
// answers whether a user (or one of its groups) may do a verb on a resource in a namespace, from
// grants a test makes with grantAccess(). No RBAC objects: a grant is one rule for one subject.
// system:masters (the stand-in's admin) may do everything, as on a real cluster.
import type { ClusterState } from './cluster-state.js';
import { isPlainObject } from './resources.js';
import { statusErrors } from './status.js';

export const subjectAccessReviewPath = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export interface AccessGrant {
  /** A username or a group name. */
  subject: string;
  verbs: string[];
  /** `guardians.guard.security.knative.dev` or `guardians`; `*` for all. */
  resources: string[];
  /** Omitted: every namespace, and cluster-wide requests (no namespace). */
  namespaces?: string[];
}

const grantsOf = new WeakMap<ClusterState, AccessGrant[]>();

/** Let `grant.subject` do `verbs` on `resources` (in `namespaces`). */
export function grantAccess(state: ClusterState, grant: AccessGrant): void {
  let grants = grantsOf.get(state);
  if (!grants) grantsOf.set(state, (grants = []));
  grants.push(grant);
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
}

/** The SubjectAccessReview the API server would answer for `body`; 400 for a malformed one. */
export function reviewAccess(state: ClusterState, body: unknown): Record<string, unknown> {
  if (!isPlainObject(body) || !isPlainObject(body.spec)) throw statusErrors.badRequest('json: cannot unmarshal into Go value of type v1.SubjectAccessReview');
  if (body.apiVersion !== undefined && body.apiVersion !== 'authorization.k8s.io/v1')
    throw statusErrors.badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (authorization.k8s.io/v1)`);
  const spec = body.spec;
  const user = typeof spec.user === 'string' ? spec.user : '';
  const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [];
  if (!user && groups.length === 0) throw statusErrors.invalid('SubjectAccessReview.authorization.k8s.io', '', [{ field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]);
  if (!isPlainObject(spec.resourceAttributes)) throw statusErrors.invalid('SubjectAccessReview.authorization.k8s.io', '', [{ field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
  const attrs = spec.resourceAttributes as ResourceAttributes;
  const resource = attrs.group ? `${attrs.resource ?? ''}.${attrs.group}` : (attrs.resource ?? '');
  const subjects = new Set([user, ...groups]);
  const allowed =
    groups.includes('system:masters') ||
    (grantsOf.get(state) ?? []).some(
      (g) =>
        subjects.has(g.subject) &&
        (g.verbs.includes('*') || g.verbs.includes(attrs.verb ?? '')) &&
        (g.resources.includes('*') || g.resources.includes(resource) || g.resources.includes(attrs.resource ?? '')) &&
        (!g.namespaces || (attrs.namespace !== undefined && attrs.namespace !== '' && g.namespaces.includes(attrs.namespace))),
    );
  return {
    kind: 'SubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true, reason: 'granted by the stand-in' } : { allowed: false },
  };
}
