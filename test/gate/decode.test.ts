// Decoding compressed bodies for analysis (gate/decode.ts): every coding, stacked codings, corrupt
// and unknown input, the limit at and over its boundary, and decompression bombs bounded in time
// and memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, createBrotliCompress, createGzip, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import {
  contentCodings,
  decodeForAnalysis,
  decodeForGate,
  FAULT_DECOMPRESS,
  FAULT_TOO_LARGE,
  FAULT_UNKNOWN_CODING,
  MAX_CODINGS,
} from '../../gate/decode.js';

const MiB = 1024 * 1024;
const json = Buffer.from(JSON.stringify({ item: 'widget', qty: 2, note: 'x'.repeat(2000), tags: ['a', 'b'] }));

function bodyOf(r: ReturnType<typeof decodeForAnalysis>): string {
  expect(r.fault).toBeUndefined();
  return Buffer.from(r.body!).toString();
}

/** `chunks` MiB of zeros through a compression stream (the input never exists in memory). */
async function zeros(make: () => NodeJS.ReadWriteStream, chunks: number): Promise<Buffer> {
  const z = make();
  const parts: Buffer[] = [];
  z.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((resolve, reject) => z.on('end', resolve).on('error', reject));
  const mib = Buffer.alloc(MiB);
  for (let i = 0; i < chunks; i++) if (!z.write(mib)) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(parts);
}

/** Peak RSS growth (KiB) while fn runs, from Linux's resettable high-water mark; null elsewhere. */
/**
 * CPU milliseconds this process spent since `start` (process.cpuUsage()): unlike the wall clock, it
 * does not grow while other processes hold the machine's cores, so the bound holds on a loaded CI.
 */
function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function peakGrowthKiB(fn: () => void): number | null {
  const hwm = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    return null;
  }
  const before = hwm();
  fn();
  return hwm() - before;
}

describe('contentCodings', () => {
  test('lists codings in applied order, lower-cased, identity and empty elements dropped', () => {
    expect(contentCodings(undefined)).toEqual([]);
    expect(contentCodings('')).toEqual([]);
    expect(contentCodings('identity')).toEqual([]);
    expect(contentCodings(' GZip ,\tBR ')).toEqual(['gzip', 'br']);
    expect(contentCodings(['gzip', 'identity, br'])).toEqual(['gzip', 'br']);
    expect(contentCodings('gzip,,br,')).toEqual(['gzip', 'br']);
  });

  test('stops collecting one past the maximum', () => {
    expect(contentCodings(Array(1000).fill('gzip').join(','))).toHaveLength(MAX_CODINGS + 1);
  });
});

