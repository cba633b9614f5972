// The TypeScript host of the Guard core, runtime-neutral: a typed API over the wasm module shared
// by the gate, guard-service, the CLI and the UI. The host hands it the module's bytes (no file,
// network or `node:` import here), so it runs in Node, browsers, Deno and workers alike; Node code
// uses core/index.ts, which adds loading build/guard-core.wasm. Objects (Guardians, piles,
// sessions) live in wasm memory and are named here by handles; dispose() frees them. Not
// thread-safe: one Core per thread.
import { CoreError, type CoreErrorCode } from './errors.js';
import { RecordWriter } from './record.js';
import { DEFAULT_LEARNING_CAPS, type Control, type HttpRequestFields, type HttpResponseFields, type LearningCaps, type NamePolicy, type RoutePolicy } from './types.js';
import { instantiateModule, instantiateSync, WasmModule, type WasmIoExports } from './wasm.js';

export { CoreError } from './errors.js';
export type { CoreErrorCode, CoreErrorField } from './errors.js';
export * from './types.js';

interface CoreExports extends WasmIoExports {
  guardian_load(len: number): number;
  guardian_default(): number;
  guardian_write(gid: number): void;
  guardian_control(gid: number): number;
  guardian_set_control(gid: number, mask: number): void;
  guardian_samples(gid: number): number;
  guardian_blocks?(gid: number): number;
  guardian_stable?(gid: number): number;
  guardian_learn(gid: number, pid: number): void;
  guardian_learn_caps?(gid: number, pid: number, params: number, headers: number, routes: number, unknownHeaders: number): number;
  guardian_policy?(gid: number): number;
  guardian_set_policy?(gid: number, unknownRoute: number, unknownParam: number, slack: number): number;
  guardian_free(gid: number): void;
  pile_new(): number;
  pile_load(len: number): number;
  pile_write(pid: number): void;
  pile_merge(dst: number, src: number): void;
  pile_clear(pid: number): void;
  pile_count(pid: number): number;
  pile_add(pid: number, sid: number): void;
  pile_free(pid: number): void;
  session_new(): number;
  session_request(sid: number, len: number): number;
  session_response(sid: number, len: number): number;
  session_envelop(sid: number, responseSeconds: number, completionSeconds: number): void;
  session_pod(sid: number, podId: number): void;
  session_decide(sid: number, gid: number, sections: number): number;
  session_finish(sid: number, gid: number, responseSeconds: number, completionSeconds: number, pid: number, flags: number): number;
  header_names?(): void;
  session_decision(sid: number, format: number): void;
  session_reset(sid: number): void;
  session_free(sid: number): void;
  pod_load(len: number): number;
  pod_decide(podId: number, gid: number): number;
  pod_free(podId: number): void;
  sync_load(len: number): number;
  introspect(len: number): number;
  live_handles(): number;
  debug_trap(): void;
}

const POLICY_NAMES: readonly NamePolicy[] = ['alert', 'ignore', 'service-wide'];

const CONTROL_BITS: Array<[keyof Control, number]> = [
  ['alert', 1],
  ['block', 2],
  ['learn', 4],
  ['force', 8],
  ['auto', 16],
];

function controlFromMask(mask: number): Control {
  return { alert: !!(mask & 1), block: !!(mask & 2), learn: !!(mask & 4), force: !!(mask & 8), auto: !!(mask & 16) };
}

function maskFromControl(c: Control): number {
  let m = 0;
  for (const [k, bit] of CONTROL_BITS) if (c[k]) m |= bit;
  return m;
}

/** Contents of the six /proc/net files read by the pod monitor (absent file = undefined). */
export interface ProcNetFiles {
  tcp?: string | Uint8Array;
  udp?: string | Uint8Array;
  udplite?: string | Uint8Array;
  tcp6?: string | Uint8Array;
  udp6?: string | Uint8Array;
  udplite6?: string | Uint8Array;
}

