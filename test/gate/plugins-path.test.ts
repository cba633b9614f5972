// Plugins in the request path: the proxy consults the registry after the guard's own
// decision — approveRequest before forwarding, approveResponse before sending.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, request } from 'undici';
import { loadCore, type Core } from '../../core/index.js';
import { guardPlugin, PluginRegistry, TestGate, type Plugin } from '../../gate/plugins.js';
import { type ProxyHandle, type Verdict } from '../../gate/proxy.js';
import { silentLogger as quiet } from '../../log/index.js';
import { checkedProxy, checkedGate, checkGateInvariants } from './invariants.js';

checkGateInvariants();

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

let core: Core;
let server: http.Server;
let backendPort = 0;
const received: Received[] = [];
const proxies: ProxyHandle[] = [];
const client = new Agent({ keepAliveTimeout: 1000, connections: 4 });

beforeAll(async () => {
  core = loadCore();
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  backendPort = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const p of proxies) await p.close(200);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await client.close();
});

async function proxyWith(plugins: PluginRegistry | undefined, verdicts: Verdict[], blockStatus?: number): Promise<ProxyHandle> {
  const guardian = core.defaultGuardian(); // alert on, block off: the guard never blocks here
  const p = await checkedProxy({
    port: 0,
    host: '127.0.0.1',
    upstream: `http://127.0.0.1:${backendPort}`,
    core,
    getGuardian: () => guardian,
    plugins,
    blockStatus,
    onSession: (_s, v) => verdicts.push(v),
  });
  proxies.push(p);
  return p;
}

async function send(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const r = await request(`http://127.0.0.1:${port}${path}`, { method: method as 'GET', headers, body, dispatcher: client });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

function thrower(name: string, async = false): Plugin {
  return {
    name,
    version: '0',
    init() {},
    approveRequest: () => {
      if (async) return Promise.reject(new Error('boom'));
      throw new Error('boom');
    },
    approveResponse: () => ({ action: 'allow' }),
    shutdown() {},
  };
}

describe('testgate in the request path', () => {
  test('blocks a matching request before the backend; tags and adds headers on others', async () => {
    const blocker = new PluginRegistry({ logger: quiet });
    blocker.register(guardPlugin, { first: true });
    blocker.register(new TestGate());
    await blocker.init({ testgate: { action: 'block', path: '/admin' } }, { serviceName: 's', namespace: 'n', logger: quiet });
    const verdicts: Verdict[] = [];
    const p = await proxyWith(blocker, verdicts, 418);

    const before = received.length;
    const b = await send(p.port, '/admin/users');
    expect(b.status).toBe(418);
    const id = b.headers['x-guard-request-id'];
    expect(typeof id).toBe('string');
    expect(b.body).toContain(String(id));
    expect(received.length).toBe(before);
    const v = verdicts.find((x) => x.requestId === id)!;
    expect(v.blocked).toBe('request');
    expect(v.blockedBy).toBe('testgate');

    // the header match blocks a POST with a body too (analysed path), still before the backend
    const pb = await send(p.port, '/api/x', { 'x-testgate-hi': '1', 'content-type': 'application/json' }, 'POST', '{"a":1}');
    expect(pb.status).toBe(418);
    expect(received.length).toBe(before);

    const ok = await send(p.port, '/api/items?id=1');
    expect(ok.status).toBe(200);
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)!.url).toBe('/api/items?id=1');
    // the guard entry is listed first, and does not block
    expect(blocker.list().map((e) => e.plugin.name)).toEqual(['guard', 'testgate']);
  });

  test('tag mode: the request is tagged and its response carries the added header; others are untouched', async () => {
    const reg = new PluginRegistry({ logger: quiet });
    reg.register(new TestGate());
    // a plugin that adds a header to the forwarded request
    reg.register({
      name: 'stamp',
      version: '1',
      security: false,
      init() {},
      approveRequest: async () => ({ action: 'allow', tags: ['stamped'], addHeaders: [['X-Stamp', 'yes']] }),
      approveResponse: () => ({ action: 'allow' }),
      shutdown() {},
    });
    await reg.init({ testgate: { response: 'bye' } }, { serviceName: 's', namespace: 'n', logger: quiet });
    const verdicts: Verdict[] = [];
    const p = await proxyWith(reg, verdicts);

    const before = received.length;
    const r = await send(p.port, '/hello', { 'X-Testgate-Hi': 'there' });
    expect(r.status).toBe(200);
    expect(r.headers['x-testgate-bye']).toBe('bye');
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)!.headers['x-stamp']).toBe('yes');
    // a forwarded response carries no request id: the exchange is reported before the client reads it
    const v = verdicts.at(-1)!;
    expect(v.path).toBe('/hello');
    expect(v.tags).toEqual(['testgate', 'stamped']);
    expect(v.blocked).toBe('none');

    const o = await send(p.port, '/hello');
    expect(o.status).toBe(200);
    expect(o.headers['x-testgate-bye']).toBeUndefined();
    const vo = verdicts.at(-1)!;
    expect(vo.tags).toEqual(['stamped']);
  });
});

