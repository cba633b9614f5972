// Case (d) of the core benchmarks: one whole exchange as the gate runs it on its benchmark's mix
// (bench/gate/mix.js, answered as bench/gate/backend.js answers), on a reused session, against a
// Guardian learned from those exchanges with block on. Run alone (`node bench/core/exchange.js`)
// it measures (d) and its stages only, for quick comparisons while working on the core.
import Benchmark from 'benchmark';
import { Section } from '../../build/js/core/index.js';
import { MIX_CYCLE } from '../gate/mix.js';

const ITEM = JSON.stringify({ id: 101, name: 'tea pot', price: 12.5, stock: 3 });
const DATE = 'Fri, 27 Nov 2026 03:30:00 GMT';
const REQ = Section.Req | Section.ReqBody;
const RESP = Section.Resp | Section.RespBody;

/** A mix request as uWS hands it to the gate: lower-case header lines, path and query apart. */
function gateRequest(m) {
  const q = m.path.indexOf('?');
  const headers = [['host', '127.0.0.1:8080'], ['connection', 'keep-alive'], ...Object.entries(m.headers)];
  if (m.body !== undefined) headers.push(['content-length', String(Buffer.byteLength(m.body))]);
  return {
    method: m.method,
    path: q < 0 ? m.path : m.path.slice(0, q),
    query: q < 0 ? undefined : m.path.slice(q + 1),
    headers,
    remote: '127.0.0.1',
    body: m.body,
  };
}

/** The bench backend's answer to a mix request. */
function backendResponse(m) {
  const body = m.method === 'POST' ? `{"ok":true,"cart":${Buffer.byteLength(m.body)}}` : ITEM;
  return {
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['content-length', String(Buffer.byteLength(body))],
      ['date', DATE],
      ['connection', 'keep-alive'],
      ['keep-alive', 'timeout=5'],
    ],
    body,
  };
}

/** The 16 exchanges of the gate benchmark's cycle, with envelope timings (ms). */
export const EXCHANGES = MIX_CYCLE.map((m, i) => ({ req: gateRequest(m), resp: backendResponse(m), ms: [1 + (i % 3), 2 + (i % 4)] }));

/**
 * Everything case (d) needs: the learned Guardian, a reused session and a pile, the exchange
 * function and its stages each timed alone. `caps` are the caps the Guardian is learned with, as
 * guard-service learns (route table included); null learns as the original (no caps, no routes).
 */
