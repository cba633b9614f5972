// Splits a byte stream into lines of UTF-8 text with a bounded length, so that a file with a
// runaway line (or no newline at all) costs at most `maxBytes` of memory, never the whole file.

export interface Line {
  /** 1-based line number in the file. */
  number: number;
  /** The line without its '\n' or '\r\n'; absent when the line was refused. */
  text?: string;
  /** Why the line was refused (too long, not UTF-8). */
  error?: string;
}

/** Large enough for a traffic record carrying a 1 MiB body written with JSON escapes. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

const NEWLINE = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export async function* splitLines(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let skipped = 0; // > 0: the current line passed maxBytes; its bytes are being discarded
  let number = 0;

  const finish = (last: Buffer): Line => {
    number++;
    if (skipped > 0 || pendingLength + last.length > maxBytes) {
      const total = skipped + pendingLength + last.length;
      skipped = 0;
      pending = [];
      pendingLength = 0;
      return { number, error: `line is ${total} bytes long, over the limit of ${maxBytes} bytes; skipped` };
    }
    let bytes = pending.length === 0 ? last : Buffer.concat([...pending, last], pendingLength + last.length);
    pending = [];
    pendingLength = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      return { number, text: decoder.decode(bytes) };
    } catch {
      return { number, error: 'line is not valid UTF-8 text' };
    }
  };

  for await (const data of source) {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) {
        const rest = chunk.subarray(start);
        if (skipped > 0) {
          skipped += rest.length;
        } else if (pendingLength + rest.length > maxBytes) {
          skipped = pendingLength + rest.length;
          pending = [];
          pendingLength = 0;
        } else if (rest.length > 0) {
          // Copy: keeping a view would pin the whole read buffer for a short tail.
          pending.push(Buffer.from(rest));
          pendingLength += rest.length;
        }
        break;
      }
      yield finish(chunk.subarray(start, end));
      start = end + 1;
    }
  }
  if (skipped > 0 || pendingLength > 0) yield finish(Buffer.alloc(0));
}
