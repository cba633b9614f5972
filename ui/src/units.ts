// The Guardian's encodings in human units: Limit codes as counts, bit lengths as byte sizes,
// special-character flags as characters, Unicode flag words as script names, CIDRs as text, Host
// tokens (docs/compatibility.md "Host") as names and address kinds.
// Pure functions (no DOM): the views and the tests use them.

/** The raw counts a Limit code stands for: [low, high]; high is Infinity for 255 (saturation). */
export function limitInterval(code: number): [number, number] {
  const c = Math.max(0, Math.min(255, Math.floor(code)));
  if (c === 255) return [1_015_792, Infinity];
  const k = c >> 4;
  const r = c & 15;
  if (k === 0) return [c, c];
  return [2 ** k * (16 + r) - 16, 2 ** k * (17 + r) - 17];
}

/** The Limit code of a raw count (the exponential encoding of the data model). */
export function limitCode(count: number): number {
  if (!Number.isFinite(count) || count < 0 || count >= 1_015_792) return 255;
  let v = Math.floor(count);
  let base = 0;
  while (v >= 16) {
    base += 16;
    v = (v - 16) >> 1;
  }
  return Math.min(v + base, 255);
}

/** A count to show, with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

/** What a raw value behind a code was: "7", or "about 40–41" when a code covers several. */
export function describeCode(code: number): string {
  const [lo, hi] = limitInterval(code);
  if (hi === Infinity) return `more than ${formatCount(lo - 1)}`;
  return lo === hi ? formatCount(lo) : `${formatCount(lo)}–${formatCount(hi)}`;
}

export interface Noun {
  one: string;
  many: string;
}

export function plural(n: number, noun: Noun): string {
  return n === 1 ? noun.one : noun.many;
}

/** A configured Limit as a person reads it: "no letters", "up to 33 letters", "any number of letters". */
export function describeLimit(code: number, noun: Noun): string {
  if (code <= 0) return `no ${noun.many}`;
  const [, hi] = limitInterval(code);
  if (hi === Infinity) return `any number of ${noun.many}`;
  return `up to ${formatCount(hi)} ${plural(hi, noun)}`;
}

/** The largest count a code accepts (Infinity for 255). */
export function limitMax(code: number): number {
  return limitInterval(code)[1];
}

/**
 * Seconds as a Limit of the envelope: "up to 3 s"; from a minute on also in minutes, hours or days
 * ("up to 255 s (4 min 15 s)"), since a count of seconds in the thousands says little to a person.
 */
export function describeSeconds(code: number): string {
  if (code <= 0) return 'under 1 s';
  const [, hi] = limitInterval(code);
  if (hi === Infinity) return 'any time';
  return hi < 60 ? `up to ${hi} s` : `up to ${formatCount(hi)} s (${clockDuration(hi)})`;
}

const CLOCK_UNITS: ReadonlyArray<[number, Noun]> = [
  [86_400, { one: 'day', many: 'days' }],
  [3600, { one: 'h', many: 'h' }],
  [60, { one: 'min', many: 'min' }],
  [1, { one: 's', many: 's' }],
];

/** Whole seconds in their two largest units: "4 min 15 s", "2 h", "about 11 days 18 h" (the rest dropped). */
function clockDuration(seconds: number): string {
  const amounts = CLOCK_UNITS.map(([size], i) => Math.floor((i === 0 ? seconds : seconds % CLOCK_UNITS[i - 1][0]) / size));
  const first = amounts.findIndex((a) => a > 0);
  const shown = [first, first + 1].filter((i) => i < amounts.length && amounts[i] > 0).map((i) => `${amounts[i]} ${plural(amounts[i], CLOCK_UNITS[i][1])}`);
  const dropped = amounts.slice(first + 2).some((a) => a > 0);
  return `${dropped ? 'about ' : ''}${shown.join(' ')}`;
}

