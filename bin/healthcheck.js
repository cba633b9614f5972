#!/usr/bin/env node
// The image's HEALTHCHECK: asks the process this container runs (its PID 1, `guard gate`, `guard
// service` or `guard webhook`) for /healthz on its own port, with the container's environment.
// Exit 0 healthy, 1 not. Kubernetes ignores it and uses the manifests' probes.
import { readFileSync } from 'node:fs';
import { request as httpGet } from 'node:http';
import { request as httpsGet } from 'node:https';

const env = process.env;
const command = (() => {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
})();
const role = ['gate', 'service', 'webhook'].find((r) => command.includes(r)) ?? 'gate';
const inCluster = (env.KUBERNETES_SERVICE_HOST ?? '') !== '';
const target = {
  gate: { tls: false, port: env.GUARD_ADMIN_PORT || '22001' },
  service: { tls: (env.GUARD_SERVICE_TLS || String(inCluster)).trim() === 'true', port: env.GUARD_SERVICE_PORT || '8888' },
  webhook: { tls: true, port: env.GUARD_WEBHOOK_PORT || '8443' },
}[role];

// A local probe of this container's own listener: its certificate is not what is checked here.
const options = { host: '127.0.0.1', port: Number(target.port), path: '/healthz', timeout: 2000, rejectUnauthorized: false };
/** @param {import('node:http').IncomingMessage} res */
const answered = (res) => {
  res.resume();
  process.exitCode = res.statusCode === 200 ? 0 : 1;
};
const req = target.tls ? httpsGet(options, answered) : httpGet(options, answered);
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: guard ${role} on port ${target.port}: ${err.message}\n`);
  process.exitCode = 1;
});
req.end();
