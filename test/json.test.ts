// The JSON reader and writer of the core (assembly/json) against Go encoding/json behaviour:
// exact bytes for round trips and escaping, Go's decoder semantics, limits, and fuzzing.
import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { loadWasmFile } from '../core/build-file.js';
import type { WasmIoExports } from '../core/wasm.js';
import { random } from './support/random.js';

interface JsonHarness extends WasmIoExports {
  t_roundtrip(len: number, mode: number): number;
  t_limits(len: number, maxDepth: number, maxNodes: number, maxStringBytes: number, maxBytes: number, first: number): number;
  t_parse(len: number, first: number): number;
  t_get(len: number, split: number, exact: number): number;
  t_as(len: number, kind: number, bits: number): number;
  t_string16(bytes: number): number;
  t_number(v: number): number;
  t_int(v: bigint, u: bigint): number;
  t_base64(len: number, isNull: number): number;
  t_sort(len: number): number;
  t_structure(): number;
}

const mod = loadWasmFile<JsonHarness>('test-json.wasm');
const ex = mod.exports;
const enc = new TextEncoder();

const FIRST = 1; // firstValueOnly
const GOMAP = 2; // re-encode as Go does after decoding into map[string]any

interface Result {
  ok: boolean;
  out: string;
}

function result(rc: number): Result {
  return { ok: rc === 1, out: mod.readOutputString() };
}

function roundtrip(s: string | Uint8Array, mode = 0): Result {
  const n = typeof s === 'string' ? mod.writeInputString(s) : mod.writeInputBytes(s);
  return result(ex.t_roundtrip(n, mode));
}

function ok(s: string | Uint8Array, mode = 0): string {
  const r = roundtrip(s, mode);
  if (!r.ok) throw new Error(`rejected: ${r.out}`);
  return r.out;
}

function err(s: string | Uint8Array, mode = 0): string {
  const r = roundtrip(s, mode);
  if (r.ok) throw new Error(`accepted: ${r.out}`);
  return r.out;
}

function limits(s: string, l: { depth?: number; nodes?: number; str?: number; bytes?: number; first?: boolean }): Result {
  const n = mod.writeInputString(s);
  return result(ex.t_limits(n, l.depth ?? 0, l.nodes ?? 0, l.str ?? 0, l.bytes ?? 0, l.first ? 1 : 0));
}

function get(doc: string, key: string, exact = false): string {
  const b = enc.encode(doc);
  const k = enc.encode(key);
  const all = new Uint8Array(b.length + k.length);
  all.set(b);
  all.set(k, b.length);
  const n = mod.writeInputBytes(all);
  const r = result(ex.t_get(n, b.length, exact ? 1 : 0));
  if (!r.ok) throw new Error(r.out);
  return r.out;
}

function as(doc: string, kind: number, bits = 0): string {
  const r = result(ex.t_as(mod.writeInputString(doc), kind, bits));
  if (!r.ok) throw new Error(r.out);
  return r.out;
}

/** Go-encode a JS string given as UTF-16 (lone surrogates allowed). */
function goString(s: string): string {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  const n = mod.writeInputBytes(new Uint8Array(units.buffer));
  return result(ex.t_string16(n)).out;
}

function goNumber(v: number): Result {
  return result(ex.t_number(v));
}

function base64(b: Uint8Array | null): string {
  const n = b === null ? 0 : mod.writeInputBytes(b);
  return result(ex.t_base64(n, b === null ? 1 : 0)).out;
}

