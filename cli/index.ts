// The `guard` command: parses the command line, runs a subcommand, and turns its outcome into an
// exit status (0 done, 1 a file could not be read or written, 2 usage, 3 the core failed).
// Subcommands are imported when chosen: `guard gate`, what the sidecar image runs, loads the gate
// and nothing of guard-service, the learner or the traffic readers (test/cli/modules.test.ts).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openCore } from './core.js';
import { CliError } from './errors.js';
import { CHECK_HELP, DEMO_HELP, GATE_HELP, INJECT_HELP, LEARN_HELP, SERVICE_HELP, USAGE, WEBHOOK_HELP } from './help.js';
import { DEFAULT_MAX_LINE_BYTES } from './lines.js';
import type { CommandContext } from './report.js';
import { CAPS_OPTIONS, capsOf, POLICY_OPTIONS, policyOf } from './route-options.js';
// learn and check analyse bodies up to the gate's own default limit (GUARD_MAX_BODY).
import { DEFAULT_MAX_BODY } from '../gate/config.js';

export type { CommandContext } from './report.js';
export { CliError } from './errors.js';




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
        const { runLearn } = await import('./learn.js');
        await runLearn({ inputs, out: v.out, maxBody: maxBody('learn', v['max-body']), maxLineBytes: DEFAULT_MAX_LINE_BYTES, caps }, ctx);
        return 0;
      }
      case 'check': {
        const v = parse('check', rest, { ...FILE_OPTIONS, ...POLICY_OPTIONS, guardian: { type: 'string' } });
        if (v.help) return help(ctx, CHECK_HELP);
        const guardian = required('check', v.guardian, '--guardian');
        const inputs = required('check', v.in, '--in');
        const policy = policyOf('check', v);
        const { runCheck } = await import('./check.js');
        await runCheck({ guardian, inputs, out: v.out, maxBody: maxBody('check', v['max-body']), maxLineBytes: DEFAULT_MAX_LINE_BYTES, policy }, ctx);
        return 0;
      }
      case 'service':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) return help(ctx, SERVICE_HELP);
        if (rest.length > 0) throw new CliError('GUARD_CLI_USAGE', `guard service takes no arguments (it is configured by the environment)\nRun \`guard service --help\` for its variables.`);
        return await (await import('./service.js')).runService(ctx);
      case 'gate':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) return help(ctx, GATE_HELP);
        if (rest.length > 0) throw new CliError('GUARD_CLI_USAGE', `guard gate takes no arguments (it is configured by the environment)\nRun \`guard gate --help\` for its variables.`);
        return await (await import('./gate.js')).runGate(ctx);
      case 'inject': {
        const v = parse('inject', rest, INJECT_OPTIONS);
        if (v.help) return help(ctx, INJECT_HELP);
        if (v.uninject && v['network-policy']) throw new CliError('GUARD_CLI_USAGE', `--uninject takes out the NetworkPolicies guard inject wrote without --network-policy; give one of the two\nRun \`guard inject --help\` for its options.`);
        const { runInject } = await import('./inject.js');
        return await runInject(
          {
            files: v.filename ?? [],
            uninject: v.uninject === true,
            out: v.out,
            stdin: process.stdin,
            options: {
              image: v.image,
              serviceName: v.service,
              namespace: v.namespace,
              port: v.port,
              appPort: v['app-port'] === undefined ? undefined : portNumber('inject', '--app-port', v['app-port']),
              guardServiceUrl: v['guard-service-url'],
              guardServiceCa: v['guard-service-ca'] === undefined ? undefined : await readCaFile(v['guard-service-ca']),
              networkPolicy: v['network-policy'] === true,
            },
          },
          ctx,
        );
      }
      case 'webhook':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) return help(ctx, WEBHOOK_HELP);
        if (rest.length > 0) throw new CliError('GUARD_CLI_USAGE', `guard webhook takes no arguments (it is configured by the environment)\nRun \`guard webhook --help\` for its variables.`);
        return await (await import('./webhook.js')).runWebhook(ctx);
      case 'demo': {
        const v = parse('demo', rest, { keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
        if (v.help) return help(ctx, DEMO_HELP);
        return await (await import('./demo.js')).runDemo(ctx, { keep: v.keep === true });
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

const COMMANDS: Record<string, true> = { gate: true, service: true, learn: true, check: true, demo: true, inject: true, webhook: true };

const INJECT_OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  uninject: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  image: { type: 'string' },
  service: { type: 'string' },
  namespace: { type: 'string' },
  port: { type: 'string' },
  'app-port': { type: 'string' },
  'guard-service-url': { type: 'string' },
  'guard-service-ca': { type: 'string' },
  'network-policy': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function portNumber(command: string, flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new CliError('GUARD_CLI_USAGE', `${flag} must be a port from 1 to 65535, got "${text}"\nRun \`guard ${command} --help\` for its options.`);
  return n;
}

async function readCaFile(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError('GUARD_MANIFEST_UNREADABLE', `cannot read --guard-service-ca ${file}`);
  });
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CliError('GUARD_CLI_USAGE', `--guard-service-ca ${file} holds no PEM certificate`);
  return text.trim();
}

function helpOf(command: string): string {
  if (command === 'learn') return LEARN_HELP;
  if (command === 'check') return CHECK_HELP;
  if (command === 'service') return SERVICE_HELP;
  if (command === 'gate') return GATE_HELP;
  if (command === 'demo') return DEMO_HELP;
  if (command === 'inject') return INJECT_HELP;
  if (command === 'webhook') return WEBHOOK_HELP;
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
