// What each part of a Guardian's criteria (SessionDataConfig, the wire JSON) means to a person:
// a label, a kind that selects how it is shown and edited, and a sentence of help. The views walk a
// Guardian with this table; a field the table does not know is shown generically (as JSON), never
// dropped, so Guardians with newer optional fields still load. Pure (no DOM).
import { describeByteRanges, describeHosts, describeLimit, describeRanges, describeSeconds, flagChars, unicodeBlocks, cidrText, type CountRange, type Noun, type WireCidr } from './units.js';

export type Kind =
  | 'session' | 'req' | 'resp' | 'body' | 'envelop' | 'pod' | 'url' | 'kvsection' | 'mediatype' | 'structured'
  | 'keyval' | 'simpleval' | 'limit' | 'seconds' | 'flags' | 'unicode' | 'set' | 'hosts' | 'cidrs' | 'ranges' | 'byteRanges' | 'bool' | 'text'
  | 'caps' | 'routes';

export interface Field {
  key: string;
  label: string;
  kind: Kind;
  help?: string;
  noun?: Noun;
  /** For key/value tables: what one key is called ("query parameter"). */
  keyNoun?: string;
}

const n = (one: string, many: string): Noun => ({ one, many });

export const SIMPLEVAL_FIELDS: Field[] = [
  { key: 'letters', label: 'Letters', kind: 'limit', noun: n('letter', 'letters'), help: 'A–Z and a–z.' },
  { key: 'digits', label: 'Digits', kind: 'limit', noun: n('digit', 'digits'), help: '0–9.' },
  { key: 'spaces', label: 'Spaces', kind: 'limit', noun: n('space', 'spaces'), help: 'The space character only (not tabs or line breaks).' },
  { key: 'schars', label: 'Special characters', kind: 'limit', noun: n('special character', 'special characters'), help: 'Printable ASCII punctuation such as $ % / ; (which ones: below).' },
  { key: 'nonreadables', label: 'Control characters', kind: 'limit', noun: n('control character', 'control characters'), help: 'ASCII control characters: tab, line breaks, NUL…' },
  { key: 'unicodes', label: 'Non-ASCII characters', kind: 'limit', noun: n('non-ASCII character', 'non-ASCII characters'), help: 'Characters beyond ASCII (accents, other scripts, emoji); which scripts: below.' },
  { key: 'sequences', label: 'Runs', kind: 'limit', noun: n('run', 'runs'), help: 'How many stretches of one kind of character (letters, digits, special, spaces, …) the value is made of: "abc123" is 2 runs.' },
  { key: 'flags', label: 'Special characters allowed', kind: 'flags', help: 'Which punctuation may appear.' },
  { key: 'unicodeFlags', label: 'Scripts allowed', kind: 'unicode', help: 'Which Unicode blocks non-ASCII characters may come from.' },
];

const KEYVAL_FIELDS: Field[] = [
  { key: 'vals', label: 'Known keys', kind: 'keyval' },
  { key: 'otherVals', label: 'Values of other keys', kind: 'simpleval', help: 'Keys beyond those learned one by one (the cap: 7 in the original, see the caps on the Routes tab) share this rule; none: other keys are refused.' },
  { key: 'otherKeynames', label: 'Names of other keys', kind: 'simpleval', help: 'What the names of keys beyond those learned one by one may look like; none: other keys are refused.' },
];

const cidrs = (key: string, label: string, help: string): Field => ({ key, label, kind: 'cidrs', help });

