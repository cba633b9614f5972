// guard-ui's logic without a browser: human units against the core's own encodings, explanations
// of real decisions, readiness, the data-driven rule walk, and pasted requests read as `guard check`
// reads them.
import { describe, expect, it } from 'vitest';
import { loadCore, Section } from '../../core/index.js';
import { decide } from '../../cli/check.js';
import { toTrafficRecord } from '../../cli/traffic-record.js';
import { explainDecision } from '../../ui/src/explain.js';
import { modeOf, readiness } from '../../ui/src/mode.js';
import { fieldsOf, getAt, setAt, deleteAt, summarize, summarizeValue } from '../../ui/src/rules-model.js';
import { readPasted, tryRecords } from '../../ui/src/try-request.js';
import { cidrFromText, cidrText, describeByteRanges, describeLimit, flagChars, limitCode, limitInterval, unicodeBlocks } from '../../ui/src/units.js';

const core = loadCore();
const letters = { one: 'letter', many: 'letters' };

/** A Guardian learned from query ids of digits only, languages of two letters, two headers. */
function learnedGuardian() {
  const pile = core.newPile();
  for (let i = 0; i < 40; i++) {
    const s = core.newSession();
    s.profileRequest({ method: 'GET', path: `/shop/items/${100 + i}`, query: `id=${i}&lang=${i % 2 ? 'en' : 'de'}`, headers: [['Accept', 'application/json'], ['User-Agent', 'Mozilla/5.0']] });
    pile.add(s);
    s.dispose();
  }
  const g = core.defaultGuardian();
  g.learn(pile);
  pile.dispose();
  return g;
}

