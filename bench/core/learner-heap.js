// The core's collector under guard-service's load: N services held in one core (each a Guardian
// learned from a 1000-session pile of bench:core's mix, and that pile, kept as the learner keeps
// what it learned since its last write), then syncs as the learner runs them — parse a pile's wire
// JSON, merge it into the service's pile and into what is kept, learn, clear, answer with the
// Guardian's wire — for a fixed time. Prints syncs/s, the syncs' latency (p50, p99, longest: a collection lands on the call
// after which it runs), the collections and the wasm memory; and, with every pile still held, how
// long one whole collection takes (docs/operations.md, Pauses). With --cores K the services are
// spread over K instances of the core, as guard-service does (GUARD_SERVICE_CORES): each instance
// holds a K-th of them, and so collects in a K-th of the time.
//
//   node bench/core/learner-heap.js [SERVICES=200] [--seconds S] [--cores K] [--compare OTHER.wasm]
//
// --compare runs the same on another build of the core (one built with asc's incremental runtime,
// say) after this one, in the same process. Run after `npm run build`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCore, loadCore } from '../../build/js/core/index.js';
import { mixedPile } from './traffic.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string' }, compare: { type: 'string' }, cores: { type: 'string' } } });
const SERVICES = Number(positionals[0] ?? 200);
const SECONDS = Number(values.seconds ?? 15);
const CORES = Number(values.cores ?? 1);
if (!(SERVICES > 0) || !(SECONDS > 0) || !Number.isInteger(CORES) || CORES < 1) {
  throw new Error('usage: node bench/core/learner-heap.js [SERVICES] [--seconds S] [--cores K] [--compare OTHER.wasm]');
}

/** @param {import('../../build/js/core/index.js').Core[]} cores service i is held by cores[i % K] */
function held(cores) {
  const services = [];
  const wires = [];
  for (let i = 0; i < SERVICES; i++) {
    const core = cores[i % cores.length];
    const pile = mixedPile(core, 1000 + i, 1000);
    const guardian = core.defaultGuardian();
    guardian.learn(pile);
    if (wires.length < 8) wires.push(pile.toWire());
    services.push({ core, guardian, pile: core.newPile(), since: pile });
  }
  return { services, wires };
}

/** @param {string} name @param {import('../../build/js/core/index.js').Core} first */
function measure(name, first) {
  const cores = [first, ...Array.from({ length: CORES - 1 }, () => first.fresh())];
  const { services, wires } = held(cores);
  // One whole collection of each instance with every service's pile still held (0 ms on a build
  // that collects by itself: it has nothing to collect on demand); the longest is the pause.
  let pause = 0;
  let live = 0;
  let t;
  for (const c of cores) {
    t = performance.now();
    c.wasm.collect();
    pause = Math.max(pause, performance.now() - t);
    live += c.wasm.heapBytes();
  }
  const collections = () => cores.reduce((n, c) => n + c.wasm.collections, 0);
  const latency = [];
  const collectionsBefore = collections();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const svc = services[n % services.length];
    t = performance.now();
    const pile = svc.core.parsePile(wires[n % wires.length]);
    svc.pile.merge(pile);
    svc.since.merge(pile);
    pile.dispose();
    svc.guardian.learn(svc.pile);
    svc.pile.clear();
    svc.guardian.toWire();
    latency.push(performance.now() - t);
    n++;
  }
  const seconds = (performance.now() - t0) / 1000;
  latency.sort((a, b) => a - b);
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const memory = cores.reduce((b, c) => b + c.wasm.exports.memory.buffer.byteLength, 0);
  console.log(`${name}: ${SERVICES} services in ${CORES} instance${CORES === 1 ? '' : 's'} (live ${live ? mib(live) : 'not counted'}; the longest collection ${pause.toFixed(1)} ms)`);
  console.log(`  syncs ${(n / seconds).toFixed(0)}/s over ${SECONDS} s: p50 ${latency[latency.length >> 1].toFixed(2)} ms, p99 ${latency[Math.floor(latency.length * 0.99)].toFixed(2)} ms, longest ${latency.at(-1).toFixed(1)} ms; collections ${collections() - collectionsBefore}; wasm memory ${mib(memory)}`);
}

measure('this build', loadCore().fresh());
if (values.compare) measure(values.compare, createCore(readFileSync(values.compare)));