export const FIELDS: Record<string, Field[]> = {
  session: [
    { key: 'active', label: 'Rules switched on', kind: 'bool', help: 'Off, these rules decide nothing: the gate passes everything they would judge.' },
    { key: 'req', label: 'Request', kind: 'req' },
    { key: 'reqbody', label: 'Request body', kind: 'body' },
    { key: 'resp', label: 'Response', kind: 'resp' },
    { key: 'respbody', label: 'Response body', kind: 'body' },
    { key: 'envelop', label: 'Timing', kind: 'envelop' },
    { key: 'pod', label: "The pod's connections", kind: 'pod' },
    { key: 'caps', label: 'Caps learned with', kind: 'caps', help: 'How many names each table keeps one by one, and how many routes; in words on the Routes tab.' },
    { key: 'routes', label: 'Route table', kind: 'routes', help: 'The routes (method + path template) and the parameter names each uses; route by route on the Routes tab.' },
  ],
  req: [
    { key: 'method', label: 'Methods', kind: 'set', help: 'HTTP methods the service receives.' },
    { key: 'host', label: 'Host', kind: 'hosts', help: 'The Host names (lower-cased, with the port if any) the service is addressed by; IPv4 and IPv6 addresses count as one kind each. Absent or empty: not enforced.' },
    { key: 'url', label: 'Path', kind: 'url' },
    { key: 'qs', label: 'Query parameters', kind: 'kvsection', keyNoun: 'query parameter' },
    { key: 'headers', label: 'Request headers', kind: 'kvsection', keyNoun: 'header' },
    { key: 'mediatype', label: 'Media type (Content-Type)', kind: 'mediatype' },
    { key: 'contentlength', label: 'Body size', kind: 'byteRanges', help: 'Content-Length, in powers of two.' },
    { key: 'proto', label: 'Protocols', kind: 'set', help: 'HTTP versions, e.g. HTTP/1.1.' },
    cidrs('cip', 'Client addresses', 'Public client addresses (private and loopback ones are always accepted).'),
    cidrs('hopip', 'Forwarded-for addresses', 'The last X-Forwarded-For address (private and loopback ones are always accepted).'),
  ],
  resp: [
    { key: 'headers', label: 'Response headers', kind: 'kvsection', keyNoun: 'response header' },
    { key: 'mediatype', label: 'Media type (Content-Type)', kind: 'mediatype' },
    { key: 'contentlength', label: 'Body size', kind: 'byteRanges', help: 'Content-Length, in powers of two.' },
  ],
  body: [
    { key: 'structured', label: 'Structured body (JSON or form)', kind: 'structured' },
    { key: 'unstructured', label: 'Text body', kind: 'simpleval' },
    { key: 'faults', label: 'Body problems tolerated', kind: 'set', help: 'TooLargeBody, FailedJsonDecode, …: problems reading a body that are not alerts.' },
  ],
  structured: [
    { key: 'kind', label: 'Kind', kind: 'text', help: 'object, array, string, number, boolean, or multi (any).' },
    { key: 'kv', label: 'Fields', kind: 'keyval', keyNoun: 'body field' },
    { key: 'val', label: 'Value', kind: 'simpleval' },
  ],
  url: [
    { key: 'segments', label: 'Segments', kind: 'ranges', noun: n('segment', 'segments'), help: 'How many /-separated parts the path has.' },
    { key: 'val', label: 'Characters', kind: 'simpleval', help: 'The path without its slashes.' },
  ],
  kvsection: [{ key: 'kv', label: '', kind: 'keyval' }],
  mediatype: [
    { key: 'type', label: 'Media types', kind: 'set', help: '"none" stands for no or an unreadable Content-Type.' },
    { key: 'params', label: 'Parameters', kind: 'keyval', keyNoun: 'media type parameter' },
  ],
  keyval: KEYVAL_FIELDS,
  simpleval: SIMPLEVAL_FIELDS,
  envelop: [
    { key: 'responsetime', label: 'Time to the response', kind: 'seconds' },
    { key: 'completiontime', label: 'Time to the end of the exchange', kind: 'seconds' },
  ],
  pod: [
    cidrs('tcp4peers', 'TCP peers (IPv4)', 'Public addresses the pod may be connected to.'),
    cidrs('udp4peers', 'UDP peers (IPv4)', 'Public addresses the pod may be connected to.'),
    cidrs('udplite4peers', 'UDP-Lite peers (IPv4)', 'Public addresses the pod may be connected to.'),
    cidrs('tcp6peers', 'TCP peers (IPv6)', 'Public addresses the pod may be connected to.'),
    cidrs('udp6peers', 'UDP peers (IPv6)', 'Public addresses the pod may be connected to.'),
    cidrs('udplite6peers', 'UDP-Lite peers (IPv6)', 'Public addresses the pod may be connected to.'),
  ],
};