export interface SyncRequest {
  pile: Pile | null;
  alerts: unknown[];
  compromised: boolean;
}

export class Core {
  readonly wasm: WasmModule<CoreExports>;
  private readonly record: RecordWriter;
  // Held value: a handle's id × 4 + its kind (no closure per handle). A faulted instance frees
  // nothing (its memory is dropped as a whole); a throwing finalizer would crash the process.
  private readonly registry = new FinalizationRegistry<number>((held) => {
    if (!this.faulted) this.freeHandle(held & 3, Math.floor(held / 4));
  });

  constructor(wasm: WasmModule<CoreExports>) {
    this.wasm = wasm;
    // Header names the core knows by index: records carry the index instead of the name's bytes.
    let wellKnown: string[] = [];
    if (typeof wasm.exports.header_names === 'function') {
      wasm.exports.header_names();
      wellKnown = wasm.readOutputString().split('\n');
    }
    this.record = new RecordWriter(wasm, wellKnown);
  }

  /** Load a GuardianSpec or a whole Guardian object (`spec` inside), as JSON text or a value. */
  parseGuardian(input: string | object): Guardian {
    const text = guardianText(input);
    const id = this.wasm.exports.guardian_load(this.wasm.writeInputString(text));
    if (id < 0) throw new CoreError('GUARD_INVALID_GUARDIAN', `invalid Guardian: ${this.wasm.readOutputString()}`);
    return new Guardian(this, id);
  }

  /** The default Guardian: no criteria; auto, learn, force and alert on, block off. */
  defaultGuardian(): Guardian {
    return new Guardian(this, this.wasm.exports.guardian_default());
  }

  newPile(): Pile {
    return new Pile(this, this.wasm.exports.pile_new());
  }

  /** Decode a SessionDataPile from its wire JSON. */
  parsePile(text: string): Pile {
    const id = this.wasm.exports.pile_load(this.wasm.writeInputString(text));
    if (id < 0) throw new CoreError('GUARD_INVALID_PILE', `invalid pile: ${this.wasm.readOutputString()}`);
    return new Pile(this, id);
  }

  /** Decode a SyncMessageReq ({pile, alerts, compromised}) as the original gate sends it. */
  parseSyncRequest(text: string): SyncRequest {
    const id = this.wasm.exports.sync_load(this.wasm.writeInputString(text));
    const out = this.wasm.readOutputString();
    if (id < -1) throw new CoreError('GUARD_INVALID_SYNC', `invalid sync message: ${out}`);
    const rest = JSON.parse(out) as { alerts: unknown[] | null; compromised: boolean };
    return { pile: id >= 0 ? new Pile(this, id) : null, alerts: rest.alerts ?? [], compromised: rest.compromised };
  }

  newSession(): Session {
    return new Session(this, this.wasm.exports.session_new());
  }

  /** Profile the pod's peers from the contents of /proc/net/{tcp,udp,udplite,tcp6,udp6,udplite6}. */
  profilePod(files: ProcNetFiles): PodProfile {
    const len = this.record.pod(files);
    return new PodProfile(this, this.wasm.exports.pod_load(len));
  }

  /**
   * Run one command against a single data-model type (profile, pile, learn, decide, …) with
   * inputs and outputs as JSON values. For tests, the UI's rule explorer and tooling. Structured
   * and Body inputs follow the original's model (a null object member is left out) unless the
   * command has `keepNulls: true`, as the gate's body profiler does.
   */
  introspect(command: object): unknown {
    const n = this.wasm.writeInputString(stringifyOrThrow(command, 'GUARD_INVALID_ARGUMENT', 'invalid command'));
    const rc = this.wasm.exports.introspect(n);
    const out = this.wasm.readOutputString();
    if (rc < 0) throw new CoreError('GUARD_INVALID_ARGUMENT', out);
    return JSON.parse(out);
  }