/** The Go encoding of a float64: JS's shortest form and exponent thresholds are the same as Go's. */
function expectedGoFloat(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

// Deterministic PRNG for the fuzz sections.
const prng = random;

// The original's example sync message (test/vectors/fixtures.ts), compacted: already in Go's form,
// so parse + write must reproduce it byte for byte.
const SYNC_MESSAGE_REQ =
  '{"pile":{"count":1,"req":{"cip":{"List":["8.8.4.4"]},"hopip":{"List":null},"method":{"set":["GET"]},"proto":{"set":["HTTP/1.1"]},"mediatype":{"type":{"set":["none"]},"params":{}},"contentlength":"AA==","url":{"val":{"Digits":"AQ==","Letters":"BA==","Spaces":"AA==","SpecialChars":"AA==","NonReadables":"AA==","Unicodes":"AA==","Sequences":"Ag==","Flags":0,"UnicodeFlags":null},"segments":"Ag=="},"qs":{"kv":{"id":{"Digits":"AQ==","Letters":"AA==","Spaces":"AA==","SpecialChars":"AA==","NonReadables":"AA==","Unicodes":"AA==","Sequences":"AQ==","Flags":0,"UnicodeFlags":null}}},"headers":{"kv":{"Accept":{"Digits":"AA==","Letters":"AA==","Spaces":"AA==","SpecialChars":"Aw==","NonReadables":"AA==","Unicodes":"AA==","Sequences":"AQ==","Flags":1073750272,"UnicodeFlags":null}}}},"resp":{"headers":{"kv":{"Content-Type":{"Digits":"AA==","Letters":"CQ==","Spaces":"AA==","SpecialChars":"AQ==","NonReadables":"AA==","Unicodes":"AA==","Sequences":"Aw==","Flags":8192,"UnicodeFlags":null}}},"mediatype":{"type":{"set":["text/plain"]},"params":{}},"contentlength":"Ag=="},"reqbody":{"faults":{"set":null},"unstructured":null,"structured":null},"respbody":{"faults":{"set":null},"unstructured":null,"structured":null},"envelop":{"responsetime":"AA==","completiontime":"AQ=="},"pod":{"tcp4peers":{"List":null},"udp4peers":{"List":null},"udplite4peers":{"List":null},"tcp6peers":{"List":null},"udp6peers":{"List":null},"udplite6peers":{"List":null}}},"alerts":[{"decision":{"children":{"HttpRequest":{"children":{"ContentLength":{"children":{},"reasons":["Value 3 Not Allowed!"],"result":1}},"reasons":null,"result":1}},"reasons":null,"result":1},"time":1700000000,"level":"Session","count":1}],"compromised":false}';

const GUARDIAN_DEFAULT = '{"configured":null,"samples":0,"control":{"alert":true,"block":false,"learn":true,"force":true,"auto":true}}';

describe('round trips', () => {
  it('reproduces Go-form documents byte for byte', () => {
    expect(ok(SYNC_MESSAGE_REQ)).toBe(SYNC_MESSAGE_REQ);
    expect(ok(GUARDIAN_DEFAULT)).toBe(GUARDIAN_DEFAULT);
    expect(ok('{"children":null,"reasons":null,"result":0}')).toBe('{"children":null,"reasons":null,"result":0}');
    expect(ok('{"media":"375^^\\u002687878"}')).toBe('{"media":"375^^\\u002687878"}');
  });

  it('compacts whitespace and keeps member order and duplicates', () => {
    expect(ok(' { "b" : [ 1 , 2.50 , true , false , null , { } , [ ] ] ,\r\n\t"a" : "x" , "b" : {} } ')).toBe(
      '{"b":[1,2.50,true,false,null,{},[]],"a":"x","b":{}}',
    );
  });

  it('re-encodes as Go does after decoding into map[string]any: sorted keys, last duplicate, float64', () => {
    expect(ok('{"b":1,"a":{"d":[1.50,2e0],"c":null},"b":3}', GOMAP)).toBe('{"a":{"c":null,"d":[1.5,2]},"b":3}');
    expect(ok('{"b":1,"a":2,"😀":3,"\uffff":4,"é":5,"Z":6}', GOMAP)).toBe('{"Z":6,"a":2,"b":1,"é":5,"\uffff":4,"😀":3}');
    expect(ok(SYNC_MESSAGE_REQ, GOMAP)).toBe(JSON.stringify(sortDeep(JSON.parse(SYNC_MESSAGE_REQ))));
  });

  it('accepts scalars at top level', () => {
    expect(ok('  "x"  ')).toBe('"x"');
    expect(ok('null')).toBe('null');
    expect(ok('true')).toBe('true');
    expect(ok('-12.5e3')).toBe('-12.5e3');
    expect(ok('-12.5e3', GOMAP)).toBe('-12500');
  });
});

// Sorts object keys the way Go does (these test keys are ASCII, so UTF-16 order equals byte order).
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortDeep(o[k])]));
  }
  return v;
}