export type Path = Array<string>;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) {
    if (!isObject(v)) return undefined;
    v = v[k];
  }
  return v;
}

/** A copy of root with value at path (missing or null parents become objects). */
export function setAt<T>(root: T, path: Path, value: unknown): T {
  if (path.length === 0) return value as T;
  const [k, ...rest] = path;
  const base: Record<string, unknown> = isObject(root) ? { ...root } : {};
  base[k] = setAt(base[k], rest, value);
  return base as T;
}

/** A copy of root without the key at path. */
export function deleteAt<T>(root: T, path: Path): T {
  if (path.length === 0 || !isObject(root)) return root;
  const [k, ...rest] = path;
  const base: Record<string, unknown> = { ...root };
  if (rest.length === 0) delete base[k];
  else base[k] = deleteAt(base[k], rest);
  return base as T;
}

/** JSON text with sorted keys: equal for equal values whatever their key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

export function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The fields of a kind: the known ones in order, then any other key of the values (shown generically). */
export function fieldsOf(kind: Kind, ...values: unknown[]): Array<Field & { known: boolean }> {
  const known = FIELDS[kind] ?? [];
  const out: Array<Field & { known: boolean }> = known.map((f) => ({ ...f, known: true }));
  for (const v of values) {
    if (!isObject(v)) continue;
    for (const key of Object.keys(v)) {
      if (!out.some((f) => f.key === key)) out.push({ key, label: key, kind: 'text', known: false, help: 'A field this version of guard-ui does not know: shown as it is; edit it in the YAML/JSON tab.' });
    }
  }
  return out;
}

/** A value as a person reads it, one line. */
export function summarize(field: Pick<Field, 'kind' | 'noun'>, v: unknown): string {
  if (v === undefined) return '—';
  switch (field.kind) {
    case 'limit':
      return typeof v === 'number' ? describeLimit(v, field.noun ?? n('character', 'characters')) : generic(v);
    case 'seconds':
      return typeof v === 'number' ? describeSeconds(v) : generic(v);
    case 'flags': {
      if (typeof v !== 'number') return generic(v);
      const chars = flagChars(v);
      return chars.length === 0 ? 'none' : chars.map((c) => c.chars).join(' ');
    }
    case 'unicode': {
      if (v === null) return 'none';
      if (!Array.isArray(v)) return generic(v);
      const blocks = unicodeBlocks(v as number[]);
      return blocks.length === 0 ? 'none' : blocks.map((b) => b.name).join(', ');
    }
    case 'set': {
      const list = isObject(v) ? v.set : v;
      if (list === null || (Array.isArray(list) && list.length === 0)) return 'none';
      return Array.isArray(list) ? list.join(', ') : generic(v);
    }
    case 'hosts':
      return describeHosts(v);
    case 'caps':
      if (!isObject(v)) return generic(v);
      return `${v.params} parameter names, ${v.headers} header names per table · ${v.routes === 0 ? 'no route table' : `${v.routes} routes`} · unknown headers: ${v.unknownHeaders === 'shape' ? 'judged by shape' : 'alert'}`;
    case 'routes': {
      if (v === null) return 'no route table';
      if (!isObject(v)) return generic(v);
      const n = Object.keys(v).length;
      return `${n} route${n === 1 ? '' : 's'} (see the Routes tab)`;
    }
    case 'cidrs':
      if (v === null || (Array.isArray(v) && v.length === 0)) return 'no public address';
      return Array.isArray(v) ? v.map((c) => (isObject(c) ? cidrText(c as unknown as WireCidr) : generic(c))).join(', ') : generic(v);
    case 'ranges':
      if (v === null || (Array.isArray(v) && v.length === 0)) return 'none';
      return Array.isArray(v) ? describeRanges(v as CountRange[], field.noun ?? n('item', 'items')) : generic(v);
    case 'byteRanges':
      if (v === null || (Array.isArray(v) && v.length === 0)) return 'none recorded';
      return Array.isArray(v) ? describeByteRanges(v as CountRange[]) : generic(v);
    case 'bool':
      return v === true ? 'yes' : v === false ? 'no' : generic(v);
    case 'simpleval':
      return summarizeValue(v);
    case 'text':
      return typeof v === 'string' ? v || '(empty)' : v === null ? 'not set' : generic(v);
    default:
      return v === null ? 'not set' : generic(v);
  }
}

