// A decision (the core's tree: {children, reasons, result}) explained in sentences: each failing
// check becomes one finding naming where it happened ("query parameter `id`"), what was seen, and
// what the rules in force allow. Reasons this table does not know keep their text. Pure (no DOM).
import { getAt, isObject, SIMPLEVAL_FIELDS, summarizeValue, type Path } from './rules-model.js';
import { describeRouteNames } from './routes-model.js';
import { bitLengthBytes, describeCode, describeHosts, describeHostToken, describeLimit, describeSeconds, flagChars, formatBytes, limitInterval, unicodeBlocks } from './units.js';

export interface DecisionNode {
  children?: Record<string, DecisionNode> | null;
  reasons?: string[] | null;
  result?: number;
}

export interface Finding {
  /** The decision's tags from the root to the failing check. */
  tags: string[];
  /** Where in the criteria the rule that refused lives (config keys), when known. */
  rulePath: Path | null;
  /** Where, for people: "query parameter `id`". */
  where: string;
  sentence: string;
  /** The rule in force at rulePath, in words, when the criteria were given. */
  rule: string | null;
  /** The reason as the core wrote it. */
  reason: string;
}

const SECTION: Record<string, [string, string]> = {
  Req: ['req', 'the request'],
  Resp: ['resp', 'the response'],
  ReqBody: ['reqbody', 'the request body'],
  RespBody: ['respbody', 'the response body'],
  Envelop: ['envelop', 'the exchange'],
  Pod: ['pod', "the pod's connections"],
};

const STEP: Record<string, string> = {
  Url: 'url', Segments: 'segments', Val: 'val', QueryString: 'qs', Headers: 'headers', KeyVal: 'kv', ClientIp: 'cip',
  HopIp: 'hopip', Method: 'method', Host: 'host', Proto: 'proto', MediaType: 'mediatype', Type: 'type', Params: 'params',
  ContentLength: 'contentlength', 'Body Faults': 'faults', 'Structured KeyVal:': 'kv', 'Structured - val': 'val',
  'Structured - array val': 'val', ResponseTime: 'responsetime', CompletionTime: 'completiontime',
  Tcp4Peers: 'tcp4peers', Udp4Peers: 'udp4peers', Udplite4Peers: 'udplite4peers', Tcp6Peers: 'tcp6peers', Udp6Peers: 'udp6peers', Udplite6Peers: 'udplite6peers',
  Letters: 'letters', Digits: 'digits', Spaces: 'spaces', SpecialChars: 'schars', NonReadables: 'nonreadables', Unicodes: 'unicodes', Sequences: 'sequences',
  'Special Chars Used': 'flags', 'Unicode Blocks': 'unicodeFlags',
};

const COUNTER_NOUN = Object.fromEntries(SIMPLEVAL_FIELDS.filter((f) => f.noun).map((f) => [f.key, f.noun!]));

const FAULTS: Record<string, string> = {
  TooLargeBody: 'the body was larger than the analysis limit',
  UnknownSizeBody: 'the body had no known size',
  FailedJsonDecode: 'the body was not valid JSON',
  FailedMultipart: 'the body was not a valid multipart form',
  FailedUrlencoded: 'the body was not a valid URL-encoded form',
  FailedUnstructured: 'the body could not be read',
  FailedDecompress: 'the body could not be decompressed',
  UnknownContentEncoding: 'the body was compressed in an unknown way',
};

/** Every failing check of a decision, in the tree's (sorted) order. */
export function explainDecision(decision: unknown, criteria: unknown = undefined): Finding[] {
  const out: Finding[] = [];
  const walk = (node: unknown, tags: string[]): void => {
    if (!isObject(node)) return;
    const d = node as DecisionNode;
    const children = isObject(d.children) ? d.children : {};
    for (const tag of Object.keys(children).sort()) walk(children[tag], [...tags, tag]);
    for (const reason of Array.isArray(d.reasons) ? [...d.reasons].sort() : []) {
      if (typeof reason === 'string') out.push(finding(tags, reason, criteria));
    }
  };
  walk(decision, []);
  return out;
}

interface Place {
  rulePath: Path | null;
  /** The thing checked: "query parameter `id`", "the path". */
  subject: string;
  /** The counter or check under the subject, as a config key (letters, flags, …), if any. */
  leaf: string | null;
  /** The table a "Key … is not known" reason is about. */
  table: string;
  /** The request's route ("GET /items/{id}") when the check is the route table's. */
  route: string | null;
}