describe('string escaping (writer)', () => {
  it('escapes like Go: HTML-safe, \\u00XX controls, \\u0008 and \\u000c', () => {
    expect(goString('375^^&87878')).toBe('"375^^\\u002687878"');
    expect(goString('<a href="x">&amp;</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e"');
    expect(goString('\b\f\n\r\t\u0000\u0001\u001f\u007f')).toBe('"\\u0008\\u000c\\n\\r\\t\\u0000\\u0001\\u001f\u007f"');
    expect(goString('"\\/')).toBe('"\\"\\\\/"');
    expect(goString('')).toBe('""');
  });

  it('escapes U+2028 and U+2029 and writes other characters raw', () => {
    expect(goString('a\u2028b\u2029c')).toBe('"a\\u2028b\\u2029c"');
    expect(goString('é€\u00a0\u2027\u202a\ufffd')).toBe('"é€\u00a0\u2027\u202a\ufffd"');
    expect(goString('😀𝄞\u{10ffff}')).toBe('"😀𝄞\u{10ffff}"');
  });

  it('writes lone surrogates as \\ufffd', () => {
    expect(goString('\ud800')).toBe('"\\ufffd"');
    expect(goString('a\udc00b')).toBe('"a\\ufffdb"');
    expect(goString('\udc00\ud800')).toBe('"\\ufffd\\ufffd"');
    expect(goString('\ud83d\ud83d\ude00')).toBe('"\\ufffd😀"');
    expect(goString('x\ud83d')).toBe('"x\\ufffd"');
  });

  it('escapes keys the same way', () => {
    expect(ok('{"a<b":1,"\\u2028":2}')).toBe('{"a\\u003cb":1,"\\u2028":2}');
  });
});

describe('string decoding (reader)', () => {
  it('decodes every escape', () => {
    expect(ok('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC"')).toBe('"\\"\\\\/\\u0008\\u000c\\n\\r\\tAé€"');
  });

  it('joins surrogate pairs and turns unpaired surrogate escapes into U+FFFD', () => {
    expect(ok('"\\ud83d\\ude00"')).toBe('"😀"');
    expect(ok('"\\ud800"')).toBe('"\ufffd"');
    expect(ok('"\\ud800\\u0041"')).toBe('"\ufffdA"');
    expect(ok('"\\udc00\\ud800"')).toBe('"\ufffd\ufffd"');
    expect(ok('"\\ud800\\ud800\\udc00"')).toBe('"\ufffd\u{10000}"');
    expect(ok('"\\ud800x"')).toBe('"\ufffdx"');
    expect(ok('"\\ud800\\n"')).toBe('"\ufffd\\n"');
  });

  it('replaces each invalid UTF-8 byte by U+FFFD, with and without escapes', () => {
    const bytes = (...b: number[]) => new Uint8Array(b);
    // "a \xff b \xe2\x82" → a, FFFD, b, FFFD, FFFD
    expect(ok(bytes(0x22, 0x61, 0xff, 0x62, 0xe2, 0x82, 0x22))).toBe('"a\ufffdb\ufffd\ufffd"');
    expect(ok(bytes(0x22, 0x5c, 0x6e, 0xff, 0x62, 0xe2, 0x82, 0x22))).toBe('"\\n\ufffdb\ufffd\ufffd"');
    // overlong NUL and an encoded surrogate
    expect(ok(bytes(0x22, 0xc0, 0x80, 0x22))).toBe('"\ufffd\ufffd"');
    expect(ok(bytes(0x22, 0xed, 0xa0, 0x80, 0x22))).toBe('"\ufffd\ufffd\ufffd"');
    // valid multi-byte and astral characters pass through
    expect(ok('"é€😀\u2028"')).toBe('"é€😀\\u2028"');
    expect(ok(bytes(0x22, 0xf0, 0x9f, 0x98, 0x80, 0x5c, 0x74, 0x22))).toBe('"😀\\t"');
  });

  it('rejects raw control characters and bad escapes', () => {
    expect(err('"a\u0001"')).toBe("invalid character '\\x01' in string literal at offset 2");
    expect(err('"a\nb"')).toBe("invalid character '\\x0a' in string literal at offset 2");
    expect(err('"\\x"')).toBe("invalid character 'x' in string escape code at offset 2");
    expect(err('"\\u12g4"')).toBe("invalid character 'g' in \\u hexadecimal character escape at offset 5");
    expect(err('"\\u12')).toBe('unexpected end of JSON input');
    expect(err('"abc')).toBe('unexpected end of JSON input');
    expect(err('"abc\\')).toBe('unexpected end of JSON input');
  });
});

describe('numbers', () => {
  it('keeps the number text as written', () => {
    const doc = '[0,-0,1.0,1e5,1E+5,-1.5e-7,0.1e-2,123456789012345678901234567890,1e-400]';
    expect(ok(doc)).toBe(doc);
  });

  it('re-encodes float64 values as Go does', () => {
    expect(
      ok('[0,-0,1.0,1e5,1E+5,-1.5e-7,1e21,1e20,123456789012345678901234567890,0.000001,1e-7,5e-324,1.7976931348623157e308,0.1,100,1e-10,1e-400,123e-20,9007199254740993]', GOMAP),
    ).toBe(
      '[0,-0,1,100000,100000,-1.5e-7,1e+21,100000000000000000000,1.2345678901234568e+29,0.000001,1e-7,5e-324,1.7976931348623157e+308,0.1,100,1e-10,0,1.23e-18,9007199254740992]',
    );
  });

  it('rejects what the JSON grammar rejects', () => {
    expect(err('01')).toBe("invalid character '1' after top-level value at offset 1");
    expect(err('-')).toBe('unexpected end of JSON input');
    expect(err('-a')).toBe("invalid character 'a' in numeric literal at offset 1");
    expect(err('+1')).toBe("invalid character '+' looking for beginning of value at offset 0");
    expect(err('.5')).toBe("invalid character '.' looking for beginning of value at offset 0");
    expect(err('1.')).toBe('unexpected end of JSON input');
    expect(err('1.e5')).toBe("invalid character 'e' after decimal point in numeric literal at offset 2");
    expect(err('1e')).toBe('unexpected end of JSON input');
    expect(err('1e+')).toBe('unexpected end of JSON input');
    expect(err('[1e+x]')).toBe("invalid character 'x' in exponent of numeric literal at offset 4");
    expect(err('NaN')).toBe("invalid character 'N' looking for beginning of value at offset 0");
    expect(err('[Infinity]')).toBe("invalid character 'I' looking for beginning of value at offset 1");
    expect(err('0x10')).toBe("invalid character 'x' after top-level value at offset 1");
  });

  it('rejects numbers that overflow float64, as Go fails to decode them into float64', () => {
    expect(err('{"a":1e400}')).toBe('cannot unmarshal number 1e400 into float64');
    expect(err('[-1.8e308]')).toBe('cannot unmarshal number -1.8e308 into float64');
    expect(ok('[1.7976931348623158e308]', GOMAP)).toBe('[1.7976931348623157e+308]');
  });

  it('writes float64 like Go for 20,000 random doubles and special cases', () => {
    const special = [
      1, -1, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e-6, 9.999999999999997e-7, 1e21, 9.999999999999999e20, 1e-7, 5e-324,
      Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 123456.789, 1.5e300, 4.35, 0.3e-5,
      1e23, 8.41e21, 5.5e-10, 1.7976931348623157e308, 2.2250738585072014e-308, 2.225073858507201e-308, -0,
    ];
    const rnd = prng(7);
    const view = new DataView(new ArrayBuffer(8));
    const xs = [...special];
    while (xs.length < 20000 + special.length) {
      view.setUint32(0, (rnd() * 2 ** 32) >>> 0);
      view.setUint32(4, (rnd() * 2 ** 32) >>> 0);
      const x = view.getFloat64(0);
      if (Number.isFinite(x)) xs.push(x);
      // plus "human" numbers with few digits
      xs.push(Math.round(rnd() * 1e6) / 10 ** Math.floor(rnd() * 12));
    }
    const bad: string[] = [];
    for (const x of xs) {
      const r = goNumber(x);
      if (!r.ok || r.out !== expectedGoFloat(x)) bad.push(`${expectedGoFloat(x)} → ${r.out}`);
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it('refuses NaN and infinities as Go does (writes null, flags unsupported)', () => {
    expect(goNumber(NaN)).toEqual({ ok: false, out: 'unsupported' });
    expect(goNumber(Infinity)).toEqual({ ok: false, out: 'unsupported' });
  });
});

describe('duplicate keys and field lookup', () => {
  it('keeps duplicates; the last one wins', () => {
    expect(get('{"a":1,"a":2}', 'a')).toBe('2');
    expect(get('{"a":1,"a":2}', 'a', true)).toBe('2');
    expect(ok('{"a":1,"a":2}')).toBe('{"a":1,"a":2}');
    expect(ok('{"a":1,"a":2}', GOMAP)).toBe('{"a":2}');
  });

  it('matches keys up to ASCII case like Go struct fields', () => {
    expect(get('{"digits":1}', 'Digits')).toBe('1');
    expect(get('{"DIGITS":{"x":[]}}', 'Digits')).toBe('{"x":[]}');
    expect(get('{"digits":1}', 'digit')).toBe('<absent>');
    expect(get('{"digits":1}', 'Digits', true)).toBe('<absent>');
    expect(get('[1]', 'a')).toBe('<absent>');
    expect(get('{"a_b":1}', 'A_B')).toBe('1');
    expect(get('{"a_b":1}', 'A\u007fB')).toBe('<absent>');
  });

  it('prefers an exact match only by position, as Go assigns every matching member in order', () => {
    // Go fills field Digits from "Digits" and then again from "digits": the last one stays.
    expect(get('{"Digits":1,"digits":2}', 'Digits')).toBe('2');
    expect(get('{"digits":1,"Digits":2}', 'Digits')).toBe('2');
    expect(get('{"Digits":1,"digits":2}', 'Digits', true)).toBe('1');
  });
});

describe('Go field decoding helpers', () => {
  const UINT = 0, INT = 1, F64 = 2, BOOL = 3, STR = 4;
  it('decodes integers with range checks and keeps the default on errors', () => {
    expect(as('255', UINT, 8)).toBe('255');
    expect(as('300', UINT, 8)).toBe('7|cannot unmarshal number 300 into uint8');
    expect(as('-1', UINT, 32)).toBe('7|cannot unmarshal number -1 into uint32');
    expect(as('1.0', UINT, 32)).toBe('7|cannot unmarshal number 1.0 into uint32');
    expect(as('1e2', UINT, 32)).toBe('7|cannot unmarshal number 1e2 into uint32');
    expect(as('4294967295', UINT, 32)).toBe('4294967295');
    expect(as('4294967296', UINT, 32)).toBe('7|cannot unmarshal number 4294967296 into uint32');
    expect(as('18446744073709551615', UINT, 64)).toBe('18446744073709551615');
    expect(as('18446744073709551616', UINT, 64)).toBe('7|cannot unmarshal number 18446744073709551616 into uint64');
    expect(as('null', UINT, 32)).toBe('7');
    expect(as('"5"', UINT, 32)).toBe('7|cannot unmarshal string into uint32');
    expect(as('-128', INT, 8)).toBe('-128');
    expect(as('-129', INT, 8)).toBe('-7|cannot unmarshal number -129 into int8');
    expect(as('127', INT, 8)).toBe('127');
    expect(as('128', INT, 8)).toBe('-7|cannot unmarshal number 128 into int8');
    expect(as('-0', INT, 64)).toBe('0');
    expect(as('-9223372036854775808', INT, 64)).toBe('-9223372036854775808');
    expect(as('9223372036854775807', INT, 64)).toBe('9223372036854775807');
    expect(as('9223372036854775808', INT, 64)).toBe('-7|cannot unmarshal number 9223372036854775808 into int64');
    expect(as('99999999999999999999999', INT, 64)).toBe('-7|cannot unmarshal number 99999999999999999999999 into int64');
  });

  it('decodes floats, bools and strings', () => {
    expect(as('1.5', F64)).toBe('1.5');
    expect(as('true', F64)).toBe('0.5|cannot unmarshal bool into float64');
    expect(as('false', BOOL)).toBe('false');
    expect(as('1', BOOL)).toBe('true|cannot unmarshal number into bool');
    expect(as('"s"', STR)).toBe('s');
    expect(as('[]', STR)).toBe('def|cannot unmarshal array into string');
    expect(as('null', STR)).toBe('def');
  });
});

describe('firstValueOnly (json.Decoder.Decode)', () => {
  it('returns the first value and ignores what follows', () => {
    expect(ok('{"a":1} trailing garbage', FIRST)).toBe('{"a":1}');
    expect(ok('  [1,2]]]', FIRST)).toBe('[1,2]');
    expect(ok('123abc', FIRST)).toBe('123');
    expect(ok('01', FIRST)).toBe('0');
    expect(ok('1.5.3', FIRST)).toBe('1.5');
    expect(ok('"a""b"', FIRST)).toBe('"a"');
    expect(ok('nullx', FIRST)).toBe('null');
    expect(ok('{"a":1}\u0000\xff', FIRST)).toBe('{"a":1}');
  });

  it('still fails on a truncated or invalid first value', () => {
    expect(err('{"a":', FIRST)).toBe('unexpected end of JSON input');
    expect(err('', FIRST)).toBe('unexpected end of JSON input');
    expect(err('  \n ', FIRST)).toBe('unexpected end of JSON input');
    expect(err('tru', FIRST)).toBe('unexpected end of JSON input');
    expect(err('trux', FIRST)).toBe("invalid character 'x' in literal true (expecting 'e') at offset 3");
    expect(err('{"a" 1}', FIRST)).toBe("invalid character '1' after object key at offset 5");
    expect(err('{"a":1,}', FIRST)).toBe("invalid character '}' looking for beginning of object key string at offset 7");
    expect(err('[1,]', FIRST)).toBe("invalid character ']' looking for beginning of value at offset 3");
    expect(err('[1 2]', FIRST)).toBe("invalid character '2' after array element at offset 3");
    expect(err('{"a":1 "b":2}', FIRST)).toBe("invalid character '\"' after object key:value pair at offset 7");
    expect(err('-', FIRST)).toBe('unexpected end of JSON input');
  });

  it('whole mode rejects trailing data', () => {
    expect(err('{"a":1} trailing garbage')).toBe("invalid character 't' after top-level value at offset 8");
    expect(err('[1,2]]')).toBe("invalid character ']' after top-level value at offset 5");
    expect(err('')).toBe('unexpected end of JSON input');
    expect(ok('{"a":1} \r\n\t')).toBe('{"a":1}');
  });
});

describe('limits', () => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);

  it('accepts 128 levels and rejects 129 with a message', () => {
    expect(ok(nest(128))).toBe(nest(128));
    expect(err(nest(129))).toBe('nesting deeper than 128 at offset 128');
    expect(err('{"a":'.repeat(129) + '1' + '}'.repeat(129))).toBe('nesting deeper than 128 at offset 640');
    expect(limits(nest(3), { depth: 2 })).toEqual({ ok: false, out: 'nesting deeper than 2 at offset 2' });
  });

  it('rejects 100,000-deep inputs without trapping', () => {
    expect(err(nest(100_000))).toBe('nesting deeper than 128 at offset 128');
    expect(err('{"a":'.repeat(100_000), FIRST)).toBe('nesting deeper than 128 at offset 640');
    expect(err('['.repeat(100_000))).toBe('nesting deeper than 128 at offset 128');
    // with the depth cap raised, the iterative reader still copes
    expect(limits(nest(100_000), { depth: 200_000 }).ok).toBe(true);
  });

  it('caps total bytes, values and string bytes', () => {
    expect(limits('[1,2,3]    ', { bytes: 10 })).toEqual({ ok: false, out: 'input larger than 10 bytes' });
    expect(limits('[1,2,3]   ', { bytes: 10 })).toEqual({ ok: true, out: '[1,2,3]' });
    expect(limits('[1,2,3]', { nodes: 3 })).toEqual({ ok: false, out: 'more than 3 JSON values' });
    expect(limits('[1,2,3]', { nodes: 4 })).toEqual({ ok: true, out: '[1,2,3]' });
    expect(limits('{"key":"abcd"}', { str: 2 })).toEqual({ ok: false, out: 'string of more than 2 bytes at offset 1' });
    expect(limits('{"key":"abcd"}', { str: 3 })).toEqual({ ok: false, out: 'string of more than 3 bytes at offset 7' });
    expect(limits('{"key":"abcd"}', { str: 4 })).toEqual({ ok: true, out: '{"key":"abcd"}' });
    expect(limits('["a\\n"]', { str: 3 })).toEqual({ ok: true, out: '["a\\n"]' });
    expect(limits('["a\\n"]', { str: 2 })).toEqual({ ok: false, out: 'string of more than 2 bytes at offset 1' });
  });

  it('rejects inputs above the default 16 MiB and strings above 8 MiB', () => {
    const big = new Uint8Array((16 << 20) + 1).fill(0x20);
    big[0] = 0x31;
    expect(result(ex.t_parse(mod.writeInputBytes(big), 0))).toEqual({ ok: false, out: 'input larger than 16777216 bytes' });
    const s = '"' + 'a'.repeat((8 << 20) + 1) + '"';
    expect(result(ex.t_parse(mod.writeInputString(s), 0))).toEqual({ ok: false, out: 'string of more than 8388608 bytes at offset 0' });
    const fits = '["' + 'é'.repeat(4 << 20) + '","\\n"]';
    expect(result(ex.t_parse(mod.writeInputString(fits), 0))).toEqual({ ok: true, out: '' });
  });
});

describe('writer', () => {
  it('places commas correctly in nested structures and resets cleanly', () => {
    expect(result(ex.t_structure()).out).toBe(
      '{"a":[1,{"b":null},[],[false,[]]],"c":{},"d":"x","e":true,"f":"AQID/w==","g":null,"h":{"x":[1,2]},' +
        '"i":18446744073709551615,"j":0.5,"k":{"l":{"m":-9223372036854775808},"n":1e+21}} []',
    );
  });

  it('writes integers', () => {
    expect(result(ex.t_int(0n, 0n)).out).toBe('[0,0]');
    expect(result(ex.t_int(-1n, 1n)).out).toBe('[-1,1]');
    expect(result(ex.t_int(-9223372036854775808n, 18446744073709551615n)).out).toBe('[-9223372036854775808,18446744073709551615]');
    expect(result(ex.t_int(9223372036854775807n, 10n)).out).toBe('[9223372036854775807,10]');
  });

  it('writes []byte as standard padded base64 and nil as null', () => {
    expect(base64(new Uint8Array([4, 5, 200]))).toBe('"BAXI"');
    expect(base64(new Uint8Array([1, 2, 3, 255]))).toBe('"AQID/w=="');
    expect(base64(new Uint8Array([0]))).toBe('"AA=="');
    expect(base64(new Uint8Array([1, 2]))).toBe('"AQI="');
    expect(base64(new Uint8Array([]))).toBe('""');
    expect(base64(null)).toBe('null');
    const rnd = prng(3);
    for (let n = 0; n < 300; n++) {
      const b = new Uint8Array(n).map(() => Math.floor(rnd() * 256));
      expect(base64(b)).toBe(JSON.stringify(Buffer.from(b).toString('base64')));
    }
  });
});

describe('sortKeysUtf8', () => {
  it('sorts in UTF-8 byte order (code point order, not UTF-16 order)', () => {
    const r = result(ex.t_sort(mod.writeInputString(JSON.stringify(['b', 'a', 'é', 'Z', '😀', '\uffff']))));
    expect(JSON.parse(r.out)).toEqual(['Z', 'a', 'b', 'é', '\uffff', '😀']);
    const r2 = result(ex.t_sort(mod.writeInputString(JSON.stringify(['ab', 'a', '', 'a\u0000', 'B']))));
    expect(JSON.parse(r2.out)).toEqual(['', 'B', 'a', 'a\u0000', 'ab']);
  });
});

describe('fuzz', () => {
  const CORPUS = [
    SYNC_MESSAGE_REQ,
    GUARDIAN_DEFAULT,
    '{"a":[1,-2.5e-3,true,false,null,{"b":"c\\n\\u00e9\\ud83d\\ude00"}],"d":{}}',
    '[0,-0,1e21,1E-7,123456789.123456789,"x\\"y\\\\z\\/",[],[[]],{"":""}]',
    '"é€😀\u2028<>&"',
    '{"k":{"l":{"m":[{"n":null}]}},"o":12345678901234567890}',
    ' [ 1 , { "a" : "b" } ] ',
  ];

  // Returns why a JS-accepted document is out of scope for exact comparison, or null.
  function outOfScope(text: string, value: unknown): boolean {
    if (!text.isWellFormed()) return true;
    let bad = false;
    const walk = (v: unknown): void => {
      if (bad) return;
      if (typeof v === 'number') bad = !Number.isFinite(v);
      else if (typeof v === 'string') bad = !v.isWellFormed();
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) (bad = bad || !k.isWellFormed(), walk(x));
    };
    walk(value);
    return bad;
  }

  const strictDecoder = new TextDecoder('utf-8', { fatal: true });

  function check(bytes: Uint8Array, failures: string[]): void {
    let text: string | null = null;
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      text = null;
    }
    for (const mode of [0, FIRST, GOMAP, FIRST | GOMAP]) {
      let r: Result;
      try {
        r = roundtrip(bytes, mode);
      } catch (e) {
        failures.push(`trap (${String(e)}) mode ${mode} on ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`);
        return;
      }
      if (text === null || (mode & FIRST) !== 0) continue;
      let expected: unknown;
      try {
        expected = JSON.parse(text);
      } catch {
        continue;
      }
      if (outOfScope(text, expected)) continue;
      if (!r.ok) {
        failures.push(`rejected ${JSON.stringify(text)}: ${r.out}`);
        continue;
      }
      let back: unknown;
      try {
        back = JSON.parse(r.out);
      } catch {
        failures.push(`unparseable output ${JSON.stringify(r.out)} for ${JSON.stringify(text)}`);
        continue;
      }
      if (!isDeepStrictEqual(back, expected)) failures.push(`mismatch ${JSON.stringify(text)} → ${r.out}`);
    }
  }

  it('never traps on 20,000 random byte strings', () => {
    const rnd = prng(11);
    const failures: string[] = [];
    const alphabet = enc.encode('{}[]":,.-+eE0123456789 \\/utrfnalsbx\n');
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(rnd() * 40);
      const b = new Uint8Array(len);
      const structured = rnd() < 0.5;
      for (let j = 0; j < len; j++) b[j] = structured ? alphabet[Math.floor(rnd() * alphabet.length)] : Math.floor(rnd() * 256);
      check(b, failures);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('never traps on 20,000 mutations of valid JSON, and agrees with JSON.parse on valid ones', () => {
    const rnd = prng(29);
    const failures: string[] = [];
    const pieces = ['{', '}', '[', ']', '"', ':', ',', '\\', '\\u', '\\ud800', '\\udc00', '1e400', '-', '0', '.', 'e', 'true', 'null', ' ', '\u2028', '😀', '\u0001', '\uffff'];
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const base = enc.encode(CORPUS[Math.floor(rnd() * CORPUS.length)]);
      let b = Array.from(base);
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (b.length + 1));
        const kind = Math.floor(rnd() * 6);
        if (kind === 0) b.splice(at, 1);
        else if (kind === 1) b.splice(at, 0, Math.floor(rnd() * 256));
        else if (kind === 2) b[at] = Math.floor(rnd() * 256);
        else if (kind === 3) b.splice(at, 0, ...enc.encode(pieces[Math.floor(rnd() * pieces.length)]));
        else if (kind === 4) b = b.slice(0, at);
        else {
          const from = Math.floor(rnd() * b.length);
          b.splice(at, 0, ...b.slice(from, from + Math.floor(rnd() * 16)));
        }
      }
      const bytes = Uint8Array.from(b.filter((x) => x !== undefined));
      check(bytes, failures);
      if (result(ex.t_parse(mod.writeInputBytes(bytes), 0)).ok) accepted++;
    }
    expect(failures.slice(0, 10)).toEqual([]);
    // the mutations keep a fair share valid, so the agreement check is not vacuous
    expect(accepted).toBeGreaterThan(1000);
  });

  it('agrees with JSON.parse on random generated documents', () => {
    const rnd = prng(41);
    const failures: string[] = [];
    const str = () => {
      const chars = ['a', 'Z', '"', '\\', '/', '\n', '\u0000', '\u001f', '<', '&', 'é', '€', '😀', '\u2028', '\ufffd', ' '];
      let s = '';
      const n = Math.floor(rnd() * 6);
      for (let i = 0; i < n; i++) s += chars[Math.floor(rnd() * chars.length)];
      return s;
    };
    const num = () => {
      const r = rnd();
      if (r < 0.3) return Math.floor(rnd() * 1000) - 500;
      if (r < 0.6) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30);
      return new DataView(new Float64Array([rnd() * 2 ** 52 * 2 ** Math.floor(rnd() * 200 - 100)]).buffer).getFloat64(0);
    };
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 4 || r < 0.3) return [null, true, false, num(), str()][Math.floor(rnd() * 5)];
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [str(), gen(depth + 1)]));
    };
    for (let i = 0; i < 3000; i++) {
      const doc = gen(0);
      const text = JSON.stringify(doc, null, rnd() < 0.3 ? 1 : undefined);
      check(enc.encode(text), failures);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
