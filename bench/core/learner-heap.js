// The core's collector under guard-service's load: N services held in one core (each a Guardian
// learned from a 1000-session pile of bench:core's mix, and that pile, kept as the learner keeps
// what it learned since its last write), then syncs as the learner runs them — parse a pile's wire
// JSON, merge it into the service's pile and into what is kept, learn, clear, answer with the
// Guardian's wire — for a fixed time. Prints syncs/s, the syncs' latency (p50, p99, longest: a collection lands on the call
// after which it runs), the collections and the wasm memory; and, with every pile still held, how
// long one whole collection takes (docs/operations.md, Pauses).
//
//   node bench/core/learner-heap.js [SERVICES=200] [--seconds S] [--compare OTHER.wasm]
//
// --compare runs the same on another build of the core (one built with asc's incremental runtime,
// say) after this one, in the same process. Run after `npm run build`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCore, loadCore } from '../../build/js/core/index.js';
import { mixedPile } from './traffic.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string' }, compare: { type: 'string' } } });
const SERVICES = Number(positionals[0] ?? 200);
const SECONDS = Number(values.seconds ?? 15);
if (!(SERVICES > 0) || !(SECONDS > 0)) throw new Error('usage: node bench/core/learner-heap.js [SERVICES] [--seconds S] [--compare OTHER.wasm]');

/** @param {import('../../build/js/core/index.js').Core} core */
function held(core) {
  const services = [];
  const wires = [];
  for (let i = 0; i < SERVICES; i++) {
    const pile = mixedPile(core, 1000 + i, 1000);
    const guardian = core.defaultGuardian();
    guardian.learn(pile);
    if (wires.length < 8) wires.push(pile.toWire());
    services.push({ guardian, pile: core.newPile(), since: pile });
  }
  return { services, wires };
}

/** @param {string} name @param {import('../../build/js/core/index.js').Core} core */
function measure(name, core) {
  const w = core.wasm;
  const { services, wires } = held(core);
  // One whole collection with every service's pile still held (0 ms on a build that collects by
  // itself: it has nothing to collect on demand).
  let t = performance.now();
  w.collect();
  const pause = performance.now() - t;
  const live = w.heapBytes();
  const latency = [];
  const collectionsBefore = w.collections;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const svc = services[n % services.length];
    t = performance.now();
    const pile = core.parsePile(wires[n % wires.length]);
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
  console.log(`${name}: ${SERVICES} services (live ${live ? mib(live) : 'not counted'}; one collection ${pause.toFixed(1)} ms)`);
  console.log(`  syncs ${(n / seconds).toFixed(0)}/s over ${SECONDS} s: p50 ${latency[latency.length >> 1].toFixed(2)} ms, p99 ${latency[Math.floor(latency.length * 0.99)].toFixed(2)} ms, longest ${latency.at(-1).toFixed(1)} ms; collections ${w.collections - collectionsBefore}; wasm memory ${mib(w.exports.memory.buffer.byteLength)}`);
}

measure('this build', loadCore().fresh());
if (values.compare) measure(values.compare, createCore(readFileSync(values.compare)));