function place(tags: string[]): Place {
  let path: Path | null = [];
  let subject = 'the exchange';
  let table = 'key';
  let leaf: string | null = null;
  let route: string | null = null;
  const push = (k: string): void => {
    if (path) path.push(k);
  };
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i];
    const section = SECTION[tag];
    if (section && i === 0) {
      push(section[0]);
      subject = section[1];
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^KnownKey (.*)$/.exec(tag))) {
      push('vals');
      push(m[1]);
      subject = `${table} \`${m[1]}\``;
      continue;
    }
    if ((m = /^OtherVals (.*)$/.exec(tag))) {
      push('otherVals');
      subject = `${table} \`${m[1]}\` (checked by the rule for other keys)`;
      continue;
    }
    if ((m = /^OtherKeyname (.*):$/.exec(tag))) {
      push('otherKeynames');
      subject = `the name of ${table} \`${m[1]}\` (checked by the rule for other key names)`;
      continue;
    }
    if ((m = /^Route (.*)$/.exec(tag))) {
      // The route table lives at the criteria's root, whatever section decided on it.
      route = m[1];
      path = ['routes', route];
      subject = `the route \`${route}\``;
      continue;
    }
    if (tag === 'Body') {
      const next = tags[i + 1] ?? '';
      push(next.startsWith('Structured') ? 'structured' : 'unstructured');
      continue;
    }
    const key = STEP[tag];
    if (key === undefined) {
      path = null;
      subject = `${subject} › ${tag}`;
      continue;
    }
    push(key);
    if (COUNTER_NOUN[key] || key === 'flags' || key === 'unicodeFlags') leaf = key;
    else if (key === 'url') subject = 'the path';
    else if (key === 'qs') table = 'query parameter';
    else if (key === 'headers') table = tags[0] === 'Resp' ? 'response header' : 'header';
    else if (key === 'params') table = 'media type parameter';
    else if (tag === 'Structured KeyVal:') table = 'body field';
    else if (key === 'cip') subject = 'the client address';
    else if (key === 'hopip') subject = 'the forwarded-for address';
    else if (key === 'method') subject = 'the method';
    else if (key === 'host') subject = 'the Host';
    else if (key === 'proto') subject = 'the protocol';
    else if (key === 'type') subject = 'the media type';
    else if (key === 'mediatype') subject = 'the Content-Type';
    else if (key === 'contentlength') subject = `the size of ${tags[0] === 'Resp' ? 'the response' : 'the request'} body`;
    else if (key === 'faults') subject = 'the body';
    else if (key === 'segments') subject = 'the path';
    else if (tag === 'Structured - val') subject = `${subject} (its value)`;
    else if (tag === 'Structured - array val') subject = `an element of ${subject}`;
    else if (key === 'responsetime') subject = 'the time to the response';
    else if (key === 'completiontime') subject = 'the time to the end of the exchange';
    else if (key.endsWith('peers')) subject = `the pod's ${tag.replace('Peers', '').replace('4', ' (IPv4)').replace('6', ' (IPv6)').toUpperCase().replace('LITE', '-Lite')} peers`;
  }
  return { rulePath: path, subject, leaf, table, route };
}

function finding(tags: string[], reason: string, criteria: unknown): Finding {
  const p = place(tags);
  const rule = p.rulePath && criteria !== undefined ? getAt(criteria, p.rulePath) : undefined;
  const where = p.subject.replace(/^the /, '');
  const base = { tags, rulePath: p.rulePath, where, reason, rule: ruleText(p, rule) };
  return { ...base, sentence: sentence(p, reason, rule) };
}

function ruleText(p: Place, rule: unknown): string | null {
  if (rule === undefined) return null;
  if (p.leaf && COUNTER_NOUN[p.leaf] && typeof rule === 'number') return describeLimit(rule, COUNTER_NOUN[p.leaf]);
  if (p.leaf === 'flags' && typeof rule === 'number') return charsText(rule) || 'no special characters';
  if (p.leaf === 'unicodeFlags') return Array.isArray(rule) ? unicodeBlocks(rule as number[]).map((b) => b.name).join(', ') || 'no scripts' : 'no scripts';
  if (isObject(rule) && 'letters' in rule) return summarizeValue(rule);
  if (p.route !== null) return isObject(rule) ? describeRouteNames(rule) : null;
  if (p.rulePath?.at(-1) === 'host') return describeHosts(rule);
  if (isObject(rule) && Array.isArray(rule.set)) return (rule.set as string[]).join(', ');
  if (rule === null) return 'nothing';
  return null;
}

