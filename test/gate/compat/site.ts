// The static site the file servers of the compatibility suite serve: real files in a temporary
// directory, of the sizes and types a web service ships — a page, its stylesheet and script, JSON,
// images, a 3 MB text log, a 20 MB download — with precompressed .gz and .br twins of the text files
// (served by sirv to clients that accept them). Text comes from the suite's seeded random source;
// binary content is random bytes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { random } from '../../support/random.js';

export const MiB = 1024 * 1024;

export interface Site {
  dir: string;
  /** Paths of the files, from the site's root ('/index.html'…), with their sizes. */
  files: ReadonlyArray<{ path: string; bytes: number }>;
  remove(): Promise<void>;
}

/** Text of `bytes` characters: words of the domain, a line break now and then. */
const WORDS = ['guard', 'gate', 'request', 'response', 'learn', 'pile', 'criteria', 'stream', 'header', 'body', 'service', 'pod'];
function words(bytes: number, seed: number): string {
  const next = random(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = WORDS[(next() * WORDS.length) | 0]! + (next() < 0.1 ? '\n' : ' ');
    parts.push(w);
    n += w.length;
  }
  return parts.join('').slice(0, bytes);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function makeSite(): Promise<Site> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-compat-site-'));
  const files: Array<{ path: string; bytes: number }> = [];
  const put = async (path: string, content: string | Buffer, twins = false): Promise<void> => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    files.push({ path, bytes: Buffer.byteLength(content) });
    if (twins) {
      await writeFile(join(dir, `${path}.gz`), gzipSync(content));
      await writeFile(join(dir, `${path}.br`), brotliCompressSync(content));
    }
  };
  await put('/index.html', `<!doctype html><html><head><title>shop</title><link rel="stylesheet" href="/css/site.css"><script src="/js/app.js" defer></script></head><body><h1>shop</h1><p>${words(4000, 1)}</p><img src="/img/logo.png" alt="logo"></body></html>\n`, true);
  await put('/css/site.css', `body { font-family: sans-serif; }\n/* ${words(12_000, 2)} */\n`, true);
  await put('/js/app.js', `// ${words(30_000, 3).replace(/\n/g, '\n// ')}\nconsole.log('shop');\n`, true);
  await put('/api/catalog.json', JSON.stringify({ items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: words(24, 100 + i), price: i * 3 })) }), true);
  await put('/img/logo.png', Buffer.concat([PNG_SIGNATURE, randomBytes(48 * 1024)]));
  await put('/img/icon.svg', `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#0a6"/></svg>\n`);
  await put('/logs/today.txt', words(3 * MiB, 5), true);
  await put('/download/archive.bin', randomBytes(20 * MiB));
  await put('/empty.txt', '');
  return { dir, files, remove: () => rm(dir, { recursive: true, force: true }) };
}