export function exchangeCases(core, caps = {}) {
  /** A new session with the whole exchange profiled. */
  const profiled = (x) => {
    const s = core.newSession();
    s.profileRequest(x.req);
    s.profileResponse(x.resp);
    s.profileEnvelop(x.ms[0], x.ms[1]);
    return s;
  };
  const learning = core.newPile();
  for (let round = 0; round < 4; round++) {
    for (const x of EXCHANGES) {
      const s = profiled(x);
      learning.add(s);
      s.dispose();
    }
  }
  const guardian = core.defaultGuardian();
  guardian.learn(learning, caps ?? undefined);
  learning.dispose();
  guardian.control = { alert: true, block: true, learn: true, force: false, auto: true };

  const session = core.newSession();
  const pile = core.newPile();
  let at = 0;
  /** The gate's calls up to the response's verdict, on the reused session. */
  function requestAndResponse(x) {
    const s = session;
    s.reset();
    s.profileRequest(x.req);
    s.decide(guardian, REQ);
    s.profileResponse(x.resp);
    s.decide(guardian, RESP);
    return s;
  }
  /** One exchange, exactly the gate's sequence of calls; returns the session's result. */
  function exchange(x) {
    const s = requestAndResponse(x);
    s.profileEnvelop(x.ms[0], x.ms[1]);
    s.decide(guardian, Section.Envelop);
    const result = s.decide(guardian, 0);
    pile.add(s);
    return result;
  }
  /** The same with Session.finish: envelope, its decision, the result and the pile in one call. */
  function exchangeFinish(x) {
    return requestAndResponse(x).finish(guardian, true, x.ms[0], x.ms[1], pile);
  }
  // Builds from before session_finish (to compare with) run (d) alone.
  const fused = typeof core.wasm.exports.session_finish === 'function';
  for (const x of EXCHANGES) {
    if (fused && exchangeFinish(x) !== 0) throw new Error(`bench (d2): the learned Guardian refuses ${x.req.method} ${x.req.path}: ${session.decisionString()}`);
    const result = exchange(x);
    if (result !== 0) throw new Error(`bench (d): the learned Guardian refuses ${x.req.method} ${x.req.path}: ${session.decisionString()}`);
  }
  pile.clear();

  // Stages, each on its own session, cycling through the mix like (d).
  const staged = EXCHANGES.map(profiled);
  const next = () => {
    const i = at;
    at = (at + 1) & 15;
    return i;
  };
  let sink = 0;
  const cases = {
    d: { id: 'd', name: '(d) a whole exchange as the gate runs it (mix of bench:gate, session reused)', budgetUs: 20, fn: () => { sink ^= exchange(EXCHANGES[next()]); } },
    d2: fused && { id: 'd2', name: '(d) the same, ending with Session.finish (one call for envelope, result and pile)', budgetUs: 20, fn: () => { sink ^= exchangeFinish(EXCHANGES[next()]); } },
  };
  const stages = [
    { id: 'd-request', name: '(d): reset + profileRequest + decide(Req|ReqBody)', fn: () => {
      const x = EXCHANGES[next()];
      session.reset();
      session.profileRequest(x.req);
      sink ^= session.decide(guardian, REQ);
    } },
    { id: 'd-response', name: '(d): profileResponse + decide(Resp|RespBody)', fn: () => {
      const x = EXCHANGES[next()];
      session.profileResponse(x.resp);
      sink ^= session.decide(guardian, RESP);
    } },
    { id: 'd-envelop', name: '(d): profileEnvelop + decide(Envelop) + decide(0)', fn: () => {
      const x = EXCHANGES[next()];
      session.profileEnvelop(x.ms[0], x.ms[1]);
      session.decide(guardian, Section.Envelop);
      sink ^= session.decide(guardian, 0);
    } },
    { id: 'd-pile', name: '(d): pile.add of a profiled exchange', fn: () => { pile.add(staged[next()]); } },
  ];
  /** decide(Req|ReqBody) alone, on sessions that hold a profiled exchange. */
  const decideRequest = () => {
    sink ^= staged[next()].decide(guardian, REQ);
  };
  /**
   * One exchange (ending with Session.finish) with `between` called after the request's decision,
   * after the response's and after the end: where the gate's event loop reads and writes sockets.
   */
  const exchangeBetween = (between) => {
    const x = EXCHANGES[next()];
    const s = session;
    s.reset();
    s.profileRequest(x.req);
    sink ^= s.decide(guardian, REQ);
    between();
    s.profileResponse(x.resp);
    sink ^= s.decide(guardian, RESP);
    between();
    sink ^= s.finish(guardian, true, x.ms[0], x.ms[1], pile);
    between();
  };
  return { cases, stages, decideRequest, exchangeBetween, guardian, sink: () => sink };
}

/**
 * A against B in the same process: `pairs` pairs of short timed slices (A B, then B A, …), so that
 * the load of a shared machine falls on both alike; returns each side's median time per call (µs)
 * and the median of the pairs' ratios B / A, with every ratio. A slice is a plain timed loop of
 * about `sliceMs` (the count calibrated on A).
 */
export function interleaved(a, b, pairs = 40, sliceMs = 20) {
  const time = (fn, n) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t) / 1e3 / n;
  };
  // warm both, then size the slices
  time(a, 2000);
  time(b, 2000);
  const n = Math.max(100, Math.round((sliceMs * 1000) / time(a, 2000)));
  const as = [];
  const bs = [];
  const ratios = [];
  for (let i = 0; i < pairs; i++) {
    let x;
    let y;
    if (i % 2) {
      y = time(b, n);
      x = time(a, n);
    } else {
      x = time(a, n);
      y = time(b, n);
    }
    as.push(x);
    bs.push(y);
    ratios.push(y / x);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios), ratios };
}

/**
 * The exchange with `work` done three times all before it (A) or once after each of its stages (B),
 * interleaved: B − A is what the core's stages pay for following `work`.
 */
function beforeOrBetween(exchangeBetween, work) {
  const noop = () => {};
  const before = () => {
    work();
    work();
    work();
    exchangeBetween(noop);
  };
  return interleaved(before, () => exchangeBetween(work), 200, 5);
}

