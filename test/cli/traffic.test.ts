// The traffic readers on real files: JSON Lines (plain and gzip), HAR, malformed records, limits.
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/errors.js';
import { readTraffic, TrafficFile, type TrafficItem } from '../../cli/traffic.js';
import { toRequestFields, toResponseFields } from '../../cli/traffic-record.js';

const dir = mkdtempSync(join(tmpdir(), 'guard-traffic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string, options = {}): Promise<TrafficItem[]> {
  const items: TrafficItem[] = [];
  for await (const item of readTraffic(path, options)) items.push(item);
  return items;
}

async function failure(path: string): Promise<CliError> {
  try {
    await readAll(path);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error(`reading ${path} did not fail`);
}

const GOOD = [
  '{"method":"GET","path":"/shop/item.jsp","query":"id=2&lang=en","headers":[["Host","localhost:8080"],["User-Agent","curl/8"]],"body":"","remote":"203.0.113.7","label":"ignored"}',
  '{"method":"POST","path":"/api/cart?x=%41","headers":[["Content-Type","application/json"]],"body":"{\\"item\\":1}","response":{"status":201,"headers":[["Content-Type","application/json"]],"body":"{\\"ok\\":true}"}}',
].join('\n');

describe('JSON Lines', () => {
  it('reads records with their line numbers and splits a query out of the path', async () => {
    const items = await readAll(file('good.jsonl', `${GOOD}\n`));
    expect(items).toEqual([
      {
        line: 1,
        record: {
          method: 'GET',
          path: '/shop/item.jsp',
          query: 'id=2&lang=en',
          headers: [
            ['Host', 'localhost:8080'],
            ['User-Agent', 'curl/8'],
          ],
          body: '',
          remote: '203.0.113.7',
        },
      },
      {
        line: 2,
        record: {
          method: 'POST',
          path: '/api/cart',
          query: 'x=%41',
          headers: [['Content-Type', 'application/json']],
          body: '{"item":1}',
          response: { status: 201, headers: [['Content-Type', 'application/json']], body: '{"ok":true}' },
        },
      },
    ]);
  });

  it('reads gzip by its magic bytes, with or without a .gz name', async () => {
    const plain = await readAll(file('same.jsonl', GOOD));
    expect(await readAll(file('same.jsonl.gz', gzipSync(GOOD)))).toEqual(plain);
    expect(await readAll(file('same-no-suffix.jsonl', gzipSync(GOOD)))).toEqual(plain);
  });

  it('gives an error item for each malformed line and goes on', async () => {
    const lines = [
      '{"method":"GET","path":"/ok"}',
      '{not json',
      '[1,2]',
      '{"path":"/x"}',
      '{"method":"GE T","path":"/x"}',
      '{"method":"GET","path":"relative"}',
      '{"method":"GET","path":"/x","headers":{"A":"b"}}',
      '{"method":"GET","path":"/x","headers":[["A"]]}',
      '{"method":"GET","path":"/x","headers":[["A",1]]}',
      '{"method":"GET","path":"/x","headers":[["Bad Name","v"]]}',
      '{"method":"GET","path":"/x","headers":[["A","x\\r\\ny"]]}',
      '{"method":"GET","path":"/x","body":{"a":1}}',
      '{"method":"GET","path":"/x","remote":"not-an-ip"}',
      '{"method":"GET","path":"/x?a=1","query":"b=2"}',
      '{"method":"GET","path":"/a b"}',
      '{"method":"GET","path":"/x","response":{"status":"200"}}',
      '{"method":"GET","path":"/x","response":{"status":200,"headers":[["A","b"]],"body":5}}',
      '',
      '   ',
      '{"method":"GET","path":"/last","remote":"[2001:db8::1]:443"}',
    ];
    const items = await readAll(file('mixed.jsonl', lines.join('\r\n')));
    const summary = items.map((i) => [i.line, i.record ? 'ok' : i.error]);
    expect(summary).toEqual([
      [1, 'ok'],
      [2, expect.stringMatching(/^not valid JSON: /)],
      [3, 'a traffic record must be a JSON object, got the list [1,2]'],
      [4, '"method" must be an HTTP method such as "GET", got nothing'],
      [5, '"method" must be an HTTP method such as "GET", got string "GE T"'],
      [6, '"path" must be a string starting with "/", got string "relative"'],
      [7, '"headers" must be a list of [name, value] string pairs, got the object {"A":"b"}'],
      [8, '"headers" must be a list of [name, value] string pairs; entry 1 is the list ["A"]'],
      [9, '"headers" must be a list of [name, value] string pairs; entry 1 is the list ["A",1]'],
      [10, '"headers" entry 1: string "Bad Name" is not a valid HTTP header name'],
      [11, '"headers" entry 1 (A): the value contains CR, LF or NUL, which HTTP does not allow'],
      [12, '"body" must be a UTF-8 string, got the object {"a":1}'],
      [13, '"remote" must be an IP address such as "203.0.113.7", got string "not-an-ip"'],
      [14, '"path" contains "?" and "query" is also given: put the query in one of them only'],
      [15, '"path" contains a space or a control character: keep it percent-encoded as sent on the wire'],
      [16, '"response.status" must be an HTTP status code (100–999), got string "200"'],
      [17, '"response.body" must be a UTF-8 string, got number 5'],
      [20, 'ok'],
    ]);
    expect(items.at(-1)?.record?.remote).toBe('2001:db8::1');
  });

  it('refuses a line over the length limit and reads the next one', async () => {
    const long = `{"method":"GET","path":"/x","body":"${'a'.repeat(5000)}"}`;
    const items = await readAll(file('long.jsonl', `${long}\n{"method":"GET","path":"/after"}\n${long}`), { maxLineBytes: 1000 });
    expect(items).toEqual([
      { line: 1, error: `line is ${long.length} bytes long, over the limit of 1000 bytes; skipped` },
      { line: 2, record: { method: 'GET', path: '/after', query: '', headers: [] } },
      { line: 3, error: `line is ${long.length} bytes long, over the limit of 1000 bytes; skipped` },
    ]);
  });

  it('refuses a line that is not UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from('{"method":"GET","path":"/'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    expect(await readAll(file('latin.jsonl', bad))).toEqual([{ line: 1, error: 'line is not valid UTF-8 text' }]);
  });

  it('reports files that cannot be read', async () => {
    expect((await failure(join(dir, 'missing.jsonl'))).message).toBe(`cannot read ${join(dir, 'missing.jsonl')}: no such file`);
    expect((await failure(dir)).message).toMatch(/is a directory/);
    expect((await failure(file('plain.jsonl.gz', GOOD))).message).toMatch(/the name ends in \.gz but the file is not gzip-compressed/);
    const truncated = gzipSync(GOOD.repeat(50)).subarray(0, 60);
    expect((await failure(file('cut.jsonl.gz', truncated))).message).toMatch(/corrupt gzip data/);
    expect((await failure(join(dir, 'missing.jsonl'))).exitStatus).toBe(1);
  });

  it('streams a large file in flat memory', async () => {
    // 60 MB of records; reading them must not hold the file.
    const path = join(dir, 'big.jsonl');
    const out = createWriteStream(path);
    const line = `${JSON.stringify({ method: 'GET', path: '/shop/item', query: 'id=1', headers: [['User-Agent', 'x'.repeat(500)]] })}\n`;
    const block = line.repeat(1000);
    for (let i = 0; i < 100; i++) if (!out.write(block)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let n = 0;
    let peak = 0;
    for await (const item of readTraffic(path)) {
      if (item.record) n++;
      if ((n & 8191) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    expect(n).toBe(100_000);
    expect(peak).toBeLessThan(40 * 1024 * 1024);
  });
});

const HAR = {
  log: {
    version: '1.2',
    creator: { name: 'test', version: '1' },
    pages: [],
    entries: [
      {
        startedDateTime: '2024-01-01T00:00:00Z',
        request: {
          method: 'GET',
          url: 'https://shop.example/shop/item%20one?id=2&lang=en#frag',
          httpVersion: 'HTTP/2',
          headers: [
            { name: ':authority', value: 'shop.example' },
            { name: 'user-agent', value: 'Mozilla/5.0' },
          ],
        },
        response: {
          status: 200,
          headers: [{ name: 'content-type', value: 'application/json' }],
          content: { size: 11, mimeType: 'application/json', text: 'eyJvayI6MX0=', encoding: 'base64' },
        },
        serverIPAddress: '198.51.100.1',
      },
      {
        request: { method: 'POST', url: 'http://shop.example', headers: [], postData: { mimeType: 'application/json', text: '{"a":1}' } },
        response: { status: 0, headers: [], content: {} },
      },
      { request: { method: 'GET', url: 'data:text/plain,hi', headers: [] }, response: { status: 200 } },
      { request: { method: 'GET', url: 'http://a/', headers: [{ name: 'x' }] } },
    ],
  },
};

describe('HAR', () => {
  it('streams log.entries as records: raw path and query from the URL, no remote', async () => {
    const items = await readAll(file('shop.har', JSON.stringify(HAR, null, 1)));
    expect(items[0]).toEqual({
      line: 1,
      record: {
        method: 'GET',
        path: '/shop/item%20one',
        query: 'id=2&lang=en',
        // :authority is the request's Host, as an HTTP/2 to HTTP/1.1 proxy makes it (RFC 9113 §8.3.1)
        headers: [['Host', 'shop.example'], ['user-agent', 'Mozilla/5.0']],
        response: { status: 200, headers: [['content-type', 'application/json']], body: new TextEncoder().encode('{"ok":1}') },
      },
    });
    expect(items[1]).toEqual({ line: 2, record: { method: 'POST', path: '/', query: '', headers: [], body: '{"a":1}' } });
    expect(items[2]).toEqual({ line: 3, error: '"request.url" must be an absolute http(s) URL, got string "data:text/plain,hi"' });
    expect(items[3]).toEqual({
      line: 4,
      error: '"request.headers" must be a list of {name, value} string objects; entry 1 is the object {"name":"x"}',
    });
  });

  it('reads a gzip-compressed HAR', async () => {
    const items = await readAll(file('shop.har.gz', gzipSync(JSON.stringify(HAR))));
    expect(items.map((i) => i.line)).toEqual([1, 2, 3, 4]);
  });

  it('stops with a clear error on a file that is not HAR', async () => {
    expect((await failure(file('array.har', '[1,2,3]'))).message).toMatch(/not a HAR document: it has no "log.entries" list/);
    expect((await failure(file('obj.har', '{"log":{"entries":{}}}'))).message).toMatch(/"log.entries" must be a list/);
    const cut = JSON.stringify(HAR).slice(0, 300);
    expect((await failure(file('cut.har', cut))).message).toMatch(/not a valid HAR \(JSON\) document near byte \d+/);
  });
});

describe('mapping to the core', () => {
  it('gives the core HTTP/1.1 and the gate body rules: empty is no body, too large is a fault', async () => {
    const policy = { maxBody: 10 };
    const base = { method: 'POST', path: '/p', query: 'a=1', headers: [] as [string, string][] };
    expect(toRequestFields({ ...base, body: '' }, policy)).toEqual({ method: 'POST', path: '/p', query: 'a=1', proto: 'HTTP/1.1', headers: [] });
    expect(toRequestFields({ ...base, body: 'é'.repeat(5), remote: '203.0.113.1' }, policy)).toMatchObject({ body: 'ééééé', remote: '203.0.113.1' });
    expect(toRequestFields({ ...base, body: 'é'.repeat(6) }, policy)).toMatchObject({ bodyFault: 'TooLargeBody' });
    expect(toRequestFields({ ...base, body: 'é'.repeat(6) }, policy).body).toBeUndefined();
    expect(toResponseFields({ status: 200, headers: [], body: new Uint8Array(11) }, policy)).toEqual({ status: 200, headers: [], bodyFault: 'TooLargeBody' });
  });

  it('can be opened and closed without reading', async () => {
    const f = await TrafficFile.open(file('unread.jsonl', GOOD));
    expect(f.format).toBe('jsonl');
    expect(f.where(3)).toBe(`${join(dir, 'unread.jsonl')}:3`);
    await f.close();
  });
});