function generic(v: unknown): string {
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** A SimpleVal rule in one line: "up to 3 digits · up to 9 letters · / ; · 2 runs". */
export function summarizeValue(v: unknown): string {
  if (v === undefined) return '—';
  if (v === null) return 'none';
  if (!isObject(v)) return generic(v);
  const parts: string[] = [];
  for (const f of SIMPLEVAL_FIELDS) {
    const x = v[f.key];
    if (f.kind === 'limit' && typeof x === 'number' && x > 0) parts.push(describeLimit(x, f.noun!));
  }
  const chars = typeof v.flags === 'number' ? flagChars(v.flags) : [];
  if (chars.length > 0) parts.push(`special: ${chars.map((c) => c.chars).join(' ')}`);
  const blocks = Array.isArray(v.unicodeFlags) ? unicodeBlocks(v.unicodeFlags as number[]) : [];
  if (blocks.length > 0) parts.push(`scripts: ${blocks.map((b) => b.name).join(', ')}`);
  const counts = parts.length === 0 ? 'only empty values' : parts.join(' · ');
  const cookies = isObject(v.cookies) && isObject(v.cookies.vals) ? Object.keys(v.cookies.vals) : null;
  // Guard's rules beside the counts (docs/tokens.md): a Cookie judged cookie by cookie (the counts
  // of the whole line then only learned), or a token kind a value may fit instead of the counts.
  if (cookies !== null) return `cookie by cookie: ${cookies.length === 0 ? 'no cookie names learned' : cookies.join(', ')} (counts of the whole line: ${counts})`;
  const token = describeToken(v.token);
  return token === null ? counts : `${counts} · or ${token}`;
}

/** Token kind names (assembly/model/token.ts) that read better otherwise; the rest are said as they are. */
const TOKEN_WORDS: Record<string, string> = { uuid: 'UUID', jwt: 'JWT', etag: 'entity tag' };

/** A learned token rule in words: "a hex or base64url token of about 24–40 characters", "a list of 1 to 32 IP addresses". */
export function describeToken(t: unknown): string | null {
  if (!isObject(t) || !Array.isArray(t.kinds)) return null;
  const kinds = t.kinds.filter((k): k is string => typeof k === 'string');
  if (kinds.length === 0) return null;
  if (kinds.includes('addresses')) return 'a list of 1 to 32 IP addresses (IPv4 or IPv6)';
  const names = kinds.map((k) => TOKEN_WORDS[k] ?? k);
  const min = typeof t.min === 'number' ? t.min : null;
  const max = typeof t.max === 'number' ? t.max : null;
  // The band decided with is the learned one widened by a quarter each way (docs/tokens.md).
  const length = min === null || max === null ? '' : min === max ? ` of about ${min} characters` : ` of about ${min}–${max} characters`;
  return `a ${names.join(' or ')} token${length}`;
}

/** A SimpleVal that accepts only the empty value: the start of a new key's rule. */
export function emptyValueRule(): Record<string, unknown> {
  return { digits: 0, letters: 0, spaces: 0, schars: 0, nonreadables: 0, unicodes: 0, sequences: 0, flags: 0, unicodeFlags: null };
}
