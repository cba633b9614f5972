// The `guard` command: parses the command line, runs a subcommand, and turns its outcome into an
// exit status (0 done, 1 a file could not be read or written, 2 usage, 3 the core failed).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runCheck } from './check.js';
import { openCore } from './core.js';
import { CliError } from './errors.js';
import { runLearn } from './learn.js';
import { runService, SERVICE_HELP } from './service.js';
import type { CommandContext } from './report.js';
import { DEFAULT_MAX_BODY } from './traffic-record.js';
import { DEFAULT_MAX_LINE_BYTES } from './traffic.js';
import { GATE_HELP, runGate } from './gate.js';
import { CAPS_HELP, CAPS_OPTIONS, capsOf, POLICY_HELP, POLICY_OPTIONS, policyOf } from './route-options.js';
import { DEMO_HELP, runDemo } from './demo.js';

export type { CommandContext } from './report.js';
export { CliError } from './errors.js';

const USAGE = `Usage: guard <command> [options]

Commands:
  gate      run guard-gate, the sidecar in front of a service (configured by env)
  service   run guard-service, the learner and Guardian store
  learn     learn a Guardian from traffic files
  check     decide traffic records against a Guardian
  demo      a self-contained local demonstration

Run \`guard <command> --help\` for the options of a command.
`;

const LEARN_HELP = `Usage: guard learn --in TRAFFIC [--in TRAFFIC…] [--out guardian.json] [caps]

Learns a Guardian from recorded traffic exactly as guard-service would from the same sessions (and
the same caps), and writes its GuardianSpec (learned rules and route table, the caps it was
learned with, samples, control.auto on) as JSON.

Options:
  --in FILE        traffic: JSON Lines (one record a line), optionally gzip-compressed (.gz), or a
                   HAR file (.har); repeat for several files
  --out FILE       write the Guardian to FILE (atomically) instead of standard output
  --max-body N     bodies over N bytes are not analysed but recorded as TooLargeBody, as the gate
                   does (default ${DEFAULT_MAX_BODY})
${CAPS_HELP}
  -h, --help       show this help

A traffic record (one JSON line):
  {"method":"GET","path":"/shop/item","query":"id=2","headers":[["Host","shop"],["Accept","*/*"]],
   "body":"", "remote":"203.0.113.7", "response":{"status":200,"headers":[…],"body":"…"}}

Malformed records are reported on stderr with file:line and skipped. Exit status: 0 done, 1 a
file could not be read or written, 2 usage error.
`;

const CHECK_HELP = `Usage: guard check --guardian GUARDIAN --in TRAFFIC [--out decisions.jsonl]

Decides every traffic record against a Guardian (learned or configured rules, as control.auto
selects) and writes one JSON line per record, in order:
  {"allowed":true,"result":0,"decision":""}
  {"allowed":false,"result":2,"decision":"<sorted decision string>"}
  {"error":"<file:line>: <why the record is malformed>"}

Options:
  --guardian FILE  a GuardianSpec or a whole Guardian object (JSON), e.g. the output of guard learn
  --in FILE        traffic: JSON Lines, optionally gzip-compressed (.gz), or HAR (.har); may be
                   repeated, the files are read in order
  --out FILE       write the decisions to FILE instead of standard output
  --max-body N     bodies over N bytes are not analysed but recorded as TooLargeBody (default ${DEFAULT_MAX_BODY})
${POLICY_HELP}
  -h, --help       show this help

A decision names what failed, down to the route and the parameter, e.g.
  [Req:[Route GET /items/{id}:[Query parameter debug is not known on this route,],],]

Exit status: 0 done (whatever the decisions), 1 a file could not be read or written, 2 usage error.
`;

const NOT_IN_BUILD: Record<string, string> = {
  demo: 'guard demo starts a sample service, guard-service and a gate, and shows attacks blocked',
};

