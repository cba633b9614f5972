// A Guardian learned from HAR files decides what the gate sees: every request with the peer's
// address in X-Forwarded-For, which no HAR file carries (docs/tokens.md, "Learning from HAR files").
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideRecord } from '../../cli/decide-record.js';
import { loadCore } from '../../core/index.js';
import { runGuard, tempDir } from '../support/cli.js';

const dir = tempDir('guard-har-peer-');

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/150.0.0.0 Safari/537.36';
const hex = (i: number) => (i * 2654435761).toString(16).padStart(8, '0').repeat(4).slice(0, 32);
const pageHeaders = (i: number): [string, string][] => [
  ['Accept', 'text/html,application/xhtml+xml'],
  ['Cookie', `sid=${hex(i + 1)}`],
  ['Host', 'shop.example'],
  ['Sec-Fetch-Dest', 'document'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['User-Agent', UA],
];

/** A HAR export as Chromium's recorder writes it: headers as {name, value}, no client address. */
function har(n: number) {
  const entries = Array.from({ length: n }, (_, i) => ({
    request: { method: 'GET', url: `http://shop.example/item/${i % 9}`, httpVersion: 'HTTP/1.1', headers: pageHeaders(i).map(([name, value]) => ({ name, value })) },
    response: { status: 200, headers: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }], content: { size: 5, mimeType: 'text/html', text: 'hello' } },
    serverIPAddress: '203.0.113.80',
  }));
  return { log: { version: '1.2', creator: { name: 'Playwright', version: '1.65.2' }, entries } };
}

describe('a Guardian learned from HAR files, deciding what the gate sees', () => {
  it('passes requests that carry the peer the gate appends to X-Forwarded-For', async () => {
    const file = join(dir, 'shop.har');
    writeFileSync(file, JSON.stringify(har(40)));
    const out = join(dir, 'guardian.json');
    const run = await runGuard(['learn', '--in', file, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    const core = loadCore();
    const g = core.parseGuardian(readFileSync(out, 'utf8'));
    try {
      const policy = { maxBody: 1 << 20 };
      const page = { method: 'GET', path: '/item/3', query: '', headers: pageHeaders(77), response: { status: 200, headers: [['Content-Type', 'text/html; charset=utf-8']] as [string, string][] } };
      // A gate in a cluster sees a private peer: the core appends it to X-Forwarded-For.
      for (const remote of ['10.1.2.3', '192.168.140.217', '172.31.255.254', '127.0.0.1']) {
        expect(decideRecord(core, g, { ...page, remote }, policy).decision, remote).toBe('');
      }
      // The record as guard check reads it from a HAR file, without a peer, passes too.
      expect(decideRecord(core, g, page, policy).decision).toBe('');
      // No client address was learned: the made-up peer is not one.
      expect(readFileSync(out, 'utf8')).not.toContain('127.255.255.255');
      // An attack is still refused.
      expect(decideRecord(core, g, { ...page, remote: '10.1.2.3', query: "id=' OR 1=1--" }, policy).allowed).toBe(false);
    } finally {
      g.dispose();
    }
  });
});
