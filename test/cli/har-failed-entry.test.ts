// A request the browser sent but that got no answer (a beacon cut off by the next navigation) is in
// a HAR file with no response: status 0 in browsers' exports, -1 with `_failureText` in
// Playwright's recorder. `guard learn` learns its request instead of skipping the entry.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideRecord } from '../../cli/decide-record.js';
import { loadCore } from '../../core/index.js';
import { runGuard, tempDir } from '../support/cli.js';

const dir = tempDir('guard-har-failed-');

const HEADERS: [string, string][] = [
  ['Accept', '*/*'],
  ['Content-Type', 'text/plain;charset=UTF-8'],
  ['Host', 'shop.example'],
  ['Origin', 'http://shop.example'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/150.0.0.0'],
];

/** A beacon as Playwright's HAR recorder writes it when the page navigated before the answer. */
const abortedBeacon = (i: number) => ({
  request: {
    method: 'POST',
    url: 'http://shop.example/api/beacon',
    httpVersion: 'HTTP/1.1',
    headers: HEADERS.map(([name, value]) => ({ name, value })),
    postData: { mimeType: 'text/plain;charset=UTF-8', text: `{"page":"/item/${i}","t":${1796689634412 + i}}` },
  },
  response: { status: -1, statusText: '', httpVersion: 'HTTP/1.1', headers: [], content: { size: -1, mimeType: 'x-unknown' }, _failureText: 'net::ERR_ABORTED' },
});

describe('HAR entries without an answer', () => {
  it('are learned as requests without a response, not skipped', async () => {
    const file = join(dir, 'beacons.har');
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries: Array.from({ length: 20 }, (_, i) => abortedBeacon(i)) } }));
    const out = join(dir, 'guardian.json');
    const run = await runGuard(['learn', '--in', file, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/learned 20 sessions from 1 file in/);
    expect(run.stderr).not.toMatch(/skipped|response\.status/);
    const core = loadCore();
    const g = core.parseGuardian(readFileSync(out, 'utf8'));
    try {
      const beacon = { method: 'POST', path: '/api/beacon', query: '', headers: HEADERS, body: '{"page":"/item/7","t":1796689699999}' };
      expect(decideRecord(core, g, beacon, { maxBody: 1 << 20 }).decision).toBe('');
    } finally {
      g.dispose();
    }
  });
});
