// The load generator of the gate benchmark, run as its own process so it stays off the measured
// event loops: autocannon replays the mix; latency is kept per response at full resolution
// (autocannon's histogram rounds to whole milliseconds). Prints one JSON line.
import autocannon from 'autocannon';
import { MIX_CYCLE } from './mix.js';

const [url, connections, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const times = [];
const instance = autocannon({
  url,
  connections,
  pipelining: 1,
  duration: seconds,
  requests: MIX_CYCLE.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body })),
});
instance.on('response', (_client, status, _bytes, ms) => times.push(ms));
instance.on('done', (r) => {
  const s = Float64Array.from(times).sort();
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  process.stdout.write(
    `${JSON.stringify({ rps: r.requests.total / seconds, total: r.requests.total, p50: q(0.5), p99: q(0.99), non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, responses: s.length, ...(process.env.BENCH_LOAD_TIMES === '1' ? { times: Array.from(s) } : {}) })}\n`,
  );
});
