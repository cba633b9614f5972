// A serving certificate re-read while serving, for every HTTPS listener of Guard (guard-service,
// guard-webhook): the files are checked every few seconds (a mounted Secret is replaced through a
// symlink swap, which file watches miss), and a changed pair that loads becomes the context of every
// new TLS connection. A pair that does not load is reported and the one in use stays: a bad
// rotation never takes a listener down.
import type { Logger } from '../log/index.js';

export interface CertificatePair {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface CertificateWatchOptions {
  /** Read and check the pair (throws a named error of the caller when it does not load). */
  read: () => Promise<CertificatePair>;
  /** Put a new pair in use (server.setSecureContext). */
  apply: (pair: CertificatePair) => void;
  log: Logger;
  /** Who serves it, for the log: `webhook`, `guard-service`. */
  what: string;
  /** The certificate file, for the log. */
  certFile: string;
}

export class CertificateWatch {
  private current: CertificatePair;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** Why the files last did not load; null once they load (or read as the pair in use) again. */
  private refusedWith: string | null = null;
  /** Pairs put in use after the first, and changed pairs that did not load (for metrics). */
  readonly counts = { rotations: 0, refused: 0 };

  constructor(
    first: CertificatePair,
    private readonly o: CertificateWatchOptions,
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
        const next = await this.o.read();
        this.refusedWith = null;
        if (same(next.cert, this.current.cert) && same(next.key, this.current.key)) return;
        this.o.apply(next);
        this.current = next;
        this.counts.rotations++;
        this.o.log.info({ certFile: this.o.certFile }, `${this.o.what}: certificate rotated`);
      } catch (err) {
        // Broken files stay broken between checks: reported once, not at every check until fixed.
        const why = (err as Error).message;
        if (why === this.refusedWith) return;
        this.refusedWith = why;
        this.counts.refused++;
        this.o.log.warn({ err: why }, `${this.o.what}: the certificate files changed but do not load - the certificate in use stays`);
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

function same(a: string | Buffer, b: string | Buffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
