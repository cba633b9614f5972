// The gate's checks as plugins, as the original's gate has them: one interface — name, version,
// init, approveRequest, approveResponse, shutdown — a registry, and containment. A plugin that
// throws, or whose asynchronous verdict does not arrive in time, is logged and counted and its
// verdict is decided by its failure policy: 'closed' (block; the default for security plugins) or
// 'open' (allow). The guard check is one plugin; `testgate` blocks or tags requests for tests. A
// synchronous plugin is called without any timer, so the common path costs no allocation of one; a
// synchronous plugin that never returns cannot be contained (it would hang the event loop).

import type { Logger } from '../log/index.js';

export type HeaderLine = readonly [name: string, value: string];

/** What a plugin sees of a request. Header names are lower-case. */
export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly clientAddress: string;
}

export interface ResponseContext {
  readonly request: RequestContext;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export type Verdict =
  | {
      readonly action: 'allow';
      /** Labels for logs and metrics. */
      readonly tags?: readonly string[];
      /** Headers to add: to the forwarded request (approveRequest) or to the response (approveResponse). */
      readonly addHeaders?: readonly HeaderLine[];
    }
  | {
      readonly action: 'block';
      readonly reason: string;
    };

export const ALLOW: Verdict = Object.freeze({ action: 'allow' });

export interface PluginInit {
  /** The plugin's configuration map (string keys and values, as the original's plug config). */
  config: Readonly<Record<string, string>>;
  serviceName: string;
  namespace: string;
  logger: Logger;
}

export interface Plugin {
  readonly name: string;
  readonly version: string;
  /** A security plugin fails closed unless registered otherwise. Default true. */
  readonly security?: boolean;
  init(init: PluginInit): void | Promise<void>;
  approveRequest(ctx: RequestContext): Verdict | Promise<Verdict>;
  approveResponse(ctx: ResponseContext): Verdict | Promise<Verdict>;
  shutdown(): void | Promise<void>;
}

export type FailurePolicy = 'open' | 'closed';
export type FailureKind = 'throw' | 'timeout' | 'invalid';

export interface RegisterOptions {
  /** Default: 'closed' for security plugins, 'open' for others. */
  failure?: FailurePolicy;
  /** How long an asynchronous verdict may take (ms). Default 1000. */
  timeoutMs?: number;
  /** Put the plugin at the front of the order instead of the end. */
  first?: boolean;
}

export interface PluginFailure {
  plugin: string;
  stage: 'init' | 'request' | 'response' | 'shutdown';
  kind: FailureKind;
  error: string;
}

export interface RegisteredPlugin {
  readonly plugin: Plugin;
  readonly failure: FailurePolicy;
  readonly timeoutMs: number;
}

/** The combined verdict of all plugins for one stage. */
export interface ChainVerdict {
  action: 'allow' | 'block';
  /** The plugin that blocked, and why. */
  blockedBy?: string;
  reason?: string;
  tags: string[];
  addHeaders: HeaderLine[];
}

export const DEFAULT_PLUGIN_TIMEOUT_MS = 1000;

class PluginTimeout extends Error {}

export interface PluginRegistryOptions {
  logger?: Logger;
  /** Called for every contained failure (metrics). */
  onFailure?: (failure: PluginFailure) => void;
}

export class PluginRegistry {
  private readonly plugins: RegisteredPlugin[] = [];
  private readonly logger: Logger | undefined;
  private readonly failureListeners: Array<(failure: PluginFailure) => void> = [];
  private readonly failureCounts = new Map<string, number>();

  constructor(options: PluginRegistryOptions = {}) {
    this.logger = options.logger;
    if (options.onFailure) this.failureListeners.push(options.onFailure);
  }

  /** Also call `listener` for every contained failure (the gate feeds its metric this way). */
  onFailure(listener: (failure: PluginFailure) => void): void {
    this.failureListeners.push(listener);
  }

