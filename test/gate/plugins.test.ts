// The plugin interface: registry, ordered chain, containment of throwing and slow
// plugins per failure policy, and the testgate plugin (the original's test plugin).
import { describe, expect, it } from 'vitest';
import {
  PluginRegistry,
  TestGate,
  type Plugin,
  type PluginFailure,
  type RequestContext,
  type ResponseContext,
  type Verdict,
} from '../../gate/plugins.js';
import type { Logger } from '../../log/index.js';

function recorder() {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

function req(over: Partial<RequestContext> = {}): RequestContext {
  return { requestId: 'r1', method: 'GET', path: '/a', query: '', headers: {}, clientAddress: '8.8.4.4', ...over };
}

function resp(request: RequestContext): ResponseContext {
  return { request, status: 200, headers: {} };
}

function plugin(name: string, over: Partial<Plugin> & { onRequest?: (ctx: RequestContext) => Verdict | Promise<Verdict> } = {}): Plugin & { calls: string[] } {
  const calls: string[] = [];
  return {
    name,
    version: '1.0.0',
    calls,
    init: () => void calls.push('init'),
    approveRequest: (ctx) => {
      calls.push('request');
      return over.onRequest ? over.onRequest(ctx) : { action: 'allow', tags: [name] };
    },
    approveResponse: () => {
      calls.push('response');
      return { action: 'allow' };
    },
    shutdown: () => void calls.push('shutdown'),
    ...over,
  };
}

const base = () => ({ serviceName: 'svc', namespace: 'ns', logger: recorder().logger });

describe('PluginRegistry', () => {
  it('registers in order, finds by name case-insensitively, refuses duplicates', () => {
    const r = new PluginRegistry();
    const a = plugin('guard');
    const b = plugin('testgate');
    r.register(a);
    r.register(b, { failure: 'open', timeoutMs: 50 });
    expect(r.list().map((p) => [p.plugin.name, p.failure, p.timeoutMs])).toEqual([
      ['guard', 'closed', 1000],
      ['testgate', 'open', 50],
    ]);
    expect(r.get('TestGate')).toBe(b);
    expect(r.get('none')).toBeUndefined();
    expect(() => r.register(plugin('GUARD'))).toThrow(/already registered/);
    expect(() => r.register(plugin('x'), { timeoutMs: 0 })).toThrow(RangeError);
  });

  it('runs the chain in order, synchronously for synchronous plugins, collecting tags; the first block ends it', async () => {
    const r = new PluginRegistry();
    const a = plugin('a');
    const b = plugin('b', { onRequest: () => ({ action: 'block', reason: 'no' }) });
    const c = plugin('c');
    for (const p of [a, b, c]) r.register(p);
    const v = r.approveRequest(req());
    expect(v).not.toBeInstanceOf(Promise);
    expect(v).toEqual({ action: 'block', blockedBy: 'b', reason: 'no', tags: ['a'], addHeaders: [] });
    expect(c.calls).toEqual([]);
    const w = await r.approveResponse(resp(req()));
    expect(w.action).toBe('allow');
  });

  it('awaits asynchronous verdicts in order', async () => {
    const r = new PluginRegistry();
    r.register(plugin('a', { onRequest: async () => ({ action: 'allow', tags: ['a'] }) }));
    r.register(plugin('b'));
    const v = r.approveRequest(req());
    expect(v).toBeInstanceOf(Promise);
    expect(await v).toEqual({ action: 'allow', tags: ['a', 'b'], addHeaders: [] });
  });

  it('contains a throwing plugin: logged, counted, blocked when it fails closed (the default)', async () => {
    const { logger, lines } = recorder();
    const failures: PluginFailure[] = [];
    const r = new PluginRegistry({ logger, onFailure: (f) => failures.push(f) });
    r.register(plugin('boom', { onRequest: () => { throw new Error('kaput'); } }));
    r.register(plugin('after'));
    const v = await r.approveRequest(req());
    expect(v).toMatchObject({ action: 'block', blockedBy: 'boom', reason: 'plugin boom failed (throw)' });
    expect(r.failures('boom')).toBe(1);
    expect(failures).toEqual([{ plugin: 'boom', stage: 'request', kind: 'throw', error: 'kaput' }]);
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'plugin boom failed during request (throw)' })]);
  });

  it('a throwing plugin that fails open is skipped; so is a rejected promise', async () => {
    const r = new PluginRegistry();
    r.register(plugin('boom', { onRequest: () => { throw new Error('kaput'); } }), { failure: 'open' });
    r.register(plugin('reject', { onRequest: () => Promise.reject(new Error('nope')) }), { failure: 'open' });
    r.register(plugin('after'));
    expect(await r.approveRequest(req())).toEqual({ action: 'allow', tags: ['after'], addHeaders: [] });
    expect(r.failures('boom')).toBe(1);
    expect(r.failures('reject')).toBe(1);
  });

  it('contains a slow plugin with its timeout, per failure policy', async () => {
    const failures: PluginFailure[] = [];
    const slow = () => new Promise<Verdict>((resolve) => setTimeout(() => resolve({ action: 'allow' }), 2000).unref());
    const closed = new PluginRegistry({ onFailure: (f) => failures.push(f) });
    closed.register(plugin('slow', { onRequest: slow }), { timeoutMs: 30 });
    const t0 = Date.now();
    expect(await closed.approveRequest(req())).toMatchObject({ action: 'block', blockedBy: 'slow', reason: 'plugin slow failed (timeout)' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(failures[0]).toMatchObject({ plugin: 'slow', kind: 'timeout', stage: 'request' });

    const open = new PluginRegistry();
    open.register(plugin('slow', { onRequest: slow }), { timeoutMs: 30, failure: 'open' });
    open.register(plugin('next'));
    expect(await open.approveRequest(req())).toEqual({ action: 'allow', tags: ['next'], addHeaders: [] });
    expect(open.failures('slow')).toBe(1);
  });

  it('a non-security plugin fails open by default; an invalid verdict is a failure', async () => {
    const r = new PluginRegistry();
    r.register({ ...plugin('observer'), security: false, approveRequest: () => ({ action: 'maybe' }) as unknown as Verdict });
    expect(r.list()[0].failure).toBe('open');
    expect(await r.approveRequest(req())).toEqual({ action: 'allow', tags: [], addHeaders: [] });
    expect(r.failures('observer')).toBe(1);
  });

  it('init: a closed plugin that fails is fatal, an open one is dropped; shutdown runs in reverse and contains failures', async () => {
    const order: string[] = [];
    const r = new PluginRegistry();
    r.register({ ...plugin('a'), shutdown: () => void order.push('a') });
    r.register({ ...plugin('flaky'), init: () => { throw new Error('bad config'); } }, { failure: 'open' });
    r.register({ ...plugin('b'), shutdown: () => { order.push('b'); throw new Error('x'); } });
    await r.init({}, base());
    expect(r.list().map((p) => p.plugin.name)).toEqual(['a', 'b']);
    await r.shutdown();
    expect(order).toEqual(['b', 'a']);
    expect(r.failures('b')).toBe(1);

    const fatal = new PluginRegistry();
    fatal.register({ ...plugin('guard'), init: async () => { throw new Error('no core'); } });
    await expect(fatal.init({}, base())).rejects.toThrow('plugin guard failed to initialise: no core');
  });
});

