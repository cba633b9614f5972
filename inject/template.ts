// Injection into one pod template ({metadata, spec}): the gate takes the port clients use, the app
// moves to a port the gate reaches on 127.0.0.1 (told by PORT), the app's probes follow it, the
// token volume and a service label are added. Every change is recorded (changes.ts) in the
// template's annotation, which makes injection idempotent and its reversal exact.
import { Changes, get, isObject, parseUndo, undo, type Json, type JsonObject, type UndoOp } from './changes.js';
import { InjectError } from './errors.js';
import { CA_VOLUME, caVolume, DEFAULT_ADMIN_PORT, GATE_CONTAINER, gateContainer, MIN_GRACE_SECONDS, TOKEN_VOLUME, tokenVolume, type GateSpec } from './gate-container.js';
import { refuseH2c } from './protocol.js';

/** The annotation that carries the undo record: with the gate container it names, "injected". */
export const RECORD_ANNOTATION = 'guard.security.knative.dev/injected';
/** The pod label guard-service names a gate's service by (GUARD_SERVICE_LABELS in deploy/). */
export const SERVICE_LABEL = 'guard.security.knative.dev/service';
/** Chooses the serving port (a name or a number) when the template declares several. */
export const PORT_ANNOTATION = 'guard.security.knative.dev/port';
/** The app's new port (what --app-port says), for the webhook too: an app that cannot move says where it listens. */
export const APP_PORT_ANNOTATION = 'guard.security.knative.dev/app-port';
/** Knative's default container port, and the ports its queue-proxy reserves. */
const KNATIVE_DEFAULT_PORT = 8080;
const KNATIVE_RESERVED = [8008, 8012, 8013, 8022, 9090, 9091];
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

export interface TemplateTarget {
  /** "Deployment shop/default", for messages. */
  where: string;
  knative: boolean;
  serviceName: string;
  namespace: string | null;
  image: string;
  /** The serving port by name or number (--port, or the template's annotation). */
  port?: string;
  appPort?: number;
  guardServiceUrl: string | null;
  guardServiceCa: string | null;
  extraEnv: ReadonlyArray<[string, string]>;
}

export type InjectionState = 'not injected' | 'injected' | 'gate missing';

/** The undo record of the template's annotation, or null when there is none or it is not one guard inject wrote. */
function recordOf(template: JsonObject): UndoOp[] | null {
  const text = get(template, ['metadata', 'annotations', RECORD_ANNOTATION]);
  if (typeof text !== 'string') return null;
  try {
    const record = JSON.parse(text) as { v?: unknown; undo?: unknown };
    return record.v === 1 ? parseUndo(record.undo) : null;
  } catch {
    return null;
  }
}

/**
 * Injected means the record annotation and the containers it added are there. An update that
 * replaced the containers list and kept the annotations (`kubectl apply` of a Knative Service, a
 * JSON merge patch, `kubectl replace`) leaves the record without its gate: the pods would run
 * unguarded, so that template counts as "gate missing", to be injected again.
 */
export function injectionState(template: JsonObject): InjectionState {
  if (typeof get(template, ['metadata', 'annotations', RECORD_ANNOTATION]) !== 'string') return 'not injected';
  const containers = get(template, ['spec', 'containers']);
  const present = new Set(Array.isArray(containers) ? containers.filter(isObject).map((c) => c.name) : []);
  const added = (recordOf(template) ?? []).flatMap((op) => (op.op === 'unappend' && op.path.join('.') === 'spec.containers' ? [op.name] : []));
  return [GATE_CONTAINER, ...added].every((name) => present.has(name)) ? 'injected' : 'gate missing';
}

export function isInjected(template: JsonObject): boolean {
  return injectionState(template) === 'injected';
}

interface Serving {
  container: number;
  /** Index in the container's ports, or -1 when the port is not declared. */
  entry: number;
  port: number;
  name: string | null;
  protocol: string | null;
  appProtocol: string | null;
}

function containersOf(template: JsonObject, where: string): JsonObject[] {
  const containers = get(template, ['spec', 'containers']);
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every(isObject)) {
    throw new InjectError('GUARD_INJECT_UNSUPPORTED', `${where}: the pod template has no containers`);
  }
  return containers as JsonObject[];
}

