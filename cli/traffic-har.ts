// HAR files (`.har`): the entries of log.entries streamed one at a time with stream-json, so a
// large capture is never held whole; each entry is mapped to a traffic record by har-entry.ts.
import type { Readable } from 'node:stream';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';

export { harEntryToRecord } from './har-entry.js';

export interface HarEntry {
  /** 1-based index in log.entries. */
  number: number;
  value: unknown;
}

/** Thrown when the file is not a readable HAR document (the stream cannot go on). */
export class HarSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarSyntaxError';
  }
}

/** Streams log.entries of a HAR document; `bytes` is the source's byte count read so far. */
export async function* harEntries(source: Readable): AsyncGenerator<HarEntry> {
  let bytes = 0;
  let found = false;
  const stages: unknown[] = [
    source,
    (chunk: Buffer) => {
      bytes += chunk.length;
      return chunk;
    },
    parser({ streamValues: false }), // packed tokens only: half the tokens of the default
    pick({ filter: 'log.entries', once: true }),
    (token: unknown) => {
      found = true;
      return token;
    },
    streamArray(),
  ];
  const pipeline = chain(stages as never) as unknown as AsyncIterable<{ key: number; value: unknown }>;
  try {
    for await (const item of pipeline) yield { number: item.key + 1, value: item.value };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code) throw err; // an I/O or gzip failure: reported by the caller as unreadable
    if (found && /should be an array/.test(e?.message ?? '')) throw new HarSyntaxError('"log.entries" must be a list');
    throw new HarSyntaxError(`not a valid HAR (JSON) document near byte ${bytes}: ${e?.message ?? String(err)}`);
  }
  if (!found) throw new HarSyntaxError('not a HAR document: it has no "log.entries" list');
}
