// The image test's drive (deploy/image/test.sh starts it, with guard-service already running from
// the image): a backend on the host, the gate container in front of it, learning through the
// gate, the switch to block, then attacks refused and normal traffic served. Every wait is bounded.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';

const run = promisify(execFile);
const { values: a } = parseArgs({
  options: {
    'service-port': { type: 'string' },
    'gate-port': { type: 'string' },
    'admin-port': { type: 'string' },
    'token-file': { type: 'string' },
    image: { type: 'string' },
    'image-size': { type: 'string' },
  },
});
const GATE = 'guard-image-test-gate';
const NAMESPACE = 'ci';
const SERVICE = 'shop';
const service = `http://127.0.0.1:${a['service-port']}`;
const gate = `http://127.0.0.1:${a['gate-port']}`;
const admin = `http://127.0.0.1:${a['admin-port']}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, ms, check) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`image test: ${what} did not happen within ${ms / 1000} s`);
    await sleep(50);
  }
}

async function get(url, headers = {}) {
  const r = await request(url, { headers });
  return { status: r.statusCode, text: await r.body.text() };
}

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
function normal(i) {
  const headers = { accept: 'application/json', 'user-agent': UA };
  if (i % 4 === 3) return { method: 'POST', path: '/shop/cart', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ item: 100 + (i % 50), qty: 1 + (i % 3) }) };
  return { method: 'GET', path: `/shop/items/${100 + (i % 50)}?lang=${i % 2 ? 'en' : 'de'}`, headers };
}
const ATTACKS = [
  { what: 'SQL injection in the query', method: 'GET', path: "/shop/items/101?lang=en'%20OR%20'1'='1", headers: { accept: 'application/json', 'user-agent': UA } },
  { what: 'script in a JSON body', method: 'POST', path: '/shop/cart', headers: { accept: 'application/json', 'user-agent': UA, 'content-type': 'application/json' }, body: '{"item":"<script>alert(1)</script>","qty":1}' },
  { what: 'scanner user agent', method: 'GET', path: '/shop/items/101?lang=en', headers: { accept: '*/*', 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' } },
];
async function send(p) {
  const r = await request(`${gate}${p.path}`, { method: p.method, headers: p.headers, body: p.body });
  await r.body.text();
  return r.statusCode;
}

const backend = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(req.method === 'POST' ? JSON.stringify({ ok: true, cart: body.length }) : JSON.stringify({ id: req.url, name: 'tea pot', price: 12.5 }));
  });
});
await new Promise((r) => backend.listen(0, '127.0.0.1', r));
const backendPort = backend.address().port;

try {
  await until('guard-service answering /healthz', 60_000, async () => (await get(`${service}/healthz`)).status === 200);
  const token = await until('the people token', 10_000, () => readFileSync(a['token-file'], 'utf8').trim());
  const people = async (path, init = {}) => {
    const r = await request(`${service}${path}`, { method: init.method ?? 'GET', body: init.body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { status: r.statusCode, json: await r.body.json() };
  };

  // The gate, configured as a manifest of the original gate would: PROTECTED_SERVICE=:<port>.
  const t0 = performance.now();
  await run('podman', [
    'run', '-d', '--name', GATE, '--runtime', 'runc', '--network', 'host', '--read-only', '--user', '65532:65532',
    '-e', `SERVICE_NAME=${SERVICE}`, '-e', `NAMESPACE=${NAMESPACE}`, '-e', `PROTECTED_SERVICE=:${backendPort}`,
    '-e', `PORT=${a['gate-port']}`, '-e', `GUARD_ADMIN_PORT=${a['admin-port']}`, '-e', `GUARD_SERVICE_URL=${service}`,
    '-e', 'GUARDIAN_SYNC_INTERVAL=5s', '-e', 'MONITOR_POD=false', '-e', 'LOG_LEVEL=warn',
    a.image, 'gate',
  ]);
  await until('the gate container ready (/readyz 200)', 60_000, async () => (await get(`${admin}/readyz`)).status === 200);
  const startMs = performance.now() - t0;
  const health = await run('podman', ['healthcheck', 'run', GATE]).then(() => 'healthy', (e) => `unhealthy (${e.stderr || e.message})`);
  if (health !== 'healthy') throw new Error(`image test: the image's HEALTHCHECK says ${health}`);

  // 1. Learning: everything passes (the default Guardian: learn, alert, no block).
  const LEARN = 1200;
  for (let i = 0; i < LEARN; i++) if ((await send(normal(i))) !== 200) throw new Error(`image test: a normal request was refused while learning (#${i})`);
  const learned = await until('guard-service learning the Guardian from the gate\'s sync', 90_000, async () => {
    const g = await people(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`);
    return g.json?.spec?.samples > 0 ? g.json : null;
  });

  // 2. Block: through the people API, as a person would. The gate takes it with its next sync; no
  // attack is sent before that sync, since the Guardian until then learns alerting sessions too
  // (force) and would learn the attacks as normal.
  const syncsOk = async () => Number(/^guard_gate_syncs_total\{result="ok"\} (\d+)/m.exec((await get(`${admin}/metrics`)).text)?.[1] ?? 0);
  const before = await syncsOk();
  // auto would wait until the learned rules are ready (docs/tokens.md): the learned rules are
  // pinned as configured ones and blocked with, as `guard demo` does.
  const copied = await people(`/api/v1/guardians/${NAMESPACE}/${SERVICE}/copy-learned`, { method: 'POST', body: '{}' });
  if (copied.status !== 200) throw new Error(`image test: the people API refused to copy the learned rules (${copied.status}): ${JSON.stringify(copied.json)}`);
  const put = await people(`/api/v1/guardians/${NAMESPACE}/${SERVICE}`, { method: 'PUT', body: JSON.stringify({ control: { alert: true, block: true, learn: true, force: false, auto: false } }) });
  if (put.status !== 200) throw new Error(`image test: the people API refused the switch to block (${put.status}): ${JSON.stringify(put.json)}`);
  let i = LEARN;
  await until('the gate\'s next sync with guard-service', 90_000, async () => {
    for (let k = 0; k < 20; k++) await send(normal(i++)); // the pile grows, so the gate syncs at its interval
    return (await syncsOk()) > before + 1; // one more than a sync that may have been in flight
  });

  // 3. Attacks refused, normal traffic served.
  const results = [];
  for (const attack of ATTACKS) results.push([attack.what, await send(attack)]);
  let served = 0;
  for (let k = 0; k < 20; k++) if ((await send(normal(i++))) === 200) served++;
  const readyz = (await get(`${admin}/readyz`)).text.trim();
  const sizeMb = (Number(a['image-size']) / 1e6).toFixed(1);
  console.log(`image test: image ${a.image}: ${sizeMb} MB`);
  console.log(`image test: gate start in the container (podman run -> /readyz 200): ${Math.round(startMs)} ms; HEALTHCHECK ${health}`);
  console.log(`image test: learned from ${learned.spec.samples} samples; /readyz: ${readyz.replace(/\n/g, ' | ')}`);
  for (const [what, status] of results) console.log(`image test:   ${status === 403 ? 'blocked' : 'PASSED '} ${status}  ${what}`);
  console.log(`image test:   ${served} of 20 normal requests served`);
  if (results.some(([, s]) => s !== 403) || served !== 20) throw new Error('image test: not every attack was blocked, or a normal request was refused');
} catch (err) {
  const logs = await run('podman', ['logs', '--tail', '30', GATE]).then((r) => (r.stdout + r.stderr).split('\n').filter((l) => !l.includes('SECURITY ALERT')).join('\n'), () => '(no gate container)');
  const syncs = await get(`${admin}/metrics`).then((r) => r.text.split('\n').filter((l) => l.startsWith('guard_gate_syncs_total')).join('\n'), () => '');
  const serviceLogs = await run('podman', ['logs', '--tail', '15', 'guard-image-test-service']).then((r) => r.stdout + r.stderr, () => '');
  process.stderr.write(`${err.message}\nthe gate's syncs:\n${syncs}\nthe gate's last log lines (alerts left out):\n${logs}\nguard-service's last log lines:\n${serviceLogs}\n`);
  process.exitCode = 1;
} finally {
  await run('podman', ['rm', '-f', GATE]).catch(() => {});
  backend.close();
}