/** Byte sizes of a content-length bit length: 0 → [0,0]; n → [2^(n−1), 2^n − 1]. */
export function bitLengthBytes(bits: number): [number, number] {
  if (bits <= 0) return [0, 0];
  return [2 ** (bits - 1), 2 ** bits - 1];
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${formatCount(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(3))} ${units[i]}`;
}

export interface CountRange {
  min: number;
  max: number;
}

/** Content-length ranges (bit lengths) as byte sizes: "0 B (no body)", "16 B – 1,023 B". */
export function describeByteRanges(ranges: CountRange[]): string {
  return ranges
    .map(({ min, max }) => {
      const lo = bitLengthBytes(min)[0];
      const hi = bitLengthBytes(max)[1];
      if (hi === 0) return 'no body (0 B or unknown)';
      return lo === hi ? formatBytes(lo) : `${formatBytes(lo)} – ${formatBytes(hi)}`;
    })
    .join(', ');
}

/** Count ranges (path segments): "1–3", "2". */
export function describeRanges(ranges: CountRange[], noun: Noun): string {
  return ranges.map(({ min, max }) => (min === max ? `${min} ${plural(min, noun)}` : `${min}–${max} ${noun.many}`)).join(', ');
}

// ---- special characters (AsciiFlags: one bit per character or pair) ---------------------------

export interface FlagChar {
  bit: number;
  /** As typed: "$", "( )", or the comment markers. */
  chars: string;
  name: string;
}

export const FLAG_CHARS: readonly FlagChar[] = [
  { bit: 0, chars: '!', name: 'exclamation mark' },
  { bit: 1, chars: '"', name: 'double quote' },
  { bit: 2, chars: '#', name: 'number sign' },
  { bit: 3, chars: '$', name: 'dollar sign' },
  { bit: 4, chars: '%', name: 'percent sign' },
  { bit: 5, chars: '&', name: 'ampersand' },
  { bit: 6, chars: "'", name: 'single quote' },
  { bit: 7, chars: '( )', name: 'parentheses' },
  { bit: 8, chars: '*', name: 'asterisk' },
  { bit: 9, chars: '+', name: 'plus sign' },
  { bit: 10, chars: ',', name: 'comma' },
  { bit: 11, chars: '-', name: 'minus sign' },
  { bit: 12, chars: '.', name: 'dot' },
  { bit: 13, chars: '/', name: 'slash' },
  { bit: 14, chars: ':', name: 'colon' },
  { bit: 15, chars: ';', name: 'semicolon' },
  { bit: 16, chars: '< >', name: 'angle brackets' },
  { bit: 17, chars: '=', name: 'equals sign' },
  { bit: 18, chars: '?', name: 'question mark' },
  { bit: 19, chars: '@', name: 'at sign' },
  { bit: 20, chars: '\\', name: 'backslash' },
  { bit: 21, chars: '[ ]', name: 'square brackets' },
  { bit: 22, chars: '^', name: 'caret' },
  { bit: 23, chars: '_', name: 'underscore' },
  { bit: 24, chars: '`', name: 'backtick' },
  { bit: 25, chars: '|', name: 'vertical bar' },
  { bit: 26, chars: '{ }', name: 'curly braces' },
  { bit: 27, chars: '~', name: 'tilde' },
  { bit: 30, chars: '/* */ --', name: 'comment markers' },
  { bit: 31, chars: '0x', name: 'hex prefix' },
];

/** The characters a flag word allows, in bit order (unsigned arithmetic: bit 31 included). */
export function flagChars(mask: number): FlagChar[] {
  const m = mask >>> 0;
  return FLAG_CHARS.filter((f) => ((m >>> f.bit) & 1) === 1);
}

