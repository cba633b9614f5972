// `guard check`: decides every traffic record against a Guardian (the criteria control.auto
// selects, honouring control.alert) and writes one JSON line per record, in input order.
import { readFile, stat } from 'node:fs/promises';
import { CoreError, type Core, type Guardian, type RoutePolicy } from '../core/index.js';
import { coreFault, recordRefusal } from './core.js';
import { CliError, describeSystemError } from './errors.js';
import { LineWriter, OutputClosed } from './output.js';
import { count, RunReport, type CommandContext } from './report.js';
import { openTrafficFiles, type TrafficFile } from './traffic.js';
import { decideRecord as decide } from './decide-record.js';
import type { BodyPolicy } from './traffic-record.js';

export { decideRecord as decide, type Decision } from './decide-record.js';

export interface CheckOptions {
  guardian: string;
  inputs: string[];
  /** The decisions file to write; standard output when absent. */
  out?: string;
  maxBody: number;
  maxLineBytes: number;
  /** Route policies and slack to decide with instead of the Guardian's control. */
  policy?: Partial<RoutePolicy>;
}

/** A Guardian is a Kubernetes object: far below this. */
const MAX_GUARDIAN_BYTES = 64 * 1024 * 1024;

export async function runCheck(options: CheckOptions, ctx: CommandContext): Promise<void> {
  const core = ctx.core();
  const report = new RunReport(ctx, 'check');
  const policy: BodyPolicy = { maxBody: options.maxBody };
  const guardian = await loadGuardian(core, options.guardian);
  if (options.policy) guardian.policy = { ...guardian.policy, ...options.policy };
  let files: TrafficFile[];
  try {
    files = await openTrafficFiles(options.inputs, { maxLineBytes: options.maxLineBytes });
  } catch (err) {
    guardian.dispose();
    throw err;
  }
  let output: LineWriter | undefined;
  let allowed = 0;
  let alerted = 0;
  let closed = false;
  try {
    output = options.out !== undefined ? await LineWriter.toFile(options.out) : LineWriter.toStream(ctx.stdout);
    for (const file of files) {
      report.progress.file(file.path);
      for await (const item of file.items()) {
        report.progress.tick();
        let line: string;
        if (item.record) {
          const where = file.where(item.line);
          try {
            const d = decide(core, guardian, item.record, policy);
            if (d.allowed) allowed++;
            else alerted++;
            line = JSON.stringify(d);
          } catch (err) {
            const message = recordRefusal(err, where);
            report.recordError(where, message);
            line = JSON.stringify({ error: `${where}: ${message}` });
          }
        } else {
          const message = item.error ?? 'unreadable record';
          report.recordError(file.where(item.line), message);
          line = JSON.stringify({ error: `${file.where(item.line)}: ${message}` });
        }
        await output.write(line);
      }
    }
    await output.end();
  } catch (err) {
    output?.destroy();
    if (!(err instanceof OutputClosed)) throw err;
    closed = true; // the reader has all it wanted (e.g. `guard check … | head`)
  } finally {
    await Promise.all(files.map((f) => f.close()));
    guardian.dispose();
  }
  if (closed) return;
  const refused = report.errors > 0 ? `, ${count(report.errors, 'malformed record')}` : '';
  report.finish(
    `checked ${count(allowed + alerted + report.errors, 'record')}: ${allowed.toLocaleString('en')} allowed, ${alerted.toLocaleString('en')} alerted${refused}, in ${report.progress.seconds.toFixed(1)} s`,
    { records: report.progress.done, allowed, alerted },
  );
}

async function loadGuardian(core: Core, path: string): Promise<Guardian> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (info.size > MAX_GUARDIAN_BYTES) {
      throw new CliError('GUARD_GUARDIAN_UNREADABLE', `cannot read ${path}: ${info.size} bytes is too large for a Guardian (limit ${MAX_GUARDIAN_BYTES})`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('GUARD_GUARDIAN_UNREADABLE', `cannot read ${path}: ${describeSystemError(err)}`);
  }
  try {
    return core.parseGuardian(text);
  } catch (err) {
    if (err instanceof CoreError) throw new CliError('GUARD_GUARDIAN_UNREADABLE', `${path} is not a usable Guardian: ${err.message}`);
    throw coreFault(err, `reading the Guardian ${path}`);
  }
}
