// The requests of the differential suite, as raw bytes: the normal traffic a Guardian is learned
// from, and generated variants that try to carry an attack payload past it through every class of
// parser differential — query separators and escapes, header repetition and case, bodies with odd or
// no media types, JSON that only some decoders read, multipart parameter grammar, chunked and
// compressed framing. Each variant also exists with a benign value in place of the payload.
import zlib from 'node:zlib';

// biome-ignore lint/suspicious/noTemplateCurlyInString: attack payloads, a JNDI lookup among them, as clients send them
export const PAYLOADS = ["<script>alert(1)</script>", "' OR '1'='1", '../../../etc/passwd', '$(cat /etc/passwd)', '{{7*7}}${jndi:x}'];
const WORDS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'trent', 'victor', 'walter'];
const BENIGN = 'bob';

export interface RawRequest {
  method: string;
  target: string;
  /** Header lines besides Host (added first unless `host` is given as a line here). */
  headers: [string, string][];
  body?: Buffer;
  /** Sent with Transfer-Encoding: chunked (in chunks of this many bytes). */
  chunked?: number;
  /** Request line's protocol (default HTTP/1.1). */
  proto?: string;
  /** No Host line of the suite's own. */
  noHost?: boolean;
  /** Raw bytes appended after the request (a second, pipelined request). */
  then?: Buffer;
}

export interface Variant {
  cls: string;
  name: string;
  /** The payload carried (null: the benign twin). */
  payload: string | null;
  bytes: Buffer;
  /** The construct is refused by itself (a 4xx is right even for the benign twin). */
  refusable?: boolean;
}

