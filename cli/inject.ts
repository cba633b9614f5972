// `guard inject`: reads Kubernetes YAML (files, or standard input), prints it with guard-gate added
// to every Deployment, StatefulSet, DaemonSet, Pod and Knative Service (and, with --network-policy,
// a NetworkPolicy after each but the Knative Services; or, with --uninject, all of it taken out
// again exactly), and says on stderr what it did to each object. Nothing is printed when an object
// is refused: the output is never half-injected.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InjectError, injectManifests, uninjectManifests, type ManifestOptions, type ManifestResult } from '../inject/index.js';
import { CliError, describeSystemError } from './errors.js';
import { writeFileAtomic } from './output.js';
import type { CommandContext } from './report.js';

export interface InjectRun {
  files: string[];
  uninject: boolean;
  out?: string;
  /** With networkPolicy: a NetworkPolicy beside each injected workload but Knative Services. */
  options: ManifestOptions;
  /** Where `-` (and no file at all) reads from. */
  stdin: Readable;
}

async function readInput(file: string, stdin: Readable): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('GUARD_MANIFEST_UNREADABLE', `cannot read ${file}: ${describeSystemError(err)}`);
  }
}

/** Exit status: 0 done, 1 a file could not be read or an object was refused. */
export async function runInject(run: InjectRun, ctx: CommandContext): Promise<number> {
  const files = run.files.length > 0 ? run.files : ['-'];
  const texts: string[] = [];
  const results: ManifestResult[] = [];
  for (const file of files) {
    const text = await readInput(file, run.stdin);
    try {
      results.push(run.uninject ? uninjectManifests(text) : injectManifests(text, run.options));
    } catch (err) {
      if (!(err instanceof InjectError)) throw err;
      ctx.stderr.write(`guard inject: ${file === '-' ? 'standard input' : file}: ${err.message} (${err.code})\n`);
      return 1;
    }
  }
  for (const r of results) texts.push(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
  const output = texts.filter((t) => t !== '').join('---\n');
  if (run.out) await writeFileAtomic(run.out, output);
  else ctx.stdout.write(output);
  for (const r of results) {
    for (const o of r.objects) if (o.outcome !== 'no pod template') ctx.stderr.write(`guard inject: ${o.kind} ${o.name}: ${o.outcome}\n`);
    for (const p of r.policies) ctx.stderr.write(`guard inject: NetworkPolicy ${p.name}: ${p.outcome}\n`);
    for (const note of r.notes) ctx.stderr.write(`guard inject: note: ${note}\n`);
  }
  return 0;
}