describe('plugin failures are contained by policy', () => {
  for (const async of [false, true]) {
    test(`a ${async ? 'rejecting' : 'throwing'} plugin: closed blocks before the backend, open passes`, async () => {
      const closed = new PluginRegistry({ logger: quiet });
      closed.register(thrower('bad'), { failure: 'closed' });
      const open = new PluginRegistry({ logger: quiet });
      open.register(thrower('bad', async), { failure: 'open' });
      const closedAsync = new PluginRegistry({ logger: quiet });
      closedAsync.register(thrower('bad', true), { failure: 'closed' });
      const pc = await proxyWith(async ? closedAsync : closed, []);
      const po = await proxyWith(open, []);

      const before = received.length;
      const c = await send(pc.port, '/x');
      expect(c.status).toBe(403);
      expect(c.body).toContain(String(c.headers['x-guard-request-id']));
      expect(received.length).toBe(before);
      expect((async ? closedAsync : closed).failures('bad')).toBe(1);

      const o = await send(po.port, '/x');
      expect(o.status).toBe(200);
      expect(received.length).toBe(before + 1);
      expect(open.failures('bad')).toBe(1);
    });
  }

  test('a response-stage block answers the block status and never sends the backend response', async () => {
    const reg = new PluginRegistry({ logger: quiet });
    reg.register({
      name: 'resp',
      version: '1',
      init() {},
      approveRequest: () => ({ action: 'allow' }),
      approveResponse: (ctx) => (ctx.request.path === '/secret' ? { action: 'block', reason: 'no' } : { action: 'allow' }),
      shutdown() {},
    });
    const verdicts: Verdict[] = [];
    const p = await proxyWith(reg, verdicts);
    const r = await send(p.port, '/secret');
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('ok');
    const v = verdicts.find((x) => x.requestId === r.headers['x-guard-request-id'])!;
    expect(v.blocked).toBe('response');
    expect(v.blockedBy).toBe('resp');
    expect((await send(p.port, '/public')).status).toBe(200);
  });
});

describe('startGate wires the registry', () => {
  test('the guard entry is listed first; testgate blocks through the assembled gate; shutdown reaches the plugins', async () => {
    const { gateConfig } = await import('../../gate/config.js');
    const { pino } = await import('pino');
    const reg = new PluginRegistry({ logger: quiet });
    const tg = new TestGate();
    let shut = 0;
    const orig = tg.shutdown.bind(tg);
    tg.shutdown = () => {
      shut++;
      orig();
    };
    reg.register(tg);
    const g = await checkedGate(
      gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, protectedService: `http://127.0.0.1:${backendPort}` }),
      { core, log: pino({ level: 'silent' }), podName: 'shop-1', drainMs: 500, plugins: reg, pluginConfig: { testgate: { action: 'block', path: '/admin' } } },
    );
    try {
      expect(g.plugins.list().map((e) => [e.plugin.name, e.plugin.version])).toEqual([
        ['guard', guardPlugin.version],
        ['testgate', '0.0.7'],
      ]);
      const before = received.length;
      expect((await send(g.port, '/admin/x')).status).toBe(403);
      expect(received.length).toBe(before);
      expect((await send(g.port, '/shop')).status).toBe(200);
      expect(received.length).toBe(before + 1);
      const m = await request(`http://127.0.0.1:${g.adminPort}/metrics`);
      expect(await m.body.text()).toMatch(/guard_gate_blocks_total\{stage="request"\} 1/);
    } finally {
      await g.close();
    }
    expect(shut).toBe(1);
  });
});
