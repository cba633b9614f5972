// Content-Encoding for analysis only: a compressed body is decoded so that the core
// profiles what the service will read, bounded in output and in codings; what is forwarded (or
// sent to the client) is always the original bytes, with their Content-Encoding.
import { brotliDecompressSync, createBrotliDecompress, createGunzip, createInflate, createInflateRaw, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** The decoded body would exceed the limit: handled as an oversize plain body. */
export const FAULT_TOO_LARGE = 'TooLargeBody';
/** The data is not valid for its coding: corrupt, truncated, or followed by trailing bytes. */
export const FAULT_DECOMPRESS = 'FailedDecompress';
/** A coding the gate does not decode (compress, zstd, …), or more than MAX_CODINGS of them. */
export const FAULT_UNKNOWN_CODING = 'UnknownContentEncoding';

export type DecodeFault = typeof FAULT_TOO_LARGE | typeof FAULT_DECOMPRESS | typeof FAULT_UNKNOWN_CODING;

/** Either the bytes to analyse or the fault to profile instead (never both). */
export type Decoded = { body: Uint8Array; fault?: undefined } | { body?: undefined; fault: DecodeFault };

/** Stacked codings beyond this are refused unread: nobody legitimately compresses four times. */
export const MAX_CODINGS = 3;

/**
 * The codings of Content-Encoding header value(s), in the order they were applied, lower-cased;
 * `identity` and empty list elements dropped (RFC 9110 §5.6.1). `[]` means not encoded. Repeated
 * header lines are passed as an array, in order. Stops collecting after MAX_CODINGS + 1 codings.
 */
export function contentCodings(value: string | readonly string[] | undefined): string[] {
  const out: string[] = [];
  if (value === undefined) return out;
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const item of line.split(',')) {
      const c = item.trim().toLowerCase();
      if (c === '' || c === 'identity') continue;
      out.push(c);
      if (out.length > MAX_CODINGS) return out;
    }
  }
  return out;
}

type SyncDecoder = (data: Uint8Array, limit: number) => Uint8Array;

/** Input left unread after the end of the compressed stream: not what a strict decoder accepts. */
class TrailingData extends Error {
  readonly code = 'GUARD_TRAILING_DATA';
}

/** node:zlib's sync call with `info`, so that unread input (trailing bytes) is detected. */
function run(fn: typeof gunzipSync | typeof brotliDecompressSync, data: Uint8Array, limit: number): Uint8Array {
  // maxOutputLength stops the engine as soon as its output passes the limit (checked per 16 KiB
  // chunk), so a bomb costs about `limit` of memory and time, whatever its ratio. Brotli is the
  // exception within bounds: its decoder fills its window (≤ 16 MiB) before the first check.
  const r = fn(data, { maxOutputLength: Math.max(limit, 1), info: true } as object) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  if (r.engine.bytesWritten !== data.byteLength) throw new TrailingData();
  return r.buffer;
}

/** zlib's two-byte header (RFC 1950): method 8, window ≤ 32 KiB, check bits. */
function zlibWrapped(data: Uint8Array): boolean {
  if (data.byteLength < 2) return false;
  const a = data[0]!;
  return (a & 0x0f) === 8 && a >> 4 <= 7 && ((a << 8) | data[1]!) % 31 === 0;
}

function tooLarge(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
}

const DECODERS: Record<string, SyncDecoder> = {
  gzip: (d, l) => run(gunzipSync, d, l),
  'x-gzip': (d, l) => run(gunzipSync, d, l),
  // "deflate" is zlib-wrapped by the RFC, but servers and old browsers send raw deflate too.
  deflate: (d, l) => {
    if (!zlibWrapped(d)) return run(inflateRawSync, d, l);
    try {
      return run(inflateSync, d, l);
    } catch (err) {
      if (tooLarge(err)) throw err;
      return run(inflateRawSync, d, l); // a raw stream that happens to start like a zlib header
    }
  },
  br: (d, l) => run(brotliDecompressSync, d, l),
};

/**
 * The bytes to analyse for a body sent with Content-Encoding `encoding` (header value(s), or the
 * result of contentCodings): codings are undone last first, each output bounded by `limit` bytes;
 * a result is never over `limit`. Synchronous: the caller bounds `data` (the gate buffers at most
 * its body limit). An empty body stays empty; without codings, `data` itself is returned.
 */
