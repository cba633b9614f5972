// The resource types the stand-in serves — Guardian (the CRD), ConfigMap, Pod, Lease
// (coordination.k8s.io/v1) and Event (core v1) — with the validation, defaulting and pruning the
// API server applies to each on write.

import { KubeStatusError, statusErrors, type GroupResource } from './status.js';

export type ResourceKey = 'guardians' | 'configmaps' | 'pods' | 'leases' | 'events';
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  [field: string]: unknown;
}

export interface ResourceType {
  key: ResourceKey;
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  listKind: string;
  groupResource: GroupResource;
  /** `Guardian.guard.security.knative.dev`, `ConfigMap`: the name used in Invalid messages. */
  qualifiedKind: string;
  verbs: ReadonlySet<Verb>;
  patchTypes: readonly string[];
  /** Custom resources get metadata.generation; ConfigMaps and Pods here do not. */
  tracksGeneration: boolean;
  /** CRs answer a DELETE with the deleted object, ConfigMaps with a Success Status. */
  returnsDeletedObject: boolean;
  /** Core types accept a PUT without metadata.resourceVersion (last write wins); CRs refuse it. */
  allowsUnconditionalUpdate: boolean;
  /** Unstructured (CR) bodies must name their apiVersion and kind; typed ones may omit them. */
  requiresTypeMeta: boolean;
  /** Validates, prunes and defaults everything but metadata, in place. Throws KubeStatusError. */
  normalizeBody(object: KubeObject, previous: KubeObject | undefined): void;
}

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const controlFlags = ['alert', 'auto', 'block', 'force', 'learn'] as const;

function normalizeGuardian(object: KubeObject): void {
  const invalid = (field: string, value: unknown, type: string) =>
    statusErrors.invalid(guardian.qualifiedKind, object.metadata.name, [
      {
        field,
        message: `Invalid value: "${typeName(value)}": ${field} in body must be of type ${type}: "${typeName(value)}"`,
      },
    ]);
  // The CRD schema declares only `spec` at the root: anything else (status included) is pruned.
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) delete object[key];
  }
  // Fields that are not nullable in the schema lose their null values before defaulting.
  if (object.spec === null) delete object.spec;
  if (object.spec === undefined) return;
  if (!isPlainObject(object.spec)) throw invalid('spec', object.spec, 'object');
  const spec = object.spec;
  // The schema's spec members; a structural schema prunes any other (x-kubernetes-preserve-unknown-fields is only deeper).
  for (const key of Object.keys(spec)) {
    if (!['configured', 'learned', 'samples', 'control', 'syncs', 'learnedAt'].includes(key)) delete spec[key];
  }
  if (spec.learnedAt === null) delete spec.learnedAt;
  if (spec.learnedAt !== undefined) {
    if (typeof spec.learnedAt !== 'string') throw invalid('spec.learnedAt', spec.learnedAt, 'string');
    // format: date-time (RFC 3339), as the API server checks it.
    if (!/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(spec.learnedAt) || !Number.isFinite(Date.parse(spec.learnedAt)))
      throw statusErrors.invalid(guardian.qualifiedKind, object.metadata.name, [
        { field: 'spec.learnedAt', message: `Invalid value: ${JSON.stringify(spec.learnedAt)}: spec.learnedAt in body must be of type date-time: ${JSON.stringify(spec.learnedAt)}` },
      ]);
  }
  if (spec.syncs === null) delete spec.syncs;
  if (spec.syncs !== undefined) {
    if (!Array.isArray(spec.syncs)) throw invalid('spec.syncs', spec.syncs, 'array');
    const ids = spec.syncs as unknown[];
    const tooMany = ids.length > 512;
    const bad = ids.findIndex((id) => typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(id));
    if (tooMany || bad >= 0)
      throw statusErrors.invalid(guardian.qualifiedKind, object.metadata.name, [
        tooMany
          ? { field: 'spec.syncs', message: `Too many: ${ids.length}: must have at most 512 items` }
          : { field: `spec.syncs[${bad}]`, message: `Invalid value: ${JSON.stringify(ids[bad])}: spec.syncs[${bad}] in body should match '^[A-Za-z0-9._:-]{1,64}$'` },
      ]);
  }
  for (const member of ['configured', 'learned', 'control']) {
    if (spec[member] === null) delete spec[member];
    else if (spec[member] !== undefined && !isPlainObject(spec[member])) throw invalid(`spec.${member}`, spec[member], 'object');
  }
  if (isPlainObject(spec.control)) {
    const control = spec.control;
    for (const flag of controlFlags) {
      if (control[flag] === null || control[flag] === undefined) control[flag] = false;
      else if (typeof control[flag] !== 'boolean') throw invalid(`spec.control.${flag}`, control[flag], 'boolean');
    }
  }
}