/** A request as bytes: request line, Host, header lines, Connection: close, framing, body. */
export function encode(r: RawRequest): Buffer {
  const lines = [`${r.method} ${r.target} ${r.proto ?? 'HTTP/1.1'}`];
  if (!r.noHost) lines.push('Host: shop');
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  if (!r.headers.some(([k]) => k.toLowerCase() === 'connection') && !r.then) lines.push('Connection: close');
  const body = r.body ?? Buffer.alloc(0);
  let payload = body;
  if (r.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += r.chunked) {
      const c = body.subarray(i, i + r.chunked);
      parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    payload = Buffer.concat(parts);
  } else if (r.body !== undefined && !r.headers.some(([k]) => k.toLowerCase() === 'content-length')) {
    lines.push(`Content-Length: ${body.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload, r.then ?? Buffer.alloc(0)]);
}

const CLIENT_HEADERS: [string, string][] = [
  ['Accept', 'application/json'],
  ['User-Agent', 'shop-client/1.0'],
];

// ---- the traffic the Guardian learns ----------------------------------------------------------

function multipart(boundary: string, parts: { headers: string[]; body: string | Buffer }[], opts: { preamble?: string; epilogue?: string; eol?: string } = {}): Buffer {
  const eol = opts.eol ?? '\r\n';
  const out: Buffer[] = [];
  if (opts.preamble) out.push(Buffer.from(opts.preamble + eol));
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}${eol}${p.headers.map((h) => h + eol).join('')}${eol}`));
    out.push(typeof p.body === 'string' ? Buffer.from(p.body) : p.body);
    out.push(Buffer.from(eol));
  }
  out.push(Buffer.from(`--${boundary}--${eol}`));
  if (opts.epilogue) out.push(Buffer.from(opts.epilogue));
  return Buffer.concat(out);
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/** The normal traffic of the shop: item GETs, JSON (plain, chunked, gzip), forms, uploads. */
export function normalTraffic(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const word = WORDS[i % WORDS.length]!;
    const id = String(1 + ((i * 37) % 900));
    const json = Buffer.from(JSON.stringify({ name: word, qty: 1 + (i % 5) }));
    switch (i % 7) {
      case 0:
      case 1:
        out.push(encode({ method: 'GET', target: `/api/items?id=${id}&name=${word}`, headers: CLIENT_HEADERS }));
        break;
      case 2:
        out.push(encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json']], body: json }));
        break;
      case 3:
        out.push(encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json']], body: json, chunked: 7 }));
        break;
      case 4:
        out.push(encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']], body: zlib.gzipSync(json) }));
        break;
      case 5:
        out.push(encode({ method: 'POST', target: '/api/form', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from(`name=${word}&qty=${1 + (i % 5)}`) }));
        break;
      default:
        out.push(
          encode({
            method: 'POST',
            target: '/api/upload',
            headers: [...CLIENT_HEADERS, ['Content-Type', 'multipart/form-data; boundary=XXb0und']],
            body: multipart('XXb0und', [
              { headers: ['Content-Disposition: form-data; name="name"'], body: word },
              { headers: [`Content-Disposition: form-data; name="avatar"; filename="${word}.png"`, 'Content-Type: image/png'], body: Buffer.concat([PNG, Buffer.alloc(i % 64, 1)]) },
            ]),
          }),
        );
    }
  }
  return out;
}

// ---- the variants -----------------------------------------------------------------------------

/** Ways to write a value into a query or form: as is (what a request line allows), escaped, … */
const ENCODINGS: [string, (v: string) => string][] = [
  ['plain', (v) => v.replace(/[ %#&;+]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)],
  ['escaped', (v) => encodeURIComponent(v).replace(/'/g, '%27').replace(/[()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)],
  ['lower-hex', (v) => [...Buffer.from(v)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')],
  ['plus for space', (v) => encodeURIComponent(v).replace(/%20/g, '+')],
  ['double-escaped', (v) => encodeURIComponent(encodeURIComponent(v))],
];

const QUERY_TEMPLATES: [string, (p: string) => string, boolean?][] = [
  ['the value', (p) => `id=7&name=${p}`],
  ['after a ; in the same piece', (p) => `id=7&name=alice;name=${p}`],
  ['a ; between pieces', (p) => `id=7;name=${p}`],
  ['a ; after it', (p) => `id=7&name=${p};x`],
  ['after an invalid escape in its piece', (p) => `id=7&name=%zz${p}`],
  ['with a trailing %', (p) => `id=7&name=${p}%`],
  ['after a piece with an invalid escape', (p) => `id=7&name=alice%&name=${p}`],
  ['after a #', (p) => `id=7&name=alice#&name=${p}`, true],
  ['as name[]', (p) => `id=7&name[]=${p}`],
  ['as an escaped name[]', (p) => `id=7&name%5B%5D=${p}`],
  ['under an escaped key', (p) => `id=7&%6eame=${p}`],
  ['under an upper-case key', (p) => `id=7&NAME=${p}`],
  ['first of a repeated key', (p) => `id=7&name=${p}&name=alice`, true],
  ['after empty pieces', (p) => `id=7&&&name=${p}`],
  ['under a nested qs key', (p) => `id=7&name[a][b]=${p}`],
  ['as a key', (p) => `id=7&${p}=1`],
];

function queryVariants(payload: string | null): Variant[] {
  const out: Variant[] = [];
  const value = payload ?? BENIGN;
  // A third element true: the construct is itself a shape the Guardian never learned (a repeated key,
  // a '#' in a value), so even its benign twin may be refused.
  for (const [tname, template, novel] of QUERY_TEMPLATES) {
    for (const [ename, enc] of ENCODINGS) {
      // The benign twin of key tricks is itself a new key: only the value tricks have one.
      if (payload === null && (tname.startsWith('as') || tname.startsWith('under'))) continue;
      out.push({ cls: 'query', name: `${tname}, ${ename}`, payload, bytes: encode({ method: 'GET', target: `/api/items?${template(enc(value))}`, headers: CLIENT_HEADERS }), refusable: novel });
    }
  }
  return out;
}

function headerVariants(payload: string | null): Variant[] {
  const v = payload ?? 'shop-client/1.0';
  const get = (headers: [string, string][], extra: Partial<RawRequest> = {}): Buffer => encode({ method: 'GET', target: '/api/items?id=7&name=alice', headers, ...extra });
  const out: Variant[] = [
    { cls: 'headers', name: 'in User-Agent', payload, bytes: get([['Accept', 'application/json'], ['User-Agent', v]]) },
    { cls: 'headers', name: 'in a second User-Agent line', payload, bytes: get([...CLIENT_HEADERS, ['User-Agent', v]]), refusable: true },
    { cls: 'headers', name: 'in a first User-Agent line', payload, bytes: get([['Accept', 'application/json'], ['User-Agent', v], ['User-Agent', 'shop-client/1.0']]), refusable: true },
    { cls: 'headers', name: 'in an odd-case User-Agent', payload, bytes: get([['Accept', 'application/json'], ['uSeR-aGeNt', v]]) },
    { cls: 'headers', name: 'in a second Accept line', payload, bytes: get([...CLIENT_HEADERS, ['Accept', payload ?? 'application/json']]), refusable: true },
  ];
  if (payload !== null) {
    out.push({ cls: 'headers', name: 'in an unknown header', payload, bytes: get([...CLIENT_HEADERS, ['X-Note', payload]]) });
    out.push({ cls: 'headers', name: 'in a Cookie', payload, bytes: get([...CLIENT_HEADERS, ['Cookie', `session=${payload}`]]) });
  }
  return out;
}

function hostVariants(payload: string | null): Variant[] {
  const get = (hosts: string[]): Buffer => encode({ method: 'GET', target: '/api/items?id=7&name=alice', headers: [...hosts.map((h): [string, string] => ['Host', h]), ...CLIENT_HEADERS], noHost: true });
  // The payload as a host name where it can be one, else as it is (a malformed Host).
  const host = payload === null ? 'shop' : /^[a-z0-9.-]+$/i.test(payload) ? payload : encodeURIComponent(payload);
  return [
    { cls: 'host', name: 'as the Host', payload, bytes: get([host]) },
    { cls: 'host', name: 'as the Host, raw', payload, bytes: get([payload ?? 'shop']) },
    { cls: 'host', name: 'in a second Host line', payload, bytes: get(['shop', host]), refusable: true },
    { cls: 'host', name: 'in a first Host line', payload, bytes: get([host, 'shop']), refusable: true },
    { cls: 'host', name: 'with a port', payload, bytes: get([`${payload === null ? 'shop' : 'evil.example'}:8080`]), refusable: true },
  ];
}

function jsonVariants(payload: string | null): Variant[] {
  const v = payload ?? BENIGN;
  const doc = (name: string) => JSON.stringify({ name, qty: 2 });
  const post = (body: Buffer | string, headers: [string, string][], extra: Partial<RawRequest> = {}): Buffer =>
    encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ...headers], body: typeof body === 'string' ? Buffer.from(body) : body, ...extra });
  const json: [string, string][] = [['Content-Type', 'application/json']];
  const out: Variant[] = [
    { cls: 'json', name: 'the value', payload, bytes: post(doc(v), json) },
    { cls: 'json', name: 'as text/plain', payload, bytes: post(doc(v), [['Content-Type', 'text/plain']]), refusable: true },
    { cls: 'json', name: 'without Content-Type', payload, bytes: post(doc(v), []), refusable: true },
    { cls: 'json', name: 'as application/x-json', payload, bytes: post(doc(v), [['Content-Type', 'application/x-json']]), refusable: true },
    { cls: 'json', name: 'as APPLICATION/JSON', payload, bytes: post(doc(v), [['Content-Type', 'APPLICATION/JSON']]), refusable: true },
    { cls: 'json', name: 'with a charset', payload, bytes: post(doc(v), [['Content-Type', 'application/json; charset=utf-8']]), refusable: true },
    { cls: 'json', name: 'with a quoted parameter holding a comma', payload, bytes: post(doc(v), [['Content-Type', 'application/json; x="a,b"']]), refusable: true },
    { cls: 'json', name: 'text/plain then application/json', payload, bytes: post(doc(v), [['Content-Type', 'text/plain'], ['Content-Type', 'application/json']]), refusable: true },
    { cls: 'json', name: 'application/json then text/plain', payload, bytes: post(doc(v), [['Content-Type', 'application/json'], ['Content-Type', 'text/plain']]), refusable: true },
    { cls: 'json', name: 'in a second JSON value', payload, bytes: post(doc('alice') + doc(v), json), refusable: true },
    { cls: 'json', name: 'in a second NDJSON line', payload, bytes: post(`${doc('alice')}\n${doc(v)}\n`, json), refusable: true },
    { cls: 'json', name: 'first of a repeated key', payload, bytes: post(`{"name":${JSON.stringify(v)},"name":"alice","qty":2}`, json), refusable: true },
    { cls: 'json', name: 'last of a repeated key', payload, bytes: post(`{"name":"alice","name":${JSON.stringify(v)},"qty":2}`, json), refusable: true },
    { cls: 'json', name: 'as \\u escapes', payload, bytes: post(`{"name":"${[...v].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}","qty":2}`, json) },
    { cls: 'json', name: 'after a byte-order mark', payload, bytes: post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc(v))]), json), refusable: true },
    { cls: 'json', name: 'as the key of an empty object', payload, bytes: post(JSON.stringify({ name: 'alice', qty: 2, [v]: {} }), json), refusable: true },
    { cls: 'json', name: 'as a key inside an empty-object member', payload, bytes: post(JSON.stringify({ name: 'alice', qty: 2, meta: { [v]: {} } }), json), refusable: true },
    { cls: 'json', name: 'nested', payload, bytes: post(JSON.stringify({ name: 'alice', qty: 2, meta: { note: v } }), json), refusable: true },
    { cls: 'json', name: 'in a top-level array', payload, bytes: post(JSON.stringify([{ name: v, qty: 2 }]), json), refusable: true },
    { cls: 'json', name: 'chunked', payload, bytes: post(doc(v), json, { chunked: 5 }) },
    { cls: 'json', name: 'gzip', payload, bytes: post(zlib.gzipSync(doc(v)), [...json, ['Content-Encoding', 'gzip']]) },
    { cls: 'json', name: 'gzip as text/plain', payload, bytes: post(zlib.gzipSync(doc(v)), [['Content-Type', 'text/plain'], ['Content-Encoding', 'gzip']]), refusable: true },
    { cls: 'json', name: 'deflate', payload, bytes: post(zlib.deflateSync(doc(v)), [...json, ['Content-Encoding', 'deflate']]), refusable: true },
    { cls: 'json', name: 'brotli', payload, bytes: post(zlib.brotliCompressSync(doc(v)), [...json, ['Content-Encoding', 'br']]), refusable: true },
    { cls: 'json', name: 'gzip in two Content-Encoding lines', payload, bytes: post(zlib.gzipSync(zlib.gzipSync(doc(v))), [...json, ['Content-Encoding', 'gzip'], ['Content-Encoding', 'gzip']]), refusable: true },
    { cls: 'json', name: 'gzip, chunked', payload, bytes: post(zlib.gzipSync(doc(v)), [...json, ['Content-Encoding', 'gzip']], { chunked: 9 }) },
  ];
  if (payload !== null) {
    out.push({ cls: 'json', name: 'as a key with a null value', payload, bytes: post(`{"name":"alice","qty":2,${JSON.stringify(payload)}:null}`, json) });
    out.push({ cls: 'json', name: 'as a key', payload, bytes: post(`{"name":"alice","qty":2,${JSON.stringify(payload)}:1}`, json) });
  }
  return out;
}

function formVariants(payload: string | null): Variant[] {
  const out: Variant[] = [];
  const v = payload ?? BENIGN;
  const post = (body: string, headers: [string, string][]): Buffer => encode({ method: 'POST', target: '/api/form', headers: [...CLIENT_HEADERS, ...headers], body: Buffer.from(body) });
  const form: [string, string][] = [['Content-Type', 'application/x-www-form-urlencoded']];
  for (const [ename, enc] of ENCODINGS.slice(0, 3)) {
    const p = enc(v);
    out.push(
      { cls: 'form', name: `the value, ${ename}`, payload, bytes: post(`name=${p}&qty=2`, form) },
      { cls: 'form', name: `after a ; , ${ename}`, payload, bytes: post(`name=alice;name=${p}&qty=2`, form), refusable: true },
      { cls: 'form', name: `after an invalid escape, ${ename}`, payload, bytes: post(`name=%zz${p}&qty=2`, form), refusable: true },
      { cls: 'form', name: `repeated, ${ename}`, payload, bytes: post(`name=alice&name=${p}&qty=2`, form), refusable: true },
      { cls: 'form', name: `without Content-Type, ${ename}`, payload, bytes: post(`name=${p}&qty=2`, []), refusable: true },
      { cls: 'form', name: `with a charset, ${ename}`, payload, bytes: post(`name=${p}&qty=2`, [['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8']]), refusable: true },
    );
  }
  return out;
}

function multipartVariants(payload: string | null): Variant[] {
  const v = payload ?? BENIGN;
  const ct = (b = 'XXb0und'): [string, string] => ['Content-Type', `multipart/form-data; boundary=${b}`];
  const post = (body: Buffer, type: [string, string] = ct()): Buffer => encode({ method: 'POST', target: '/api/upload', headers: [...CLIENT_HEADERS, type], body });
  const avatar = { headers: ['Content-Disposition: form-data; name="avatar"; filename="bob.png"', 'Content-Type: image/png'], body: PNG };
  const field = (disposition: string[], value: string | Buffer = v) => post(multipart('XXb0und', [{ headers: disposition, body: value }, avatar]));
  const out: Variant[] = [
    { cls: 'multipart', name: 'a field', payload, bytes: field(['Content-Disposition: form-data; name="name"']) },
    { cls: 'multipart', name: 'filename= inside another quoted parameter', payload, bytes: field(['Content-Disposition: form-data; name="name"; x="; filename=a.txt"']), refusable: true },
    { cls: 'multipart', name: 'filename= inside the quoted name', payload, bytes: field(['Content-Disposition: form-data; name="name; filename=a.txt"']), refusable: true },
    { cls: 'multipart', name: 'an empty filename', payload, bytes: field(['Content-Disposition: form-data; name="name"; filename=""']), refusable: true },
    { cls: 'multipart', name: 'two dispositions, field first', payload, bytes: field(['Content-Disposition: form-data; name="name"', 'Content-Disposition: form-data; name="name"; filename="a.png"']), refusable: true },
    { cls: 'multipart', name: 'two dispositions, file first', payload, bytes: field(['Content-Disposition: form-data; name="name"; filename="a.png"', 'Content-Disposition: form-data; name="name"']), refusable: true },
    { cls: 'multipart', name: 'filename* only', payload, bytes: field(["Content-Disposition: form-data; name=\"name\"; filename*=UTF-8''a.txt"]), refusable: true },
    { cls: 'multipart', name: 'name* only', payload, bytes: field(["Content-Disposition: form-data; name*=UTF-8''name"]), refusable: true },
    { cls: 'multipart', name: 'upper-case FORM-DATA and names', payload, bytes: field(['CONTENT-DISPOSITION: FORM-DATA; NAME="name"']), refusable: true },
    { cls: 'multipart', name: 'an unquoted name without space', payload, bytes: field(['Content-Disposition: form-data;name=name']), refusable: true },
    { cls: 'multipart', name: 'a field with Content-Type text/plain', payload, bytes: field(['Content-Disposition: form-data; name="name"', 'Content-Type: text/plain']), refusable: true },
    { cls: 'multipart', name: 'base64 Content-Transfer-Encoding', payload, bytes: field(['Content-Disposition: form-data; name="name"', 'Content-Transfer-Encoding: base64'], Buffer.from(v).toString('base64')), refusable: true },
    { cls: 'multipart', name: 'a quoted boundary', payload, bytes: post(multipart('XXb0und', [{ headers: ['Content-Disposition: form-data; name="name"'], body: v }, avatar]), ['Content-Type', 'multipart/form-data; boundary="XXb0und"']), refusable: true },
    { cls: 'multipart', name: 'two boundary parameters', payload, bytes: post(multipart('YYb0und', [{ headers: ['Content-Disposition: form-data; name="name"'], body: v }, avatar]), ['Content-Type', 'multipart/form-data; boundary=XXb0und; boundary=YYb0und']), refusable: true },
    { cls: 'multipart', name: 'a part in the preamble', payload, bytes: post(multipart('XXb0und', [{ headers: ['Content-Disposition: form-data; name="name"'], body: 'alice' }, avatar], { preamble: `Content-Disposition: form-data; name="name"\r\n\r\n${v}` })), refusable: true },
    { cls: 'multipart', name: 'a part in the epilogue', payload, bytes: post(multipart('XXb0und', [{ headers: ['Content-Disposition: form-data; name="name"'], body: 'alice' }, avatar], { epilogue: `--XXb0und\r\nContent-Disposition: form-data; name="name"\r\n\r\n${v}\r\n--XXb0und--\r\n` })), refusable: true },
    { cls: 'multipart', name: 'bare LF line ends', payload, bytes: post(multipart('XXb0und', [{ headers: ['Content-Disposition: form-data; name="name"'], body: v }, avatar], { eol: '\n' })), refusable: true },
  ];
  if (payload !== null) out.push({ cls: 'multipart', name: 'in a file name', payload, bytes: field([`Content-Disposition: form-data; name="avatar"; filename="${payload}"`, 'Content-Type: image/png'], PNG) });
  return out;
}

function framingVariants(payload: string | null): Variant[] {
  const v = encodeURIComponent(payload ?? BENIGN);
  const out: Variant[] = [
    { cls: 'framing', name: 'absolute-form target', payload, bytes: encode({ method: 'GET', target: `http://shop/api/items?id=7&name=${v}`, headers: CLIENT_HEADERS }), refusable: true },
    { cls: 'framing', name: 'HTTP/1.0', payload, bytes: encode({ method: 'GET', target: `/api/items?id=7&name=${v}`, headers: CLIENT_HEADERS, proto: 'HTTP/1.0' }), refusable: true },
    { cls: 'framing', name: 'Expect: 100-continue', payload, bytes: encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json'], ['Expect', '100-continue']], body: Buffer.from(JSON.stringify({ name: payload ?? BENIGN, qty: 2 })) }), refusable: true },
    { cls: 'framing', name: 'a chunk extension', payload, bytes: Buffer.concat([encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']] }), Buffer.from(`${Buffer.byteLength(JSON.stringify({ name: payload ?? BENIGN, qty: 2 })).toString(16)};ext=${v}\r\n${JSON.stringify({ name: payload ?? BENIGN, qty: 2 })}\r\n0\r\n\r\n`)]), refusable: true },
    { cls: 'framing', name: 'a trailer field', payload, bytes: Buffer.concat([encode({ method: 'POST', target: '/api/items', headers: [...CLIENT_HEADERS, ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked'], ['Trailer', 'X-Note']] }), Buffer.from(`${Buffer.byteLength(JSON.stringify({ name: 'alice', qty: 2 })).toString(16)}\r\n${JSON.stringify({ name: 'alice', qty: 2 })}\r\n0\r\nX-Note: ${payload ?? BENIGN}\r\n\r\n`)]), refusable: true },
    // biome-ignore lint/suspicious/noThenProperty: `then` is encode()'s option for a pipelined second request; never awaited
    { cls: 'framing', name: 'pipelined after a normal request', payload, bytes: encode({ method: 'GET', target: '/api/items?id=7&name=alice', headers: [...CLIENT_HEADERS, ['Connection', 'keep-alive']], then: encode({ method: 'GET', target: `/api/items?id=7&name=${v}`, headers: CLIENT_HEADERS }) }), refusable: true },
  ];
  return out;
}

/** Every variant, with each payload and the benign twin. */
export function allVariants(): Variant[] {
  const out: Variant[] = [];
  for (const payload of [...PAYLOADS, null]) {
    out.push(...queryVariants(payload), ...headerVariants(payload), ...hostVariants(payload), ...jsonVariants(payload), ...formVariants(payload), ...multipartVariants(payload), ...framingVariants(payload));
  }
  return out;
}
