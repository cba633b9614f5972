// `guard learn`: builds a Guardian from traffic files exactly as guard-service would from the same
// sessions — profiled one by one, piled 1000 at a time, each pile sent through its wire form (what
// the service receives from a gate) and learned — then writes the GuardianSpec.
import { DEFAULT_LEARNING_CAPS, type Core, type Guardian, type LearningCaps, type Pile, type Readiness } from '../core/index.js';
import { coreFault, recordRefusal } from './core.js';
import { CliError } from './errors.js';
import { HarOmissions, withGatePeer } from './har-omissions.js';
import { writeFileAtomic } from './output.js';
import { count, RunReport, type CommandContext } from './report.js';
import { openTrafficFiles } from './traffic.js';
import { toRequestFields, toResponseFields, type BodyPolicy } from './traffic-record.js';

export interface LearnOptions {
  inputs: string[];
  /** The Guardian file to write; standard output when absent. */
  out?: string;
  maxBody: number;
  maxLineBytes: number;
  /** Key caps and route bound to learn with (docs/routes.md); the defaults when absent. */
  caps?: LearningCaps;
}

/** A gate syncs when it holds 1000 sessions (gate/sync.ts): the service learns piles of that size. */
export const PILE_SESSIONS = 1000;

export async function runLearn(options: LearnOptions, ctx: CommandContext): Promise<void> {
  const core = ctx.core();
  const report = new RunReport(ctx, 'learn');
  const policy: BodyPolicy = { maxBody: options.maxBody };
  // HAR exports leave out favicons and preflights: learn them too (har-omissions.ts).
  const files = await openTrafficFiles(options.inputs, { maxLineBytes: options.maxLineBytes, harOmissions: new HarOmissions() });

  const caps = { ...DEFAULT_LEARNING_CAPS, ...options.caps };
  const guardian = core.defaultGuardian();
  const pile = core.newPile();
  let piled = 0;
  let learned = 0;
  let readiness: Readiness | null = null;
  try {
    for (const file of files) {
      report.progress.file(file.path);
      for await (const item of file.items()) {
        report.progress.tick();
        if (!item.record) {
          report.recordError(file.where(item.line), item.error ?? 'unreadable record');
          continue;
        }
        // HAR files carry no client address; the gate adds one to every request (har-omissions.ts).
        const record = file.format === 'har' ? withGatePeer(item.record) : item.record;
        const session = core.newSession();
        try {
          session.profileRequest(toRequestFields(record, policy));
          if (record.response) session.profileResponse(toResponseFields(record.response, policy));
          pile.add(session);
        } catch (err) {
          const where = file.where(item.line);
          report.recordError(where, recordRefusal(err, where));
          continue;
        } finally {
          session.dispose();
        }
        if (++piled === PILE_SESSIONS) {
          learnPile(core, guardian, pile, caps);
          learned += piled;
          piled = 0;
        }
      }
    }
    if (piled > 0) {
      learnPile(core, guardian, pile, caps);
      learned += piled;
    }
    readiness = guardian.readiness;
    let spec: string;
    try {
      spec = guardian.toWire();
    } catch (err) {
      throw coreFault(err, 'writing the Guardian');
    }
    if (options.out !== undefined) await writeFileAtomic(options.out, `${spec}\n`);
    else await writeOut(ctx, `${spec}\n`);
  } finally {
    await Promise.all(files.map((f) => f.close()));
    pile.dispose();
    guardian.dispose();
  }

  const skipped = report.errors > 0 ? `, ${count(report.errors, 'record')} skipped` : '';
  const dest = options.out !== undefined ? `; Guardian written to ${options.out}` : '';
  if (learned === 0) report.say('warning: no record could be learned; the Guardian has no learned rules');
  report.finish(
    `learned ${count(learned, 'session')} from ${count(files.length, 'file')}${skipped} in ${report.progress.seconds.toFixed(1)} s${dest}${readinessNote(readiness)}`,
    { records: report.progress.done, learned, ...(readiness ? { ready: readiness.ready ? 1 : 0, stable: readiness.stable } : {}) },
  );
}

/** Serialise the pile, decode it again as guard-service does from a sync, learn it, clear it. */
function learnPile(core: Core, guardian: Guardian, pile: Pile, caps: LearningCaps): void {
  try {
    const received = core.parsePile(pile.toWire());
    try {
      guardian.learn(received, caps);
    } finally {
      received.dispose();
    }
    pile.clear();
  } catch (err) {
    throw coreFault(err, 'learning a pile of sessions');
  }
}

/** The summary's word on readiness (docs/tokens.md): whether `auto` would block with these rules. */
function readinessNote(r: Readiness | null | undefined): string {
  if (!r) return '';
  if (r.ready) return `; rules ready (the last ${count(r.stable, 'sample')} widened nothing)`;
  return `; rules not ready: ${r.stable} of ${r.readySamples} samples since they last widened (auto alerts but does not block until then; learn more traffic)`;
}

async function writeOut(ctx: CommandContext, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // The failure is reported through the callback; without a listener 'error' would crash.
    const ignore = () => {};
    ctx.stdout.once('error', ignore);
    ctx.stdout.write(text, (err) => {
      ctx.stdout.off('error', ignore);
      if (err) reject(new CliError('GUARD_OUTPUT_UNWRITABLE', `cannot write standard output: ${err.message}`));
      else resolve();
    });
  });
}