function charsText(mask: number): string {
  return flagChars(mask).map((c) => `\`${c.chars}\``).join(' ');
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sentence(p: Place, reason: string, rule: unknown): string {
  const S = capital(p.subject);
  let m: RegExpExecArray | null;
  if ((m = /^Limit out of Range: (\d+)$/.exec(reason))) {
    const code = Number(m[1]);
    if (p.rulePath?.[0] === 'envelop') {
      const allowed = typeof rule === 'number' ? `; allowed: ${describeSeconds(rule)}` : '';
      return `${S} took ${describeCode(code)} s${allowed}.`;
    }
    const noun = p.leaf ? COUNTER_NOUN[p.leaf] : undefined;
    const [lo] = limitInterval(code);
    const what = noun ? `${describeCode(code)} ${lo === 1 && describeCode(code) === '1' ? noun.one : noun.many}` : `a count of ${describeCode(code)}`;
    if (typeof rule === 'number' && noun) {
      if (rule === 0) return `${S} had ${what}; it never had any ${noun.many}.`;
      return `${S} had ${what}; the rule allows ${describeLimit(rule, noun)}.`;
    }
    return `${S} had ${what}, more than its rule allows.`;
  }
  if ((m = /^Unexpected Flags .*\(0x([0-9a-f]+)\) in Value$/.exec(reason))) {
    const chars = flagChars(parseInt(m[1], 16));
    const list = chars.map((c) => `\`${c.chars}\``).join(' ');
    return `${S} contained ${list} — ${chars.length === 1 ? 'a character' : 'characters'} never seen in it.`;
  }
  if ((m = /^Unexpected Flags in FlagSlice ([0-9a-f]+) on Element (\d+)$/.exec(reason))) {
    const i = Number(m[2]);
    let word = parseInt(m[1], 16) >>> 0;
    if (Array.isArray(rule) && typeof rule[i] === 'number') word = (word & ~(rule[i] as number)) >>> 0;
    const words: number[] = [];
    words[i] = word;
    const names = unicodeBlocks(Array.from(words, (w) => w ?? 0)).map((b) => b.name);
    return `${S} contained characters from ${names.join(', ') || 'a script'} — never seen in it.`;
  }
  if ((m = /^Key (.*) is not known$/.exec(reason))) {
    return `${capital(p.table)} \`${m[1]}\` was never seen${p.subject === 'the exchange' ? '' : ` in ${p.subject}`}.`;
  }
  if (p.route !== null) {
    const r = routeSentence(p.route, reason);
    if (r) return r;
  }
  if ((m = /^Unexpected key (.*) in Set$/.exec(reason))) {
    if (p.rulePath?.at(-1) === 'host') {
      const allowed = describeHosts(rule);
      return `The Host was ${describeHostToken(m[1])} (\`${m[1]}\`), never seen${rule === undefined ? '' : `; allowed: ${allowed.replace(/^only /, '')}`}.`;
    }
    if (p.rulePath?.at(-1) === 'faults') return `${capital(FAULTS[m[1]] ?? `the body had the problem ${m[1]}`)}, which never happened before.`;
    return `${S} \`${m[1]}\` was never seen.`;
  }
  if ((m = /^Counter out of Range: (\d+)$/.exec(reason)) || (m = /^Value (\d+) Not Allowed!$/.exec(reason))) {
    const v = Number(m[1]);
    if (p.rulePath?.at(-1) === 'contentlength') {
      const [lo, hi] = bitLengthBytes(v);
      return `${S} was ${formatBytes(lo)}–${formatBytes(hi)}, a size never seen.`;
    }
    if (p.rulePath?.at(-1) === 'segments') return `The path had ${v} segments, a number never seen.`;
    return `${S} was ${v}, outside the ranges seen.`;
  }
  if ((m = /^IP (.*) not allowed$/.exec(reason))) return `${S} \`${m[1]}\` is outside the addresses allowed.`;
  if ((m = /^Structured - +kind mismatch allowed (\S*) has ?(.*)$/.exec(reason))) {
    return `${S} was ${m[2] ? `a ${m[2]}` : 'empty'} where ${m[1] ? `a ${m[1]}` : 'nothing'} is allowed.`;
  }
  if (reason === 'Structured Body not allowed') return `${S} was JSON or a form; such a body was never seen.`;
  if (reason === 'Unstructured Body not allowed') return `${S} was text; such a body was never seen.`;
  return `${S}: ${reason}.`;
}

/** The route table's reasons (docs/routes.md "Policies and slack"), or null for another reason. */
function routeSentence(route: string, reason: string): string | null {
  if (reason === 'Route is not known') return `The route \`${route}\` was never learned: no request with this method on this path template was seen.`;
  const m = /^(Query|Body) parameter (.*) is not known (on this route|in the service)$/.exec(reason);
  if (!m) return null;
  const what = m[1] === 'Query' ? 'Query parameter' : 'Body field';
  if (m[3] === 'on this route') return `${what} \`${m[2]}\` was never used on the route \`${route}\`.`;
  return `${what} \`${m[2]}\` (on the route \`${route}\`) is used by no route of the service.`;
}