describe('testgate', () => {
  async function gate(config: Record<string, string> = {}) {
    const { logger, lines } = recorder();
    const r = new PluginRegistry();
    r.register(new TestGate());
    await r.init({ testgate: config }, { serviceName: 'svc', namespace: 'ns', logger });
    return { r, lines };
  }

  it('is named and versioned as the original and warns at init', async () => {
    const { r, lines } = await gate();
    expect(r.get('testgate')).toMatchObject({ name: 'testgate', version: '0.0.7' });
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'Plug testgate: Never use in production' });
  });

  it('tags a request with X-Testgate-Hi (any value) and adds X-Testgate-Bye to its response', async () => {
    const { r, lines } = await gate({ sender: 'tester', response: 'bye' });
    const hi = req({ headers: { 'x-testgate-hi': '' } });
    expect(r.approveRequest(hi)).toEqual({ action: 'allow', tags: ['testgate'], addHeaders: [] });
    expect(lines.at(-1)).toMatchObject({ msg: 'Plug testgate: hehe, tester noticed me!' });
    expect(r.approveResponse(resp(hi))).toEqual({ action: 'allow', tags: [], addHeaders: [['X-Testgate-Bye', 'bye']] });
    expect(r.approveRequest(req())).toEqual({ action: 'allow', tags: [], addHeaders: [] });
    expect(r.approveResponse(resp(req()))).toEqual({ action: 'allow', tags: [], addHeaders: [] });
  });

  it('blocks by header or path prefix when configured to', async () => {
    const { r } = await gate({ action: 'block', header: 'X-Evil', path: '/admin' });
    expect(r.approveRequest(req({ headers: { 'x-evil': '1' } }))).toMatchObject({ action: 'block', blockedBy: 'testgate', reason: 'testgate' });
    expect(r.approveRequest(req({ path: '/admin/users' }))).toMatchObject({ action: 'block' });
    expect(r.approveRequest(req({ path: '/public', headers: { 'x-testgate-hi': 'x' } }))).toMatchObject({ action: 'allow' });
  });

  it('refuses an invalid configuration; failing open, it is dropped', async () => {
    const r = new PluginRegistry();
    r.register(new TestGate());
    expect(r.list()[0].failure).toBe('open');
    await r.init({ testgate: { action: 'explode' } }, base());
    expect(r.list()).toEqual([]);
    const closed = new PluginRegistry();
    closed.register(new TestGate(), { failure: 'closed' });
    await expect(closed.init({ testgate: { path: 'admin' } }, base())).rejects.toThrow(/path must start with/);
  });
});
