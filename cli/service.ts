// `guard service`: run guard-service from the environment (docs/configuration.md) until SIGTERM or
// SIGINT. Exit status: 0 stopped cleanly, 1 it could not listen or lost learning at shutdown, 2 bad
// configuration.
import { ConfigError, readServiceConfig, ServiceError, startService, type RunningService } from '../service/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';


/** Runs until a signal; resolves to the exit status. */
export async function runService(ctx: CommandContext, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  // Listening first: a signal that arrives while the announcement is read is not lost.
  const stopped = waitForStopSignal();
  let service: RunningService;
  try {
    const config = readServiceConfig(env);
    service = await startService(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.stderr.write(`guard service: invalid configuration: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ServiceError) {
      ctx.stderr.write(`guard service: ${err.message}\n`);
      return err.code === 'GUARD_SERVICE_SETUP' ? 2 : 1;
    }
    throw err;
  }
  ctx.stderr.write(`guard service: listening on ${service.bound} (${service.url})\n`);
  if (service.peopleToken !== null) ctx.stderr.write(`guard service: people API token: ${service.peopleToken}\n`);

  const signal = await stopped;
  ctx.stderr.write(`guard service: ${signal}: stopping, flushing learning\n`);
  const report = await service.close();
  if (!report.flushed) {
    ctx.stderr.write(`guard service: stopped, but learning was not all saved: ${report.problem}\n`);
    return 1;
  }
  ctx.stderr.write('guard service: stopped\n');
  return 0;
}