describe('decodeForAnalysis', () => {
  test('gzip and x-gzip', () => {
    expect(bodyOf(decodeForAnalysis('gzip', gzipSync(json), MiB))).toBe(json.toString());
    expect(bodyOf(decodeForAnalysis('x-gzip', gzipSync(json), MiB))).toBe(json.toString());
  });

  test('deflate, zlib-wrapped and raw (both are sent as "deflate")', () => {
    expect(bodyOf(decodeForAnalysis('deflate', deflateSync(json), MiB))).toBe(json.toString());
    expect(bodyOf(decodeForAnalysis('deflate', deflateRawSync(json), MiB))).toBe(json.toString());
    for (let i = 0; i < 50; i++) {
      const b = Buffer.from(`{"n":${i},"s":"${'ab'.repeat(i * 50)}"}`);
      for (const level of [0, 1, 9]) expect(bodyOf(decodeForAnalysis('deflate', deflateRawSync(b, { level }), MiB))).toBe(b.toString());
    }
    // A raw stream whose first two bytes pass as a zlib header: a non-final stored block of 29
    // bytes (padding bits 00001), then an empty final stored block.
    const data = Buffer.from('{"a":"stored-raw-deflate..."}');
    const tricky = Buffer.concat([Buffer.from([0x08, 29, 0, 0xe2, 0xff]), data, Buffer.from([0x01, 0, 0, 0xff, 0xff])]);
    expect(bodyOf(decodeForAnalysis('deflate', tricky, MiB))).toBe(data.toString());
  });

  test('br', () => {
    expect(bodyOf(decodeForAnalysis('br', brotliCompressSync(json), MiB))).toBe(json.toString());
  });

  test('stacked codings are undone last first; header lines count in order', () => {
    const gzThenBr = brotliCompressSync(gzipSync(json));
    expect(bodyOf(decodeForAnalysis('gzip, br', gzThenBr, MiB))).toBe(json.toString());
    expect(bodyOf(decodeForAnalysis(['gzip', 'br'], gzThenBr, MiB))).toBe(json.toString());
    expect(decodeForAnalysis('br, gzip', gzThenBr, MiB).fault).toBe(FAULT_DECOMPRESS);
    const three = gzipSync(deflateRawSync(brotliCompressSync(json)));
    expect(bodyOf(decodeForAnalysis('BR , Deflate,\tgzip', three, MiB))).toBe(json.toString());
  });

  test('identity is ignored; without codings the bytes are returned as they are', () => {
    expect(decodeForAnalysis('identity', json, MiB).body).toBe(json);
    expect(decodeForAnalysis(undefined, json, MiB).body).toBe(json);
    expect(bodyOf(decodeForAnalysis('identity, gzip, identity', gzipSync(json), MiB))).toBe(json.toString());
  });

  test('an empty body stays empty', () => {
    expect(decodeForAnalysis('gzip', Buffer.alloc(0), MiB).body).toHaveLength(0);
  });

  test('corrupt, truncated or trailing data is FailedDecompress', () => {
    const gz = gzipSync(json);
    const bad = Buffer.from(gz);
    bad[gz.length >> 1] ^= 0xff;
    expect(decodeForAnalysis('gzip', bad, MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('gzip', gz.subarray(0, gz.length - 4), MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('gzip', json, MiB).fault).toBe(FAULT_DECOMPRESS); // not compressed at all
    expect(decodeForAnalysis('br', json, MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('deflate', json, MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('gzip', brotliCompressSync(json), MiB).fault).toBe(FAULT_DECOMPRESS);
    // bytes after the end of the stream would be read by nobody, or by a lenient decoder only
    const tail = Buffer.from('{"admin":true}');
    expect(decodeForAnalysis('gzip', Buffer.concat([gz, tail]), MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('gzip', Buffer.concat([gz, Buffer.alloc(8)]), MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('deflate', Buffer.concat([deflateSync(json), tail]), MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('deflate', Buffer.concat([deflateRawSync(json), tail]), MiB).fault).toBe(FAULT_DECOMPRESS);
    expect(decodeForAnalysis('br', Buffer.concat([brotliCompressSync(json), tail]), MiB).fault).toBe(FAULT_DECOMPRESS);
    // gzip members in sequence are one valid body (RFC 1952 §2.2)
    expect(bodyOf(decodeForAnalysis('gzip', Buffer.concat([gz, gz]), MiB))).toBe(json.toString() + json.toString());
  });

  test('unknown codings and too many codings are UnknownContentEncoding', () => {
    for (const c of ['compress', 'x-compress', 'zstd', 'gzip, foo', 'bzip2', 'gzip;q=1']) {
      expect(decodeForAnalysis(c, gzipSync(json), MiB).fault, c).toBe(FAULT_UNKNOWN_CODING);
    }
    expect(decodeForAnalysis('__proto__', json, MiB).fault).toBe(FAULT_UNKNOWN_CODING);
    const four = gzipSync(gzipSync(gzipSync(gzipSync(json))));
    expect(decodeForAnalysis('gzip, gzip, gzip, gzip', four, MiB).fault).toBe(FAULT_UNKNOWN_CODING);
    expect(bodyOf(decodeForAnalysis('gzip, gzip, gzip', gzipSync(gzipSync(gzipSync(json))), MiB))).toBe(json.toString());
  });

  test('the limit: exactly at it passes, one byte over is TooLargeBody', () => {
    const n = json.length;
    for (const [coding, data] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['deflate', deflateRawSync(json)],
      ['br', brotliCompressSync(json)],
      ['gzip, br', brotliCompressSync(gzipSync(json))],
    ] as const) {
      expect(decodeForAnalysis(coding, data, n).body, coding).toHaveLength(n);
      expect(decodeForAnalysis(coding, data, n - 1).fault, coding).toBe(FAULT_TOO_LARGE);
    }
    // a limit over 16 KiB, so that several output chunks are involved
    const big = Buffer.alloc(100_000, 'a');
    expect(decodeForAnalysis('gzip', gzipSync(big), 100_000).body).toHaveLength(100_000);
    expect(decodeForAnalysis('gzip', gzipSync(big), 99_999).fault).toBe(FAULT_TOO_LARGE);
    expect(decodeForAnalysis('gzip', gzipSync(Buffer.alloc(1)), 0).fault).toBe(FAULT_TOO_LARGE);
    // an uncompressed body is held to the limit too
    expect(decodeForAnalysis('identity', big, 99_999).fault).toBe(FAULT_TOO_LARGE);
  });

  test('a gzip bomb (100 MiB of zeros) stops at the limit: little time, little memory', async () => {
    const bomb = await zeros(createGzip, 100);
    expect(bomb.length).toBeLessThan(200 * 1024);
    let r: ReturnType<typeof decodeForAnalysis> | undefined;
    const t0 = process.cpuUsage();
    const grew = peakGrowthKiB(() => {
      r = decodeForAnalysis('gzip', bomb, MiB);
    });
    const ms = cpuMs(t0);
    expect(r!.fault).toBe(FAULT_TOO_LARGE);
    // A full decode takes 100+ ms and 200 MiB; bounded it is about 1 ms and 1-2 MiB.
    expect(ms).toBeLessThan(50);
    if (grew !== null) expect(grew).toBeLessThan(16 * 1024);
    // stacked: the inner bomb is bounded the same way
    const t1 = process.cpuUsage();
    expect(decodeForAnalysis('gzip, gzip', gzipSync(bomb), MiB).fault).toBe(FAULT_TOO_LARGE);
    expect(cpuMs(t1)).toBeLessThan(50);
  });

  test('a brotli bomb with the largest window costs that window, not the bomb', async () => {
    const params = { [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_QUALITY]: 4 };
    const bomb = await zeros(() => createBrotliCompress({ params }), 100);
    expect(bomb.length).toBeLessThan(1024);
    let r: ReturnType<typeof decodeForAnalysis> | undefined;
    const t0 = process.cpuUsage();
    const grew = peakGrowthKiB(() => {
      r = decodeForAnalysis('br', bomb, MiB);
    });
    expect(r!.fault).toBe(FAULT_TOO_LARGE);
    // The decoder fills its 16 MiB ring buffer before the first output check (30-140 ms here);
    // a full decode would be 100 MiB and seconds.
    expect(cpuMs(t0)).toBeLessThan(500);
    if (grew !== null) expect(grew).toBeLessThan(40 * 1024);
  });
});

describe('decodeForGate', () => {
  const cases: [string, Buffer][] = [
    ['br', brotliCompressSync(json)],
    ['gzip, br', brotliCompressSync(gzipSync(json))],
    ['br, deflate', deflateSync(brotliCompressSync(json))],
    ['br, deflate', deflateRawSync(brotliCompressSync(json))],
    ['br', Buffer.concat([brotliCompressSync(json), Buffer.from('tail')])],
    ['br', json],
    ['br, gzip', brotliCompressSync(gzipSync(json))],
    ['br, zstd', brotliCompressSync(json)],
    ['gzip', gzipSync(json)],
  ];

  test('gives what decodeForAnalysis gives, brotli off the event loop (a Promise), the rest at once', async () => {
    for (const limit of [MiB, json.length, json.length - 1]) {
      for (const [coding, data] of cases) {
        const got = decodeForGate(coding, data, limit);
        expect(got instanceof Promise, coding).toBe(coding.includes('br') && !coding.includes('zstd'));
        const a = await got;
        const b = decodeForAnalysis(coding, data, limit);
        expect(a.fault, `${coding} at ${limit}`).toBe(b.fault);
        if (b.body) expect(Buffer.from(a.body!).equals(Buffer.from(b.body)), coding).toBe(true);
      }
    }
  });

  test('brotli bombs do not stall the event loop', async () => {
    const params = { [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_QUALITY]: 4 };
    const bomb = await zeros(() => createBrotliCompress({ params }), 100);
    /** The longest gap between 2 ms timer ticks while `work` runs. */
    async function worstGap(work: () => Promise<unknown>): Promise<number> {
      let worst = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 2);
      await new Promise((r) => setTimeout(r, 10));
      await work();
      await new Promise((r) => setTimeout(r, 10));
      clearInterval(timer);
      return worst;
    }
    let results: Awaited<ReturnType<typeof decodeForGate>>[] = [];
    // On a machine busy with other work the loop also stalls for reasons of its own: the best of
    // three tries is what the decoding itself costs the loop.
    let offLoop = Infinity;
    for (let i = 0; i < 3; i++) {
      offLoop = Math.min(
        offLoop,
        await worstGap(async () => {
          results = await Promise.all(Array.from({ length: 4 }, () => decodeForGate('br', bomb, MiB)));
        }),
      );
      for (const r of results) expect(r.fault).toBe(FAULT_TOO_LARGE);
    }
    // The control: the same bomb decoded synchronously holds the loop for the whole decode.
    const onLoop = await worstGap(async () => {
      expect(decodeForAnalysis('br', bomb, MiB).fault).toBe(FAULT_TOO_LARGE);
    });
    expect(offLoop).toBeLessThan(onLoop / 2);
  });
});

