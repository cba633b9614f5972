// The compatibility suite's clients, each a real HTTP client run as a user would: undici (Node),
// curl, Python's urllib.request and wget as their own processes, and headless Chromium. Each makes
// one exchange and reports what it saw in one form (Seen): status, reason phrase, header lines,
// informational (1xx) answers and trailers where the client shows them, the body's sha256.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { Agent, type Dispatcher } from 'undici';

export type ClientName = 'undici' | 'curl' | 'python' | 'wget' | 'chromium';
export type HeaderPair = [string, string];

/** One request as the clients send it. */
export interface Ask {
  method?: string;
  /** Path and query exactly as they go on the request line (percent-escapes kept). */
  path: string;
  /** Header lines to add; an empty value removes a header the client would add itself (curl's Expect). */
  headers?: HeaderPair[];
  body?: Buffer;
  /** Send the request as HTTP/1.0 (curl and Python). */
  http10?: boolean;
  /** Follow redirects (curl -L; undici never; Python, wget and Chromium always). */
  follow?: boolean;
  timeoutMs?: number;
  /** Stop reading once the body holds this text, and report when that was (untilMs). */
  until?: string;
}

export interface Informational {
  status: number;
  headers: HeaderPair[];
}

/** What a client saw of one exchange. */
export interface Seen {
  client: ClientName;
  /** 0 when no response head arrived. */
  status: number;
  reason: string;
  /** Header lines of the final response, names lower-cased, in order. */
  headers: HeaderPair[];
  /** 1xx answers before it (curl and undici: the others hide them). */
  informational: Informational[];
  /** Trailer lines (curl and undici; the others do not show them). */
  trailers: HeaderPair[];
  bytes: number;
  sha256: string;
  /** From the start of the request to its end (or to `until`). */
  ms: number;
  /** When the body first held `until`; null if it never did. */
  untilMs: number | null;
  /** How the exchange failed, when it did (no answer, cut short, timed out). */
  error: string | null;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const PYTHON_CLIENT = fileURLToPath(new URL('./python-client.py', import.meta.url));
/** The interpreter itself, found once: a version manager's `python3` shim can take half a second per start. */
const PYTHON = ((): string => {
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || 'python3';
  } catch {
    return 'python3';
  }
})();

