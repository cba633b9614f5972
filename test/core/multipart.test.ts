// multipart/form-data by its grammar (assembly/ingest/multipart.ts, docs/compatibility.md): the
// parameters of Content-Disposition (RFC 2183 / 2045 / 8187), the framing of RFC 2046 §5.1.1, what
// is refused as FailedMultipart, and generated dispositions compared with what they mean.
import { describe, expect, test } from 'vitest';
import type { HttpRequestFields } from '../../core/index.js';
import { core, pileWire, Rng, suiteSeed, svPile, withSeed } from './support.js';

const BOUNDARY = 'XyZ-7f3a9c';
const CT = `multipart/form-data; boundary=${BOUNDARY}`;

function bodyPile(body: string | Uint8Array, contentType = CT): any {
  const r: HttpRequestFields = { method: 'POST', path: '/form', headers: [['Content-Type', contentType]], body };
  return pileWire(r).reqbody;
}

/** One part: its header lines as given, then its content. */
function part(headers: string[], content: string): string {
  return `--${BOUNDARY}\r\n${headers.map((h) => h + '\r\n').join('')}\r\n${content}\r\n`;
}

const CLOSE = `--${BOUNDARY}--\r\n`;

/** The structured kv the form profiles to: each name with its values as Go prints a []string. */
function formKv(fields: Array<[string, string]>): Record<string, unknown> {
  const byName = new Map<string, string[]>();
  for (const [name, value] of fields) byName.set(name, [...(byName.get(name) ?? []), value]);
  const kv: Record<string, unknown> = {};
  for (const [name, values] of byName) kv[name] = svPile(`[${values.join(' ')}]`);
  return kv;
}

function expectForm(body: string | Uint8Array, fields: Array<[string, string]>, contentType = CT): void {
  const b = bodyPile(body, contentType);
  expect(b.faults, 'faults').toEqual({ set: null });
  expect(b.structured.kind).toBe('object');
  expect(b.structured.kv ?? {}).toEqual(formKv(fields));
}

function expectFault(body: string | Uint8Array, contentType = CT): void {
  const b = bodyPile(body, contentType);
  expect(b.faults, typeof body === 'string' ? JSON.stringify(body) : 'bytes').toEqual({ set: ['FailedMultipart'] });
  expect(b.structured).toBeNull();
}

const disp = (params: string) => `Content-Disposition: form-data${params}`;

