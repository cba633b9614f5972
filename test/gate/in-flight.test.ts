import { describe, expect, it } from 'vitest';
import { InFlight } from '../../gate/in-flight.js';

const item = (name: string) => ({ name, inFlightSlot: -1 });

describe('InFlight', () => {
  it('adds once, removes by moving the last item into the freed slot', () => {
    const list = new InFlight<ReturnType<typeof item>>();
    const [a, b, c] = [item('a'), item('b'), item('c')];
    list.add(a);
    list.add(b);
    list.add(c);
    list.add(b);
    expect(list.size).toBe(3);
    expect(list.delete(a)).toBe(true);
    expect(a.inFlightSlot).toBe(-1);
    expect(c.inFlightSlot).toBe(0);
    expect(list.snapshot().map((x) => x.name)).toEqual(['c', 'b']);
    expect(list.delete(a)).toBe(false);
    expect(list.size).toBe(2);
  });

  it('refuses an item of another list and keeps its own intact', () => {
    const one = new InFlight<ReturnType<typeof item>>();
    const other = new InFlight<ReturnType<typeof item>>();
    const [a, b] = [item('a'), item('b')];
    one.add(a);
    other.add(b);
    // b's slot (0) is a's slot in `one`: not the same item there, so nothing is removed.
    expect(one.delete(b)).toBe(false);
    expect(one.snapshot()).toEqual([a]);
  });

  it('leaves no removed item referenced, so nothing dead is kept alive', () => {
    const list = new InFlight<ReturnType<typeof item>>();
    const items = Array.from({ length: 100 }, (_, i) => item(String(i)));
    for (const x of items) list.add(x);
    for (const x of items.filter((_, i) => i % 3 !== 0)) list.delete(x);
    const kept = items.filter((_, i) => i % 3 === 0);
    expect(new Set(list.snapshot())).toEqual(new Set(kept));
    // The slots past the live count are cleared (the array is private: read it as the runtime sees it).
    const slots = (list as unknown as { items: unknown[] }).items;
    expect(slots.slice(list.size).every((x) => x === undefined)).toBe(true);
    kept.forEach((x) => expect(slots[x.inFlightSlot]).toBe(x));
  });

  it('is iterated on a snapshot: items removed while iterating are all visited', () => {
    const list = new InFlight<ReturnType<typeof item>>();
    const items = Array.from({ length: 10 }, (_, i) => item(String(i)));
    for (const x of items) list.add(x);
    const seen: string[] = [];
    for (const x of list.snapshot()) {
      seen.push(x.name);
      list.delete(x);
    }
    expect(seen.sort()).toEqual(items.map((x) => x.name).sort());
    expect(list.size).toBe(0);
  });
});
