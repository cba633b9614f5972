// guard-ui's logic without a browser: human units against the core's own encodings, explanations
// of real decisions, readiness, the data-driven rule walk, and pasted requests read as `guard check`
// reads them.
import { describe, expect, it } from 'vitest';
import { loadCore, Section } from '../../core/index.js';
import { decide } from '../../cli/check.js';
import { toTrafficRecord } from '../../cli/traffic-record.js';
import { groupAlerts } from '../../ui/src/alert-groups.js';
import { explainDecision } from '../../ui/src/explain.js';
import { lastLearned, modeOf, readiness } from '../../ui/src/mode.js';
import { fieldsOf, getAt, setAt, deleteAt, summarize, summarizeValue } from '../../ui/src/rules-model.js';
import { describeCaps, describeRoute, describeRouteNames, describeSlack, policyOf, routeRows, slackProblem, withPolicy } from '../../ui/src/routes-model.js';
import { readPasted, tryRecords } from '../../ui/src/try-request.js';
import { cidrFromText, cidrText, describeByteRanges, describeHosts, describeSeconds, describeLimit, flagChars, hostProblem, limitCode, limitInterval, unicodeBlocks } from '../../ui/src/units.js';

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

/**
 * A route-aware Guardian learned as guard-service learns (default caps, a pile through its wire
 * form): items by id with `lang`, a search with `q` and `page`, a cart taking a JSON body; addressed
 * by name and by a pod's IPv4 address on port 8080.
 */
function routeGuardian(control: Record<string, unknown> = { alert: true, block: false, learn: true, force: false, auto: true }) {
  const pile = core.newPile();
  for (let i = 0; i < 60; i++) {
    const s = core.newSession();
    const host: [string, string] = ['Host', i % 5 === 0 ? '10.0.0.3:8080' : 'shop.example.com'];
    if (i % 3 === 0) s.profileRequest({ method: 'GET', path: `/items/${100 + i}`, query: `lang=${i % 2 ? 'en' : 'de'}`, headers: [host] });
    else if (i % 3 === 1) s.profileRequest({ method: 'GET', path: '/search', query: `q=tea&page=${i % 9}`, headers: [host] });
    else s.profileRequest({ method: 'POST', path: '/cart', query: '', headers: [host, ['Content-Type', 'application/json']], body: `{"item":${i},"qty":2}` });
    pile.add(s);
    s.dispose();
  }
  const loaded = core.parsePile(pile.toWire());
  pile.dispose();
  const g = core.defaultGuardian();
  g.learn(loaded, {});
  loaded.dispose();
  const spec = JSON.parse(g.toWire());
  g.dispose();
  return core.parseGuardian({ ...spec, control });
}