describe('human units', () => {
  it('Limit codes: the interval of every code holds exactly the counts the core encodes to it', () => {
    const counts = [...Array.from({ length: 3000 }, (_, i) => i), 65535, 65536, 1_000_000, 1_015_791, 1_015_792, 5_000_000];
    for (const n of counts) {
      const code = core.introspect({ op: 'profile', type: 'Limit', input: n }) as number;
      expect(limitCode(n), `count ${n}`).toBe(code);
      const [lo, hi] = limitInterval(code);
      expect(n >= lo && n <= hi, `count ${n} in code ${code} = [${lo}, ${hi}]`).toBe(true);
    }
    expect(describeLimit(24, letters)).toBe('up to 33 letters');
    expect(describeLimit(0, letters)).toBe('no letters');
    expect(describeLimit(1, letters)).toBe('up to 1 letter');
    expect(describeLimit(255, letters)).toBe('any number of letters');
  });

  it('flags as characters (bit 31 included), Unicode words as scripts, body sizes in bytes', () => {
    expect(flagChars(1073750272).map((f) => f.chars)).toEqual(['*', '/', '/* */ --']); // Accept: */*
    expect(flagChars(0x80000000).map((f) => f.name)).toEqual(['hex prefix']);
    expect(unicodeBlocks([0x400]).map((b) => b.name)).toEqual(['Armenian / Hebrew']); // U+0580–U+05FF
    expect(unicodeBlocks([0, 0, 0, 0, 1 << 27])[0].name).toBe('CJK Ideographs'); // U+4E16
    expect(describeByteRanges([{ min: 0, max: 0 }])).toBe('no body (0 B or unknown)');
    expect(describeByteRanges([{ min: 2, max: 11 }])).toBe('2 B – 2 KiB');
  });

  it('CIDRs: the wire form shown as a network, and typed text written so that the core decides it', () => {
    expect(cidrText({ IP: '111.7.1.126', Mask: '////AA==' })).toBe('111.7.1.0/24');
    expect(cidrText({ IP: '111.7.1.126', Mask: '////////////////////AA==' })).toBe('111.7.1.0/24');
    expect(cidrText({ IP: '2001:db8::1', Mask: '/////////////////////w==' })).toBe('2001:db8::1/128');
    expect(cidrFromText('300.1.1.1/8')).toMatch(/not an IPv4 address/);
    expect(cidrFromText('10.0.0.0/33')).toMatch(/prefix/);
    const cidr = cidrFromText('203.0.113.0/24');
    expect(typeof cidr).toBe('object');
    const g = core.parseGuardian({ configured: { active: true, req: { cip: [cidr], method: { set: ['GET'] }, proto: { set: ['HTTP/1.1'] } } }, samples: 0, control: { alert: true, block: false, learn: false, force: false, auto: false } });
    const result = (remote: string): string => {
      const s = core.newSession();
      s.profileRequest({ method: 'GET', path: '/', headers: [], remote });
      s.decide(g, Section.Req);
      const d = s.decisionString();
      s.dispose();
      return d;
    };
    expect(result('203.0.113.77')).not.toMatch(/ClientIp/);
    expect(result('198.51.100.7')).toMatch(/ClientIp:\[IP 198\.51\.100\.7 not allowed/);
    g.dispose();
  });
});

describe('explanations of real decisions', () => {
  it('names the field, what it had and what the rule in force allows', () => {
    const g = learnedGuardian();
    const learned = JSON.parse(g.toWire()).learned;
    const s = core.newSession();
    s.profileRequest({ method: 'DELETE', path: '/shop/items/1', query: "id=abc&lang=en'&zz=1", headers: [['Accept', '*/*'], ['User-Agent', 'Mozilla/5.0']] });
    s.decide(g, Section.All);
    const findings = explainDecision(s.decisionTree(), learned);
    s.dispose();
    g.dispose();
    const sentences = findings.map((f) => f.sentence);
    expect(sentences).toContain('Query parameter `id` had 3 letters; it never had any letters.');
    expect(sentences).toContain('Query parameter `zz` was never seen in the request.');
    expect(sentences).toContain("Query parameter `lang` contained `'` — a character never seen in it.");
    expect(sentences).toContain('The method `DELETE` was never seen.');
    expect(sentences.some((x) => /^Header `Accept` contained `\*` `\/\* \*\/ --`/.test(x))).toBe(true);
    const id = findings.find((f) => f.where === 'query parameter `id`')!;
    expect(id.rulePath).toEqual(['req', 'qs', 'kv', 'vals', 'id', 'letters']);
    expect(id.rule).toBe('no letters');
  });

  it('keeps a reason it does not know, with where it happened', () => {
    const f = explainDecision({ children: { Req: { children: { Routes: { children: {}, reasons: ['Route /x is not known'], result: 1 } }, reasons: null, result: 1 } }, reasons: null, result: 1 });
    expect(f).toHaveLength(1);
    expect(f[0].sentence).toBe('The request › Routes: Route /x is not known.');
    expect(f[0].rulePath).toBeNull();
  });
});

describe('mode and readiness in words', () => {
  const control = { alert: true, block: false, learn: true, force: false, auto: true };
  const facts = { control, samples: 5000, hasLearned: true, hasConfigured: false, alertsLastDay: 0, observedMs: 25 * 3600_000 };
  it('says what the flags do together', () => {
    expect(modeOf(control)).toBe('alerting only');
    expect(modeOf({ ...control, block: true })).toBe('blocking');
    expect(modeOf({ ...control, alert: false })).toBe('learning only');
    expect(readiness(facts)).toEqual({ level: 'ready', text: 'Ready to block: no alert in 24 h.' });
    expect(readiness({ ...facts, alertsLastDay: 7 }).text).toBe('Alerting only: 7 alerts in 24 h would have been blocks. Review them before blocking.');
    expect(readiness({ ...facts, samples: 10 }).level).toBe('learning');
    expect(readiness({ ...facts, control: { ...control, force: true } }).level).toBe('not-ready');
    expect(readiness({ ...facts, control: { ...control, auto: false } }).level).toBe('nothing');
    expect(readiness({ ...facts, observedMs: 600_000, alertsLastDay: 2 }).text).toMatch(/in the 10 min guard-service has been running/);
  });

  it('says when learned rules still widen, and that auto does not block with them yet', () => {
    const unsettled = { ...facts, learnedReadiness: { ready: false, stable: 300 } };
    expect(readiness(unsettled)).toEqual({ level: 'learning', text: 'Keep learning: the learned rules still widen (300 samples of 1,000 since they last did).' });
    expect(readiness({ ...unsettled, control: { ...control, block: true } }).text).toBe('Block is on, but the learned rules still widen (300 samples of 1,000 since they last did): refusals are alerts until they are ready.');
    expect(readiness({ ...facts, learnedReadiness: { ready: true, stable: 0 } }).level).toBe('ready');
    // configured rules in force: the learned rules' readiness does not matter
    expect(readiness({ ...unsettled, hasConfigured: true, control: { ...control, auto: false } }).level).toBe('ready');
  });
});

describe('the rule walk is driven by the data', () => {
  it('shows fields it does not know instead of dropping or crashing on them', () => {
    const req = { method: { set: ['GET'] }, routes: [{ template: '/items/{id}' }], url: 7 };
    const fields = fieldsOf('req', req);
    const routes = fields.find((f) => f.key === 'routes')!;
    expect(routes.known).toBe(false);
    expect(summarize(routes, req.routes)).toBe('[{"template":"/items/{id}"}]');
    expect(summarize({ kind: 'set' }, req.method)).toBe('GET');
    expect(summarize({ kind: 'limit', noun: letters }, 'not a code')).toBe('"not a code"');
    expect(summarizeValue({ digits: 1, letters: 4, sequences: 2, flags: 8192 })).toBe('up to 4 letters · up to 1 digit · up to 2 runs · special: /');
  });

  it('edits a copy at a path, creating what is missing', () => {
    const base = { req: { qs: { kv: { vals: null } } } };
    const next = setAt(base, ['req', 'qs', 'kv', 'vals', 'page'], { digits: 2 });
    expect(getAt(next, ['req', 'qs', 'kv', 'vals', 'page', 'digits'])).toBe(2);
    expect(base.req.qs.kv.vals).toBeNull();
    expect(getAt(deleteAt(next, ['req', 'qs', 'kv', 'vals', 'page']), ['req', 'qs', 'kv', 'vals'])).toEqual({});
  });
});

describe('a pasted request is decided as guard check decides it', () => {
  it('raw HTTP, a traffic record, JSON Lines and a HAR entry give guard check’s lines', () => {
    const g = learnedGuardian();
    const record = { method: 'GET', path: '/shop/items/7', query: 'id=x1&lang=fr', headers: [['Accept', 'application/json'], ['User-Agent', 'Mozilla/5.0']] };
    const expected = decide(core, g, toTrafficRecord(record), { maxBody: 1024 * 1024 });
    expect(expected.allowed).toBe(false);
    const raw = 'GET /shop/items/7?id=x1&lang=fr HTTP/1.1\r\nAccept: application/json\r\nUser-Agent: Mozilla/5.0\r\n\r\n';
    const har = { request: { method: 'GET', url: 'http://shop/shop/items/7?id=x1&lang=fr', headers: [{ name: 'Accept', value: 'application/json' }, { name: 'User-Agent', value: 'Mozilla/5.0' }] }, response: { status: 0 } };
    for (const text of [raw, JSON.stringify(record), `${JSON.stringify(record)}\n${JSON.stringify(record)}`, JSON.stringify(har), JSON.stringify({ log: { entries: [har] } })]) {
      const tried = tryRecords(core, g, readPasted(text).items);
      for (const t of tried) {
        expect(t.error).toBeUndefined();
        expect({ allowed: t.decision!.allowed, result: t.decision!.result, decision: t.decision!.decision }).toEqual(expected);
      }
    }
    const bad = readPasted('{"method":"GET","path":"nope"}').items[0];
    expect(bad.error).toMatch(/"path" must be a string starting with "\/"/);
    expect(readPasted('hello').items[0].error).toMatch(/request line/);
    g.dispose();
  });
});
