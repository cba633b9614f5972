// The real `guard` command (bin/guard.js over the compiled CLI and the wasm core) on generated
// shop traffic: learn on 100,000 normal records in flat memory, then check normal records (all
// allowed) and attacks (all alerted), over JSON Lines, gzip and HAR inputs.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackRecords, normalRecord, random, writeRecords, writeTraffic, type GeneratedRecord } from './generate-traffic.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'guard.js');
const dir = mkdtempSync(join(tmpdir(), 'guard-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEARN_RECORDS = 100_000;
const MB = 1024 * 1024;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run the command as a user would; the V8 heap is capped so that holding a whole file fails. */
function guard(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=96', bin, ...args],
      { cwd: dir, env: { ...process.env, GUARD_CLI_STATS: '1' }, maxBuffer: 256 * MB },
      (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function stats(run: Run): { records: number; errors: number; maxRssBytes: number; seconds: number } {
  const line = run.stderr.split('\n').find((l) => l.startsWith('{"guardCliStats"'));
  if (!line) throw new Error(`no stats line in stderr:\n${run.stderr}`);
  return JSON.parse(line).guardCliStats;
}

function decisions(run: Run): Array<{ allowed?: boolean; result?: number; decision?: string; error?: string }> {
  return run.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function harOf(records: GeneratedRecord[]): string {
  const headers = (list: [string, string][]) => list.map(([name, value]) => ({ name, value }));
  return JSON.stringify({
    log: {
      version: '1.2',
      creator: { name: 'guard-test', version: '1' },
      entries: records.map((r) => ({
        startedDateTime: '2024-05-01T10:00:00.000Z',
        time: 12,
        request: {
          method: r.method,
          url: `https://shop.example.com${r.path}${r.query ? `?${r.query}` : ''}`,
          httpVersion: 'HTTP/1.1',
          headers: headers(r.headers),
          queryString: [],
          cookies: [],
          headersSize: -1,
          bodySize: r.body ? r.body.length : 0,
          ...(r.body ? { postData: { mimeType: 'application/json', text: r.body } } : {}),
        },
        response: {
          status: r.response!.status,
          statusText: 'OK',
          httpVersion: 'HTTP/1.1',
          headers: headers(r.response!.headers),
          cookies: [],
          content: { size: r.response!.body!.length, mimeType: 'application/json', text: Buffer.from(r.response!.body!).toString('base64'), encoding: 'base64' },
          redirectURL: '',
          headersSize: -1,
          bodySize: -1,
        },
        cache: {},
        timings: { send: 0, wait: 10, receive: 2 },
      })),
    },
  });
}

const learnFile = join(dir, 'normal-100k.jsonl');
const guardianFile = join(dir, 'guardian.json');
const checkRecords = (() => {
  const rnd = random(4242);
  return Array.from({ length: 2000 }, () => normalRecord(rnd));
})();

beforeAll(async () => {
  if (!existsSync(join(root, 'build', 'js', 'cli', 'index.js'))) throw new Error('the CLI is not built: run `npm run build` first');
  await writeTraffic(learnFile, LEARN_RECORDS, { seed: 1 });
  await writeRecords(join(dir, 'normal-check.jsonl'), checkRecords);
  writeFileSync(join(dir, 'normal-check.jsonl.gz'), gzipSync(readFileSync(join(dir, 'normal-check.jsonl'))));
  await writeRecords(join(dir, 'attacks.jsonl'), attackRecords());
});

describe('guard learn and guard check on shop traffic', () => {
  it('learns 100,000 records from a file of more than 50 MB in flat memory', async () => {
    expect(statSync(learnFile).size).toBeGreaterThan(50 * MB);
    const run = await guard(['learn', '--in', learnFile, '--out', guardianFile]);
    expect(run.stderr).not.toMatch(/\.jsonl:\d+:/); // no record refused
    expect(run.status, run.stderr).toBe(0);
    const s = stats(run);
    expect(s).toMatchObject({ records: LEARN_RECORDS, errors: 0 });
    // Reading the whole file would need several times its 50+ MB in the V8 heap alone.
    expect(s.maxRssBytes).toBeLessThan(200 * MB);
    const spec = JSON.parse(readFileSync(guardianFile, 'utf8'));
    expect(spec.samples).toBe(LEARN_RECORDS);
    expect(spec.control).toMatchObject({ auto: true, learn: true, alert: true, block: false });
    expect(spec.learned).toBeTruthy();
    expect(spec.learned.req).toBeTruthy();
    // No record carried envelope timings: that section stays unlearned (difference 8 of
    // docs/compatibility.md).
    expect(spec.learned.envelop ?? null).toBeNull();
  });

  it('allows normal records it did not see while learning', async () => {
    const run = await guard(['check', '--guardian', guardianFile, '--in', join(dir, 'normal-check.jsonl')]);
    expect(run.status, run.stderr).toBe(0);
    const out = decisions(run);
    expect(out).toHaveLength(checkRecords.length);
    const alerted = out.map((d, i) => ({ ...d, record: checkRecords[i] })).filter((d) => !d.allowed);
    expect(alerted).toEqual([]);
  });

  it('reads gzip-compressed traffic with the same decisions', async () => {
    const plain = await guard(['check', '--guardian', guardianFile, '--in', join(dir, 'normal-check.jsonl')]);
    const gz = await guard(['check', '--guardian', guardianFile, '--in', join(dir, 'normal-check.jsonl.gz')]);
    expect(gz.status, gz.stderr).toBe(0);
    expect(gz.stdout).toBe(plain.stdout);
  });

  it('alerts on every attack with a decision string', async () => {
    const attacks = attackRecords();
    const run = await guard(['check', '--guardian', guardianFile, '--in', join(dir, 'attacks.jsonl')]);
    expect(run.status, run.stderr).toBe(0);
    const out = decisions(run);
    expect(out).toHaveLength(attacks.length);
    const missed = out.map((d, i) => ({ label: attacks[i].label, ...d })).filter((d) => d.allowed !== false || !d.decision || !(d.result! > 0));
    expect(missed).toEqual([]);
  });

  it('puts an error line in place of a malformed record and goes on', async () => {
    const lines = [JSON.stringify(checkRecords[0]), '{"method":"GET","path":"/shop/item","headers":[["Accept"]]}', '{oops', JSON.stringify(attackRecords()[0]), JSON.stringify(checkRecords[1])];
    const input = join(dir, 'mixed.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'mixed-decisions.jsonl');
    const run = await guard(['check', '--guardian', guardianFile, '--in', input, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    const got = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(got).toHaveLength(5);
    expect(got[0]).toEqual({ allowed: true, result: 0, decision: '' });
    expect(got[1]).toEqual({ error: `${input}:2: "headers" must be a list of [name, value] string pairs; entry 1 is the list ["Accept"]` });
    expect(got[2].error).toMatch(new RegExp(`^${input}:3: not valid JSON`));
    expect(got[3]).toMatchObject({ allowed: false });
    expect(got[4]).toEqual({ allowed: true, result: 0, decision: '' });
    expect(run.stderr).toContain(`${input}:2: "headers" must be`);
  });

  it('learns from and checks HAR files', async () => {
    const rnd = random(99);
    const har = join(dir, 'shop.har');
    writeFileSync(har, harOf(Array.from({ length: 1000 }, () => normalRecord(rnd))));
    const harGuardian = join(dir, 'har-guardian.json');
    const learned = await guard(['learn', '--in', har, '--out', harGuardian]);
    expect(learned.status, learned.stderr).toBe(0);
    expect(JSON.parse(readFileSync(harGuardian, 'utf8')).samples).toBe(1000);
    const checked = await guard(['check', '--guardian', harGuardian, '--in', har]);
    expect(checked.status, checked.stderr).toBe(0);
    expect(decisions(checked).filter((d) => !d.allowed)).toEqual([]);
  });

  it('exits non-zero when the Guardian or the traffic cannot be read', async () => {
    const bad = join(dir, 'not-a-guardian.json');
    writeFileSync(bad, '{"learned": 42');
    const run = await guard(['check', '--guardian', bad, '--in', join(dir, 'attacks.jsonl')]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/not-a-guardian\.json is not a usable Guardian: invalid Guardian/);
    const missing = await guard(['learn', '--in', join(dir, 'nope.jsonl.gz')]);
    expect(missing.status, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.jsonl\.gz: no such file/);
    const usage = await guard(['check', '--in', learnFile]);
    expect(usage.status, usage.stderr).toBe(2);
  });

  it('tells the user to build when the compiled command is missing', async () => {
    const bare = join(dir, 'unbuilt');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    copyFileSync(bin, join(bare, 'bin', 'guard.js'));
    const run = await new Promise<Run>((resolve) => {
      execFile(process.execPath, [join(bare, 'bin', 'guard.js'), 'learn', '--help'], (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`guard: the command is not built yet: run \`npm run build\` in ${bare}/\n`);
  });
});
