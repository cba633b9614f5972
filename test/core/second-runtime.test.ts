// The core outside Node. Every reference-vector call of test/vectors (recorded here as the Node
// suite runs them) and traffic records decided as `guard check` decides them are replayed through
// the runtime-neutral entry (core/portable.ts, as compiled to build/js) in Debian's Chromium and in
// Deno (its npm package), and must give byte-identical answers. The entry's imports are checked to
// reach no Node module at all.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../vectors/helpers.js';

const log: RecordedCall[] = [];
(globalThis as { guardVectorLog?: RecordedCall[] }).guardVectorLog = log;

// The reference vectors, registered in this file and run first (in Node), recording every call.
const VECTORS = ['asciiflags', 'count', 'decision', 'envelop', 'flagslice', 'ipset', 'keyval', 'limit', 'mediatype', 'pod', 'session', 'set', 'simpleval', 'soundness', 'structured-body', 'url', 'wire-examples'];
for (const name of VECTORS) await import(`../vectors/${name}.test.ts`);

const { loadCore } = await import('../../core/index.js');
const { decideRecord } = await import('../../cli/decide-record.js');
const { toTrafficRecord } = await import('../../cli/traffic-record.js');

const root = fileURLToPath(new URL('../../', import.meta.url));
const build = join(root, 'build');

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
function records(): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 40; i++) {
    out.push({ method: 'GET', path: `/shop/items/${100 + i}`, query: `lang=${i % 2 ? 'en' : 'de'}`, headers: [['Accept', 'application/json'], ['User-Agent', UA]], remote: '203.0.113.7', response: { status: 200, headers: [['Content-Type', 'application/json']], body: '{"name":"tea pot","price":12.5}' } });
    out.push({ method: 'POST', path: '/shop/cart', headers: [['Content-Type', 'application/json'], ['User-Agent', UA]], body: JSON.stringify({ item: 100 + i, qty: 1 + (i % 3) }), remote: '203.0.113.9' });
  }
  out.push({ method: 'GET', path: "/shop/items/1%27%20OR%20%271%27=%271", query: 'lang=en&debug=1', headers: [['Accept', '*/*'], ['User-Agent', 'sqlmap/1.7']], remote: '198.51.100.4' });
  out.push({ method: 'POST', path: '/shop/cart', headers: [['Content-Type', 'application/json']], body: '{"item":"<script>alert(1)</script>","qty":[1,2]}' });
  out.push({ method: 'DELETE', path: '/shop/items/..%2F..%2Fetc%2Fpasswd', headers: [['X-Forwarded-For', '10.0.0.1, 8.8.8.8']], remote: '2001:db8::7' });
  out.push({ method: 'POST', path: '/shop/cart', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'item=%E4%B8%96%E7%95%8C&qty=%00' });
  return out;
}

/** What Node answers: the recorded calls, and the records decided against a Guardian learned from the first 60. */
function nodeInput() {
  const core = loadCore();
  const all = records();
  const pile = core.newPile();
  for (const r of all.slice(0, 60)) {
    const s = core.newSession();
    const rec = toTrafficRecord(r);
    s.profileRequest({ method: rec.method, path: rec.path, query: rec.query, headers: rec.headers, remote: rec.remote, body: rec.body });
    pile.add(s);
    s.dispose();
  }
  const g = core.defaultGuardian();
  g.learn(pile);
  pile.dispose();
  const guardian = JSON.parse(g.toWire());
  guardian.control = { alert: true, block: true, learn: false, force: false, auto: true };
  const loaded = core.parseGuardian(guardian);
  const decisions = all.map((r) => JSON.stringify(decideRecord(core, loaded, toTrafficRecord(r), { maxBody: 1024 * 1024 })));
  const wire = loaded.toWire();
  loaded.dispose();
  g.dispose();
  return { input: { calls: log, guardian, records: all }, expected: { calls: log.map(({ output, error }) => (error === undefined ? { output } : { error })), decisions, wire } };
}

interface Replayed {
  calls: Array<{ output?: string; error?: string }>;
  decisions: string[];
  wire: string;
}

function expectSame(got: Replayed, expected: Replayed, runtime: string): void {
  expect(got.calls.length, runtime).toBe(expected.calls.length);
  const differing = got.calls.map((c, i) => [i, c] as const).filter(([i, c]) => JSON.stringify(c) !== JSON.stringify(expected.calls[i]));
  expect(differing.slice(0, 3).map(([i, c]) => ({ command: log[i].command, node: expected.calls[i], [runtime]: c })), runtime).toEqual([]);
  expect(got.decisions, runtime).toEqual(expected.decisions);
  expect(got.wire, runtime).toBe(expected.wire);
}

