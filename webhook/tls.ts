// The webhook's certificate pair: read and checked (the key must match the certificate); re-read
// while serving by the shared CertificateWatch (tls/index.ts).
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

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