function portsOf(c: JsonObject): JsonObject[] {
  return Array.isArray(c.ports) ? (c.ports.filter(isObject) as JsonObject[]) : [];
}

/** The port clients use, and the container that serves it. */
function servingPort(template: JsonObject, containers: JsonObject[], t: TemplateTarget): Serving {
  const choice = t.port ?? (get(template, ['metadata', 'annotations', PORT_ANNOTATION]) as string | undefined);
  const all = containers.flatMap((c, ci) =>
    portsOf(c)
      .map((p, pi) => ({
        container: ci,
        entry: pi,
        port: p.containerPort as number,
        name: typeof p.name === 'string' ? p.name : null,
        protocol: typeof p.protocol === 'string' ? p.protocol : null,
        appProtocol: typeof p.appProtocol === 'string' ? p.appProtocol : null,
      }))
      .filter((p) => (p.protocol ?? 'TCP') === 'TCP' && Number.isInteger(p.port)),
  );
  if (choice !== undefined && choice !== '') {
    const number = /^\d+$/.test(choice) ? Number(choice) : null;
    const matches = all.filter((p) => (number !== null ? p.port === number : p.name === choice));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0 && number !== null && number > 0 && number < 65536 && containers.length === 1) {
      return { container: 0, entry: -1, port: number, name: null, protocol: null, appProtocol: null };
    }
    throw new InjectError('GUARD_INJECT_PORT', `${t.where}: ${matches.length === 0 ? 'no' : 'more than one'} container port matches ${JSON.stringify(choice)}${containers.length > 1 && number !== null ? ' (with several containers, declare the port on the app container)' : ''}`);
  }
  if (t.knative) {
    // Knative: the one container that declares a port serves; with one container, 8080 by default.
    const declaring = containers.map((c, i) => [c, i] as const).filter(([c]) => portsOf(c).length > 0);
    if (declaring.length === 1) return all.find((p) => p.container === declaring[0]![1]) ?? fail();
    if (declaring.length === 0 && containers.length === 1) return { container: 0, entry: -1, port: KNATIVE_DEFAULT_PORT, name: null, protocol: null, appProtocol: null };
    return fail();
  }
  if (all.length === 1) return all[0]!;
  return fail();

  function fail(): never {
    if (all.length === 0) {
      throw new InjectError('GUARD_INJECT_NO_PORT', `${t.where}: no container declares the port clients use; name it with --port NUMBER (or the annotation ${PORT_ANNOTATION})`);
    }
    const list = all.map((p) => `${containers[p.container]!.name ?? `#${p.container}`}:${p.name ?? p.port}`).join(', ');
    throw new InjectError('GUARD_INJECT_PORT', `${t.where}: several serving ports (${list}); choose the one clients use with --port NAME|NUMBER (or the annotation ${PORT_ANNOTATION})`);
  }
}

/** The first port from `from` up that nothing in the pod uses. */
function freePort(used: Set<number>, from: number): number {
  let p = from;
  while (used.has(p)) p++;
  used.add(p);
  return p;
}

/** The app's new port: --app-port, or the template's annotation. */
function appPortOf(template: JsonObject, t: TemplateTarget): number | undefined {
  if (t.appPort !== undefined) return t.appPort;
  const text = get(template, ['metadata', 'annotations', APP_PORT_ANNOTATION]);
  if (text === undefined) return undefined;
  const n = typeof text === 'string' && /^\d{1,5}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new InjectError('GUARD_INJECT_PORT', `${t.where}: the annotation ${APP_PORT_ANNOTATION} must be a port number from 1 to 65535, got ${JSON.stringify(text)}`);
  return n;
}

/** Inject the gate into `template`. Returns false when it already carries it (nothing changed). */
export function injectTemplate(template: JsonObject, t: TemplateTarget): boolean {
  const state = injectionState(template);
  if (state === 'injected') return false;
  if (state === 'gate missing') return injectAgain(template, t);
  return injectFresh(template, t);
}

/**
 * The record is there but its gate is gone: what the record shows is still there of ours (its
 * annotation, the token and CA volumes as added, the service label it set, the grace period it
 * raised) goes, and the template is injected as new. Nothing changes when that fails: the refusal
 * says the gate is missing, why it cannot be added again, and what to do.
 */
