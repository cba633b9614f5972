// Debian's wrk, the native load generator of the gate benchmarks: installed with apt when missing
// (as root), driven with a generated Lua script that replays a cycle of requests on every
// connection, and read back as one JSON line that the script's done() prints.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** The path of wrk, installing Debian's package first when it is missing and we are root. */
export function ensureWrk() {
  const found = which('wrk');
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('wrk is not installed and this is not root: run `apt-get install -y wrk`');
  console.log('installing wrk (apt-get install -y wrk)…');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'wrk'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = which('wrk');
  if (!installed) throw new Error('apt-get installed wrk, but it is not on PATH');
  return installed;
}

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const lua = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;

/**
 * The Lua script: each connection replays `cycle` (objects {method, path, headers, body}) from its
 * own offset; done() prints the totals and latency percentiles (µs) as JSON on the last line.
 */
export function wrkScript(cycle) {
  const reqs = cycle.map((r) => {
    const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `[${lua(k)}]=${lua(v)}`).join(',');
    return `wrk.format(${lua(r.method ?? 'GET')}, ${lua(r.path)}, {${headers}}, ${r.body === undefined ? 'nil' : lua(r.body)})`;
  });
  return `
local cycle = {}
local n = 0
local counter = 0
init = function(args)
  ${reqs.map((r, i) => `cycle[${i + 1}] = ${r}`).join('\n  ')}
  n = #cycle
end
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local i = 0
request = function()
  i = i + 1
  return cycle[(i % n) + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"bytes":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;
}

/**
 * One wrk run (1 thread by default) against `url` for `seconds`; resolves with its figures:
 * requests completed, req/s, non-2xx/3xx answers, socket errors, latency percentiles in ms.
 * `cpu` pins wrk to that core (taskset) when given.
 */
export function runWrk({ url, connections, seconds, cycle, threads = 1, cpu = null, timeoutSeconds = 30 }) {
  const wrk = ensureWrk();
  const dir = mkdtempSync(join(os.tmpdir(), 'guard-wrk-'));
  const script = join(dir, 'cycle.lua');
  writeFileSync(script, wrkScript(cycle));
  const args = ['-t', String(threads), '-c', String(Math.max(connections, threads)), '-d', `${seconds}s`, '--timeout', `${timeoutSeconds}s`, '-s', script, url];
  const [cmd, argv] = cpu === null ? [wrk, args] : ['taskset', ['-c', String(cpu), wrk, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const line = out.trim().split('\n').pop();
      const r = JSON.parse(line);
      const secs = r.durationUs / 1e6;
      resolve({
        requests: r.requests,
        rps: r.requests / secs,
        seconds: secs,
        bytes: r.bytes,
        non2xx: r.status,
        errors: r.connect + r.read + r.write,
        timeouts: r.timeout,
        p50: r.p50 / 1000,
        p90: r.p90 / 1000,
        p99: r.p99 / 1000,
        max: r.max / 1000,
        mean: r.mean / 1000,
      });
    });
  });
}