  /**
   * A new, independent instance of the same compiled core (no recompilation): nothing of this
   * one (Guardians, piles, sessions) is valid in it. How a host recovers from GUARD_CORE_FAULT.
   * Subclasses are kept (the new instance is built by the same constructor).
   */
  fresh(): this {
    const Ctor = this.constructor as new (wasm: WasmModule<CoreExports>) => this;
    return new Ctor(instantiateModule<CoreExports>(this.wasm.module));
  }

  /** True once a call trapped: every later call of this instance throws GUARD_CORE_FAULT. */
  get faulted(): boolean {
    return this.wasm.faulted !== null;
  }

  /**
   * Called once, synchronously, when a call of this instance traps — before the caller receives
   * the GUARD_CORE_FAULT — so that its owner can put a fresh instance in place first.
   */
  set onFault(listener: ((err: Error) => void) | null) {
    this.wasm.onFault = listener;
  }

  /**
   * TEST ONLY: make the core trap (`unreachable` in wasm), as an internal bug would. The instance
   * is faulted afterwards. Nothing on a request, sync or pod path calls this; tests use it to
   * exercise recovery from GUARD_CORE_FAULT (docs/abi.md, `debug_trap`).
   */
  debugTrap(): never {
    this.wasm.exports.debug_trap();
    throw new CoreError('GUARD_CORE_FAULT', 'debug_trap returned without trapping');
  }

  /** @internal */
  track(owner: object, kind: HandleKind, id: number): void {
    this.registry.register(owner, id * 4 + kind, owner);
  }

  /** @internal Release the core's side of a handle. */
  freeHandle(kind: HandleKind, id: number): void {
    const x = this.wasm.exports;
    if (kind === HandleKind.Session) x.session_free(id);
    else if (kind === HandleKind.Guardian) x.guardian_free(id);
    else if (kind === HandleKind.Pile) x.pile_free(id);
    else x.pod_free(id);
  }

  /** @internal */
  untrack(owner: object): void {
    this.registry.unregister(owner);
  }

  /** @internal */
  writeRequest(req: HttpRequestFields): number {
    return this.record.request(req);
  }

  /** @internal */
  writeResponse(resp: HttpResponseFields): number {
    return this.record.response(resp);
  }
}

const CONFIGMAP_KIND = /"kind"\s*:\s*"ConfigMap"/;

/**
 * The GuardianSpec text of an input: a GuardianSpec or Guardian object is passed on; a ConfigMap
 * (the original's other store) carries the spec as text under data.Guardian.
 */
function guardianText(input: string | object): string {
  const asObject = typeof input === 'string' ? (CONFIGMAP_KIND.test(input) ? parseJsonOrNull(input) : null) : input;
  if (asObject && typeof asObject === 'object' && (asObject as { kind?: unknown }).kind === 'ConfigMap') {
    const data = (asObject as { data?: Record<string, unknown> }).data;
    const spec = data?.Guardian;
    if (typeof spec !== 'string') throw new CoreError('GUARD_INVALID_GUARDIAN', 'invalid Guardian: the ConfigMap has no data.Guardian text');
    return spec;
  }
  return typeof input === 'string' ? input : stringifyOrThrow(input, 'GUARD_INVALID_GUARDIAN', 'invalid Guardian');
}