export function withFlag(mask: number, bit: number, on: boolean): number {
  const m = mask >>> 0;
  return (on ? m | (1 << bit) : m & ~(1 << bit)) >>> 0;
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

// ---- Unicode blocks (FlagSlice: bit b of word w = code points (32w+b+1)·128 … +127) -------------

// Named ranges of Unicode (start, end, name): a 128-code-point block is named by those it overlaps.
const UNICODE_NAMES: ReadonlyArray<readonly [number, number, string]> = [
  [0x0080, 0x00ff, 'Latin-1 Supplement'], [0x0100, 0x024f, 'Latin Extended'], [0x0250, 0x02af, 'IPA Extensions'],
  [0x02b0, 0x02ff, 'Spacing Modifiers'], [0x0300, 0x036f, 'Combining Diacritics'], [0x0370, 0x03ff, 'Greek'],
  [0x0400, 0x052f, 'Cyrillic'], [0x0530, 0x058f, 'Armenian'], [0x0590, 0x05ff, 'Hebrew'], [0x0600, 0x06ff, 'Arabic'],
  [0x0700, 0x074f, 'Syriac'], [0x0750, 0x077f, 'Arabic Supplement'], [0x0780, 0x07bf, 'Thaana'], [0x07c0, 0x07ff, 'NKo'],
  [0x0800, 0x08ff, 'Samaritan, Mandaic, Arabic Extended'], [0x0900, 0x097f, 'Devanagari'], [0x0980, 0x09ff, 'Bengali'],
  [0x0a00, 0x0a7f, 'Gurmukhi'], [0x0a80, 0x0aff, 'Gujarati'], [0x0b00, 0x0b7f, 'Oriya'], [0x0b80, 0x0bff, 'Tamil'],
  [0x0c00, 0x0c7f, 'Telugu'], [0x0c80, 0x0cff, 'Kannada'], [0x0d00, 0x0d7f, 'Malayalam'], [0x0d80, 0x0dff, 'Sinhala'],
  [0x0e00, 0x0e7f, 'Thai'], [0x0e80, 0x0eff, 'Lao'], [0x0f00, 0x0fff, 'Tibetan'], [0x1000, 0x109f, 'Myanmar'],
  [0x10a0, 0x10ff, 'Georgian'], [0x1100, 0x11ff, 'Hangul Jamo'], [0x1200, 0x139f, 'Ethiopic'], [0x13a0, 0x13ff, 'Cherokee'],
  [0x1400, 0x167f, 'Canadian Syllabics'], [0x1680, 0x169f, 'Ogham'], [0x16a0, 0x16ff, 'Runic'], [0x1700, 0x177f, 'Philippine scripts'],
  [0x1780, 0x17ff, 'Khmer'], [0x1800, 0x18af, 'Mongolian'], [0x1e00, 0x1eff, 'Latin Extended Additional'],
  [0x1f00, 0x1fff, 'Greek Extended'], [0x2000, 0x206f, 'General Punctuation'], [0x2070, 0x209f, 'Superscripts and Subscripts'],
  [0x20a0, 0x20cf, 'Currency Symbols'], [0x2100, 0x218f, 'Letterlike Symbols and Number Forms'], [0x2190, 0x21ff, 'Arrows'],
  [0x2200, 0x22ff, 'Mathematical Operators'], [0x2300, 0x23ff, 'Technical Symbols'], [0x2400, 0x24ff, 'Enclosed Alphanumerics'],
  [0x2500, 0x25ff, 'Box Drawing and Shapes'], [0x2600, 0x26ff, 'Miscellaneous Symbols'], [0x2700, 0x27bf, 'Dingbats'],
  [0x2800, 0x28ff, 'Braille'], [0x2e80, 0x2fdf, 'CJK Radicals'], [0x3000, 0x303f, 'CJK Symbols and Punctuation'],
  [0x3040, 0x309f, 'Hiragana'], [0x30a0, 0x30ff, 'Katakana'], [0x3100, 0x31ff, 'Bopomofo and Hangul Compatibility'],
  [0x3400, 0x4dbf, 'CJK Ideographs Extension A'], [0x4e00, 0x9fff, 'CJK Ideographs'], [0xa000, 0xa4cf, 'Yi'],
  [0xac00, 0xd7af, 'Hangul Syllables'], [0xd800, 0xdfff, 'Surrogates'], [0xe000, 0xf8ff, 'Private Use'],
  [0xf900, 0xfaff, 'CJK Compatibility Ideographs'], [0xfb00, 0xfb4f, 'Alphabetic Presentation Forms'],
  [0xfb50, 0xfdff, 'Arabic Presentation Forms'], [0xfe00, 0xfe6f, 'Variation Selectors and Small Forms'],
  [0xfe70, 0xfeff, 'Arabic Presentation Forms'], [0xff00, 0xffef, 'Halfwidth and Fullwidth Forms'],
  [0xfff0, 0xffff, 'Specials (incl. the replacement character for invalid bytes)'], [0x10000, 0x1ffff, 'historic scripts and symbols'],
  [0x1f300, 0x1f5ff, 'Symbols and Pictographs'], [0x1f600, 0x1f64f, 'Emoticons'], [0x1f680, 0x1f6ff, 'Transport and Map Symbols'],
  [0x1f900, 0x1f9ff, 'Supplemental Symbols and Pictographs'], [0x20000, 0x3ffff, 'CJK Ideographs Extensions'],
  [0xe0000, 0xe007f, 'Tags'], [0xf0000, 0x10ffff, 'Supplementary Private Use'],
];

export interface UnicodeBlock {
  word: number;
  bit: number;
  from: number;
  to: number;
  name: string;
}

function u(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The name of the 128-code-point block starting at `from`. */
export function unicodeBlockName(from: number): string {
  const to = from + 127;
  const names: string[] = [];
  // The most specific (shortest) named ranges first, at most two.
  const overlapping = UNICODE_NAMES.filter(([s, e]) => s <= to && e >= from).sort((a, b) => a[1] - a[0] - (b[1] - b[0]));
  for (const [, , name] of overlapping) if (!names.includes(name) && names.length < 2) names.push(name);
  return names.length > 0 ? names.join(' / ') : `${u(from)}–${u(to)}`;
}

/** The blocks a FlagSlice allows, in order. */
export function unicodeBlocks(words: readonly number[] | null | undefined): UnicodeBlock[] {
  const out: UnicodeBlock[] = [];
  if (!Array.isArray(words)) return out;
  for (let w = 0; w < words.length; w++) {
    const word = Number(words[w]) >>> 0;
    for (let b = 0; b < 32; b++) {
      if (((word >>> b) & 1) === 0) continue;
      const from = (w * 32 + b + 1) * 128;
      out.push({ word: w, bit: b, from, to: from + 127, name: unicodeBlockName(from) });
    }
  }
  return out;
}

/** The FlagSlice position of a code point ≥ 128 (as the profiler sets it). */
export function unicodePosition(cp: number): { word: number; bit: number } {
  const block = Math.floor(cp / 128) - 1;
  return { word: Math.floor(block / 32), bit: block % 32 };
}

// ---- CIDRs ({IP, Mask} on the wire) -----------------------------------------------------------

export interface WireCidr {
  IP: string;
  Mask: string;
}

function base64Bytes(text: string): number[] {
  try {
    return Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return [];
  }
}

function bytesBase64(bytes: number[]): string {
  return btoa(String.fromCharCode(...bytes));
}

function prefixOf(mask: number[]): number {
  let n = 0;
  for (const b of mask) {
    if (b === 0xff) {
      n += 8;
      continue;
    }
    let x = b;
    while (x & 0x80) {
      n++;
      x = (x << 1) & 0xff;
    }
    break;
  }
  return n;
}

const IPV4_TEXT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * A wire CIDR as text: "203.0.113.0/24". The original keeps the first address it learned with a
 * widened mask; an IPv4 network is shown by its network address, IPv6 as stored.
 */
export function cidrText(c: WireCidr): string {
  const mask = base64Bytes(c.Mask);
  let prefix = prefixOf(mask);
  const v4 = IPV4_TEXT.exec(c.IP);
  if (v4) {
    if (mask.length === 16) prefix = Math.max(0, prefix - 96);
    const ip = v4.slice(1).map(Number);
    const net = ip.map((b, i) => {
      const bits = Math.max(0, Math.min(8, prefix - 8 * i));
      return b & ((0xff << (8 - bits)) & 0xff);
    });
    return `${net.join('.')}/${prefix}`;
  }
  return `${c.IP}/${prefix}`;
}

/**
 * A CIDR typed by a person as the wire form. IPv4 masks are written with 16 bytes, the form
 * guard-service learns (and the one the original can learn into). Returns an error text when
 * the text is no CIDR.
 */
export function cidrFromText(text: string): WireCidr | string {
  const t = text.trim();
  const [ip, p, extra] = t.split('/');
  if (extra !== undefined || !ip) return `“${t}” is not an address or CIDR (like 203.0.113.0/24 or 2001:db8::/32)`;
  const v4 = IPV4_TEXT.exec(ip);
  const isV6 = !v4 && /^[0-9a-fA-F:.]+$/.test(ip) && ip.includes(':');
  if (v4 && v4.slice(1).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) return `“${ip}” is not an IPv4 address`;
  if (!v4 && !isV6) return `“${ip}” is not an IP address`;
  const max = v4 ? 32 : 128;
  const prefix = p === undefined ? max : Number(p);
  if (!/^\d{1,3}$/.test(p ?? String(max)) || prefix > max) return `the prefix of “${t}” must be a number from 0 to ${max}`;
  const ones = (v4 ? 96 : 0) + prefix;
  const mask = Array.from({ length: 16 }, (_, i) => {
    const bits = Math.max(0, Math.min(8, ones - 8 * i));
    return (0xff << (8 - bits)) & 0xff;
  });
  return { IP: ip, Mask: bytesBase64(mask) };
}

/** One token of the Host set in words: "shop.example.com", "an IPv4 address on port 8080". */
export function describeHostToken(token: string): string {
  if (token === 'none') return 'requests without a Host line';
  const m = /^(ipv4|ipv6)(?::(\d+))?$/.exec(token);
  if (m) return `${m[1] === 'ipv4' ? 'an IPv4' : 'an IPv6'} address${m[2] ? ` on port ${m[2]}` : ' (no port)'}`;
  const p = /^(.*):(\d+)$/.exec(token);
  return p ? `${p[1]} on port ${p[2]}` : token;
}

/** The Host criterion (a set) in words. */
export function describeHosts(v: unknown): string {
  const list = typeof v === 'object' && v !== null ? (v as { set?: unknown }).set : undefined;
  if (!Array.isArray(list) || list.length === 0) return 'not enforced: any Host passes';
  return `only ${list.map((t) => describeHostToken(String(t))).join(', ')}`;
}

/**
 * Why a typed Host token would never match a request, or null: tokens are written as the core
 * writes them — lower-case `host[:port]`, and every IPv4 / IPv6 address as the word ipv4 / ipv6.
 */
export function hostProblem(text: string): string | null {
  const t = text.trim();
  const port = /:(\d{1,5})$/.exec(t);
  if (port && Number(port[1]) > 65535) return `port ${port[1]} is over 65535`;
  const host = port ? t.slice(0, port.index) : t;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `an IPv4 address is written ipv4 (every IPv4 address is one kind)${port ? `, with its port: ipv4:${port[1]}` : ''}`;
  if (host.startsWith('[')) return `an IPv6 address is written ipv6 (every IPv6 address is one kind)${port ? `, with its port: ipv6:${port[1]}` : ''}`;
  if (host !== host.toLowerCase()) return `Host names are compared lower-cased: write ${t.toLowerCase()}`;
  if (host.length === 0 || host.length > 255) return 'a Host name has 1 to 255 characters';
  if (!/^[a-z0-9._~!$&'()*+,;=%-]+$/.test(host)) return `${host} is not a Host name (letters, digits, dots and hyphens)`;
  return null;
}