export function decodeForAnalysis(encoding: string | readonly string[] | undefined, data: Uint8Array, limit: number): Decoded {
  const codings = contentCodings(encoding);
  if (codings.length === 0 || data.byteLength === 0) return data.byteLength > limit ? { fault: FAULT_TOO_LARGE } : { body: data };
  if (codings.length > MAX_CODINGS) return { fault: FAULT_UNKNOWN_CODING };
  const decoders: SyncDecoder[] = [];
  for (const c of codings) {
    const d = Object.hasOwn(DECODERS, c) ? DECODERS[c] : undefined;
    if (!d) return { fault: FAULT_UNKNOWN_CODING };
    decoders.push(d);
  }
  let body = data;
  for (let i = decoders.length - 1; i >= 0; i--) {
    if (body.byteLength === 0) return { fault: FAULT_DECOMPRESS }; // an inner coding decoded to nothing
    try {
      body = decoders[i]!(body, limit);
    } catch (err) {
      return { fault: tooLarge(err) ? FAULT_TOO_LARGE : FAULT_DECOMPRESS };
    }
  }
  return body.byteLength > limit ? { fault: FAULT_TOO_LARGE } : { body };
}

// ---- off the event loop ------------------------------------------------------------------------

/**
 * Brotli's decoder fills its window (up to 16 MiB) before the output limit is first checked: a
 * 100-byte bomb costs tens of milliseconds. Such bodies are decoded on libuv's thread pool instead,
 * a few at a time so that concurrent bombs cannot hold many windows at once; gzip and deflate stop
 * within one 16 KiB chunk of the limit and stay synchronous (about 1 ms per MiB of output).
 */
export const MAX_CONCURRENT_ASYNC_DECODES = 2;
let asyncDecodes = 0;
const asyncQueue: (() => void)[] = [];

type StreamFactory = () => NodeJS.ReadWriteStream & { bytesWritten: number; destroy(): void };
const STREAMS: Record<string, StreamFactory> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate, // with the raw fallback below
  br: createBrotliDecompress,
};

/** One coding undone through a zlib stream: output bounded by `limit`, trailing input refused. */
function runStream(make: StreamFactory, data: Uint8Array, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = make();
    const parts: Buffer[] = [];
    let n = 0;
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      n += chunk.byteLength;
      if (n > limit) fail(Object.assign(new Error('decoded body over the limit'), { code: 'ERR_BUFFER_TOO_LARGE' }));
      else parts.push(chunk);
    });
    z.on('error', fail);
    z.on('end', () => {
      if (settled) return;
      if (z.bytesWritten !== data.byteLength) return fail(new TrailingData());
      settled = true;
      resolve(Buffer.concat(parts, n));
    });
    z.end(data);
  });
}

async function undoAsync(coding: string, data: Uint8Array, limit: number): Promise<Uint8Array> {
  if (coding !== 'deflate') return runStream(STREAMS[coding]!, data, limit);
  if (!zlibWrapped(data)) return runStream(createInflateRaw, data, limit);
  try {
    return await runStream(createInflate, data, limit);
  } catch (err) {
    if (tooLarge(err)) throw err;
    return runStream(createInflateRaw, data, limit);
  }
}

async function decodeOffLoop(codings: readonly string[], data: Uint8Array, limit: number): Promise<Decoded> {
  if (asyncDecodes >= MAX_CONCURRENT_ASYNC_DECODES) await new Promise<void>((r) => asyncQueue.push(r));
  asyncDecodes++;
  try {
    let body = data;
    for (let i = codings.length - 1; i >= 0; i--) {
      if (body.byteLength === 0) return { fault: FAULT_DECOMPRESS };
      try {
        body = await undoAsync(codings[i]!, body, limit);
      } catch (err) {
        return { fault: tooLarge(err) ? FAULT_TOO_LARGE : FAULT_DECOMPRESS };
      }
    }
    return body.byteLength > limit ? { fault: FAULT_TOO_LARGE } : { body };
  } finally {
    asyncDecodes--;
    asyncQueue.shift()?.();
  }
}

/**
 * decodeForAnalysis as the gate uses it on its request and response paths: the same result, but
 * a body with a brotli coding is decoded off the event loop (a Promise); anything else is decoded
 * synchronously, as decodeForAnalysis does.
 */
export function decodeForGate(encoding: string | readonly string[] | undefined, data: Uint8Array, limit: number): Decoded | Promise<Decoded> {
  const codings = contentCodings(encoding);
  if (codings.length === 0 || codings.length > MAX_CODINGS || data.byteLength === 0 || !codings.includes('br')) return decodeForAnalysis(codings, data, limit);
  for (const c of codings) if (!Object.hasOwn(STREAMS, c)) return { fault: FAULT_UNKNOWN_CODING };
  return decodeOffLoop(codings, data, limit);
}