/** JSON text of a value given as an object; cyclic, too deep or BigInt values are a CoreError. */
function stringifyOrThrow(value: unknown, code: CoreErrorCode, what: string): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new CoreError(code, `${what}: the value cannot be written as JSON (${(err as Error).message})`);
  }
}

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** What a handle names in the core (the registry's held value carries it). */
const enum HandleKind {
  Session = 0,
  Guardian = 1,
  Pile = 2,
  Pod = 3,
}

abstract class Handle {
  protected readonly core: Core;
  protected _id: number;
  private readonly kind: HandleKind;

  constructor(core: Core, id: number, kind: HandleKind) {
    this.core = core;
    this._id = id;
    this.kind = kind;
    core.track(this, kind, id);
  }

  /** @internal */
  get id(): number {
    if (this._id < 0) throw new CoreError('GUARD_DISPOSED', `${this.constructor.name} used after dispose()`);
    return this._id;
  }

  /**
   * The id of `other` for a call into this handle's instance. A handle is a number valid in one
   * instance only: one of another instance (guard-service runs several, service/core-shards.ts)
   * would name an unrelated object there, so it is refused.
   */
  protected idOf(other: Handle): number {
    if (other.core !== this.core) throw new CoreError('GUARD_INVALID_ARGUMENT', `a ${other.constructor.name} of another core instance was passed to a ${this.constructor.name}`);
    return other.id;
  }

  protected release(): void {
    if (this._id < 0) return;
    this.core.untrack(this);
    // After a trap nothing can be freed (or needs to be): the instance is dropped as a whole.
    if (!this.core.faulted) this.core.freeHandle(this.kind, this._id);
    this._id = -1;
  }
}

/** Samples that must widen nothing before learned rules are ready (assembly/model/readiness.ts). */
export const READY_STABLE_SAMPLES = 1000;

export interface Readiness {
  ready: boolean;
  /** Samples learned since the rules last widened. */
  stable: number;
  /** What `stable` must reach. */
  readySamples: number;
}

export class Guardian extends Handle {
  constructor(core: Core, id: number) {
    super(core, id, HandleKind.Guardian);
  }

  /** The control mask, read on every exchange by the gate: kept until set (nothing else changes it). */
  private controlMask = -1;

  private mask(): number {
    const id = this.id;
    if (this.controlMask < 0) this.controlMask = this.core.wasm.exports.guardian_control(id);
    return this.controlMask;
  }

  /** The control flags, as a copy: changing it changes nothing until it is set. */
  get control(): Control {
    return controlFromMask(this.mask());
  }

  /**
   * Whether a refusal blocks (the gate's request path, cached): control.block, and with control.auto
   * only once the learned rules are ready (docs/tokens.md, "Readiness").
   */
  get blocks(): boolean {
    if (this.blocksCache < 0) {
      const x = this.core.wasm.exports;
      this.blocksCache = x.guardian_blocks ? x.guardian_blocks(this.id) : this.mask() & 2 ? 1 : 0;
    }
    return this.blocksCache === 1;
  }

  private blocksCache = -1;

  /**
   * How settled the learned rules are: `stable` samples learned since they last widened, `ready`
   * once READY_STABLE_SAMPLES in a row widened nothing; null when the learned rules do not track it
   * (the original's Guardians: they count as ready).
   */
  get readiness(): Readiness | null {
    const x = this.core.wasm.exports;
    const r = x.guardian_stable ? x.guardian_stable(this.id) : -1;
    if (r < 0) return null;
    return { ready: (r & 1) === 1, stable: r >>> 1, readySamples: READY_STABLE_SAMPLES };
  }

  set control(c: Control) {
    this.controlMask = -1;
    this.blocksCache = -1;
    this.core.wasm.exports.guardian_set_control(this.id, maskFromControl(c));
  }

  private samplesCache = -1;

  /** Number of sessions learned so far (capped at 1,000,000 as the original); only learn changes it. */
  get samples(): number {
    const id = this.id;
    if (this.samplesCache < 0) this.samplesCache = this.core.wasm.exports.guardian_samples(id) >>> 0;
    return this.samplesCache;
  }

  /**
   * Widen `learned` by everything in the pile and add its count to `samples`. With `caps` (fields
   * left out take DEFAULT_LEARNING_CAPS), learning uses those key caps and route bound and
   * `learned` records them; without, it uses what `learned` records — the original's learning
   * (7 keys by name, no route table) when it records none (docs/routes.md).
   */
  learn(pile: Pile, caps?: LearningCaps): void {
    this.samplesCache = -1;
    this.blocksCache = -1;
    const x = this.core.wasm.exports;
    if (caps === undefined) {
      x.guardian_learn(this.id, this.idOf(pile));
      return;
    }
    const c = { ...DEFAULT_LEARNING_CAPS, ...caps };
    const rc = x.guardian_learn_caps!(this.id, this.idOf(pile), c.params, c.headers, c.routes, c.unknownHeaders === 'shape' ? 1 : 0);
    if (rc < 0) throw new CoreError('GUARD_INVALID_ARGUMENT', this.core.wasm.readOutputString());
  }

  /** The policies for unknown routes and parameter names, and the slack (control, docs/routes.md). */
  get policy(): RoutePolicy {
    const p = this.core.wasm.exports.guardian_policy!(this.id);
    return { unknownRoute: POLICY_NAMES[p & 15], unknownParam: POLICY_NAMES[(p >> 4) & 15], slack: p >> 8 };
  }

  set policy(p: RoutePolicy) {
    const route = POLICY_NAMES.indexOf(p.unknownRoute);
    const param = POLICY_NAMES.indexOf(p.unknownParam);
    if (route < 0 || param < 0) {
      const [name, value] = route < 0 ? ['unknownRoute', p.unknownRoute] : ['unknownParam', p.unknownParam];
      throw new CoreError('GUARD_INVALID_ARGUMENT', `invalid policy: ${name} must be one of ${POLICY_NAMES.join(', ')}, got ${JSON.stringify(value)}`);
    }
    const rc = this.core.wasm.exports.guardian_set_policy!(this.id, route, param, p.slack);
    if (rc < 0) throw new CoreError('GUARD_INVALID_ARGUMENT', `invalid policy: ${this.core.wasm.readOutputString()}`);
  }

  /** The GuardianSpec as wire JSON text, readable by the original. */
  toWire(): string {
    this.core.wasm.exports.guardian_write(this.id);
    return this.core.wasm.readOutputString();
  }

  dispose(): void {
    this.release();
  }
}

export class Pile extends Handle {
  constructor(core: Core, id: number) {
    super(core, id, HandleKind.Pile);
  }

  get count(): number {
    return this.core.wasm.exports.pile_count(this.id) >>> 0;
  }

  add(session: Session): void {
    this.core.wasm.exports.pile_add(this.id, this.idOf(session));
  }

  merge(other: Pile): void {
    this.core.wasm.exports.pile_merge(this.id, this.idOf(other));
  }

  clear(): void {
    this.core.wasm.exports.pile_clear(this.id);
  }

  /** The SessionDataPile as wire JSON text. */
  toWire(): string {
    this.core.wasm.exports.pile_write(this.id);
    return this.core.wasm.readOutputString();
  }

  dispose(): void {
    this.release();
  }
}

export class PodProfile extends Handle {
  constructor(core: Core, id: number) {
    super(core, id, HandleKind.Pod);
  }

  /** Decide the pod's peers alone against a Guardian's criteria; 0 = allowed. */
  decide(guardian: Guardian): number {
    return this.core.wasm.exports.pod_decide(this.id, this.idOf(guardian));
  }

  dispose(): void {
    this.release();
  }
}

/** One request/response exchange: profiled piecewise, decided per section, then piled. */
export class Session extends Handle {
  constructor(core: Core, id: number) {
    super(core, id, HandleKind.Session);
  }

  /**
   * Profile the request (and its body, when given) with the gate's normalisation. A request the
   * core refuses throws GUARD_INVALID_REQUEST; with `field` 'host' when its Host lines are the
   * reason (a malformed value, or more than one line).
   */
  profileRequest(req: HttpRequestFields): void {
    const rc = this.core.wasm.exports.session_request(this.id, this.core.writeRequest(req));
    if (rc < 0) throw new CoreError('GUARD_INVALID_REQUEST', this.core.wasm.readOutputString(), rc === -2 ? 'host' : undefined);
  }

  profileResponse(resp: HttpResponseFields): void {
    const rc = this.core.wasm.exports.session_response(this.id, this.core.writeResponse(resp));
    if (rc < 0) throw new CoreError('GUARD_INVALID_REQUEST', this.core.wasm.readOutputString());
  }

  /** Envelope timings in milliseconds of a monotonic clock; encoded as whole seconds. */
  profileEnvelop(responseMs: number, completionMs: number): void {
    this.core.wasm.exports.session_envelop(this.id, toSeconds(responseMs), toSeconds(completionMs));
  }

  setPod(pod: PodProfile): void {
    this.core.wasm.exports.session_pod(this.id, this.idOf(pod));
  }

  /**
   * Decide the given sections (Section bits) against the Guardian's criteria (learned when
   * control.auto, else configured). Returns the session's accumulated result: 0 = allowed.
   */
  decide(guardian: Guardian, sections: number): number {
    return this.core.wasm.exports.session_decide(this.id, this.idOf(guardian), sections);
  }

  /**
   * The end of an exchange in one call into the core. When `complete`: profileEnvelop(responseMs,
   * completionMs) and decide(guardian, Section.Envelop). Then the accumulated result, as
   * decide(guardian, 0) returns it. Then, when `learnInto` is given and the exchange is complete,
   * learnInto.add(this) if the Guardian's control learns the session (learn on, and the result 0 or
   * force on: difference 1 of docs/compatibility.md). Attach a pod (setPod) before, if it is to be
   * piled with it.
   */
  finish(guardian: Guardian, complete: boolean, responseMs: number, completionMs: number, learnInto: Pile | null = null): number {
    const flags = (complete ? 1 : 0) | (learnInto !== null ? 2 : 0);
    const pid = learnInto !== null ? this.idOf(learnInto) : -1;
    return this.core.wasm.exports.session_finish(this.id, this.idOf(guardian), toSeconds(responseMs), toSeconds(completionMs), pid, flags);
  }

  /**
   * Forget the exchange so this session can profile the next one: a gate that keeps a few
   * sessions and resets them allocates nothing per request on either side of the boundary.
   */
  reset(): void {
    this.core.wasm.exports.session_reset(this.id);
  }

  /** The accumulated decision as the original's sorted string ("" when allowed). */
  decisionString(): string {
    this.core.wasm.exports.session_decision(this.id, 0);
    return this.core.wasm.readOutputString();
  }

  /** The accumulated decision tree as wire JSON ({children, reasons, result}), or null. */
  decisionTree(): unknown {
    this.core.wasm.exports.session_decision(this.id, 1);
    return JSON.parse(this.core.wasm.readOutputString());
  }

  dispose(): void {
    this.release();
  }
}

function toSeconds(ms: number): number {
  if (!Number.isFinite(ms)) return -1;
  const s = Math.floor(ms / 1000);
  return s > 0x7fffffff ? 0x7fffffff : s < -0x80000000 ? -1 : s;
}

/**
 * Instantiate the core from the wasm bytes, synchronously. Browsers refuse synchronous compilation
 * of large modules on their main thread: there, use compileCore.
 */
export function createCore(wasmBytes: Uint8Array): Core {
  return new Core(instantiateSync<CoreExports>(wasmBytes));
}

/**
 * Compile and instantiate the core without blocking: from the bytes, or from a fetch() Response
 * (compiled while it streams, where the runtime can). For browsers' main threads and workers.
 */
export async function compileCore(source: Uint8Array | Response | PromiseLike<Response>): Promise<Core> {
  let module: WebAssembly.Module;
  if (source instanceof Uint8Array) module = await WebAssembly.compile(source as unknown as BufferSource);
  else {
    const response = await source;
    if (!response.ok) throw new CoreError('GUARD_INVALID_ARGUMENT', `the core's wasm could not be loaded: HTTP ${response.status} from ${response.url}`);
    module = await WebAssembly.compile(await response.arrayBuffer());
  }
  return new Core(instantiateModule<CoreExports>(module));
}
