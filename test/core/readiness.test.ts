// Readiness of learned rules (docs/tokens.md, "Readiness"): samples learned since the rules last
// widened, ready (latched) after READY_STABLE_SAMPLES of them, and `auto` blocking only once ready;
// Guardians that do not track it (the original's, the plain learn) block as before.
import { describe, expect, test } from 'vitest';
import { READY_STABLE_SAMPLES, type Guardian, type HttpRequestFields } from '../../core/index.js';
import { core } from './support.js';

const BLOCKING = { alert: true, block: true, learn: true, force: false, auto: true };

function get(path: string, q = ''): HttpRequestFields {
  return { method: 'GET', path, query: q, headers: [['Accept', 'text/html']], remote: '10.0.0.5' };
}

/** Learn `n` copies of the request through the wire, as one pile; caps null = the plain learn. */
function learnPile(g: Guardian, req: HttpRequestFields, n: number, caps: object | null = {}): void {
  const c = core();
  const pile = c.newPile();
  for (let i = 0; i < n; i++) {
    const s = c.newSession();
    s.profileRequest(req);
    pile.add(s);
    s.dispose();
  }
  const wire = c.parsePile(pile.toWire());
  g.learn(wire, caps ?? undefined);
  wire.dispose();
  pile.dispose();
}

describe('readiness', () => {
  test('counts samples that widen nothing, becomes ready after enough of them, and auto blocks only then', () => {
    const g = core().defaultGuardian();
    g.control = BLOCKING;
    learnPile(g, get('/a', 'x=1'), 250);
    expect(g.readiness).toEqual({ ready: false, stable: 0, readySamples: READY_STABLE_SAMPLES });
    expect(g.blocks).toBe(false);
    for (let i = 1; i <= 3; i++) {
      learnPile(g, get('/a', 'x=2'), 250);
      expect(g.readiness?.stable).toBe(250 * i);
      expect(g.blocks).toBe(false);
    }
    // a pile that widens a rule (a longer value) starts the count again
    learnPile(g, get('/a', 'x=12345'), 250);
    expect(g.readiness?.stable).toBe(0);
    for (let i = 0; i < 4; i++) learnPile(g, get('/a', 'x=3'), 250);
    expect(g.readiness).toEqual({ ready: true, stable: 1000, readySamples: READY_STABLE_SAMPLES });
    expect(g.blocks).toBe(true);
    // once ready it stays ready: a service that blocks keeps blocking when a rule widens
    learnPile(g, get('/b', 'y=abcdef'), 10);
    expect(g.readiness).toEqual({ ready: true, stable: 0, readySamples: READY_STABLE_SAMPLES });
    expect(g.blocks).toBe(true);
    const spec = JSON.parse(g.toWire());
    expect(spec.learned.readiness).toEqual({ ready: true, stable: 0, widened: 3 });
    g.dispose();
  });

  test('readiness survives the wire; without auto, block applies at once', () => {
    const g = core().defaultGuardian();
    learnPile(g, get('/a'), 100);
    const copy = core().parseGuardian(JSON.parse(g.toWire()));
    expect(copy.readiness).toEqual({ ready: false, stable: 0, readySamples: READY_STABLE_SAMPLES });
    copy.control = BLOCKING;
    expect(copy.blocks).toBe(false);
    copy.control = { ...BLOCKING, auto: false };
    expect(copy.blocks).toBe(true);
    for (const x of [g, copy]) x.dispose();
  });

  test("the original's Guardians and the plain learn do not track readiness, and block as before", () => {
    const plain = core().defaultGuardian();
    learnPile(plain, get('/a'), 10, null);
    plain.control = BLOCKING;
    expect(plain.readiness).toBeNull();
    expect(plain.blocks).toBe(true);
    const spec = JSON.parse(plain.toWire());
    expect(spec.learned.readiness).toBeUndefined();
    const original = core().parseGuardian({ ...spec, control: BLOCKING });
    expect(original.readiness).toBeNull();
    expect(original.blocks).toBe(true);
    for (const x of [plain, original]) x.dispose();
  });
});
