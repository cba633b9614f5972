// Progress lines: drawn on a terminal only, at most every 250 ms, and erased before other output.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../cli/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => writes.push(t) };
}

describe('Progress', () => {
  it('writes nothing when stderr is not a terminal', () => {
    const s = sink(false);
    let t = 0;
    const p = new Progress(s, 'learning', () => t);
    p.file('a.jsonl');
    for (let i = 0; i < 100_000; i++) {
      t += 1;
      p.tick();
    }
    p.clear();
    expect(s.writes).toEqual([]);
    expect(p.done).toBe(100_000);
  });

  it('redraws one line with records and rate, throttled, and clears it', () => {
    const s = sink(true);
    let t = 1000;
    const p = new Progress(s, 'checking', () => t);
    p.file('traffic.jsonl');
    for (let i = 0; i < 10_000; i++) p.tick(); // no time passed: nothing drawn
    expect(s.writes).toEqual([]);
    t += 2000;
    for (let i = 0; i < 10_240; i++) p.tick();
    expect(s.writes).toHaveLength(1);
    expect(s.writes[0]).toBe('\r\x1b[Kchecking traffic.jsonl: 10,240 records (5,120/s)');
    for (let i = 0; i < 10_240; i++) p.tick(); // within 250 ms of the last draw
    expect(s.writes).toHaveLength(1);
    p.clear();
    expect(s.writes.at(-1)).toBe('\r\x1b[K');
    p.clear();
    expect(s.writes).toHaveLength(2);
  });
});