function injectAgain(template: JsonObject, t: TemplateTarget): boolean {
  const copy = structuredClone(template);
  const ops = recordOf(copy) ?? [];
  // Members the record shows were absent before guard inject: ours to take away when left empty.
  const addedByUs = (...path: string[]) => ops.some((op) => op.op === 'remove' && JSON.stringify(op.path) === JSON.stringify(path));
  const spec = get(copy, ['spec']);
  if (isObject(spec) && Array.isArray(spec.volumes)) {
    const ours = [tokenVolume(), caVolume()].map((v) => JSON.stringify(v));
    spec.volumes = spec.volumes.filter((v) => !ours.includes(JSON.stringify(v)));
    if (spec.volumes.length === 0 && addedByUs('spec', 'volumes')) delete spec.volumes;
  }
  // The grace period guard inject raised, still at what it set: the one before comes back.
  const grace = ops.find((op) => op.op === 'restore' && op.path.join('.') === 'spec.terminationGracePeriodSeconds');
  if (isObject(spec) && grace?.op === 'restore' && spec.terminationGracePeriodSeconds === MIN_GRACE_SECONDS) spec.terminationGracePeriodSeconds = grace.value;
  const metadata = get(copy, ['metadata']) as JsonObject;
  delete (metadata.annotations as JsonObject)[RECORD_ANNOTATION];
  if (isObject(metadata.labels) && addedByUs('metadata', 'labels', SERVICE_LABEL)) delete metadata.labels[SERVICE_LABEL];
  for (const member of ['labels', 'annotations']) {
    const m = metadata[member];
    if (isObject(m) && Object.keys(m).length === 0 && addedByUs('metadata', member)) delete metadata[member];
  }
  if (Object.keys(metadata).length === 0 && addedByUs('metadata')) delete copy.metadata;
  try {
    injectFresh(copy, t);
  } catch (err) {
    if (!(err instanceof InjectError)) throw err;
    throw new InjectError(
      'GUARD_INJECT_GATE_MISSING',
      `${t.where}: the ${RECORD_ANNOTATION} annotation says guard inject added ${GATE_CONTAINER}, but the container is gone (an update replaced the containers and kept the annotations), and it cannot be added again: ${err.message} (${err.code}); apply the workload from its source without that annotation`,
    );
  }
  for (const k of Object.keys(template)) delete template[k];
  Object.assign(template, copy);
  return true;
}