  /** Add a plugin at the end of the order. Names are unique, compared case-insensitively. */
  register(plugin: Plugin, options: RegisterOptions = {}): void {
    if (typeof plugin.name !== 'string' || plugin.name === '') throw new TypeError('a plugin needs a name');
    if (this.get(plugin.name)) throw new Error(`plugin ${JSON.stringify(plugin.name)} is already registered`);
    const failure = options.failure ?? (plugin.security === false ? 'open' : 'closed');
    if (failure !== 'open' && failure !== 'closed') throw new TypeError(`failure policy must be 'open' or 'closed', got ${JSON.stringify(failure)}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`plugin timeout must be > 0 ms, got ${timeoutMs}`);
    const entry = Object.freeze({ plugin, failure, timeoutMs });
    if (options.first) this.plugins.unshift(entry);
    else this.plugins.push(entry);
  }

  /** The plugin of that name (case-insensitive), or undefined. */
  get(name: string): Plugin | undefined {
    const n = name.toLowerCase();
    return this.plugins.find((p) => p.plugin.name.toLowerCase() === n)?.plugin;
  }

  /** The plugins in the order they run. */
  list(): readonly RegisteredPlugin[] {
    return this.plugins.slice();
  }

  /** Contained failures so far, per plugin name. */
  failures(name: string): number {
    return this.failureCounts.get(name) ?? 0;
  }

  /**
   * Initialise every plugin with its config (by plugin name). A plugin whose init fails is an
   * error when it fails closed (the gate must not serve without it); failing open, it is logged
   * and removed from the chain.
   */
  async init(configs: Readonly<Record<string, Readonly<Record<string, string>>>>, base: Omit<PluginInit, 'config'>): Promise<void> {
    for (const entry of this.plugins.slice()) {
      const config = configs[entry.plugin.name] ?? {};
      try {
        await this.contain(entry, () => entry.plugin.init({ ...base, config }));
      } catch (err) {
        const kind: FailureKind = err instanceof PluginTimeout ? 'timeout' : 'throw';
        this.failed(entry, 'init', kind, err);
        if (entry.failure === 'closed') throw new Error(`plugin ${entry.plugin.name} failed to initialise: ${(err as Error).message}`);
        this.plugins.splice(this.plugins.indexOf(entry), 1);
      }
    }
  }

  approveRequest(ctx: RequestContext): ChainVerdict | Promise<ChainVerdict> {
    return this.run('request', (p) => p.approveRequest(ctx));
  }

  approveResponse(ctx: ResponseContext): ChainVerdict | Promise<ChainVerdict> {
    return this.run('response', (p) => p.approveResponse(ctx));
  }

  /** Shut every plugin down, in reverse order; failures are logged, never thrown. */
  async shutdown(): Promise<void> {
    for (const entry of this.plugins.slice().reverse()) {
      try {
        await this.contain(entry, () => entry.plugin.shutdown());
      } catch (err) {
        this.failed(entry, 'shutdown', err instanceof PluginTimeout ? 'timeout' : 'throw', err);
      }
    }
  }

  /**
   * Run the chain in order; the first block ends it. Synchronous plugins give a synchronous
   * result; the chain turns asynchronous only at the first plugin that answers with a promise.
   */
  private run(stage: 'request' | 'response', call: (p: Plugin) => Verdict | Promise<Verdict>): ChainVerdict | Promise<ChainVerdict> {
    const out: ChainVerdict = { action: 'allow', tags: [], addHeaders: [] };
    const step = (i: number): ChainVerdict | Promise<ChainVerdict> => {
      for (; i < this.plugins.length; i++) {
        const entry = this.plugins[i];
        let v: Verdict | Promise<Verdict>;
        try {
          v = call(entry.plugin);
        } catch (err) {
          v = this.failedVerdict(entry, stage, 'throw', err);
        }
        if (isPromise(v)) {
          const next = i + 1;
          return this.settle(entry, stage, v).then((verdict) => (this.apply(out, entry, stage, verdict) ? out : step(next)));
        }
        if (this.apply(out, entry, stage, v)) return out;
      }
      return out;
    };
    return step(0);
  }

  /** Fold one verdict in; true when the chain ends (blocked). */
  private apply(out: ChainVerdict, entry: RegisteredPlugin, stage: 'request' | 'response', v: Verdict): boolean {
    if (!isVerdict(v)) v = this.failedVerdict(entry, stage, 'invalid', new Error(`not a verdict: ${safeString(v)}`));
    if (v.action === 'block') {
      out.action = 'block';
      out.blockedBy = entry.plugin.name;
      out.reason = v.reason;
      return true;
    }
    if (v.tags) for (const t of v.tags) out.tags.push(String(t));
    if (v.addHeaders) for (const h of v.addHeaders) out.addHeaders.push([String(h[0]), String(h[1])]);
    return false;
  }

  private settle(entry: RegisteredPlugin, stage: 'request' | 'response', v: Promise<Verdict>): Promise<Verdict> {
    return withTimeout(v, entry.timeoutMs).catch((err: unknown) =>
      this.failedVerdict(entry, stage, err instanceof PluginTimeout ? 'timeout' : 'throw', err),
    );
  }

  private failedVerdict(entry: RegisteredPlugin, stage: 'request' | 'response', kind: FailureKind, err: unknown): Verdict {
    this.failed(entry, stage, kind, err);
    return entry.failure === 'closed' ? { action: 'block', reason: `plugin ${entry.plugin.name} failed (${kind})` } : ALLOW;
  }

  private failed(entry: RegisteredPlugin, stage: PluginFailure['stage'], kind: FailureKind, err: unknown): void {
    const name = entry.plugin.name;
    this.failureCounts.set(name, (this.failureCounts.get(name) ?? 0) + 1);
    const failure: PluginFailure = { plugin: name, stage, kind, error: err instanceof Error ? err.message : safeString(err) };
    this.logger?.error({ ...failure, policy: entry.failure }, `plugin ${name} failed during ${stage} (${kind})`);
    for (const listener of this.failureListeners) {
      try {
        listener(failure);
      } catch {
        // a metrics callback must not break the chain
      }
    }
  }

  private async contain(entry: RegisteredPlugin, call: () => void | Promise<void>): Promise<void> {
    const r = call();
    if (isPromise(r)) await withTimeout(r, entry.timeoutMs);
  }
}

function isPromise<T>(v: unknown): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function isVerdict(v: unknown): v is Verdict {
  if (typeof v !== 'object' || v === null) return false;
  const a = (v as { action?: unknown }).action;
  if (a === 'block') return typeof (v as { reason?: unknown }).reason === 'string';
  if (a !== 'allow') return false;
  const { tags, addHeaders } = v as { tags?: unknown; addHeaders?: unknown };
  if (tags !== undefined && !Array.isArray(tags)) return false;
  if (addHeaders !== undefined && !(Array.isArray(addHeaders) && addHeaders.every((h) => Array.isArray(h) && h.length === 2))) return false;
  return true;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return typeof v;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PluginTimeout(`no answer within ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * The guard check as a plugin, for the registry's listing (logs, metrics): name `guard`. The
 * decision itself stays in the proxy's fast path (profile and decide against the Guardian, before
 * any plugin runs), so this plugin's own approve calls allow everything.
 */
export const GUARD_PLUGIN_VERSION = '1.0.0';

export const guardPlugin: Plugin = Object.freeze({
  name: 'guard',
  version: GUARD_PLUGIN_VERSION,
  security: true,
  init(): void {},
  approveRequest: (): Verdict => ALLOW,
  approveResponse: (): Verdict => ALLOW,
  shutdown(): void {},
});

/** Whether the registry's plugins do anything beyond the guard's own (listing-only) entry. */
export function hasActivePlugins(registry: PluginRegistry | null | undefined): boolean {
  return !!registry && registry.list().some((e) => e.plugin !== guardPlugin);
}

/**
 * testgate (the original's test plugin, its name and version kept) — never for production. Config
 * keys: `sender` (default `someone`) and `response` (default `CU`) as the original; `header`
 * (default `X-Testgate-Hi`, matched case-insensitively, any value) and `path` (a path prefix; empty
 * = none) say which requests match; `action` is `tag` (default: the original's behaviour — log, tag
 * the request, add `X-Testgate-Bye: <response>` to its response) or `block` (refuse the request).
 */
export class TestGate implements Plugin {
  readonly name = 'testgate';
  readonly version = '0.0.7';
  readonly security = false;
  private sender = 'someone';
  private response = 'CU';
  private header = 'x-testgate-hi';
  private pathPrefix = '';
  private action: 'tag' | 'block' = 'tag';
  private logger: Logger | undefined;

  init({ config, logger }: PluginInit): void {
    this.logger = logger;
    logger.info({ plugin: this.name }, 'Plug testgate: Never use in production');
    if (config.sender) this.sender = config.sender;
    if (config.response) this.response = config.response;
    if (config.header) this.header = config.header.toLowerCase();
    if (config.path) {
      if (!config.path.startsWith('/')) throw new Error(`testgate: path must start with '/', got ${JSON.stringify(config.path)}`);
      this.pathPrefix = config.path;
    }
    if (config.action) {
      if (config.action !== 'tag' && config.action !== 'block') throw new Error(`testgate: action must be tag or block, got ${JSON.stringify(config.action)}`);
      this.action = config.action;
    }
  }

  private matches(ctx: RequestContext): boolean {
    if (Object.hasOwn(ctx.headers, this.header)) return true;
    return this.pathPrefix !== '' && ctx.path.startsWith(this.pathPrefix);
  }

  approveRequest(ctx: RequestContext): Verdict {
    if (!this.matches(ctx)) return ALLOW;
    this.logger?.info({ plugin: this.name, requestId: ctx.requestId }, `Plug testgate: hehe, ${this.sender} noticed me!`);
    if (this.action === 'block') return { action: 'block', reason: 'testgate' };
    return { action: 'allow', tags: ['testgate'] };
  }

  approveResponse(ctx: ResponseContext): Verdict {
    if (!this.matches(ctx.request)) return ALLOW;
    return { action: 'allow', addHeaders: [['X-Testgate-Bye', this.response]] };
  }

  shutdown(): void {
    this.logger?.info({ plugin: this.name }, 'Plug testgate: Shutdown');
  }
}
