// The stand-in's etcd: objects by resource, one cluster-wide resourceVersion counter, a bounded
// event history for watches that resume, and the write path (create, replace, patch, delete) with
// the API server's preconditions, no-op detection and metadata stamping.

import { randomUUID, randomBytes } from 'node:crypto';
import { applyJsonPatch, applyMergePatch, PatchError } from './json-patch.js';
import {
  assertTypeMeta,
  isPlainObject,
  JSON_PATCH,
  MERGE_PATCH,
  nameProblem,
  normalizeMetadata,
  STRATEGIC_MERGE_PATCH,
  type KubeObject,
  type ResourceKey,
  type ResourceType,
} from './resources.js';
import type { ObjectFilter } from './selectors.js';
import { KubeStatusError, statusErrors } from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  type: EventType;
  resource: ResourceKey;
  namespace: string;
  object: KubeObject;
  previous: KubeObject | undefined;
}

/** One open watch, as the store sees it: what it wants and where to send it. */
export interface WatchSubscriber {
  resource: ResourceKey;
  namespace: string | undefined;
  filter: ObjectFilter;
  deliver(type: EventType, object: KubeObject): void;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

function withoutMetadata(object: KubeObject): unknown {
  const { metadata: _metadata, ...rest } = object;
  return rest;
}

function comparable(object: KubeObject): string {
  const { resourceVersion: _rv, ...meta } = object.metadata;
  return canonical({ ...object, metadata: meta });
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class ObjectStore {
  private rv: number;
  private compactedRv: number;
  private readonly historyLimit: number;
  private readonly objects = new Map<ResourceKey, Map<string, KubeObject>>();
  private history: HistoryEntry[] = [];
  private readonly subscribers = new Set<WatchSubscriber>();
  private readonly changeListeners = new Set<() => void>();

  constructor(initialResourceVersion: number, historyLimit: number) {
    this.rv = initialResourceVersion;
    this.compactedRv = initialResourceVersion;
    this.historyLimit = historyLimit;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private bucket(resource: ResourceKey): Map<string, KubeObject> {
    let bucket = this.objects.get(resource);
    if (!bucket) this.objects.set(resource, (bucket = new Map()));
    return bucket;
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const found = this.bucket(type.key).get(key(namespace, name));
    return found && structuredClone(found);
  }

  private require(type: ResourceType, namespace: string, name: string): KubeObject {
    const found = this.bucket(type.key).get(key(namespace, name));
    if (!found) throw statusErrors.notFound(type.groupResource, name);
    return structuredClone(found);
  }

  list(type: ResourceType, namespace: string | undefined, filter: ObjectFilter): { items: KubeObject[]; resourceVersion: string } {
    const items = [...this.bucket(type.key).values()]
      .filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && filter(o))
      .sort((a, b) => (key(a.metadata.namespace, a.metadata.name) < key(b.metadata.namespace, b.metadata.name) ? -1 : 1))
      .map((o) => structuredClone(o));
    return { items, resourceVersion: String(this.rv) };
  }

  create(type: ResourceType, namespace: string, body: unknown): KubeObject {
    const object = this.decode(type, namespace, body);
    if (object.metadata.resourceVersion)
      throw statusErrors.internal('resourceVersion should not be set on objects to be created');
    if (!object.metadata.name && typeof object.metadata.generateName === 'string' && object.metadata.generateName)
      object.metadata.name = object.metadata.generateName + randomBytes(4).toString('hex').slice(0, 5);
    if (!object.metadata.name)
      throw statusErrors.invalid(type.qualifiedKind, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (this.bucket(type.key).has(key(namespace, object.metadata.name)))
      throw statusErrors.alreadyExists(type.groupResource, object.metadata.name);
    return this.commit(type, object, undefined);
  }

  replace(type: ResourceType, namespace: string, name: string, body: unknown): KubeObject {
    const object = this.decode(type, namespace, body);
    if (object.metadata.name !== name)
      throw statusErrors.badRequest(`the name of the object (${object.metadata.name || ''}) does not match the name on the URL (${name})`);
    const current = this.require(type, namespace, name);
    const wanted = object.metadata.resourceVersion;
    if (!wanted && !type.allowsUnconditionalUpdate)
      throw statusErrors.invalid(type.qualifiedKind, name, [{ field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    if (wanted && wanted !== current.metadata.resourceVersion)
      throw statusErrors.conflict(type.groupResource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    return this.commit(type, object, current);
  }

  patch(type: ResourceType, namespace: string, name: string, contentType: string, patch: unknown): KubeObject {
    const current = this.require(type, namespace, name);
    let patched: unknown;
    try {
      if (contentType === JSON_PATCH) patched = applyJsonPatch(current, patch);
      else if (contentType === MERGE_PATCH || contentType === STRATEGIC_MERGE_PATCH) {
        if (!isPlainObject(patch)) throw new PatchError('invalid', 'a merge patch must be a JSON object');
        patched = applyMergePatch(current, patch);
      } else throw statusErrors.unsupportedMediaType(contentType, type.patchTypes as string[]);
    } catch (error) {
      if (error instanceof PatchError)
        throw error.kind === 'test-failed'
          ? new KubeStatusError(422, 'Invalid', error.message)
          : new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${error.message}`);
      throw error;
    }
    const object = this.decode(type, namespace, patched);
    if (object.metadata.name !== name)
      throw statusErrors.badRequest(`the name of the object (${object.metadata.name || ''}) does not match the name on the URL (${name})`);
    // A resourceVersion left in the patched object is a precondition, as on a real server.
    const wanted = object.metadata.resourceVersion;
    if (wanted && wanted !== current.metadata.resourceVersion)
      throw statusErrors.conflict(type.groupResource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    return this.commit(type, object, current);
  }

  delete(type: ResourceType, namespace: string, name: string, preconditions: DeletePreconditions = {}, mark?: (o: KubeObject) => void): KubeObject {
    const current = this.require(type, namespace, name);
    if (preconditions.uid && preconditions.uid !== current.metadata.uid)
      throw statusErrors.conflict(type.groupResource, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    if (preconditions.resourceVersion && preconditions.resourceVersion !== current.metadata.resourceVersion)
      throw statusErrors.conflict(
        type.groupResource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    this.bucket(type.key).delete(key(namespace, name));
    const gone = structuredClone(current);
    mark?.(gone);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, type: 'DELETED', resource: type.key, namespace, object: gone, previous: current });
    return structuredClone(gone);
  }

  /** Subscribes from `resourceVersion` (unset or "0": every current object as ADDED first). */
  subscribe(type: ResourceType, subscriber: WatchSubscriber, resourceVersion: string | undefined): () => void {
    const visible = (o: KubeObject) => subscriber.namespace === undefined || o.metadata.namespace === subscriber.namespace;
    if (resourceVersion === undefined || resourceVersion === '' || resourceVersion === '0') {
      const initial = [...this.bucket(type.key).values()]
        .filter((o) => visible(o) && subscriber.filter(o))
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const object of initial) subscriber.deliver('ADDED', structuredClone(object));
    } else {
      if (!/^[0-9]+$/.test(resourceVersion))
        throw statusErrors.badRequest(`resourceVersion: Invalid value: "${resourceVersion}": must be a non-negative integer`);
      const from = Number(resourceVersion);
      if (from < this.compactedRv) throw statusErrors.expired(`too old resource version: ${from} (${this.compactedRv + 1})`);
      if (from > this.rv) throw new KubeStatusError(504, 'Timeout', `Too large resource version: ${from}, current: ${this.rv}`);
      for (const entry of this.history) {
        if (entry.rv > from && entry.resource === type.key && visible(entry.object)) this.route(subscriber, entry);
      }
    }
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Forgets the event history: watches from any earlier resourceVersion now get 410 Expired. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  private route(subscriber: WatchSubscriber, entry: HistoryEntry): void {
    const nowMatches = subscriber.filter(entry.object);
    if (entry.type !== 'MODIFIED') {
      if (nowMatches) subscriber.deliver(entry.type, structuredClone(entry.object));
      return;
    }
    // A selector watch sees an object enter or leave its selection as ADDED or DELETED.
    const wasMatching = entry.previous !== undefined && subscriber.filter(entry.previous);
    if (nowMatches) subscriber.deliver(wasMatching ? 'MODIFIED' : 'ADDED', structuredClone(entry.object));
    else if (wasMatching) subscriber.deliver('DELETED', structuredClone(entry.object));
  }

  private record(entry: HistoryEntry): void {
    this.history.push(entry);
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const subscriber of [...this.subscribers]) {
      if (subscriber.resource === entry.resource && (subscriber.namespace === undefined || subscriber.namespace === entry.namespace))
        this.route(subscriber, entry);
    }
    for (const listener of [...this.changeListeners]) listener();
  }

  /** Turns a request body into an object of `type` in `namespace`, validated and defaulted. */
  private decode(type: ResourceType, namespace: string, body: unknown): KubeObject {
    if (!isPlainObject(body)) throw statusErrors.badRequest(`json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct`);
    assertTypeMeta(type, body);
    const object = structuredClone(body) as KubeObject;
    object.apiVersion = type.apiVersion;
    object.kind = type.kind;
    if (object.metadata === undefined || object.metadata === null) object.metadata = {} as KubeObject['metadata'];
    if (!isPlainObject(object.metadata)) throw statusErrors.badRequest('json: cannot unmarshal metadata into Go struct field of type v1.ObjectMeta');
    const meta = object.metadata;
    for (const field of ['name', 'namespace', 'resourceVersion', 'uid', 'generateName'] as const) {
      if (meta[field] !== undefined && meta[field] !== null && typeof meta[field] !== 'string')
        throw statusErrors.badRequest(`json: cannot unmarshal ${typeof meta[field]} into Go struct field ObjectMeta.metadata.${field} of type string`);
    }
    if (meta.namespace && meta.namespace !== namespace)
      throw statusErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.namespace = namespace;
    meta.name ??= '';
    if (meta.name) {
      const problem = nameProblem(meta.name);
      if (problem) throw statusErrors.invalid(type.qualifiedKind, meta.name, [{ field: 'metadata.name', message: `Invalid value: "${meta.name}": ${problem}` }]);
    }
    normalizeMetadata(type, object);
    return object;
  }

  private commit(type: ResourceType, object: KubeObject, previous: KubeObject | undefined, keepUid = false): KubeObject {
    type.normalizeBody(object, previous);
    const meta = object.metadata;
    if (previous) {
      if (meta.uid && meta.uid !== previous.metadata.uid)
        throw statusErrors.conflict(type.groupResource, meta.name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${previous.metadata.uid}`);
      meta.uid = previous.metadata.uid;
      meta.creationTimestamp = previous.metadata.creationTimestamp;
      if (type.tracksGeneration) {
        const changed = canonical(withoutMetadata(object)) !== canonical(withoutMetadata(previous));
        meta.generation = (previous.metadata.generation ?? 1) + (changed ? 1 : 0);
      } else delete meta.generation;
      meta.resourceVersion = previous.metadata.resourceVersion;
      // An update that changes nothing is not written: no new resourceVersion, no watch event.
      if (comparable(object) === comparable(previous)) return structuredClone(previous);
    } else {
      meta.uid = keepUid && meta.uid ? meta.uid : randomUUID();
      meta.creationTimestamp = now();
      if (type.tracksGeneration) meta.generation = 1;
      else delete meta.generation;
    }
    delete meta.deletionTimestamp;
    meta.resourceVersion = String(++this.rv);
    this.bucket(type.key).set(key(meta.namespace, meta.name), structuredClone(object));
    this.record({ rv: this.rv, type: previous ? 'MODIFIED' : 'ADDED', resource: type.key, namespace: meta.namespace, object: structuredClone(object), previous });
    return object;
  }

  /** Writes an object the way a controller outside the API would (pods from state.addPod). */
  insert(type: ResourceType, object: KubeObject): KubeObject {
    const previous = this.get(type, object.metadata.namespace, object.metadata.name);
    if (previous) {
      object.metadata.resourceVersion = previous.metadata.resourceVersion;
      object.metadata.uid = previous.metadata.uid;
    }
    return this.commit(type, object, previous, true);
  }
}
