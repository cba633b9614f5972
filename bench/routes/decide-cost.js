// What a route table of realistic size adds to decide, for bench:core (bench/core/run.js): two
// Guardians learned from the generated corpus (bench/routes/corpus.js) as guard-service learns —
// one with its route table, one the same without (caps routes 0) — and decide(Req|ReqBody) of
// fresh normal requests on profiled sessions against each, to be timed interleaved.
import { Section } from '../../build/js/core/index.js';
import { toRequestFields, toTrafficRecord } from '../../build/js/cli/traffic-record.js';
import { generateCorpus } from './corpus.js';
import { learnInPiles } from './learn.js';

const REQ = Section.Req | Section.ReqBody;
const SESSIONS = 256;
const BODY_POLICY = { maxBody: 1024 * 1024 };

/**
 * Sections the bookshop's endpoints are repeated under for a larger table: `/shop/books/{id}`,
 * `/outlet/books/{id}`, … — words, so each section's endpoints are routes of their own.
 */
const SECTIONS = ['shop', 'outlet', 'library', 'kids', 'press', 'school', 'club', 'gifts', 'rare', 'audio'];

const fields = (r) => toRequestFields(toTrafficRecord(r), BODY_POLICY);

/** A Guardian learned from `requests` as guard-service learns, with block on. */
function learn(core, requests, caps) {
  const guardian = learnInPiles(core, requests, caps);
  guardian.control = { alert: true, block: true, learn: true, force: false, auto: true };
  return guardian;
}

/**
 * The corpus's Guardians with and without a route table, and a decide of each on the same profiled
 * sessions (fresh normal requests both allow, cycled). `sections` 1 keeps the corpus's 10 endpoints;
 * more repeats them under that many path prefixes, each request under one of them in turn. The
 * requests decided are those of the first `inUse` sections (all by default): fewer routes in use
 * than learned shows what the table's size costs apart from the number of routes a decide meets.
 */
export function routeTableCase(core, sections = 1, inUse = sections) {
  const { train, test } = generateCorpus();
  let k = 0;
  const place = (r) => (sections > 1 ? { ...r, path: `/${SECTIONS[k++ % sections]}${r.path}` } : r);
  const requests = train.map((r) => fields(place(r)));
  const withRoutes = learn(core, requests, {});
  const withoutRoutes = learn(core, requests, { routes: 0 });
  const routes = Object.keys(JSON.parse(withRoutes.toWire()).learned.routes ?? {}).length;

  const sessions = [];
  const used = SECTIONS.slice(0, inUse).map((x) => `/${x}/`);
  for (const t of test) {
    if (t.label !== 'normal' || sessions.length === SESSIONS) continue;
    const r = place(t.record);
    if (sections > 1 && !used.some((x) => r.path.startsWith(x))) continue;
    const s = core.newSession();
    s.profileRequest(fields(r));
    if (s.decide(withRoutes, REQ) === 0 && s.decide(withoutRoutes, REQ) === 0) sessions.push(s);
    else s.dispose();
  }
  let at = 0;
  let sink = 0;
  const decideWith = (guardian) => () => {
    sink ^= sessions[at].decide(guardian, REQ);
    at = (at + 1) % sessions.length;
  };
  return {
    routes,
    sections,
    inUse,
    sessions: sessions.length,
    with: decideWith(withRoutes),
    without: decideWith(withoutRoutes),
    sink: () => sink,
  };
}