/** A loopback server of build/js, build/guard-core.wasm and the replay module, for the page. */
async function serveBuild(): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
    let file: string | null = null;
    if (path === '/') file = null;
    else if (path === '/guard-core.wasm') file = join(build, 'guard-core.wasm');
    else if (path === '/replay.mjs') file = fileURLToPath(new URL('./replay.mjs', import.meta.url));
    else if (/^\/(core|cli)\/[\w-]+\.js$/.test(path)) file = join(build, 'js', path);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>core</title>');
      return;
    }
    if (!file || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function denoBinary(): string {
  for (const rel of ['node_modules/@deno/linux-x64-glibc/deno', 'node_modules/.bin/deno']) {
    const path = join(root, rel);
    if (existsSync(path)) return path;
  }
  throw new Error('Deno is missing: it is a devDependency (npm ci installs its binary from the npm registry)');
}

/** Every module the entry reaches, following relative imports of the compiled JavaScript. */
async function importsOf(entry: string): Promise<{ files: string[]; external: string[] }> {
  const files: string[] = [];
  const external: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) queue.push(join(dirname(file), spec));
      else external.push(`${file}: ${spec}`);
    }
  }
  return { files, external };
}

describe('the core in a second runtime', () => {
  let expected: ReturnType<typeof nodeInput>;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('the runtime-neutral entry and the record readers reach no Node module', async () => {
    for (const entry of ['core/portable.js', 'cli/decide-record.js', 'cli/har-entry.js']) {
      const { files, external } = await importsOf(join(build, 'js', entry));
      expect(files.length).toBeGreaterThan(1);
      expect(external, entry).toEqual([]);
    }
    expected = nodeInput();
    expect(log.length).toBeGreaterThan(500);
    process.stdout.write(`replaying ${log.length} reference-vector calls and ${expected.expected.decisions.length} traffic records\n`);
    expect(expected.expected.decisions.filter((d) => JSON.parse(d).allowed === false).length).toBeGreaterThanOrEqual(4);
  });

  it('Chromium decides every vector and record as Node does', async () => {
    const { launchChromium } = await import('../support/browser.js');
    const { server, url } = await serveBuild();
    cleanups.push(() => new Promise((r) => server.close(r)));
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    await browser.page.goto(`${url}/`);
    // The page's code as text: the test runner rewrites import() in functions it compiles.
    const inPage = `async (input) => {
      const { compileCore } = await import('/core/portable.js');
      const { decideRecord } = await import('/cli/decide-record.js');
      const { toTrafficRecord } = await import('/cli/traffic-record.js');
      const { replay } = await import('/replay.mjs');
      const core = await compileCore(fetch('/guard-core.wasm'));
      return { userAgent: navigator.userAgent, ...replay(core, { decideRecord, toTrafficRecord }, input) };
    }`;
    // biome-ignore lint/security/noGlobalEval: the replay function runs in the page, built from our own module text
    const got = (await browser.page.evaluate(([code, input]) => (0, eval)(code)(input), [inPage, expected.input] as const)) as Replayed & { userAgent: string };
    expect(got.userAgent).toMatch(/Chrome\//);
    expectSame(got, expected.expected, 'chromium');
    expect(browser.problems).toEqual([]);
  });

  it('Deno (from its npm package) decides every vector and record as Node does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guard-deno-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const inputFile = join(dir, 'input.json');
    await writeFile(inputFile, JSON.stringify(expected.input));
    const script = fileURLToPath(new URL('./replay-deno.mjs', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        denoBinary(),
        ['run', '--no-prompt', '--no-config', '--no-lock', `--allow-read=${build},${dir},${dirname(script)}`, script, inputFile],
        { env: { PATH: process.env.PATH ?? '', HOME: dir, DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, maxBuffer: 256 << 20, timeout: 120_000 },
        (err, out, stderr) => (err ? reject(new Error(`deno failed: ${err.message}\n${stderr}`)) : resolve(out)),
      ),
    );
    const got = JSON.parse(stdout) as Replayed & { runtime: string };
    expect(got.runtime).toMatch(/^deno 2\./);
    expectSame(got, expected.expected, 'deno');
  });
});