const configMapKey = /^[-._a-zA-Z0-9]+$/;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const maxConfigMapBytes = 1024 * 1024;

function normalizeConfigMap(object: KubeObject, previous: KubeObject | undefined): void {
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable'].includes(key)) delete object[key];
  }
  const causes: Array<{ field: string; message: string }> = [];
  let bytes = 0;
  for (const member of ['data', 'binaryData'] as const) {
    const value = object[member];
    if (value === null || value === undefined) {
      delete object[member];
      continue;
    }
    if (!isPlainObject(value))
      throw statusErrors.badRequest(`json: cannot unmarshal ${typeName(value)} into Go struct field ConfigMap.${member} of type map[string]string`);
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry !== 'string')
        throw statusErrors.badRequest(`json: cannot unmarshal ${typeName(entry)} into Go struct field ConfigMap.${member} of type string`);
      if (member === 'binaryData' && !base64.test(entry))
        throw statusErrors.badRequest(`illegal base64 data in ConfigMap.binaryData["${key}"]`);
      if (!configMapKey.test(key) || key.length > 253)
        causes.push({ field: `${member}[${key}]`, message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
      if (member === 'binaryData' && isPlainObject(object.data) && Object.hasOwn(object.data, key))
        causes.push({ field: `binaryData[${key}]`, message: `Invalid value: "${key}": duplicate of key present in data` });
      bytes += key.length + Buffer.byteLength(entry);
    }
  }
  if (object.immutable === null) delete object.immutable;
  if (object.immutable !== undefined && typeof object.immutable !== 'boolean')
    throw statusErrors.badRequest(`json: cannot unmarshal ${typeName(object.immutable)} into Go struct field ConfigMap.immutable of type bool`);
  if (bytes > maxConfigMapBytes) causes.push({ field: '[]', message: `Too long: must have at most ${maxConfigMapBytes} bytes` });
  if (previous?.immutable === true) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    if (!same(previous.data, object.data) || !same(previous.binaryData, object.binaryData))
      causes.push({ field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' });
    if (object.immutable !== true) causes.push({ field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
  }
  if (causes.length > 0) throw statusErrors.invalid('ConfigMap', object.metadata.name, causes);
}

export const guardian: ResourceType = {
  key: 'guardians',
  group: 'guard.security.knative.dev',
  version: 'v1alpha1',
  apiVersion: 'guard.security.knative.dev/v1alpha1',
  kind: 'Guardian',
  listKind: 'GuardianList',
  groupResource: { group: 'guard.security.knative.dev', resource: 'guardians' },
  qualifiedKind: 'Guardian.guard.security.knative.dev',
  verbs: new Set<Verb>(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
  patchTypes: [JSON_PATCH, MERGE_PATCH],
  tracksGeneration: true,
  returnsDeletedObject: true,
  allowsUnconditionalUpdate: false,
  requiresTypeMeta: true,
  normalizeBody: normalizeGuardian,
};

export const configMap: ResourceType = {
  key: 'configmaps',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  groupResource: { group: '', resource: 'configmaps' },
  qualifiedKind: 'ConfigMap',
  verbs: new Set<Verb>(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
  // ConfigMap has no merge keys, so a strategic merge patch of one is a merge patch.
  patchTypes: [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH],
  tracksGeneration: false,
  returnsDeletedObject: false,
  allowsUnconditionalUpdate: true,
  requiresTypeMeta: false,
  normalizeBody: normalizeConfigMap,
};

export const pod: ResourceType = {
  key: 'pods',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Pod',
  listKind: 'PodList',
  groupResource: { group: '', resource: 'pods' },
  qualifiedKind: 'Pod',
  // Pods are added by tests through state.addPod; the API only reads and deletes them.
  verbs: new Set<Verb>(['get', 'list', 'watch', 'delete']),
  patchTypes: [],
  tracksGeneration: false,
  returnsDeletedObject: true,
  allowsUnconditionalUpdate: true,
  requiresTypeMeta: false,
  normalizeBody: () => {},
};

// Typed (built-in) objects: fields the schema does not know are dropped, as the API server's decoder
// does; a field of the wrong type is a decoding error (400), a value out of range a 422.
function pruneRoot(object: KubeObject, keep: readonly string[]): void {
  for (const key of Object.keys(object)) if (!['apiVersion', 'kind', 'metadata', ...keep].includes(key)) delete object[key];
}

function undecodable(kind: string, field: string, value: unknown, goType: string): KubeStatusError {
  return statusErrors.badRequest(`json: cannot unmarshal ${typeName(value)} into Go struct field ${kind}.${field} of type ${goType}`);
}

// MicroTime is written with exactly six fractional digits (RFC3339Micro); Go's parser refuses
// anything else, so a client that sends a plain Date's milliseconds is refused here as there.
const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
// metav1.Time: RFC3339, fractional seconds allowed on input.
const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkTime(kind: string, field: string, value: unknown, micro: boolean): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'string') throw undecodable(kind, field, value, micro ? 'v1.MicroTime' : 'v1.Time');
  if (!(micro ? microTime : time).test(value) || Number.isNaN(Date.parse(value)))
    throw statusErrors.badRequest(`parsing time "${value}" as "${micro ? '2006-01-02T15:04:05.000000Z07:00' : '2006-01-02T15:04:05Z07:00'}": cannot parse`);
}

function checkInt(kind: string, field: string, value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1) throw undecodable(kind, field, value, 'int32');
}

function normalizeLease(object: KubeObject): void {
  pruneRoot(object, ['spec']);
  if (object.spec === null || object.spec === undefined) return;
  if (!isPlainObject(object.spec)) throw undecodable('Lease', 'spec', object.spec, 'v1.LeaseSpec');
  const spec = object.spec;
  for (const key of Object.keys(spec)) {
    if (!['holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions', 'strategy', 'preferredHolder'].includes(key)) delete spec[key];
    else if (spec[key] === null) delete spec[key];
  }
  for (const key of ['holderIdentity', 'strategy', 'preferredHolder'])
    if (spec[key] !== undefined && typeof spec[key] !== 'string') throw undecodable('LeaseSpec', `spec.${key}`, spec[key], 'string');
  checkInt('LeaseSpec', 'spec.leaseDurationSeconds', spec.leaseDurationSeconds);
  checkInt('LeaseSpec', 'spec.leaseTransitions', spec.leaseTransitions);
  checkTime('LeaseSpec', 'spec.acquireTime', spec.acquireTime, true);
  checkTime('LeaseSpec', 'spec.renewTime', spec.renewTime, true);
  const causes: Array<{ field: string; message: string }> = [];
  if (spec.leaseDurationSeconds !== undefined && (spec.leaseDurationSeconds as number) <= 0)
    causes.push({ field: 'spec.leaseDurationSeconds', message: `Invalid value: ${String(spec.leaseDurationSeconds)}: must be greater than 0` });
  if (spec.leaseTransitions !== undefined && (spec.leaseTransitions as number) < 0)
    causes.push({ field: 'spec.leaseTransitions', message: `Invalid value: ${String(spec.leaseTransitions)}: must be greater than or equal to 0` });
  if (causes.length > 0) throw statusErrors.invalid('Lease.coordination.k8s.io', object.metadata.name, causes);
}

const eventStrings = ['reason', 'message', 'type', 'action', 'reportingComponent', 'reportingInstance'];

function normalizeEvent(object: KubeObject): void {
  pruneRoot(object, ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance']);
  for (const key of Object.keys(object)) if (object[key] === null) delete object[key];
  for (const key of eventStrings) if (object[key] !== undefined && typeof object[key] !== 'string') throw undecodable('Event', key, object[key], 'string');
  checkInt('Event', 'count', object.count);
  checkTime('Event', 'firstTimestamp', object.firstTimestamp, false);
  checkTime('Event', 'lastTimestamp', object.lastTimestamp, false);
  checkTime('Event', 'eventTime', object.eventTime, true);
  const involved = object.involvedObject ?? {};
  if (!isPlainObject(involved)) throw undecodable('Event', 'involvedObject', involved, 'v1.ObjectReference');
  for (const [key, value] of Object.entries(involved))
    if (value !== null && typeof value !== 'string' && key !== 'resourceVersion') throw undecodable('ObjectReference', `involvedObject.${key}`, value, 'string');
  object.involvedObject = involved;
  // The API server's legacy event validation: the event lives in its object's namespace, and an
  // event without eventTime is an old-style one whose count and timestamps the writer keeps.
  const causes: Array<{ field: string; message: string }> = [];
  const ns = typeof involved.namespace === 'string' ? involved.namespace : '';
  if (ns !== '' && ns !== object.metadata.namespace)
    causes.push({ field: 'involvedObject.namespace', message: `Invalid value: "${ns}": does not match event.namespace` });
  if (object.type !== undefined && object.type !== 'Normal' && object.type !== 'Warning')
    causes.push({ field: 'type', message: `Unsupported value: "${String(object.type)}": supported values: "Normal", "Warning"` });
  if (object.count !== undefined && (object.count as number) < 0) causes.push({ field: 'count', message: `Invalid value: ${String(object.count)}: must be greater than or equal to 0` });
  if (typeof object.reason === 'string' && object.reason.length > 128) causes.push({ field: 'reason', message: 'Too long: may not be more than 128 bytes' });
  if (causes.length > 0) throw statusErrors.invalid('Event', object.metadata.name, causes);
}

export const lease: ResourceType = {
  key: 'leases',
  group: 'coordination.k8s.io',
  version: 'v1',
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  listKind: 'LeaseList',
  groupResource: { group: 'coordination.k8s.io', resource: 'leases' },
  qualifiedKind: 'Lease.coordination.k8s.io',
  verbs: new Set<Verb>(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
  // Lease has no merge keys: a strategic merge patch of one is a merge patch.
  patchTypes: [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH],
  tracksGeneration: false,
  returnsDeletedObject: false,
  // The lease strategy refuses a PUT without resourceVersion: two candidates cannot both win.
  allowsUnconditionalUpdate: false,
  requiresTypeMeta: false,
  normalizeBody: normalizeLease,
};

export const event: ResourceType = {
  key: 'events',
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  groupResource: { group: '', resource: 'events' },
  qualifiedKind: 'Event',
  verbs: new Set<Verb>(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
  patchTypes: [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH],
  tracksGeneration: false,
  returnsDeletedObject: false,
  allowsUnconditionalUpdate: true,
  requiresTypeMeta: false,
  normalizeBody: normalizeEvent,
};

export const resourceTypes: Record<ResourceKey, ResourceType> = { guardians: guardian, configmaps: configMap, pods: pod, leases: lease, events: event };

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function nameProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!dnsSubdomain.test(name))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return undefined;
}

export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length > 63 || !dnsLabel.test(namespace))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  return undefined;
}

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix.length === 0 || nameProblem(prefix))) return 'prefix part must be a DNS subdomain';
  if (name.length === 0 || name.length > 63 || !labelName.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/**
 * Validates user-settable metadata (name, labels, annotations) in place and strips what the server
 * owns. Decoding errors are 400s; value errors are 422s, as on a real API server.
 */
export function normalizeMetadata(type: ResourceType, object: KubeObject): void {
  const meta = object.metadata;
  for (const member of ['labels', 'annotations'] as const) {
    const map = meta[member];
    if (map === null || map === undefined) {
      delete meta[member];
      continue;
    }
    if (!isPlainObject(map))
      throw statusErrors.badRequest(`json: cannot unmarshal ${typeName(map)} into Go struct field ObjectMeta.metadata.${member} of type map[string]string`);
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string')
        throw statusErrors.badRequest(`json: cannot unmarshal ${typeName(value)} into Go struct field ObjectMeta.metadata.${member} of type string`);
      const keyProblem = labelKeyProblem(key);
      if (keyProblem) throw statusErrors.invalid(type.qualifiedKind, meta.name, [{ field: `metadata.${member}`, message: `Invalid value: "${key}": ${keyProblem}` }]);
      if (member === 'labels' && (value.length > 63 || !labelValue.test(value)))
        throw statusErrors.invalid(type.qualifiedKind, meta.name, [
          { field: 'metadata.labels', message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` },
        ]);
    }
  }
  delete meta.managedFields;
  delete meta.selfLink;
}

export function assertTypeMeta(type: ResourceType, object: Record<string, unknown>): void {
  const { apiVersion, kind } = object;
  if (type.requiresTypeMeta) {
    if (typeof kind !== 'string' || kind === '') throw statusErrors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(object).slice(0, 200)}'`);
    if (typeof apiVersion !== 'string' || apiVersion === '') throw statusErrors.badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(object).slice(0, 200)}'`);
  }
  if (apiVersion !== undefined && apiVersion !== type.apiVersion)
    throw statusErrors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${type.apiVersion})`);
  if (kind !== undefined && kind !== type.kind)
    throw statusErrors.badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${type.kind})`);
}

export { KubeStatusError };
