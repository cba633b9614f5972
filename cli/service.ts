// `guard service`: run guard-service from the environment (SPEC §6.6) until SIGTERM or SIGINT.
// Exit status: 0 stopped cleanly, 1 it could not listen or lost learning at shutdown, 2 bad
// configuration.
import { ConfigError, readServiceConfig, ServiceError, startService, type RunningService } from '../service/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';

export const SERVICE_HELP = `Usage: guard service

Runs guard-service: the /sync endpoint gates learn through, the API for people and the UI,
/healthz, /readyz and /metrics. Configured by the environment:

  GUARD_SERVICE_PORT         listening port (default 8888)
  GUARD_SERVICE_ADDRESS      listening address (default 0.0.0.0; 127.0.0.1 when
                             GUARD_SERVICE_AUTH=false: a non-loopback address is refused then,
                             unless GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK=true)
  GUARD_SERVICE_AUTH         gates authenticate with a service-account token checked by
                             TokenReview (default on; only "false" turns it off, and only with
                             GUARD_STORE=file: gates then name ns, sid and pod in the query)
  GUARD_SERVICE_TLS          serve HTTPS (default on in a cluster, off elsewhere)
  GUARD_SERVICE_TLS_CERT     certificate file (default /secrets/tls.crt)
  GUARD_SERVICE_TLS_KEY      key file (default /secrets/tls.key)
  GUARD_SERVICE_LABELS       comma-separated pod label keys naming a gate's service, tried before
                             serving.knative.dev/service and app
  GUARD_STORE                kube-crd (default in a cluster), kube-configmap or file (default
                             elsewhere)
  GUARD_STORE_DIR            the file store's directory (default ./guardians)
  GUARD_SERVICE_PEOPLE_AUTH  kubernetes (TokenReview + SubjectAccessReview; default with auth on)
                             or token (a token generated at start; default with auth off)
  GUARD_SERVICE_PEOPLE_TOKEN_FILE  token mode: also write the people token to this file
  GUARD_SERVICE_MAX_BODY     largest /sync body in bytes (default 10000000)
  GUARD_SERVICE_LOG_LEVEL    fatal, error, warn, info (default), debug, trace or silent

Exit status: 0 stopped by SIGTERM/SIGINT with learning flushed, 1 could not listen (port in use)
or could not flush, 2 invalid configuration.
`;

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