const FILE_OPTIONS = {
  in: { type: 'string', multiple: true },
  out: { type: 'string' },
  'max-body': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Run the command line `args` (without `node` and the script); resolves to the exit status. */
export async function main(args: string[], ctx: CommandContext = processContext()): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
        ctx.stderr.write(USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        ctx.stdout.write(rest[0] ? helpOf(rest[0]) : USAGE);
        return 0;
      case 'learn': {
        const v = parse('learn', rest, { ...FILE_OPTIONS, ...CAPS_OPTIONS });
        if (v.help) return help(ctx, LEARN_HELP);
        const inputs = required('learn', v.in, '--in');
        const caps = capsOf('learn', v);
        await runLearn({ inputs, out: v.out, maxBody: maxBody('learn', v['max-body']), maxLineBytes: DEFAULT_MAX_LINE_BYTES, caps }, ctx);
        return 0;
      }
      case 'check': {
        const v = parse('check', rest, { ...FILE_OPTIONS, ...POLICY_OPTIONS, guardian: { type: 'string' } });
        if (v.help) return help(ctx, CHECK_HELP);
        const guardian = required('check', v.guardian, '--guardian');
        const inputs = required('check', v.in, '--in');
        const policy = policyOf('check', v);
        await runCheck({ guardian, inputs, out: v.out, maxBody: maxBody('check', v['max-body']), maxLineBytes: DEFAULT_MAX_LINE_BYTES, policy }, ctx);
        return 0;
      }
      case 'service':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) return help(ctx, SERVICE_HELP);
        if (rest.length > 0) throw new CliError('GUARD_CLI_USAGE', `guard service takes no arguments (it is configured by the environment)\nRun \`guard service --help\` for its variables.`);
        return await runService(ctx);
      case 'gate':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) return help(ctx, GATE_HELP);
        if (rest.length > 0) throw new CliError('GUARD_CLI_USAGE', `guard gate takes no arguments (it is configured by the environment)\nRun \`guard gate --help\` for its variables.`);
        return await runGate(ctx);
      case 'demo': {
        const v = parse('demo', rest, { keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
        if (v.help) return help(ctx, DEMO_HELP);
        return await runDemo(ctx, { keep: v.keep === true });
      }
      default:
        throw new CliError('GUARD_CLI_USAGE', `unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      ctx.stderr.write(`guard${command && command in COMMANDS ? ` ${command}` : ''}: ${err.message}\n`);
      return err.exitStatus;
    }
    ctx.stderr.write(`guard: internal error (a bug; please report it): ${(err as Error)?.stack ?? String(err)}\n`);
    return 3;
  }
}

const COMMANDS: Record<string, true> = { gate: true, service: true, learn: true, check: true, demo: true };

function helpOf(command: string): string {
  if (command === 'learn') return LEARN_HELP;
  if (command === 'check') return CHECK_HELP;
  if (command === 'service') return SERVICE_HELP;
  if (command === 'gate') return GATE_HELP;
  if (command === 'demo') return DEMO_HELP;
  const about = NOT_IN_BUILD[command];
  if (about) return `Usage: guard ${command}\n\n${about}.\nIt is not part of this build yet.\n`;
  throw new CliError('GUARD_CLI_USAGE', `unknown command "${command}"\n\n${USAGE}`);
}

function help(ctx: CommandContext, text: string): number {
  ctx.stdout.write(text);
  return 0;
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // parseArgs' messages name the option; add where to look.
    const why = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new CliError('GUARD_CLI_USAGE', `${why}\nRun \`guard ${command} --help\` for its options.`);
  }
}

function required<T>(command: string, value: T | undefined, flag: string): T {
  if (value === undefined) throw new CliError('GUARD_CLI_USAGE', `${flag} is required\nRun \`guard ${command} --help\` for its options.`);
  return value;
}

function maxBody(command: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_BODY;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new CliError('GUARD_CLI_USAGE', `--max-body must be a number of bytes, got "${text}"\nRun \`guard ${command} --help\` for its options.`);
  }
  return n;
}

/** The real surroundings: process streams, GUARD_CLI_STATS read once here, the shared core. */
export function processContext(): CommandContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stats: process.env.GUARD_CLI_STATS === '1',
    core: openCore,
  };
}
