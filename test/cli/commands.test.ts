// `guard learn` and `guard check` around a stand-in core: piles of 1000 through the wire form,
// record errors reported with file:line, decisions in input order, exit statuses, backpressure.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CommandContext } from '../../cli/index.js';
import { fakeCore, type FakeCoreOptions } from './fake-core.js';

const dir = mkdtempSync(join(tmpdir(), 'guard-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Capture extends Writable {
  text = '';
  isTTY = false;
  constructor(private readonly delayMs = 0, highWaterMark = 16 * 1024) {
    super({ highWaterMark, decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.text += chunk.toString();
    if (this.delayMs > 0) setTimeout(done, this.delayMs);
    else done();
  }
}

async function run(args: string[], options: FakeCoreOptions & { stdout?: Capture } = {}) {
  const { core, log } = fakeCore(options);
  const stdout = options.stdout ?? new Capture();
  const stderr = new Capture();
  const ctx: CommandContext = { stdout, stderr, stats: false, core: () => core };
  const status = await main(args, ctx);
  return { status, stdout: stdout.text, stderr: stderr.text, log };
}

function record(i: number, extra: object = {}): string {
  return JSON.stringify({ method: 'GET', path: `/p${i % 7}`, query: `id=${i}`, headers: [['Accept', '*/*']], ...extra });
}

function traffic(name: string, lines: string[], gzip = false): string {
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

describe('guard learn', () => {
  it('learns piles of 1000 sessions through their wire form, across files, reporting bad records', async () => {
    const a = traffic('a.jsonl', Array.from({ length: 1500 }, (_, i) => (i === 9 ? '{"method":"GET"}' : record(i))));
    const b = traffic('b.jsonl.gz', Array.from({ length: 1001 }, (_, i) => record(i, { response: { status: 200, headers: [] } })), true);
    const out = join(dir, 'g.json');
    const r = await run(['learn', '--in', a, '--in', b, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.log.learnedPiles).toEqual([1000, 1000, 500]);
    expect(r.log.liveSessions).toBe(0);
    expect(r.log.responses).toHaveLength(1001);
    expect(r.log.requests[0]).toEqual({ method: 'GET', path: '/p0', query: 'id=0', proto: 'HTTP/1.1', headers: [['Accept', '*/*']] });
    expect(r.stderr).toContain(`guard learn: ${a}:10: "path" must be a string starting with "/", got nothing\n`);
    expect(r.stderr).toMatch(/learned 2,500 sessions from 2 files, 1 record skipped in [\d.]+ s; Guardian written to /);
    expect(r.stdout).toBe('');
    const spec = JSON.parse(readFileSync(out, 'utf8'));
    expect(spec.samples).toBe(2500);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the Guardian to standard output without --out', async () => {
    const r = await run(['learn', '--in', traffic('one.jsonl', [record(1)])]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ learned: { paths: ['/p1'] }, samples: 1 });
  });

  it('goes on past a record the core refuses', async () => {
    const r = await run(['learn', '--in', traffic('brew.jsonl', [record(1, { method: 'BREW' }), record(2)])], { refuseMethod: 'BREW' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('brew.jsonl:1: method BREW refused');
    expect(JSON.parse(r.stdout).samples).toBe(1);
  });

  it('fails with status 1 and writes nothing when a file cannot be read', async () => {
    const out = join(dir, 'never.json');
    const missing = await run(['learn', '--in', traffic('ok.jsonl', [record(1)]), '--in', join(dir, 'nope.jsonl'), '--out', out]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`guard learn: cannot read ${join(dir, 'nope.jsonl')}: no such file\n`);
    const cut = join(dir, 'cut.jsonl.gz');
    writeFileSync(cut, gzipSync(Array.from({ length: 5000 }, (_, i) => record(i)).join('\n')).subarray(0, 2000));
    const corrupt = await run(['learn', '--in', cut, '--out', out]);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/cannot read .*cut\.jsonl\.gz: corrupt gzip data/);
    expect(existsSync(out)).toBe(false);
  });

  it('stops with status 3 when the core faults', async () => {
    const r = await run(['learn', '--in', traffic('trap.jsonl', [record(1, { method: 'TRAP' })])], { trapMethod: 'TRAP' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/the Guard core failed on .*trap\.jsonl:1 \(a bug; please report it with that record\): RuntimeError: unreachable/);
  });
});

describe('guard check', () => {
  const guardian = join(dir, 'guardian.json');
  writeFileSync(guardian, JSON.stringify({ control: { alert: true, block: false, learn: true, force: true, auto: true }, learned: { paths: ['/ok'] } }));

  it('writes one line per record, in order, with errors in place', async () => {
    const input = traffic('check.jsonl', [
      JSON.stringify({ method: 'GET', path: '/ok' }),
      '{broken',
      JSON.stringify({ method: 'GET', path: '/admin' }),
      JSON.stringify({ method: 'BREW', path: '/ok' }),
      JSON.stringify({ method: 'GET', path: '/ok?x=1' }),
    ]);
    const r = await run(['check', '--guardian', guardian, '--in', input], { refuseMethod: 'BREW' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { allowed: true, result: 0, decision: '' },
      { error: expect.stringMatching(new RegExp(`^${input}:2: not valid JSON: `)) },
      { allowed: false, result: 2, decision: '[Req:[Url:[unknown path /admin,],],]' },
      { error: `${input}:4: method BREW refused` },
      { allowed: true, result: 0, decision: '' },
    ]);
    expect(r.stderr).toMatch(/checked 5 records: 2 allowed, 1 alerted, 2 malformed records, in/);
  });

  it('reads a whole Guardian object and writes to --out', async () => {
    const whole = join(dir, 'whole.json');
    writeFileSync(whole, JSON.stringify({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', spec: { learned: { paths: ['/admin'] } } }));
    const out = join(dir, 'decisions.jsonl');
    const r = await run(['check', '--guardian', whole, '--in', traffic('two.jsonl', [JSON.stringify({ method: 'GET', path: '/admin' })]), '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('{"allowed":true,"result":0,"decision":""}\n');
  });

  it('fails with status 1 and the core message on an invalid Guardian', async () => {
    const bad = join(dir, 'bad-guardian.json');
    writeFileSync(bad, '{"kind":"nothing"}');
    const r = await run(['check', '--guardian', bad, '--in', traffic('x.jsonl', [record(1)])]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`guard check: ${bad} is not a usable Guardian: invalid Guardian: no learned criteria\n`);
    expect(r.stdout).toBe('');
  });

  it('waits for a slow reader instead of buffering every decision', async () => {
    const n = 20_000;
    const input = traffic('many.jsonl', Array.from({ length: n }, (_, i) => record(i)));
    const slow = new Capture(1, 1024);
    let peak = 0;
    const origWrite = slow.write.bind(slow);
    slow.write = ((chunk: string, ...rest: never[]) => {
      const ok = origWrite(chunk, ...rest);
      peak = Math.max(peak, slow.writableLength);
      return ok;
    }) as typeof slow.write;
    const r = await run(['check', '--guardian', guardian, '--in', input], { stdout: slow });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(n + 1);
    // One batch (64 KiB of text) at most waits in the stream at any time.
    expect(peak).toBeLessThanOrEqual(70 * 1024);
  });
});

describe('the command line', () => {
  it('refuses unknown commands and options with status 2', async () => {
    expect((await run(['frobnicate'])).status).toBe(2);
    const r = await run(['check', '--guardian', 'g', '--in', 'x', '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--verbose'");
    expect((await run(['learn'])).stderr).toContain('--in is required');
    expect((await run(['learn', '--in', 'x', '--max-body', 'lots'])).status).toBe(2);
  });

  it('prints help for gate, service and demo', async () => {
    expect((await run(['gate', '--help'])).stdout).toMatch(/^Usage: guard gate/);
    expect((await run(['service', '--help'])).stdout).toMatch(/^Usage: guard service/);
    expect((await run(['demo', '--help'])).stdout).toMatch(/^Usage: guard demo/);
    expect((await run(['gate', 'extra'])).status).toBe(2);
  });

  it('prints help for each command', async () => {
    expect((await run(['learn', '--help'])).stdout).toMatch(/^Usage: guard learn --in TRAFFIC/);
    expect((await run(['check', '-h'])).stdout).toMatch(/^Usage: guard check --guardian GUARDIAN/);
    expect((await run(['--help'])).stdout).toMatch(/Commands:/);
    expect((await run([])).status).toBe(2);
  });
});
