// `guard webhook`: run guard-webhook from the environment (docs/configuration.md) until SIGTERM or
// SIGINT. Exit status: 0 stopped, 1 could not start (a port in use, a certificate that does not
// load), 2 invalid configuration.
import { pino } from 'pino';
import { readWebhookConfig, startWebhook, WebhookConfigError, WebhookTlsError, type RunningWebhook } from '../webhook/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';

export async function runWebhook(ctx: CommandContext, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const stopped = waitForStopSignal();
  let webhook: RunningWebhook;
  try {
    const config = readWebhookConfig(env);
    webhook = await startWebhook(config, { log: pino({ level: config.logLevel, base: { component: 'guard-webhook' } }) });
  } catch (err) {
    if (err instanceof WebhookConfigError) {
      ctx.stderr.write(`guard webhook: invalid configuration: ${err.message}\n`);
      return 2;
    }
    if (err instanceof WebhookTlsError || (err as { code?: string }).code === 'GUARD_LISTEN_FAILED') {
      ctx.stderr.write(`guard webhook: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  ctx.stderr.write(`guard webhook: listening on port ${webhook.port}\n`);
  const signal = await stopped;
  ctx.stderr.write(`guard webhook: ${signal}: stopping\n`);
  await webhook.close();
  return 0;
}
