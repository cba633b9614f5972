// The core's memory as its hosts live with it: the runtime collects only when the host asks
// (core/wasm.ts, docs/abi.md "Memory"), so what a long-running gate, learner or CLI does must leave
// the wasm memory bounded, and a collection between any two calls must change no answer.
import { describe, expect, it } from 'vitest';
import { type Core, type HttpRequestFields, loadCore, Section } from '../../core/index.js';

/** An instance of its own, so that no other suite's objects are in its heap. */
const newCore = (): Core => loadCore().fresh();

const HEADERS: [string, string][] = [['Host', 'shop'], ['Accept', 'application/json'], ['User-Agent', 'shop-client/1.0']];

function jsonRequest(i: number, fields: number): HttpRequestFields {
  // Distinct keys and values each time: the body takes the core's slow path and leaves garbage.
  const doc: Record<string, unknown> = {};
  for (let k = 0; k < fields; k++) doc[`field_${i}_${k}`] = { note: `value ${i} ${k} ${'x'.repeat(k % 40)}`, n: k * 1.25 + i };
  return { method: 'POST', path: `/api/items/${i}`, query: `id=${i}&name=n${i}`, headers: [...HEADERS, ['Content-Type', 'application/json']], body: JSON.stringify(doc), remote: '10.0.0.7' };
}

function getRequest(i: number): HttpRequestFields {
  return { method: 'GET', path: '/api/items', query: `id=${i % 50}&name=alice`, headers: HEADERS, remote: '10.0.0.7' };
}

/** Learn, serialise, reload and decide as guard-service and the gate do, with bodies: garbage. */
function churn(core: Core, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    const pile = core.newPile();
    for (let i = 0; i < 40; i++) {
      const s = core.newSession();
      s.profileRequest(i % 4 === 0 ? jsonRequest(r * 40 + i, 60) : getRequest(i));
      pile.add(s);
      s.dispose();
    }
    const reloaded = core.parsePile(pile.toWire());
    const guardian = core.defaultGuardian();
    guardian.learn(reloaded);
    const copy = core.parseGuardian(guardian.toWire());
    const s = core.newSession();
    s.profileRequest(jsonRequest(r, 20));
    s.decide(copy, 0);
    s.decisionString();
    for (const h of [pile, reloaded, guardian, copy, s]) h.dispose();
  }
}

describe('the core heap', () => {
  it('stays bounded under learning, reloading and body profiling, and gives back all of it', () => {
    const core = newCore();
    const memory = () => core.wasm.exports.memory.buffer.byteLength;
    churn(core, 20);
    core.wasm.collect();
    const settledHeap = core.wasm.heapBytes();
    const settledMemory = memory();
    const collectionsBefore = core.wasm.collections;

    churn(core, 150);

    // Collected on its own, often, and the memory did not grow with the work done.
    expect(core.wasm.collections - collectionsBefore).toBeGreaterThan(10);
    expect(memory()).toBeLessThanOrEqual(Math.max(2 * settledMemory, settledMemory + (8 << 20)));
    // Everything the churn allocated was garbage: after a collection the heap is back where it was.
    core.wasm.collect();
    expect(core.wasm.heapBytes()).toBeLessThan(settledHeap + (64 << 10));
    expect(core.wasm.exports.live_handles()).toBe(0);
  });

  it('a collection between every two calls changes no decision, wire or learned rule', () => {
    const run = (collectEveryCall: boolean) => {
      const core = newCore();
      const between = <T>(v: T): T => {
        if (collectEveryCall) core.wasm.collect();
        return v;
      };
      const pile = between(core.newPile());
      for (let i = 0; i < 60; i++) {
        const s = between(core.newSession());
        between(s.profileRequest(i % 3 === 0 ? jsonRequest(i % 6, 8) : getRequest(i)));
        between(pile.add(s));
        between(s.dispose());
      }
      const guardian = between(core.defaultGuardian());
      between(guardian.learn(pile));
      guardian.control = { alert: true, block: true, learn: false, force: false, auto: true };
      const decisions: string[] = [];
      const attacks: HttpRequestFields[] = [
        getRequest(3),
        { ...getRequest(4), query: "id=1'%20OR%201=1--&name=alice" },
        { ...jsonRequest(0, 8), body: '{"field_0_0":{"note":"<script>alert(1)</script>","n":1}}' },
        jsonRequest(3, 8),
        { ...getRequest(5), headers: [...HEADERS, ['X-Unknown', 'DELETE']] },
      ];
      for (const req of attacks) {
        const s = between(core.newSession());
        between(s.profileRequest(req));
        between(s.decide(guardian, Section.Req | Section.ReqBody));
        decisions.push(`${between(s.decide(guardian, 0))} ${between(s.decisionString())}`);
        between(s.dispose());
      }
      const out = { decisions, guardian: between(guardian.toWire()), pile: between(pile.toWire()) };
      guardian.dispose();
      pile.dispose();
      return { out, collections: core.wasm.collections };
    };
    const plain = run(false);
    const collected = run(true);
    expect(collected.collections).toBeGreaterThan(200);
    expect(collected.out).toEqual(plain.out);
    // The learned Guardian refuses something: the comparison is not of two empty answers.
    expect(plain.out.decisions.filter((d) => !d.startsWith('0 ')).length).toBeGreaterThan(0);
  });
});
