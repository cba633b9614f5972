// HAR learning (docs/tokens.md, "Learning from HAR files"): `guard learn` adds what browsers send but
// HAR exports leave out — the favicon after a navigation, the CORS preflight before a cross-origin
// request with a custom header — so the learned Guardian does not refuse them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideRecord } from '../../cli/decide-record.js';
import { loadCore } from '../../core/index.js';
import { runGuard, tempDir } from '../support/cli.js';

const dir = tempDir('guard-har-');

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36';
const hex = (i: number) => (i * 2654435761).toString(16).padStart(8, '0').repeat(4).slice(0, 32);
const headers = (pairs: [string, string][]) => pairs.map(([name, value]) => ({ name, value }));

function entries(i: number) {
  const cookie = ['Cookie', `sid=${hex(i + 1)}`] as [string, string];
  return [
    {
      request: {
        method: 'GET',
        url: `https://shop.example/item/${i}`,
        headers: headers([['Accept', 'text/html,application/xhtml+xml'], ['User-Agent', UA], ['Sec-Fetch-Dest', 'document'], ['Sec-Fetch-Mode', 'navigate'], ['Sec-Fetch-Site', 'same-origin'], cookie]),
      },
      response: { status: 200, headers: headers([['Content-Type', 'text/html']]) },
    },
    {
      request: {
        method: 'PUT',
        url: `https://api.example/cart/${i}`,
        headers: headers([['Accept', '*/*'], ['User-Agent', UA], ['Origin', 'https://shop.example'], ['X-Csrf-Token', hex(i + 7)], ['Content-Type', 'application/json'], ['Sec-Fetch-Dest', 'empty'], ['Sec-Fetch-Mode', 'cors'], ['Sec-Fetch-Site', 'cross-site']]),
        postData: { mimeType: 'application/json', text: '{"qty":1}' },
      },
      response: { status: 204, headers: [] },
    },
  ];
}

describe('learning from HAR files', () => {
  it('learns the favicon and the CORS preflights the export left out', async () => {
    const har = join(dir, 'shop.har');
    writeFileSync(har, JSON.stringify({ log: { entries: Array.from({ length: 30 }, (_, i) => entries(i)).flat() } }));
    const out = join(dir, 'guardian.json');
    const run = await runGuard(['learn', '--in', har, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    // 60 entries, 30 preflights, 30 favicons — the first with each of the 5 usual answers
    expect(run.stderr).toMatch(/learned 124 sessions/);
    // 120 samples, every pile widening the fresh rules: the summary says auto would not block yet
    expect(run.stderr).toMatch(/rules not ready: 0 of 1000 samples since they last widened \(auto alerts but does not block/);
    const core = loadCore();
    const g = core.parseGuardian(readFileSync(out, 'utf8'));
    const policy = { maxBody: 1 << 20 };
    const favicon = { method: 'GET', path: '/favicon.ico', query: '', headers: [['Accept', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'], ['User-Agent', UA], ['Sec-Fetch-Dest', 'image'], ['Sec-Fetch-Mode', 'no-cors'], ['Sec-Fetch-Site', 'same-origin'], ['Cookie', `sid=${hex(99)}`], ['Referer', 'https://shop.example/item/42']] as [string, string][] };
    expect(decideRecord(core, g, favicon, policy).decision).toBe('');
    // the server's answer, whichever of the usual ones it gives, passes the response stage too
    for (const [status, type] of [[200, 'image/x-icon'], [200, 'image/vnd.microsoft.icon'], [200, 'image/png'], [200, 'image/svg+xml'], [404, 'text/html; charset=utf-8']] as const) {
      const answered = { ...favicon, response: { status, headers: [['Content-Type', type]] as [string, string][] } };
      expect(decideRecord(core, g, answered, policy).decision, `${status} ${type}`).toBe('');
    }
    // an answer of another kind is still out of pattern
    const download = { ...favicon, response: { status: 200, headers: [['Content-Type', 'application/x-msdownload']] as [string, string][] } };
    expect(decideRecord(core, g, download, policy).allowed).toBe(false);
    const preflight = { method: 'OPTIONS', path: '/cart/42', query: '', headers: [['Accept', '*/*'], ['Access-Control-Request-Method', 'PUT'], ['Access-Control-Request-Headers', 'content-type,x-csrf-token'], ['Origin', 'https://shop.example'], ['User-Agent', UA], ['Sec-Fetch-Mode', 'cors'], ['Sec-Fetch-Site', 'cross-site'], ['Sec-Fetch-Dest', 'empty']] as [string, string][] };
    expect(decideRecord(core, g, preflight, policy).decision).toBe('');
    // what the export did record is learned as before; an attack is still refused
    expect(decideRecord(core, g, { ...favicon, path: '/favicon.ico', query: "x=' OR 1=1--" }, policy).allowed).toBe(false);
    g.dispose();
  });
});
