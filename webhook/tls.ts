// The webhook's certificate, re-read while serving: the files are checked every few seconds (a
// mounted Secret is replaced through a symlink swap, which file watches miss), and a changed pair
// that loads becomes the context of every new TLS connection. A pair that does not load is
// reported and the one in use stays: a bad rotation never takes the webhook down.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log/index.js';

export class WebhookTlsError extends Error {
  readonly code = 'GUARD_WEBHOOK_TLS' as const;
}

export interface CertificatePair {
  cert: string;
  key: string;
}

export async function readPair(certFile: string, keyFile: string): Promise<CertificatePair> {
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    createSecureContext({ cert, key }); // the key must match the certificate
    return { cert, key };
  } catch (err) {
    throw new WebhookTlsError(`cannot load the certificate ${certFile} with the key ${keyFile}: ${(err as Error).message}`);
  }
}

export class CertificateWatch {
  private current: CertificatePair;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly certFile: string,
    private readonly keyFile: string,
    first: CertificatePair,
    private readonly apply: (pair: CertificatePair) => void,
    private readonly log: Logger,
  ) {
    this.current = first;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  /** Re-read the files now; resolves once a changed pair is in use (or refused). */
  check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const next = await readPair(this.certFile, this.keyFile);
        if (next.cert === this.current.cert && next.key === this.current.key) return;
        this.apply(next);
        this.current = next;
        this.log.info({ certFile: this.certFile }, 'webhook: certificate rotated');
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'webhook: the certificate files changed but do not load - the certificate in use stays');
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