function injectFresh(template: JsonObject, t: TemplateTarget): boolean {
  const containers = containersOf(template, t.where);
  if (get(template, ['spec', 'hostNetwork']) === true) {
    throw new InjectError('GUARD_INJECT_HOST_NETWORK', `${t.where}: hostNetwork pods share the node's network: the app's port would stay open on the node around the gate; Guard cannot protect it`);
  }
  if (containers.some((c) => c.name === GATE_CONTAINER)) {
    throw new InjectError('GUARD_INJECT_CONFLICT', `${t.where}: a container named ${GATE_CONTAINER} is there already but guard inject did not add it (no ${RECORD_ANNOTATION} annotation); remove it first`);
  }
  const volumes = get(template, ['spec', 'volumes']);
  for (const name of [TOKEN_VOLUME, CA_VOLUME]) {
    if (Array.isArray(volumes) && volumes.some((v) => isObject(v) && v.name === name)) {
      throw new InjectError('GUARD_INJECT_CONFLICT', `${t.where}: a volume named ${name} is there already; guard inject adds a volume of that name`);
    }
  }
  const serving = servingPort(template, containers, t);
  refuseH2c(serving, t.knative, t.where);
  const used = new Set<number>([serving.port, ...(t.knative ? KNATIVE_RESERVED : [])]);
  for (const c of containers) for (const p of portsOf(c)) if (Number.isInteger(p.containerPort)) used.add(p.containerPort as number);
  const appPort = appPortOf(template, t) ?? freePort(used, 8081);
  if (appPort === serving.port) {
    throw new InjectError('GUARD_INJECT_PORT', `${t.where}: the app's port (--app-port, or the annotation ${APP_PORT_ANNOTATION}) must differ from the serving port ${serving.port}, which the gate takes`);
  }
  used.add(appPort);
  const adminPort = freePort(used, DEFAULT_ADMIN_PORT);

  const changes = new Changes(template);
  const app: Array<string | number> = ['spec', 'containers', serving.container];
  const appContainer = containers[serving.container]!;
  if (serving.entry >= 0) {
    changes.removeAt([...app, 'ports'], serving.entry);
    if (portsOf(appContainer).length === 0) changes.delete([...app, 'ports']);
  }
  movePort(changes, appContainer, app, appPort, t.where);
  followProbes(changes, appContainer, app, serving, appPort, t.knative);

  const gate: GateSpec = {
    image: t.image,
    serviceName: t.serviceName,
    namespace: t.namespace,
    port: serving.port,
    portName: serving.name,
    protocol: serving.protocol,
    appPort,
    adminPort,
    knative: t.knative,
    guardServiceUrl: t.guardServiceUrl,
    guardServiceCa: t.guardServiceCa,
    extraEnv: t.extraEnv,
  };
  changes.append(['spec', 'containers'], gateContainer(gate));
  changes.append(['spec', 'volumes'], tokenVolume());
  if (t.guardServiceCa === null) changes.append(['spec', 'volumes'], caVolume());
  // Kubernetes gives 30 s by default, which covers the gate's delay, drain and final sync.
  const grace = get(template, ['spec', 'terminationGracePeriodSeconds']);
  if (!t.knative && typeof grace === 'number' && grace < MIN_GRACE_SECONDS) changes.set(['spec', 'terminationGracePeriodSeconds'], MIN_GRACE_SECONDS);
  changes.object(['metadata']);
  changes.object(['metadata', 'labels']);
  changes.set(['metadata', 'labels', SERVICE_LABEL], t.serviceName);
  const annotations = changes.object(['metadata', 'annotations']);
  annotations[RECORD_ANNOTATION] = JSON.stringify({ v: 1, undo: changes.ops });
  return true;
}

/** Tell the app its new port through PORT (the convention of Knative, Cloud Run and most frameworks). */
function movePort(changes: Changes, c: JsonObject, at: Array<string | number>, appPort: number, where: string): void {
  const env = Array.isArray(c.env) ? c.env : [];
  const i = env.findIndex((e) => isObject(e) && e.name === 'PORT');
  if (i < 0) {
    changes.append([...at, 'env'], { name: 'PORT', value: String(appPort) });
    return;
  }
  if (!isObject(env[i]) || typeof (env[i] as JsonObject).value !== 'string') {
    throw new InjectError('GUARD_INJECT_CONFLICT', `${where}: the app's PORT comes from elsewhere (valueFrom); set it to a literal or choose --app-port to match`);
  }
  changes.set([...at, 'env', i, 'value'], String(appPort));
}

/** The app's probes that pointed at the serving port now reach the app on its new port. */
function followProbes(changes: Changes, c: JsonObject, at: Array<string | number>, serving: Serving, appPort: number, knative: boolean): void {
  for (const probe of PROBES) {
    const p = c[probe];
    if (!isObject(p)) continue;
    for (const handler of ['httpGet', 'tcpSocket', 'grpc']) {
      const h = p[handler];
      if (!isObject(h)) continue;
      const port = h.port as Json | undefined;
      const aimed = port === serving.port || (serving.name !== null && port === serving.name) || (knative && port === undefined);
      if (aimed) changes.set([...at, probe, handler, 'port'], appPort);
    }
  }
}

/** Remove what injectTemplate added. Returns false when the template was not injected. */
export function uninjectTemplate(template: JsonObject, where: string): boolean {
  if (injectionState(template) === 'not injected') return false;
  const ops = recordOf(template);
  if (!ops) throw new InjectError('GUARD_INJECT_RECORD', `${where}: the ${RECORD_ANNOTATION} annotation is not a record guard inject wrote; nothing was changed`);
  const copy = structuredClone(template);
  delete (get(copy, ['metadata', 'annotations']) as JsonObject)[RECORD_ANNOTATION];
  if (!undo(copy, ops)) {
    throw new InjectError('GUARD_INJECT_RECORD', `${where}: the template changed since guard inject (a container or volume it added is gone); nothing was changed`);
  }
  for (const k of Object.keys(template)) delete template[k];
  Object.assign(template, copy);
  return true;
}