function blank(client: ClientName): Seen {
  return { client, status: 0, reason: '', headers: [], informational: [], trailers: [], bytes: 0, sha256: '', ms: 0, untilMs: null, error: null };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Run a command; its exit code, stdout and stderr (a command that outlives `timeoutMs` is killed). */
function run(cmd: string, args: string[], timeoutMs: number, onStdout?: (chunk: Buffer, kill: () => void) => void): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const kill = (): void => void child.kill('SIGKILL');
    const timer = setTimeout(kill, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      onStdout?.(d, kill);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** A header line `Name: value` as a pair (name lower-cased, value without surrounding blanks). */
function headerPair(line: string): HeaderPair | null {
  const colon = line.indexOf(':');
  return colon <= 0 ? null : [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
}

interface Block {
  status: number;
  reason: string;
  headers: HeaderPair[];
}

/**
 * Response heads as a client printed them (`HTTP/1.1 200 OK` then header lines, a blank line after
 * each head); lines after the final head that are not a status line are trailers.
 */
export function parseHeads(text: string, indent = ''): { blocks: Block[]; trailers: HeaderPair[] } {
  const blocks: Block[] = [];
  const trailers: HeaderPair[] = [];
  let current: Block | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (indent && !raw.startsWith(indent)) continue;
    const line = raw.slice(indent.length);
    const status = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(line);
    if (status) {
      current = { status: Number(status[1]), reason: status[2] ?? '', headers: [] };
      blocks.push(current);
      continue;
    }
    if (line === '') {
      current = null;
      continue;
    }
    const pair = headerPair(line);
    if (!pair) continue;
    if (current) current.headers.push(pair);
    else if (blocks.length > 0 && blocks.at(-1)!.status >= 200) trailers.push(pair);
  }
  return { blocks, trailers };
}

/** The final head of the printed heads, and the 1xx answers of its exchange. */
function finalOf(seen: Seen, blocks: Block[]): void {
  let last = -1;
  for (let i = 0; i < blocks.length; i++) if (blocks[i]!.status >= 200) last = i;
  if (last < 0) return;
  let first = last;
  while (first > 0 && blocks[first - 1]!.status < 200) first--;
  seen.informational = blocks.slice(first, last).map((b) => ({ status: b.status, headers: b.headers }));
  seen.status = blocks[last]!.status;
  seen.reason = blocks[last]!.reason;
  seen.headers = blocks[last]!.headers;
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-compat-client-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- curl ------------------------------------------------------------------------------------

export function curl(origin: string, ask: Ask): Promise<Seen> {
  return withTemp(async (dir) => {
    const seen = blank('curl');
    const timeoutMs = ask.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const args = ['-sS', '--path-as-is', '-D', join(dir, 'head'), '--max-time', String(timeoutMs / 1000)];
    const method = ask.method ?? 'GET';
    // -I prints the head as the body: a HEAD answer's body is left out (it has none).
    if (ask.until) args.push('-N', '-o', '-');
    else args.push('-o', method === 'HEAD' ? '/dev/null' : join(dir, 'body'));
    if (ask.http10) args.push('--http1.0');
    if (ask.follow) args.push('-L');
    if (method === 'HEAD') args.push('-I');
    else if (method !== 'GET' || ask.body) args.push('-X', method);
    for (const [k, v] of ask.headers ?? []) args.push('-H', v === '' ? `${k}:` : `${k}: ${v}`);
    if (ask.body) {
      await writeFile(join(dir, 'upload'), ask.body);
      args.push('--data-binary', `@${join(dir, 'upload')}`);
    }
    args.push(origin + ask.path);
    const t0 = performance.now();
    const until = ask.until ? Buffer.from(ask.until) : null;
    let streamed = Buffer.alloc(0);
    const r = await run('curl', args, timeoutMs + 2_000, (chunk, kill) => {
      if (!until || seen.untilMs !== null) return;
      streamed = Buffer.concat([streamed, chunk]);
      if (streamed.includes(until)) {
        seen.untilMs = performance.now() - t0;
        kill();
      }
    });
    seen.ms = performance.now() - t0;
    const { blocks, trailers } = parseHeads(await readFile(join(dir, 'head'), 'latin1').catch(() => ''));
    finalOf(seen, blocks);
    seen.trailers = trailers;
    const body = until ? streamed : await readFile(join(dir, 'body')).catch(() => Buffer.alloc(0));
    seen.bytes = body.length;
    seen.sha256 = sha256(body);
    if (r.code !== 0 && seen.untilMs === null) seen.error = r.stderr.trim() || `curl exited ${r.code}`;
    return seen;
  });
}

// ---- Python ----------------------------------------------------------------------------------

export function python(origin: string, ask: Ask): Promise<Seen> {
  return withTemp(async (dir) => {
    const seen = blank('python');
    const timeoutMs = ask.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let bodyFile: string | undefined;
    if (ask.body) await writeFile((bodyFile = join(dir, 'upload')), ask.body);
    const spec = { url: origin + ask.path, method: ask.method, headers: (ask.headers ?? []).filter(([, v]) => v !== ''), bodyFile, http10: ask.http10, timeout: timeoutMs / 1000, until: ask.until };
    const r = await run(PYTHON, [PYTHON_CLIENT, JSON.stringify(spec)], timeoutMs + 5_000);
    if (r.code !== 0) return { ...seen, error: `python3 exited ${r.code}: ${r.stderr.trim()}` };
    const out = JSON.parse(r.stdout.toString()) as { status: number; reason: string; headers: HeaderPair[]; bytes: number; sha256: string; ms: number; untilMs?: number | null; error: string | null };
    return { ...seen, ...out, headers: out.headers.map(([k, v]) => [k.toLowerCase(), v] as HeaderPair), untilMs: out.untilMs ?? null };
  });
}

// ---- wget ------------------------------------------------------------------------------------

export function wget(origin: string, ask: Ask): Promise<Seen> {
  return withTemp(async (dir) => {
    const seen = blank('wget');
    const timeoutMs = ask.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const args = ['-q', '-S', '-O', join(dir, 'body'), '--tries=1', `--timeout=${Math.ceil(timeoutMs / 1000)}`, '--content-on-error', `--max-redirect=${ask.follow === false ? 0 : 20}`];
    if (ask.method && ask.method !== 'GET') args.push(`--method=${ask.method}`);
    for (const [k, v] of ask.headers ?? []) if (v !== '') args.push(`--header=${k}: ${v}`);
    if (ask.body) {
      await writeFile(join(dir, 'upload'), ask.body);
      args.push(`--body-file=${join(dir, 'upload')}`);
    }
    args.push(origin + ask.path);
    const t0 = performance.now();
    const r = await run('wget', args, timeoutMs + 2_000);
    seen.ms = performance.now() - t0;
    // -S prints each response head on stderr, indented by two spaces.
    finalOf(seen, parseHeads(r.stderr, '  ').blocks);
    const body = await readFile(join(dir, 'body')).catch(() => Buffer.alloc(0));
    seen.bytes = body.length;
    seen.sha256 = sha256(body);
    // Exit status 8: the server answered with an error status, which is an answer like any other.
    if (r.code !== 0 && !(r.code === 8 && seen.status >= 300)) seen.error = r.stderr.split('\n').filter((l) => !l.startsWith('  ')).join(' ').trim() || `wget exited ${r.code}`;
    return seen;
  });
}

// ---- undici ----------------------------------------------------------------------------------

/** undici's Agent as the suite's Node client: response heads up to 256 KiB (Node's default is 16 KiB). */
export const undiciAgent = new Agent({ maxHeaderSize: 256 * 1024, keepAliveTimeout: 1_000, connections: 16 });

export function undici(origin: string, ask: Ask, dispatcher: Dispatcher = undiciAgent): Promise<Seen> {
  const seen = blank('undici');
  const hash = createHash('sha256');
  const until = ask.until ? Buffer.from(ask.until) : null;
  let streamed = Buffer.alloc(0);
  const t0 = performance.now();
  return new Promise<Seen>((resolve) => {
    let abort: ((err: Error) => void) | null = null;
    let settled = false;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      seen.ms = performance.now() - t0;
      seen.sha256 = until ? sha256(streamed) : hash.digest('hex');
      seen.error = error;
      resolve(seen);
    };
    const timer = setTimeout(() => abort?.(new Error(`no complete answer in ${ask.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)), ask.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const headers = (ask.headers ?? []).filter(([, v]) => v !== '').flat();
    dispatcher.dispatch(
      { origin, path: ask.path, method: (ask.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: ask.body ?? null },
      {
        onConnect: (fn: (err: Error) => void) => void (abort = fn),
        onHeaders: (status: number, raw: Buffer[], _resume: () => void, reason: string) => {
          const headers: HeaderPair[] = [];
          for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!.toString('latin1').toLowerCase(), raw[i + 1]!.toString('latin1')]);
          // undici hands 1xx heads to the handler too, before the final one.
          if (status < 200) seen.informational.push({ status, headers });
          else Object.assign(seen, { status, reason, headers });
          return true;
        },
        onData: (chunk: Buffer) => {
          seen.bytes += chunk.length;
          if (!until) {
            hash.update(chunk);
            return true;
          }
          streamed = Buffer.concat([streamed, chunk]);
          if (seen.untilMs === null && streamed.includes(until)) {
            seen.untilMs = performance.now() - t0;
            done(null);
            abort?.(new Error('read enough'));
          }
          return true;
        },
        onComplete: (trailers: Buffer[] | null) => {
          for (let i = 0; trailers && i + 1 < trailers.length; i += 2) seen.trailers.push([trailers[i]!.toString('latin1').toLowerCase(), trailers[i + 1]!.toString('latin1')]);
          done(null);
        },
        onError: (err: Error) => done(`${(err as { code?: string }).code ?? err.name}: ${err.message}`),
      } as unknown as Dispatcher.DispatchHandler,
    );
  });
}

// ---- Chromium --------------------------------------------------------------------------------

/** A navigation of headless Chromium, in a context of its own (no cookie or cache shared with another exchange). */
export async function chromium(browser: Browser, origin: string, ask: Ask): Promise<Seen> {
  const context = await browser.newContext();
  try {
    return await navigate(context, origin, ask);
  } finally {
    await context.close();
  }
}

/** The same navigation to two origins (direct and through the gate) at once, in one browser context (a context takes a few hundred ms to make). */
export async function chromiumPair(browser: Browser, origins: [string, string], ask: Ask): Promise<[Seen, Seen]> {
  const context = await browser.newContext();
  try {
    return await Promise.all([navigate(context, origins[0], ask), navigate(context, origins[1], ask)]);
  } finally {
    await context.close();
  }
}

async function navigate(context: BrowserContext, origin: string, ask: Ask): Promise<Seen> {
  const seen = blank('chromium');
  const page = await context.newPage();
  try {
    const t0 = performance.now();
    const response = await page.goto(origin + ask.path, { waitUntil: 'load', timeout: ask.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    if (!response) return { ...seen, error: 'no response' };
    const body = await response.body();
    seen.ms = performance.now() - t0;
    seen.status = response.status();
    seen.reason = response.statusText();
    seen.headers = (await response.headersArray()).map(({ name, value }) => [name.toLowerCase(), value]);
    seen.bytes = body.length;
    seen.sha256 = sha256(body);
    return seen;
  } catch (err) {
    return { ...seen, error: (err as Error).message.split('\n')[0]! };
  } finally {
    await page.close();
  }
}

export type Client = (origin: string, ask: Ask) => Promise<Seen>;

/** The clients by name (Chromium needs its browser). */
export function clients(browser: Browser | null): Partial<Record<ClientName, Client>> {
  return { undici: (o, a) => undici(o, a), curl, python, wget, ...(browser ? { chromium: (o: string, a: Ask) => chromium(browser, o, a) } : {}) };
}