function decisionOf(g: ReturnType<typeof routeGuardian>, request: Parameters<ReturnType<typeof core.newSession>['profileRequest']>[0]) {
  const s = core.newSession();
  s.profileRequest(request);
  s.decide(g, Section.All);
  const tree = s.decisionTree();
  s.dispose();
  return tree;
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

  it('timing limits in seconds, and from a minute on in minutes, hours or days too', () => {
    expect(describeSeconds(0)).toBe('under 1 s');
    expect(describeSeconds(limitCode(1))).toBe('up to 1 s');
    expect(describeSeconds(limitCode(30))).toBe('up to 31 s'); // 30 and 31 are one step of Guard's counts
    expect(describeSeconds(limitCode(59))).toBe('up to 59 s');
    expect(describeSeconds(limitCode(60))).toBe('up to 63 s (1 min 3 s)');
    expect(describeSeconds(limitCode(240))).toBe('up to 255 s (4 min 15 s)');
    expect(describeSeconds(limitCode(3600))).toBe('up to 3,695 s (about 1 h 1 min)');
    expect(describeSeconds(limitCode(86_000))).toBe('up to 90,095 s (about 1 day 1 h)');
    expect(describeSeconds(254)).toBe('up to 1,015,791 s (about 11 days 18 h)');
    expect(describeSeconds(255)).toBe('any time');
    // What the core learns from exchanges that took 2.4 s to answer and 4 min 10 s to end.
    const pile = core.newPile();
    const s = core.newSession();
    s.profileRequest({ method: 'GET', path: '/report', headers: [] });
    s.profileEnvelop(2400, 250_000);
    pile.add(s);
    s.dispose();
    const g = core.defaultGuardian();
    g.learn(pile);
    pile.dispose();
    const envelop = JSON.parse(g.toWire()).learned.envelop;
    g.dispose();
    const fields = fieldsOf('envelop', envelop);
    expect(fields.map((f) => `${f.label}: ${summarize(f, envelop[f.key])}`)).toEqual(['Time to the response: up to 2 s', 'Time to the end of the exchange: up to 255 s (4 min 15 s)']);
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

describe('route-aware Guardians in words', () => {
  it('reads the route table a person would: each route with its placeholders and names, learned beside configured', () => {
    const g = routeGuardian();
    const learned = JSON.parse(g.toWire()).learned;
    g.dispose();
    expect(Object.keys(learned.routes).sort()).toEqual(['GET /items/{id}', 'GET /search', 'POST /cart']);
    expect(describeRoute('GET /items/{id}')).toBe('GET /items/{id} — id: a number, or an id that is mostly digits (ORD-2024-000123)');
    expect(describeRoute('GET /search')).toBe('GET /search');
    expect(describeRoute('GET /a/{uuid}/v/{version}/{uuid}')).toBe('GET /a/{uuid}/v/{version}/{uuid} — uuid: a UUID; version: a version such as v2 or 1.2.3');
    expect(describeRoute('GET {*}')).toBe('any other GET path (catch-all: routes beyond the bound)');
    expect(describeRoute('* {*}')).toBe('any other route of another method (catch-all: routes beyond the bound)');
    expect(describeRouteNames(learned.routes['GET /search'])).toBe('query: page, q · body: none');
    expect(describeRouteNames(learned.routes['POST /cart'])).toBe('query: none · body: item, qty');
    expect(describeRouteNames({ query: ['a'], body: [], anyQuery: true })).toBe('query: any name (more than the cap were seen) · body: none');
    const configured = { routes: { 'GET /search': { query: ['q'], body: [] }, 'GET /old': { query: [], body: [] } } };
    const rows = routeRows(learned, configured);
    expect(rows.map((r) => [r.key, r.learned !== undefined, r.configured !== undefined, r.differs])).toEqual([
      ['POST /cart', true, false, true],
      ['GET /items/{id}', true, false, true],
      ['GET /old', false, true, true],
      ['GET /search', true, true, true],
    ]);
    expect(routeRows(learned, { routes: learned.routes }).every((r) => !r.differs)).toBe(true);
  });

  it('says which caps a Guardian was learned with, and the Host set as names and address kinds', () => {
    const g = routeGuardian();
    const learned = JSON.parse(g.toWire()).learned;
    g.dispose();
    expect(describeCaps(learned)).toEqual([
      'Up to 64 parameter names per table (query, form and JSON body fields); beyond, the catch-all applies.',
      'Up to 64 header names per table; beyond, the catch-all applies.',
      'Up to 256 routes in the route table; beyond, one catch-all route per method.',
      'A header name never learned alerts, unless the header table overflowed its cap (then the catch-all judges it by its shape).',
    ]);
    const original = JSON.parse(learnedGuardian().toWire()).learned;
    expect(original.caps).toBeUndefined();
    expect(describeCaps(original)[0]).toMatch(/^Learned without recorded caps, as the original learns: up to 7 names per table/);
    expect(summarize(fieldsOf('session', learned).find((f) => f.key === 'caps')!, learned.caps)).toBe('64 parameter names, 64 header names per table · 256 routes · unknown headers: alert');
    expect(learned.req.host).toEqual({ set: ['ipv4:8080', 'shop.example.com'] });
    expect(describeHosts(learned.req.host)).toBe('only an IPv4 address on port 8080, shop.example.com');
    expect(describeHosts(original.req.host)).toBe('only requests without a Host line'); // learned from records without Host
    expect(describeHosts(undefined)).toBe('not enforced: any Host passes');
    expect(describeHosts({ set: null })).toBe('not enforced: any Host passes');
    expect(describeHosts({ set: ['none', 'ipv6', 'api.example:8443'] })).toBe('only requests without a Host line, an IPv6 address (no port), api.example on port 8443');
    expect(hostProblem('shop.example.com:8080')).toBeNull();
    expect(hostProblem('ipv4:8080')).toBeNull();
    expect(hostProblem('10.0.0.3:8080')).toBe('an IPv4 address is written ipv4 (every IPv4 address is one kind), with its port: ipv4:8080');
    expect(hostProblem('Shop.Example.com')).toBe('Host names are compared lower-cased: write shop.example.com');
    expect(hostProblem('shop:70000')).toBe('port 70000 is over 65535');
  });

  it('edits policies and slack as the core writes them, and refuses a slack it would refuse', () => {
    const flags = { alert: true, block: false, learn: true, force: false, auto: true };
    let control = withPolicy(flags, 'unknownRoute', 'service-wide');
    control = withPolicy(control, 'unknownParam', 'ignore');
    control = withPolicy(control, 'slack', 3);
    const g = routeGuardian(control);
    expect(JSON.parse(g.toWire()).control).toEqual(control);
    expect(g.policy).toEqual({ unknownRoute: 'service-wide', unknownParam: 'ignore', slack: 3 });
    g.dispose();
    // Back to the defaults: the members are left out, as the core leaves them out.
    const back = withPolicy(withPolicy(withPolicy(control, 'unknownRoute', 'alert'), 'unknownParam', 'alert'), 'slack', 0);
    expect(back).toEqual(flags);
    expect(policyOf(back, 'unknownRoute')).toBe('alert');
    for (const bad of ['17', '-1', '2.5', '', 'two']) {
      expect(slackProblem(bad), bad).not.toBeNull();
      if (/^\d+$/.test(bad)) expect(() => core.parseGuardian({ configured: null, samples: 0, control: { ...flags, slack: Number(bad) } })).toThrow(/slack/);
    }
    expect(slackProblem('16')).toBeNull();
    expect(describeSlack(2)).toMatch(/^Every learned limit .* is widened by 2 steps when deciding/);
  });

  it('explains the route table and Host reasons of real decisions in a sentence each', () => {
    const g = routeGuardian();
    const learned = JSON.parse(g.toWire()).learned;
    const host: [string, string] = ['Host', 'shop.example.com'];
    const sentences = (d: unknown) => explainDecision(d, learned).map((f) => f.sentence);
    expect(sentences(decisionOf(g, { method: 'POST', path: '/search', query: '', headers: [host] }))).toContain(
      'The route `POST /search` was never learned: no request with this method on this path template was seen.',
    );
    const moved = explainDecision(decisionOf(g, { method: 'GET', path: '/items/999', query: 'page=2', headers: [host] }), learned);
    const onRoute = moved.find((f) => f.rulePath?.[0] === 'routes')!;
    expect(onRoute.sentence).toBe('Query parameter `page` was never used on the route `GET /items/{id}`.');
    expect(onRoute.rule).toBe('query: lang · body: none');
    expect(onRoute.where).toBe('route `GET /items/{id}`');
    const body = decisionOf(g, { method: 'POST', path: '/cart', query: '', headers: [host, ['Content-Type', 'application/json']], body: '{"item":1,"qty":2,"q":"x"}' });
    expect(sentences(body)).toContain('Body field `q` was never used on the route `POST /cart`.');
    expect(sentences(decisionOf(g, { method: 'GET', path: '/search', query: 'q=tea', headers: [['Host', 'evil.example']] }))).toEqual([
      'The Host was evil.example (`evil.example`), never seen; allowed: an IPv4 address on port 8080, shop.example.com.',
    ]);
    expect(sentences(decisionOf(g, { method: 'GET', path: '/search', query: 'q=tea', headers: [['Host', '10.1.2.3:9090']] }))).toEqual([
      'The Host was an IPv4 address on port 9090 (`ipv4:9090`), never seen; allowed: an IPv4 address on port 8080, shop.example.com.',
    ]);
    g.dispose();
    // The service-wide policy: an unknown route's names must be the service's.
    const wide = routeGuardian({ alert: true, block: false, learn: true, force: false, auto: true, unknownRoute: 'service-wide', unknownParam: 'service-wide' });
    expect(sentences(decisionOf(wide, { method: 'GET', path: '/export', query: 'q=tea&debug=1', headers: [host] }))).toContain(
      'Query parameter `debug` (on the route `GET /export`) is used by no route of the service.',
    );
    wide.dispose();
  });
});

describe('mode and readiness in words', () => {
  it('says when a service last learned, and "earlier" when it learned but guard-service no longer holds the time', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(lastLearned('2026-12-07T11:58:00Z', 40, now)).toBe('2 min ago');
    expect(lastLearned(null, 40, now)).toBe('earlier');
    expect(lastLearned(null, 0, now)).toBe('never');
  });

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
    // no alert, but watched for minutes only: not called ready
    expect(readiness({ ...facts, observedMs: 600_000 })).toEqual({
      level: 'not-ready',
      text: 'No alert in the 10 min guard-service has been running: too short to judge. Watch at least an hour of normal traffic before blocking.',
    });
    expect(readiness({ ...facts, observedMs: 2 * 3600_000 }).text).toBe('Ready to block: no alert in the 2 h guard-service has been running.');
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

  it("says a value's token rule and a Cookie's table in words, not as an unknown field", () => {
    const counts = { digits: 1, letters: 4 };
    expect(summarizeValue({ ...counts, token: { kinds: ['hex', 'base64url', 'base64'], min: 32, max: 32 } })).toBe(
      'up to 4 letters · up to 1 digit · or a hex or base64url or base64 token of about 32 characters',
    );
    expect(summarizeValue({ ...counts, token: { kinds: ['uuid', 'base64url'], min: 36, max: 40 } })).toBe('up to 4 letters · up to 1 digit · or a UUID or base64url token of about 36–40 characters');
    expect(summarizeValue({ ...counts, token: { kinds: ['addresses'], min: 7, max: 31 } })).toBe('up to 4 letters · up to 1 digit · or a list of 1 to 32 IP addresses (IPv4 or IPv6)');
    // A rule whose kinds became empty decides by its counts alone.
    expect(summarizeValue({ ...counts, token: { kinds: [], min: 8, max: 9 } })).toBe('up to 4 letters · up to 1 digit');
    expect(summarizeValue({ ...counts, cookies: { vals: { sid: {}, theme: {} }, otherVals: null, otherKeynames: null } })).toBe(
      'cookie by cookie: sid, theme (counts of the whole line: up to 4 letters · up to 1 digit)',
    );
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

  it('with a route table, under each policy: an unknown route and a moved parameter as guard check decides them', () => {
    const records = [
      { method: 'POST', path: '/search', query: 'q=tea', headers: [['Host', 'shop.example.com']] },
      { method: 'GET', path: '/items/5', query: 'page=1', headers: [['Host', 'shop.example.com']] },
    ];
    for (const policy of ['alert', 'ignore', 'service-wide'] as const) {
      const g = routeGuardian({ alert: true, block: true, learn: false, force: false, auto: true, ...(policy === 'alert' ? {} : { unknownRoute: policy, unknownParam: policy }) });
      for (const record of records) {
        const expected = decide(core, g, toTrafficRecord(record), { maxBody: 1024 * 1024 });
        expect(expected.allowed, `${policy} ${record.path}`).toBe(policy !== 'alert');
        const raw = `${record.method} ${record.path}?${record.query} HTTP/1.1\r\nHost: shop.example.com\r\n\r\n`;
        for (const t of tryRecords(core, g, [...readPasted(raw).items, ...readPasted(JSON.stringify(record)).items])) {
          expect({ allowed: t.decision!.allowed, result: t.decision!.result, decision: t.decision!.decision }).toEqual(expected);
        }
      }
      g.dispose();
    }
  });
});

describe('alerts from several guard-service replicas', () => {
  it('are grouped by what they say and ordered by when they were received, whatever each replica numbered them', () => {
    const item = (service: string, reason: string, receivedAt: string, seq: number, pod: string) => ({
      decision: { reasons: [reason] },
      time: 0,
      level: 'Session',
      count: 1,
      seq,
      receivedAt,
      namespace: 'shop',
      service,
      pod,
    });
    // Replica 1 numbered its alerts up to 900, replica 2 up to 3: the numbers say nothing across them.
    const groups = groupAlerts([
      item('cart', 'a', '2026-12-07T10:00:05.000Z', 3, 'cart-1'),
      item('pay', 'b', '2026-12-07T10:00:01.000Z', 900, 'pay-1'),
      item('cart', 'a', '2026-12-07T10:00:02.000Z', 2, 'cart-2'),
      item('pay', 'b', '2026-12-07T10:00:00.000Z', 899, 'pay-1'),
    ]);
    expect(groups.map((g) => [g.service, g.entries, g.lastAt, g.firstAt, g.pods])).toEqual([
      ['cart', 2, '2026-12-07T10:00:05.000Z', '2026-12-07T10:00:02.000Z', ['cart-1', 'cart-2']],
      ['pay', 2, '2026-12-07T10:00:01.000Z', '2026-12-07T10:00:00.000Z', ['pay-1']],
    ]);
  });
});