describe('Content-Disposition parameters', () => {
  test('quoted values are values: filename=, ";" and escaped quotes inside them change nothing', () => {
    expectForm(part([disp('; name="a"; x="filename=b.txt"')], 'v') + CLOSE, [['a', 'v']]);
    expectForm(part([disp('; name="a;filename=x"')], 'v') + CLOSE, [['a;filename=x', 'v']]);
    expectForm(part([disp('; name=a; note="x; filename=y"')], 'v') + CLOSE, [['a', 'v']]);
    // an escaped quote inside a filename does not end it: the part stays a file named x";name="y
    expectForm(part([disp('; name="f"; filename="x\\";name=\\"y"')], 'data') + CLOSE, [['f', 'application/octet-stream 4 x";name="y']]);
    // token values
    expectForm(part([disp('; name=title')], 'hello') + CLOSE, [['title', 'hello']]);
  });

  test('names of parameters and the disposition type in any case; spaces after ";" and "="', () => {
    for (const d of [
      'Content-Disposition: FORM-DATA; NAME="f"',
      'content-disposition: Form-Data;Name="f"',
      'CONTENT-DISPOSITION:form-data ;  name= "f"  ',
      'Content-Disposition: form-data;\tname=f;',
    ]) {
      expectForm(part([d], 'v') + CLOSE, [['f', 'v']]);
    }
  });

  test('a part is a file only with a non-empty filename; filename* wins over filename', () => {
    // [parameters, the file name it is profiled with (null: a field)]
    const cases: Array<[string, string | null]> = [
      ['; name="f"; filename=""', null],
      ['; name="f"; filename="a.txt"', 'a.txt'],
      ['; name="f"; FILENAME=a.txt', 'a.txt'],
      ["; name=\"f\"; filename*=UTF-8''%C3%A9t%C3%A9.png", 'été.png'],
      ["; name=\"f\"; filename*=utf-8'fr'r%C3%A9sum%C3%A9.pdf", 'résumé.pdf'],
      ["; name=\"f\"; filename*=us-ascii''a.txt", 'a.txt'],
      ["; name=\"f\"; filename*=UTF-8''", null],
      ["; name=\"f\"; filename*=UTF-8''; filename=\"a.txt\"", null],
      ["; name=\"f\"; filename=\"\"; filename*=UTF-8''a.txt", 'a.txt'],
      ["; filename*=UTF-8''a.txt; name=\"f\"", 'a.txt'],
    ];
    for (const [params, file] of cases) {
      expectForm(part([disp(params)], 'hello') + CLOSE, [['f', file !== null ? `application/octet-stream 5 ${file}` : 'hello']]);
    }
  });

  test('name* in the one form every parser reads alike (UTF-8, no language); name and name* must agree', () => {
    expectForm(part([disp("; name*=UTF-8''%C3%A9t%C3%A9")], 'v') + CLOSE, [['été', 'v']]);
    expectForm(part([disp("; name=\"x\"; name*=UTF-8''x")], 'v') + CLOSE, [['x', 'v']]);
    for (const params of ["; name=\"x\"; name*=UTF-8''y", "; name*=UTF-8'en'x", "; name*=us-ascii''x", "; name*=UTF-8''%FF", "; name*=UTF-8''a%2"]) {
      expectFault(part([disp(params)], 'v') + CLOSE);
    }
  });

  test('file parts by media type (lower-case, parameters dropped; absent → application/octet-stream), size and file name', () => {
    const png = '\u0089PNG\r\n\u001a\n' + 'x'.repeat(100);
    const body =
      part([disp('; name="avatar"; filename="me.png"'), 'Content-Type: Image/PNG'], png) +
      part([disp('; name="doc"; filename="a.txt"'), 'Content-Type: text/plain; charset=utf-8'], 'abc') +
      part([disp('; name="doc"; filename="b.bin"')], '') +
      part([disp('; name="odd"; filename="c"'), 'Content-Type: not a media type'], 'z') +
      part([disp('; name="title"')], 'hi') +
      CLOSE;
    expectForm(body, [
      ['avatar', `image/png ${Buffer.byteLength(png)} me.png`],
      ['doc', 'text/plain 3 a.txt'],
      ['doc', 'application/octet-stream 0 b.bin'],
      ['odd', 'none 1 c'],
      ['title', 'hi'],
    ]);
  });

  test('refused as FailedMultipart: what parsers read differently', () => {
    const bad = [
      // two dispositions (Go reads the first, WHATWG parsers the last)
      [disp('; name="a"'), disp('; name="b"')],
      [disp('; name="a"'), 'content-disposition: form-data; name="a"'],
      // no disposition, another type, no name
      ['Content-Type: text/plain'],
      ['Content-Disposition: attachment; name="a"'],
      ['Content-Disposition: form-data'],
      [disp('; filename="a.txt"')],
      // repeated parameters, in any case or form
      [disp('; name="a"; name="a"')],
      [disp('; name="a"; NAME="b"')],
      [disp('; name="a"; filename="x"; Filename="y"')],
      [disp("; name=\"a\"; filename*=UTF-8''x; filename*=UTF-8''y")],
      // a quoted name with what WHATWG and Go or RFC parsers read differently
      [disp('; name="a\\"b"')],
      [disp('; name="a\\\\b"')],
      [disp('; name="a\\b"')],
      [disp('; name="a%22b"')],
      [disp('; name="a%0Ab"')],
      [disp('; name="a%0db"')],
      // malformed parameter lists
      [disp('; name="a')],
      [disp('; name="a"b')],
      [disp('; name=a b')],
      [disp('; name =a')],
      [disp('; name')],
      [disp('; name=')],
      [disp('; =a')],
      [disp(';; name=a')],
      [disp('; name=a;;')],
      [disp(' name=a')],
      [disp("; name=a; filename*=iso-8859-1''x")],
      [disp("; name=a; filename*=UTF-8''%zz")],
      [disp("; name=a; filename*=UTF-8'x")],
      [disp("; name=a; filename*=UTF-8''a\"b")],
      // a transfer encoding (WHATWG parsers decode base64, Go quoted-printable)
      [disp('; name=a'), 'Content-Transfer-Encoding: base64'],
      [disp('; name=a'), 'Content-Transfer-Encoding: quoted-printable'],
      [disp('; name=a'), 'Content-Transfer-Encoding: 8bit', 'Content-Transfer-Encoding: 8bit'],
      // a repeated Content-Type, a malformed or folded header line
      [disp('; name=a; filename=f'), 'Content-Type: text/plain', 'Content-Type: image/png'],
      [disp('; name=a'), 'no colon here'],
      [disp('; name=a'), 'Bad Name: x'],
      [disp('; name=a'), 'X-A : x'],
      [disp('; name=a'), ' folded'],
      [disp('; name=a'), ': empty name'],
    ];
    for (const headers of bad) expectFault(part(headers, 'v') + CLOSE);
    // identity transfer encodings are fine
    for (const cte of ['7bit', '8BIT', 'binary']) expectForm(part([disp('; name=a'), `Content-Transfer-Encoding: ${cte}`], 'v') + CLOSE, [['a', 'v']]);
  });

  test('an empty name is a field named "" (Go skips the part, WHATWG keeps it: it is decided)', () => {
    expectForm(part([disp('; name=""')], 'hidden') + CLOSE, [['', 'hidden']]);
  });
});

