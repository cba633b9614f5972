// guard-webhook's configuration (docs/configuration.md): the environment, read once, checked and
// frozen. An invalid value is a WebhookConfigError naming the variable.
import { readFileSync } from 'node:fs';

export interface WebhookConfig {
  port: number;
  /** Listening address (default every address). */
  address: string;
  certFile: string;
  keyFile: string;
  gateImage: string;
  /** GUARD_SERVICE_URL given to gates; null = the gate's own default. */
  guardServiceUrl: string | null;
  /** guard-service's CA (PEM), given to gates as GUARD_SERVICE_CA; null = gates mount the ConfigMap guard-service-ca. */
  guardServiceCa: string | null;
  logLevel: string;
}

export class WebhookConfigError extends Error {
  readonly code = 'GUARD_WEBHOOK_CONFIG' as const;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'WebhookConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readWebhookConfig(env: Env = process.env): Readonly<WebhookConfig> {
  const t = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const portText = t(env.GUARD_WEBHOOK_PORT) ?? '8443';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new WebhookConfigError('GUARD_WEBHOOK_PORT', `expected a port from 1 to 65535, got ${JSON.stringify(portText)}`);
  const logLevel = (t(env.GUARD_WEBHOOK_LOG_LEVEL) ?? 'info').toLowerCase();
  if (!LEVELS.includes(logLevel)) throw new WebhookConfigError('GUARD_WEBHOOK_LOG_LEVEL', `expected one of ${LEVELS.join(', ')}`);
  const url = t(env.GUARD_WEBHOOK_GUARD_SERVICE_URL) ?? null;
  if (url !== null && url !== 'none' && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url)) throw new WebhookConfigError('GUARD_WEBHOOK_GUARD_SERVICE_URL', `expected an http:// or https:// URL or none, got ${JSON.stringify(url)}`);
  const caFile = t(env.GUARD_WEBHOOK_GUARD_SERVICE_CA);
  let guardServiceCa: string | null = null;
  if (caFile !== undefined) {
    try {
      guardServiceCa = readFileSync(caFile, 'utf8').trim();
    } catch (err) {
      throw new WebhookConfigError('GUARD_WEBHOOK_GUARD_SERVICE_CA', `cannot read ${caFile}: ${(err as Error).message}`);
    }
    if (!guardServiceCa.includes('-----BEGIN CERTIFICATE-----')) throw new WebhookConfigError('GUARD_WEBHOOK_GUARD_SERVICE_CA', `${caFile} holds no PEM certificate`);
  }
  return Object.freeze({
    port,
    address: t(env.GUARD_WEBHOOK_ADDRESS) ?? '::',
    certFile: t(env.GUARD_WEBHOOK_TLS_CERT) ?? '/secrets/tls.crt',
    keyFile: t(env.GUARD_WEBHOOK_TLS_KEY) ?? '/secrets/tls.key',
    gateImage: t(env.GUARD_WEBHOOK_GATE_IMAGE) ?? 'guard:0.1.0',
    guardServiceUrl: url,
    guardServiceCa,
    logLevel,
  });
}
