// Decoding compressed bodies for analysis (npm run bench:decode): gate/decode.ts's
// decodeForAnalysis on a JSON body of 16 KiB and of 1 MiB (the default limit) in each coding, next
// to what the request path does with the decoded bytes anyway (the core's profile + decide of the
// request, and JSON.parse), measured in the same run; then decompression bombs against the 1 MiB
// limit (time and memory). Prints the table and rewrites its block in docs/performance.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, createBrotliCompress, createGzip, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { loadCore, Section } from '../../build/js/core/index.js';
import { decodeForAnalysis } from '../../build/js/gate/decode.js';

const DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));
const START = '<!-- bench:decode:start -->';
const END = '<!-- bench:decode:end -->';
const MiB = 1024 * 1024;
const LIMIT = MiB;

/** A JSON body of about n bytes: an array of order-like objects, as an API client sends. */
function jsonBody(n) {
  const items = [];
  let len = 2;
  for (let i = 0; len < n - 200; i++) {
    const s = JSON.stringify({ id: i, item: `widget-${i % 97}`, qty: 1 + (i % 5), note: 'deliver to the back door', price: 9.99 + (i % 13) });
    items.push(s);
    len += s.length + 1;
  }
  return Buffer.from(`{"orders":[${items.join(',')}]}`);
}

/** Median milliseconds of fn over at least `minRuns` runs and ~`budgetMs`. */
function median(fn, budgetMs = 1500, minRuns = 15) {
  for (let i = 0; i < 3; i++) fn();
  const times = [];
  const until = performance.now() + budgetMs;
  while (times.length < minRuns || (performance.now() < until && times.length < 2000)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const core = loadCore();
const guardian = core.defaultGuardian();
const session = core.newSession();
function profile(body) {
  session.profileRequest({
    method: 'POST',
    path: '/api/orders',
    query: '',
    headers: [['content-type', 'application/json']],
    remote: '203.0.113.7',
    body,
  });
  session.decide(guardian, Section.Req | Section.ReqBody);
  session.reset();
}

/** @type {Array<[name: string, compress: (b: Buffer) => Buffer]>} */
const codings = [
  ['gzip', gzipSync],
  ['deflate (zlib)', deflateSync],
  ['deflate (raw)', deflateRawSync],
  ['br', brotliCompressSync],
  ['gzip, br', (b) => brotliCompressSync(gzipSync(b))],
];
const header = { 'deflate (zlib)': 'deflate', 'deflate (raw)': 'deflate' };

// Bombs first, while the process is small: the decoder must stop at the limit, whatever the
// ratio. They are compressed from a stream, so that building them does not raise the peak RSS.
async function compressStream(make, chunks, opts) {
  const parts = [];
  const z = make(opts);
  z.on('data', (c) => parts.push(c));
  const done = new Promise((resolve, reject) => z.on('end', resolve).on('error', reject));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < chunks; i++) if (!z.write(zeros)) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(parts);
}
/** @type {Array<[name: string, encoding: string, packed: Buffer]>} */
const inputs = [
  ['gzip, 100 MiB of zeros', 'gzip', await compressStream(createGzip, 100)],
  ['br, 100 MiB of zeros (window 4 MiB)', 'br', await compressStream(createBrotliCompress, 100)],
  ['br, 100 MiB of zeros (window 16 MiB, the largest)', 'br', await compressStream(createBrotliCompress, 100, { params: { [constants.BROTLI_PARAM_LGWIN]: 24 } })],
  ['gzip of gzip, 100 MiB of zeros', 'gzip, gzip', gzipSync(await compressStream(createGzip, 100))],
  ['1 MiB of empty gzip members', 'gzip', Buffer.concat(Array.from({ length: Math.floor(MiB / 20) }, () => gzipSync(Buffer.alloc(0))))],
];
global.gc?.();
const peak0 = process.resourceUsage().maxRSS;
const bombs = [];
for (const [name, enc, packed] of inputs) {
  // One call alone for the memory (repeated calls would measure the garbage collector's lag).
  const r = decodeForAnalysis(enc, packed, LIMIT);
  const peakMiB = (process.resourceUsage().maxRSS - peak0) / 1024;
  bombs.push({ name, packed: packed.length, result: r.fault ?? `${r.body.length} B`, peakMiB });
}
for (const b of bombs) {
  const [, enc, packed] = inputs.find(([name]) => name === b.name);
  b.ms = median(() => decodeForAnalysis(enc, packed, LIMIT), 1000, 10);
}

const rows = [];
for (const size of [16 * 1024, LIMIT]) {
  const body = jsonBody(size);
  const floorProfile = median(() => profile(body));
  const floorParse = median(() => JSON.parse(body.toString()));
  rows.push({ size: body.length, name: 'floor: core profile + decide', ms: floorProfile });
  rows.push({ size: body.length, name: 'floor: JSON.parse', ms: floorParse });
  for (const [name, compress] of codings) {
    const packed = compress(body);
    const enc = header[name] ?? name;
    const r = decodeForAnalysis(enc, packed, LIMIT);
    if (!r.body || !Buffer.from(r.body).equals(body)) throw new Error(`${name}: decode mismatch`);
    const ms = median(() => decodeForAnalysis(enc, packed, LIMIT));
    rows.push({ size: body.length, name, packed: packed.length, ms, vsProfile: ms / floorProfile });
  }
}

const fmtSize = (n) => (n >= MiB ? `${(n / MiB).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const lines = [
  START,
  '',
  `Machine: ${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'unknown'}, ${os.cpus().length} cores, ${os.type()} ${os.release()}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '* `npm run bench:decode` builds, then runs bench/gate/decode.js (about half a minute) and rewrites this block.',
  '* decodeForAnalysis (node:zlib sync, `maxOutputLength` = the limit, 1 MiB) on a JSON body, medians of',
  '  repeated runs in one process; MB/s counts decoded bytes. The floors are what the request path does with',
  '  the decoded bytes anyway: the core\'s profile + decide of the request, and `JSON.parse`.',
  '',
  '| body | coding | compressed | median | decoded MB/s | vs profile + decide |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${fmtSize(r.size)} JSON | ${r.name} | ${r.packed ? fmtSize(r.packed) : '–'} | ${r.ms.toFixed(3)} ms | ${(r.size / 1e6 / (r.ms / 1e3)).toFixed(0)} | ${r.vsProfile ? `${r.vsProfile.toFixed(2)}×` : '–'} |`,
  ),
  '',
  'Decompression bombs against the 1 MiB limit (run first, in a fresh process; the result is what the core',
  'gets; peak RSS growth is the process high-water mark after one decode of each, cumulative):',
  '',
  '| input | compressed | result | median | peak RSS growth |',
  '|---|---|---|---|---|',
  ...bombs.map((b) => `| ${b.name} | ${fmtSize(b.packed)} | ${b.result} | ${b.ms.toFixed(2)} ms | ${b.peakMiB.toFixed(1)} MiB |`),
  '',
  END,
];
const block = lines.join('\n');
console.log(block);

const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Performance\n';
const a = text.indexOf(START);
const b = text.indexOf(END);
const section = `## Decoding compressed bodies (guard-gate)\n\n${block}\n`;
writeFileSync(DOC, a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${section}`);