describe('framing (RFC 2046 §5.1.1)', () => {
  const a = part([disp('; name="a"')], '1');

  test('preamble, transport padding, epilogue', () => {
    expectForm(a + CLOSE, [['a', '1']]);
    expectForm('This is the preamble.\r\nIt is to be ignored.\r\n' + a + CLOSE, [['a', '1']]);
    expectForm(a + `--${BOUNDARY}--`, [['a', '1']]);
    expectForm(a + `--${BOUNDARY}-- \t\r\nthe epilogue, ignored\r\n`, [['a', '1']]);
    expectForm(`--${BOUNDARY} \t\r\n${disp('; name="a"')}\r\n\r\n1\r\n--${BOUNDARY}\t\r\n${disp('; name="b"')}\r\n\r\n2\r\n` + CLOSE, [['a', '1'], ['b', '2']]);
    // an empty form, an empty value, a value with CRLFs and dashes
    expectForm(CLOSE, []);
    expectForm(part([disp('; name="e"')], '') + CLOSE, [['e', '']]);
    expectForm(part([disp('; name="t"')], 'l1\r\nl2\r\n--\r\n-- x') + CLOSE, [['t', 'l1\r\nl2\r\n--\r\n-- x']]);
  });

  test('the boundary text only in delimiter lines', () => {
    for (const body of [
      // a delimiter not at the start of a line, before the first part
      `pre--${BOUNDARY}\r\n` + a + CLOSE,
      `pre\n--${BOUNDARY}\r\n` + a + CLOSE,
      `${BOUNDARY}\r\n` + a + CLOSE,
      // the boundary inside a part's content or headers
      part([disp('; name="a"')], `x ${BOUNDARY} y`) + CLOSE,
      part([disp('; name="a"')], `x\r\n--${BOUNDARY}abc`) + CLOSE,
      part([disp('; name="a"'), `X-B: ${BOUNDARY}`], '1') + CLOSE,
      // a delimiter line with something after the boundary; a close delimiter with something after it
      `--${BOUNDARY}x\r\n${disp('; name="a"')}\r\n\r\n1\r\n` + CLOSE,
      a + `--${BOUNDARY}--junk`,
      a + `--${BOUNDARY}-- x\r\n`,
      // LF-only lines (Go accepts them, WHATWG parsers do not)
      `--${BOUNDARY}\n${disp('; name="a"')}\n\n1\n--${BOUNDARY}--\n`,
      `--${BOUNDARY}\r\n${disp('; name="a"')}\n\r\n1\r\n` + CLOSE,
      `--${BOUNDARY}\r\n${disp('; name="a"')}\r\n\n1\r\n` + CLOSE,
      // no close delimiter, no delimiter at all, no headers, truncated
      a,
      'no delimiter at all',
      `--${BOUNDARY}\r\n\r\n1\r\n` + CLOSE,
      `--${BOUNDARY}\r\n${disp('; name="a"')}`,
      `--${BOUNDARY}\r\n${disp('; name="a"')}\r\n\r\nunterminated`,
    ]) {
      expectFault(body);
    }
  });

  test('the boundary parameter: missing, empty, over 70 characters', () => {
    expectFault(a + CLOSE, 'multipart/form-data');
    expectFault('--\r\n' + disp('; name="a"') + '\r\n\r\n1\r\n----\r\n', 'multipart/form-data; boundary=""');
    const long = 'b'.repeat(71);
    expectFault(`--${long}\r\n${disp('; name="a"')}\r\n\r\n1\r\n--${long}--\r\n`, `multipart/form-data; boundary=${long}`);
    const max = 'b'.repeat(70);
    expectForm(`--${max}\r\n${disp('; name="a"')}\r\n\r\n1\r\n--${max}--\r\n`, [['a', '1']], `multipart/form-data; boundary="${max}"`);
  });

  test('caps: 1,000 parts, 32 header lines a part, 16 disposition parameters (beyond: a fault)', () => {
    const parts = (n: number) => Array.from({ length: n }, (_, i) => part([disp(`; name="k${i % 5}"`)], String(i))).join('') + CLOSE;
    expect(bodyPile(parts(1000)).faults).toEqual({ set: null });
    expectFault(parts(1001));
    const headers = (n: number) => [disp('; name="a"'), ...Array.from({ length: n - 1 }, (_, i) => `X-H${i}: v`)];
    expectForm(part(headers(32), '1') + CLOSE, [['a', '1']]);
    expectFault(part(headers(33), '1') + CLOSE);
    const params = (n: number) => '; name="a"' + Array.from({ length: n - 1 }, (_, i) => `; p${i}=v`).join('');
    expectForm(part([disp(params(16))], '1') + CLOSE, [['a', '1']]);
    expectFault(part([disp(params(17))], '1') + CLOSE);
  });

  test('values are UTF-8 as Go reads them (an invalid byte is one U+FFFD)', () => {
    const bytes = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${disp('; name="n"')}\r\n\r\n`), Buffer.from([0x61, 0xff, 0x62]), Buffer.from('\r\n' + CLOSE)]);
    const b = bodyPile(new Uint8Array(bytes));
    expect(b.structured.kv.n).toEqual(core().introspect({ op: 'pile', type: 'SimpleVal', inputs: [{ bytes: [0x5b, 0x61, 0xff, 0x62, 0x5d] }] }));
  });
});

// ---- generated dispositions ---------------------------------------------------------------------

const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z|~]+$/;
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

function randomCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng.bool() ? c.toUpperCase() : c.toLowerCase())).join('');
}

function ows(rng: Rng): string {
  return rng.pick(['', '', ' ', '  ', '\t']);
}

function quoted(value: string): string {
  return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

function extValue(value: string): string {
  let out = "UTF-8''";
  for (const byte of Buffer.from(value)) {
    const c = String.fromCharCode(byte);
    out += byte < 128 && ATTR_CHAR.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const NAMES = ['title', 'a;filename=x', 'x y', 'ü', 'a=b', 'user[name]', 'filename', '', 'q"uote', 'back\\slash', 'pct%22', 'pct%41', 'k'];
const FILENAMES = ['a.txt', '', 'x";name="evil.txt', 'C:\\dir\\f.txt', 'é.png', 'semi;colon.txt', 'spa ce.pdf', '%22.bin'];
const EXTRA = ['x="filename=b.txt"', 'foo=bar', 'creation-date="Wed, 12 Feb 1997 16:29:51 -0500"', 'size=123', 'n="name=z"'];

interface GeneratedPart {
  header: string;
  content: string;
  /** [name, profiled value], or 'fault' when the part must be refused. */
  expect: [string, string] | 'fault';
}

function generatedPart(rng: Rng, i: number): GeneratedPart {
  const name = rng.pick(NAMES);
  const params: Array<{ text: string }> = [];
  // name: a token when it can be one, else quoted; a quoted name needing an escape, or holding a
  // %22 / %0A / %0D, is refused (parsers read those differently)
  let refused = false;
  const asToken = TOKEN.test(name) && rng.bool(0.4);
  if (!asToken && (/[\\"]/.test(name) || /%(22|0a|0d)/i.test(name))) refused = true;
  params.push({ text: `${randomCase(rng, 'name')}=${ows(rng)}${asToken ? name : quoted(name)}` });
  let filename: string | undefined;
  let fileStar: string | undefined;
  if (rng.bool(0.5)) {
    filename = rng.pick(FILENAMES);
    const tok = TOKEN.test(filename) && rng.bool(0.4);
    params.push({ text: `${randomCase(rng, 'filename')}=${ows(rng)}${tok ? filename : quoted(filename)}` });
  }
  if (rng.bool(0.25)) {
    fileStar = rng.pick(FILENAMES);
    params.push({ text: `${randomCase(rng, 'filename')}*=${ows(rng)}${extValue(fileStar)}` });
  }
  for (const extra of EXTRA) if (rng.bool(0.2)) params.push({ text: extra });
  // any order
  for (let k = params.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [params[k], params[j]] = [params[j], params[k]];
  }
  const header = `${randomCase(rng, 'Content-Disposition')}:${ows(rng)}${randomCase(rng, 'form-data')}${params.map((p) => `${ows(rng)};${ows(rng)}${p.text}`).join('')}${rng.bool(0.2) ? ';' : ''}${ows(rng)}`;
  const content = rng.pick(['v' + i, '', 'a b\r\nc', 'SELECT * FROM t--', '{"k":1}']);
  if (refused) return { header, content, expect: 'fault' };
  const effective = fileStar !== undefined ? fileStar : filename;
  const isFile = effective !== undefined && effective.length > 0;
  return { header, content, expect: [name, isFile ? `application/octet-stream ${Buffer.byteLength(content)} ${effective}` : content] };
}

describe('generated dispositions', () => {
  test('600 bodies of 1–4 parts: each profiled as its disposition means, or refused as one', () => {
    withSeed(suiteSeed(0x6d70), 'generated multipart', (rng) => {
      let forms = 0;
      let faults = 0;
      for (let n = 0; n < 600; n++) {
        const parts = Array.from({ length: 1 + rng.int(4) }, (_, i) => generatedPart(rng, i));
        const body = parts.map((p) => `--${BOUNDARY}\r\n${p.header}\r\n\r\n${p.content}\r\n`).join('') + CLOSE;
        if (parts.some((p) => p.expect === 'fault')) {
          expectFault(body);
          faults++;
        } else {
          expectForm(body, parts.map((p) => p.expect as [string, string]));
          forms++;
        }
      }
      // both outcomes are exercised
      expect(forms).toBeGreaterThan(100);
      expect(faults).toBeGreaterThan(100);
    });
  });

  test('a second disposition line, anywhere among a part\'s headers, refuses the body', () => {
    withSeed(suiteSeed(0x6d71), 'two dispositions', (rng) => {
      for (let n = 0; n < 100; n++) {
        const first = generatedPart(rng, n);
        const second = generatedPart(rng, n + 1);
        const others = ['Content-Type: text/plain', 'X-Note: 1'].filter(() => rng.bool());
        const headers = [first.header, ...others];
        headers.splice(1 + rng.int(headers.length), 0, second.header);
        expectFault(`--${BOUNDARY}\r\n${headers.join('\r\n')}\r\n\r\nv\r\n` + CLOSE);
      }
    });
  });
});
