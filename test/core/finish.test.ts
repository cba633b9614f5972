// Session.finish: the end of an exchange in one call must do exactly what the gate's sequence of
// calls does (profileEnvelop, decide(Envelop), decide(0), and pile.add when the session is learned).
import { describe, expect, test } from 'vitest';
import { Section, type Control, type Guardian, type HttpRequestFields, type HttpResponseFields, type Pile } from '../../core/index.js';
import { core } from './support.js';

const GET: HttpRequestFields = { method: 'GET', path: '/shop/items/101', query: 'lang=en', headers: [['host', 'shop'], ['accept', 'application/json']], remote: '127.0.0.1' };
const OK: HttpResponseFields = { status: 200, headers: [['content-type', 'application/json'], ['content-length', '12']], body: '{"id":101}' };
const ODD: HttpRequestFields = { ...GET, query: "lang=en'%20OR%201=1", headers: [...GET.headers, ['x-unknown', '!!']] };
const CONTROLS: Control[] = [
  { alert: true, block: true, learn: true, force: false, auto: true },
  { alert: true, block: false, learn: true, force: true, auto: true },
  { alert: true, block: false, learn: false, force: false, auto: true },
  { alert: false, block: false, learn: true, force: false, auto: true },
];

function learnedGuardian(control: Control): Guardian {
  const c = core();
  const pile = c.newPile();
  const s = c.newSession();
  s.profileRequest(GET);
  s.profileResponse(OK);
  s.profileEnvelop(3000, 5000);
  pile.add(s);
  s.dispose();
  const g = c.defaultGuardian();
  g.learn(pile);
  pile.dispose();
  g.control = control;
  return g;
}

/** The gate's sequence of calls, or finish; returns the result, the decision and the pile's wire. */
function run(g: Guardian, req: HttpRequestFields, complete: boolean, ms: [number, number], fused: boolean, learnInto: boolean) {
  const c = core();
  const pile: Pile = c.newPile();
  const s = c.newSession();
  s.profileRequest(req);
  s.decide(g, Section.Req | Section.ReqBody);
  s.profileResponse(OK);
  s.decide(g, Section.Resp | Section.RespBody);
  let result: number;
  if (fused) {
    result = s.finish(g, complete, ms[0], ms[1], learnInto ? pile : null);
  } else {
    if (complete) {
      s.profileEnvelop(ms[0], ms[1]);
      s.decide(g, Section.Envelop);
    }
    result = s.decide(g, 0);
    const control = g.control;
    if (learnInto && complete && control.learn && (result === 0 || control.force)) pile.add(s);
  }
  const out = { result, decision: s.decisionString(), pile: pile.toWire(), count: pile.count };
  s.dispose();
  pile.dispose();
  return out;
}

describe('Session.finish', () => {
  test('does what profileEnvelop, decide(Envelop), decide(0) and a learning pile.add do', () => {
    let piled = 0;
    let refused = 0;
    for (const control of CONTROLS) {
      const g = learnedGuardian(control);
      for (const req of [GET, ODD]) {
        for (const complete of [true, false]) {
          for (const ms of [[3000, 5000], [900_000, 1_000_000], [-1, Number.NaN]] as [number, number][]) {
            for (const learnInto of [true, false]) {
              const expected = run(g, req, complete, ms, false, learnInto);
              expect(run(g, req, complete, ms, true, learnInto)).toEqual(expected);
              piled += expected.count;
              if (expected.result > 0) refused++;
            }
          }
        }
      }
      g.dispose();
    }
    // the cases cover both outcomes of each branch
    expect(piled).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  test('an envelope out of its learned range is decided and refused', () => {
    const g = learnedGuardian(CONTROLS[0]);
    const slow = run(g, GET, true, [900_000, 1_000_000], true, true);
    expect(slow.result).toBeGreaterThan(0);
    expect(slow.decision).toContain('Envelop');
    expect(slow.count).toBe(0);
    const fine = run(g, GET, true, [3000, 5000], true, true);
    expect(fine).toMatchObject({ result: 0, decision: '', count: 1 });
    g.dispose();
  });
});
