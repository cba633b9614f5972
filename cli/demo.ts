// `guard demo`: Guard end to end on one machine — a sample shop service, guard-service
// with the file store, and a gate in front of the shop; normal traffic until the Guardian is
// learned, then blocking, attacks refused and normal requests served.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { request } from 'undici';
import { gateConfig } from '../gate/config.js';
import { loadCore } from '../core/index.js';
import { startGate } from '../gate/index.js';
import { serviceConfig, startService } from '../service/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';


const NAMESPACE = 'demo';
const SERVICE = 'shop';
const LEARN_REQUESTS = 1200;
const USER_AGENTS = ['Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15'];

interface Probe {
  what: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

function normalRequest(i: number): Probe {
  const headers = { accept: 'application/json', 'user-agent': USER_AGENTS[i % USER_AGENTS.length], 'accept-language': 'en-US,en;q=0.8' };
  if (i % 4 === 3) {
    return { what: 'add to cart', method: 'POST', path: '/shop/cart', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ item: 100 + (i % 50), qty: 1 + (i % 3) }) };
  }
  return { what: 'view an item', method: 'GET', path: `/shop/items/${100 + (i % 50)}?lang=${i % 2 ? 'en' : 'de'}`, headers };
}

const ATTACKS: Probe[] = [
  { what: 'SQL injection in the query', method: 'GET', path: "/shop/items/101?lang=en'%20OR%20'1'='1", headers: { accept: 'application/json', 'user-agent': USER_AGENTS[0] } },
  { what: 'path traversal', method: 'GET', path: '/shop/items/..%2F..%2F..%2Fetc%2Fpasswd?lang=en', headers: { accept: 'application/json', 'user-agent': USER_AGENTS[0] } },
  { what: 'unexpected method', method: 'DELETE', path: '/shop/items/101?lang=en', headers: { accept: 'application/json', 'user-agent': USER_AGENTS[0] } },
  { what: 'script in a JSON body', method: 'POST', path: '/shop/cart', headers: { accept: 'application/json', 'user-agent': USER_AGENTS[1], 'content-type': 'application/json' }, body: '{"item":"<script>alert(1)</script>","qty":1}' },
  { what: 'scanner header', method: 'GET', path: '/shop/items/101?lang=en', headers: { accept: '*/*', 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)', 'x-forwarded-host': 'evil.example' } },
];

async function sampleShop(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') res.end(JSON.stringify({ ok: true, cart: body.length }));
      else res.end(JSON.stringify({ id: req.url, name: 'tea pot', price: 12.5 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function send(base: string, p: Probe): Promise<number> {
  const r = await request(`${base}${p.path}`, { method: p.method as 'GET', headers: p.headers, body: p.body });
  await r.body.text();
  return r.statusCode;
}

export async function runDemo(ctx: CommandContext, options: { keep: boolean }): Promise<number> {
  const say = (line: string) => ctx.stdout.write(`${line}\n`);
  const silent = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'guard-demo-'));
  const shop = await sampleShop();
  const service = await startService(
    serviceConfig({ port: 0, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir: dir, tls: null }),
    { logger: silent },
  );
  const gate = await startGate(
    gateConfig({ serviceName: SERVICE, namespace: NAMESPACE, protectedService: shop.url, guardServiceUrl: service.url, port: 0, adminPort: 0, monitorPod: false }),
    // Its own core instance: a fault in the gate's never takes guard-service's (same process) with it.
    { log: silent, podName: 'shop-demo-1', core: loadCore().fresh() },
  );
  const gateUrl = `http://127.0.0.1:${gate.port}`;
  const stop = async () => {
    await gate.close();
    await service.close();
    await new Promise((resolve) => shop.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    say(`shop (the protected service)   ${shop.url}`);
    say(`guard-service                  ${service.url}   (Guardians in ${dir})`);
    say(`guard-gate in front of the shop ${gateUrl}   (metrics: http://127.0.0.1:${gate.adminPort}/metrics)`);
    say('');
    say(`1. Learning: ${LEARN_REQUESTS} normal requests through the gate (learn mode: everything passes)…`);
    for (let i = 0; i < LEARN_REQUESTS; i++) await send(gateUrl, normalRequest(i));
    await gate.syncNow();
    const api = (path: string, init: { method?: string; body?: string } = {}) =>
      request(`${service.url}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        body: init.body,
        headers: { authorization: `Bearer ${service.peopleToken}`, 'content-type': 'application/json' },
      }).then(async (r) => ({ status: r.statusCode, json: (await r.body.json()) as any }));
    // The first learn is written to the store at once, but asynchronously: wait for it (bounded).
    let learned = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    for (let i = 0; i < 50 && !(learned.json?.spec?.samples > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      learned = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    }
    say(`   guard-service learned the shop's Guardian from ${learned.json?.spec?.samples ?? 0} samples.`);
    const readiness = learned.json?.spec?.learned?.readiness;
    if (readiness && !readiness.ready) {
      say(`   Its learned rules are not ready yet (${readiness.stable} samples since they last widened; auto blocks`);
      say('   after 1000 that widen nothing, usually a few hours of a service\'s traffic).');
    }
    say('');
    // auto would wait for readiness: the demo pins the learned rules as configured and blocks with them.
    say('2. Copying the learned rules into configured ones and switching to blocking (people API)…');
    const copied = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}/copy-learned`, { method: 'POST', body: '{}' });
    if (copied.status !== 200) throw new Error(`the people API refused the copy (${copied.status}): ${JSON.stringify(copied.json)}`);
    const put = await api(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`, {
      method: 'PUT',
      body: JSON.stringify({ control: { alert: true, block: true, learn: true, force: false, auto: false } }),
    });
    if (put.status !== 200) throw new Error(`the people API refused the change (${put.status}): ${JSON.stringify(put.json)}`);
    await gate.syncNow();
    say('');
    say('3. Attacks and normal requests through the gate:');
    let blocked = 0;
    for (const attack of ATTACKS) {
      const status = await send(gateUrl, attack);
      if (status === 403) blocked++;
      say(`   ${status === 403 ? 'BLOCKED' : 'passed '} ${status}  ${attack.what}: ${attack.method} ${attack.path}`);
    }
    let served = 0;
    for (let i = 0; i < 10; i++) {
      const p = normalRequest(LEARN_REQUESTS + i);
      const status = await send(gateUrl, p);
      if (status === 200) served++;
      if (i < 3) say(`   ${status === 200 ? 'served ' : 'REFUSED'} ${status}  ${p.what}: ${p.method} ${p.path}`);
    }
    say(`   … ${served} of 10 normal requests served, ${blocked} of ${ATTACKS.length} attacks blocked.`);
    await gate.syncNow(); // alerts travel with the sync
    const alerts = await api(`/api/v1/alerts?namespace=${NAMESPACE}&service=${SERVICE}&limit=100`);
    say('');
    say(`guard-ui: ${service.url}/ui/   (sign in with the people token below)`);
    say(`   token: ${service.peopleToken}`);
    say(`   ${alerts.json?.items?.length ?? 0} recent alerts; the same token opens the people API at ${service.url}/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    if (!options.keep) say('   (run `guard demo --keep` to keep everything running and open the UI)');
    if (options.keep) {
      say('\nEverything keeps running; Ctrl-C stops it.');
      await waitForStopSignal();
    }
    return served === 10 && blocked > 0 ? 0 : 1;
  } finally {
    await stop();
  }
}
