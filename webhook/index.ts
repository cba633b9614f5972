// guard-webhook: the mutating admission webhook that adds guard-gate to what is opted in, and the
// validating one that refuses Guardians Guard could not load, over HTTPS with a certificate re-read
// while serving (tls.ts). Routes: POST /inject (objects opted in by label or, for Knative, by the
// original's annotation), POST /inject-namespace (everything in a namespace opted in, unless opted
// out), POST /validate-guardian (guardians.ts), GET /healthz and /readyz. Nothing slow: a review is
// answered from the request alone, without calling the API server.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadCore, type Core } from '../core/index.js';
import type { InjectOptions } from '../inject/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import type { WebhookConfig } from './config.js';
import { reviewGuardian } from './guardians.js';
import { review, ReviewError, type Scope } from './review.js';
import { CertificateWatch } from '../tls/index.js';
import { readPair } from './tls.js';

export { readWebhookConfig, WebhookConfigError, type WebhookConfig } from './config.js';
export { WebhookTlsError } from './tls.js';
export { diff, review, INJECT_LABEL, type ReviewAnswer, type PatchOp } from './review.js';

/** The API server sends reviews of a few kilobytes; 3 MiB is its own object limit. */
const MAX_BODY = 3 * 1024 * 1024;

export interface WebhookOptions {
  log?: Logger;
  /** How often the certificate files are checked (default 5 s). */
  certCheckMs?: number;
  /** The core that judges Guardians (default: loaded from build/). */
  core?: Core;
}

export interface RunningWebhook {
  port: number;
  server: Server;
  /** Re-read the certificate files now (the periodic check does it too). */
  reloadCertificate(): Promise<void>;
  close(): Promise<void>;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startWebhook(config: WebhookConfig, options: WebhookOptions = {}): Promise<RunningWebhook> {
  const log = options.log ?? silentLogger;
  const pair = await readPair(config.certFile, config.keyFile);
  const inject: InjectOptions = {
    image: config.gateImage,
    ...(config.guardServiceUrl !== null ? { guardServiceUrl: config.guardServiceUrl } : {}),
    ...(config.guardServiceCa !== null ? { guardServiceCa: config.guardServiceCa } : {}),
  };
  const core = options.core ?? loadCore();
  const routes: Record<string, Scope | 'guardian'> = { '/inject': 'object', '/inject-namespace': 'namespace', '/validate-guardian': 'guardian' };
  const server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return json(res, 200, { status: 'ok' });
    const scope = routes[path];
    if (!scope) return json(res, 404, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: `no route ${req.method} ${path}` } });
    if (req.method !== 'POST') return json(res, 405, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: 'reviews are POSTed' } });
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return json(res, 415, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: 'expected Content-Type: application/json' } });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        json(res, 413, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: `a review over ${MAX_BODY} bytes` } });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const answer = scope === 'guardian' ? reviewGuardian(body, core) : review(body, scope, inject);
        const r = (answer.response ?? {}) as { uid?: string; allowed?: boolean; patch?: string };
        log.info({ uid: r.uid, scope, allowed: r.allowed, patched: r.patch !== undefined }, 'webhook: review answered');
        json(res, 200, answer);
      } catch (err) {
        if (!(err instanceof ReviewError) && !(err instanceof SyntaxError)) {
          log.error({ err: (err as Error).stack }, 'webhook: review failed');
          return json(res, 500, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: 'internal error' } });
        }
        log.warn({ err: (err as Error).message }, 'webhook: a malformed review refused');
        json(res, 400, { error: { code: 'GUARD_WEBHOOK_REVIEW', message: `not an AdmissionReview: ${(err as Error).message}` } });
      }
    });
  });
  // The API server waits timeoutSeconds (10 in deploy/) at most; a slow client is cut sooner.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const watch = new CertificateWatch(pair, {
    read: () => readPair(config.certFile, config.keyFile),
    apply: (next) => server.setSecureContext({ cert: next.cert, key: next.key }),
    log,
    what: 'webhook',
    certFile: config.certFile,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(new Error(`guard webhook cannot listen on ${config.address} port ${config.port}: ${err.message}`), { code: 'GUARD_LISTEN_FAILED' })));
    server.listen(config.port, config.address, () => resolve());
  });
  watch.start(options.certCheckMs ?? 5000);
  log.info({ port: (server.address() as AddressInfo).port }, 'webhook: serving');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    reloadCertificate: () => watch.check(),
    close: () =>
      new Promise<void>((resolve) => {
        watch.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