function median(sample) {
  const s = [...sample].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // An optional argument names another build of the core to measure (e.g. an older one);
  // `--compare OTHER.wasm` measures (d) of that build against this one's, interleaved.
  const { loadCore, createCore } = await import('../../build/js/core/index.js');
  const { readFileSync } = await import('node:fs');
  if (process.argv[2] === '--syscalls') {
    // The same exchange and the same three system calls (a 64-byte write to /dev/null), the calls
    // made all before the exchange (A) or between its stages (B), as the gate's socket reads and
    // writes fall: B − A is what returning from the kernel costs the core's next stage.
    const { openSync, writeSync } = await import('node:fs');
    const fd = openSync('/dev/null', 'w');
    const bytes = Buffer.alloc(64);
    const sys = () => writeSync(fd, bytes);
    const r = beforeOrBetween(exchangeCases(loadCore()).exchangeBetween, sys);
    console.log(`(d) with three system calls before it: ${r.a.toFixed(2)} µs; with one after each stage: ${r.b.toFixed(2)} µs; +${(r.b - r.a).toFixed(2)} µs (ratio ${r.ratio.toFixed(3)}, ${r.ratios.length} slice pairs)`);
  } else if (process.argv[2] === '--thrash' || process.argv[2] === '--pages') {
    // The same exchange with other memory read three times: all before the exchange (A) or once
    // after each stage (B), as the gate's sockets, uWS, undici and Node touch their own data between
    // the core's stages. B − A is what the core pays for finding its data gone. `--thrash KB`: KB
    // kilobytes, a load per 64-byte line (the data caches: L1 32 KiB, L2 512 KiB); `--pages N`: one
    // load in each of N 4-KiB pages, each at a different line (the data TLB).
    const n = Number(process.argv[3] ?? 512);
    if (!(n > 0)) throw new Error(`${process.argv[2]} N: a positive number`);
    const byPage = process.argv[2] === '--pages';
    const words = new Int32Array(byPage ? n * 1024 + 16 : (n * 1024) >> 2);
    let sum = 0;
    const thrash = byPage
      ? () => {
          for (let p = 0; p < n; p++) sum += words[p * 1024 + ((p * 16) & 1023)];
        }
      : () => {
          for (let i = 0; i < words.length; i += 16) sum += words[i];
        };
    const r = beforeOrBetween(exchangeCases(loadCore()).exchangeBetween, thrash);
    const what = byPage ? `one load in each of ${n} pages` : `${n} KiB read`;
    console.log(`(d) with ${what} three times before it: ${r.a.toFixed(2)} µs; once after each stage: ${r.b.toFixed(2)} µs; +${(r.b - r.a).toFixed(2)} µs (ratio ${r.ratio.toFixed(3)}, ${r.ratios.length} slice pairs)${sum < 0 ? ' ' : ''}`);
  } else if (process.argv[2] === '--compare') {
    // The other build learns as its own host would: without caps (an older core has none).
    const other = exchangeCases(createCore(readFileSync(process.argv[3])), null);
    const mine = exchangeCases(loadCore());
    const r = interleaved(other.cases.d.fn, mine.cases.d.fn, 200, 5);
    const spread = [...r.ratios].sort((x, y) => x - y);
    console.log(`(d) ${process.argv[3]}: ${r.a.toFixed(2)} µs; this build: ${r.b.toFixed(2)} µs; ratio ${r.ratio.toFixed(3)} (${r.ratios.length} slice pairs, quartiles ${spread[spread.length >> 2].toFixed(3)}–${spread[(3 * spread.length) >> 2].toFixed(3)})`);
  } else {
    const { cases, stages } = exchangeCases(process.argv[2] ? createCore(readFileSync(process.argv[2])) : loadCore(), process.argv[2] ? null : {});
    for (const c of [cases.d, cases.d2, ...stages].filter(Boolean)) {
      const b = new Benchmark(c.name, c.fn, { maxTime: 1.5, minSamples: 10 });
      b.run();
      console.log(`${c.name}: ${(median(b.stats.sample) * 1e6).toFixed(2)} µs (±${b.stats.rme.toFixed(1)}%)`);
    }
  }
}
