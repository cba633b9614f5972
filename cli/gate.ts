// `guard gate`: run guard-gate from the environment (docs/configuration.md) until SIGTERM or
// SIGINT, then drain in-flight requests and send the final sync. Exit status: 0 stopped cleanly, 1
// it could not start (a port in use, the slow uWS fallback), 2 bad configuration.
import { ConfigError, readGateConfig, startGate, type GateHandle } from '../gate/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';


/** Runs until a signal; resolves to the exit status. */
export async function runGate(ctx: CommandContext, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  // Listening first: a signal that arrives while the announcement is read is not lost.
  const stopped = waitForStopSignal();
  let gate: GateHandle;
  try {
    gate = await startGate(readGateConfig(env));
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.stderr.write(`guard gate: invalid configuration: ${err.message}\n`);
      return 2;
    }
    const e = err as Error & { code?: string };
    if (typeof e.code === 'string' && e.code.startsWith('GUARD_')) {
      ctx.stderr.write(`guard gate: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
  ctx.stderr.write(`guard gate: listening on port ${gate.port} (admin ${gate.adminPort})\n`);
  const service = gate.guardService();
  if (service.url === null) ctx.stderr.write('guard gate: no guard-service (GUARD_SERVICE_URL=none): nothing is learned\n');
  else if (service.reachable === false) ctx.stderr.write(`guard gate: guard-service ${service.url} unreachable (${service.lastError}): nothing is learned until it answers\n`);
  const signal = await stopped;
  ctx.stderr.write(`guard gate: ${signal}: draining, final sync\n`);
  await gate.close();
  ctx.stderr.write('guard gate: stopped\n');
  return 0;
}
