// `guard gate`: run guard-gate from the environment (SPEC §5.6) until SIGTERM or SIGINT, then
// drain in-flight requests and send the final sync. Exit status: 0 stopped cleanly, 1 it could
// not start (a port in use, the slow uWS fallback), 2 bad configuration.
import { ConfigError, readGateConfig, startGate, type GateHandle } from '../gate/index.js';
import type { CommandContext } from './report.js';
import { waitForStopSignal } from './signals.js';

export const GATE_HELP = `Usage: guard gate

Runs guard-gate, the sidecar in front of one service: it profiles every request and response,
decides them against the service's Guardian, alerts or blocks, and syncs what it saw with
guard-service. Configured by the environment (names of the original kept):

  SERVICE_NAME, NAMESPACE      the protected service (required)
  PROTECTED_SERVICE            where requests go (default http://127.0.0.1:8080)
  PORT                         the gate's port (default 22000)
  GUARD_SERVICE_URL            guard-service's base URL (unset: no sync; Guardians from
                               Kubernetes or GUARDIAN_FILE)
  USE_CRD                      Guardian CRDs (true, default) or ConfigMaps (false)
  MONITOR_POD                  watch the pod's peers in /proc/net (default true)
  ANALYZE_BODY                 profile request bodies of every type, and JSON, form and text
                               response bodies (default true)
  GUARDIAN_SYNC_INTERVAL       seconds between syncs (default 60)
  POD_MONITOR_INTERVAL         seconds between pod samples (default 5)
  LOG_LEVEL                    pino level (default info)
  GUARDIAN_FILE                a Guardian to use without a cluster
  GUARD_ADMIN_PORT             /healthz, /readyz, /metrics (default 22001)
  GUARD_MAX_BODY               largest body analysed and WebSocket message relayed, in bytes
                               (default 1048576); a compressed body is held to it before and
                               after decoding
  GUARD_BLOCK_STATUS           status of block answers (default 403)
  GUARD_OVERSIZE               a request body over GUARD_MAX_BODY: decide (default: the fault
                               TooLargeBody is decided; streamed uninspected when allowed) or
                               refuse (413)
  GUARD_BODY_BUDGET            bytes all bodies buffered for analysis may hold at once; beyond,
                               503 with Retry-After (default: a quarter of the container's
                               memory limit, 16-512 MiB; 64 MiB without a limit)
  GUARD_MAX_IN_FLIGHT          requests in flight at once; beyond, 503 with Retry-After
                               (default 4096)
  GUARD_SERVICE_TOKEN_FILE     projected token for guard-service
                               (default /var/run/secrets/tokens/guard-service)
  GUARD_SERVICE_CA_FILE        CA that guard-service's certificate must chain to
  GUARD_SERVICE_SERVER_NAME    name verified in guard-service's certificate

Exit status: 0 stopped by SIGTERM/SIGINT after draining, 1 could not start, 2 invalid
configuration.
`;

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
  const signal = await stopped;
  ctx.stderr.write(`guard gate: ${signal}: draining, final sync\n`);
  await gate.close();
  ctx.stderr.write('guard gate: stopped\n');
  return 0;
}
