// The connection to guard-service: an undici agent that trusts GUARD_SERVICE_CA and
// GUARD_SERVICE_CA_FILE — the file read again before every sync, so a renewed CA is trusted without
// a restart — the projected token read at every sync, and the POST itself, which close() may abort.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { Logger } from '../log/index.js';
import { SYNC_ID_HEADER } from '../store/index.js';
import { ConfigError } from './config.js';
import { messageOf, type SyncAnswer } from './sync-wire.js';

export interface SyncTransportOptions {
  /** guard-service's base URL, without a trailing slash. */
  url: string;
  /** The query of every POST /sync (ns, pod, sid, cm). */
  query: string;
  /** The projected token, read at every sync; missing: no Authorization header. */
  tokenFile: string;
  /** GUARD_SERVICE_CA_FILE (PEM): trusted in addition to the system roots, read again before every sync. */
  caFile?: string;
  /** The CA file was found, not configured (Knative's): one that cannot be used at start is a warning. */
  caFileFound?: boolean;
  /** GUARD_SERVICE_CA: PEM text, trusted as the file is. */
  ca?: string;
  /** SNI and the name verified in the certificate. */
  serverName?: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  log: Logger;
}

export class SyncTransport {
  private readonly o: SyncTransportOptions;
  private agent: Agent;
  /** The CA file's text the agent trusts now (null: none read). */
  private caFileText: string | null = null;
  /** The last problem with the CA file, logged once until it changes. */
  private caProblem: string | null = null;
  private inFlight: AbortController | null = null;

  /** Throws ConfigError (GUARD_SERVICE_CA_FILE) for a configured CA file that cannot be used. */
  constructor(options: SyncTransportOptions) {
    this.o = options;
    this.caFileText = options.caFile ? this.firstCa(options.caFile, options.caFileFound === true) : null;
    this.agent = this.makeAgent();
  }

  /** POST /sync with `body` under `syncId`; rejects on a transport failure (or abort()). */
  async post(body: string, syncId: string): Promise<SyncAnswer> {
    await this.refreshCa();
    // The original's gates send no Content-Type; guard-service (ours and the original) reads the body whatever it says.
    const headers: Record<string, string> = { 'content-type': 'application/json', [SYNC_ID_HEADER]: syncId };
    const token = await readToken(this.o.tokenFile);
    if (token) headers.authorization = `Bearer ${token}`;
    const abort = new AbortController();
    this.inFlight = abort;
    try {
      const res = await request(`${this.o.url}/sync?${this.o.query}`, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal: abort.signal,
      });
      const text = await res.body.text();
      const retryAfterMs = retryAfterOf(res.headers['retry-after']);
      return retryAfterMs === undefined ? { status: res.statusCode, text } : { status: res.statusCode, text, retryAfterMs };
    } finally {
      if (this.inFlight === abort) this.inFlight = null;
    }
  }

  /** Abort the POST in flight, if any. */
  abort(reason: Error): void {
    this.inFlight?.abort(reason);
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }

  /** An agent to guard-service trusting the CA file's text in use and GUARD_SERVICE_CA. */
  private makeAgent(): Agent {
    const o = this.o;
    const pems = [this.caFileText, o.ca ?? null].filter((p): p is string => p !== null);
    const ca = pems.length > 0 ? pems.join('\n') : undefined;
    return new Agent({
      connect: {
        timeout: o.connectTimeoutMs,
        ...(ca ? { ca } : {}),
        ...(o.serverName ? { servername: o.serverName } : {}),
        rejectUnauthorized: true,
      },
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      connections: 2,
    });
  }

  /** The CA file's text at start; null when a found (not configured) file cannot be used yet. */
  private firstCa(file: string, found: boolean): string | null {
    if (!found) return readCa(file);
    let text = '';
    let problem: string | null;
    try {
      text = readFileSync(file, 'utf8');
      problem = pemProblem(text);
    } catch (err) {
      problem = `cannot read it: ${messageOf(err)}`;
    }
    if (problem === null) return text;
    // Said once: refreshCa says it again only when the problem changes.
    this.caProblem = problem;
    this.o.log.warn(
      { caFile: file, problem },
      "sync: Knative's CA file cannot be used - guard-service's certificate cannot be verified, so syncs fail until the file holds valid certificates (it is read again before every sync); the gate serves with the Guardians it can load meanwhile",
    );
    return null;
  }

  /**
   * GUARD_SERVICE_CA_FILE read again (a mounted Secret or ConfigMap is replaced when cert-manager or
   * an operator renews it): new text that holds only valid certificates is trusted from this sync
   * on; a file that cannot be read or holds something else keeps the CA in use (fail-static), logged
   * once until it changes.
   */
  private async refreshCa(): Promise<void> {
    const file = this.o.caFile;
    if (!file) return;
    let text: string;
    let problem: string | null;
    try {
      text = await readFile(file, 'utf8');
      if (text === this.caFileText) return;
      problem = pemProblem(text);
    } catch (err) {
      text = '';
      problem = `cannot read it: ${messageOf(err)}`;
    }
    if (problem !== null) {
      if (problem !== this.caProblem) this.o.log.warn({ caFile: file, problem }, 'sync: GUARD_SERVICE_CA_FILE changed but cannot be used - the CA read before stays trusted');
      this.caProblem = problem;
      return;
    }
    this.caProblem = null;
    this.caFileText = text;
    const old = this.agent;
    this.agent = this.makeAgent();
    this.o.log.info({ caFile: file }, 'sync: GUARD_SERVICE_CA_FILE changed - guard-service is verified with the new CA from now on');
    void old.close().catch(() => {});
  }
}

/** A Retry-After of delay-seconds (what guard-service sends) in ms; a date or anything else is not used. */
function retryAfterOf(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/**
 * Why PEM text cannot be trusted as a CA bundle, or null: it must hold at least one certificate, and
 * every certificate in it must parse.
 */
function pemProblem(text: string): string | null {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) return 'no PEM certificate in it';
  for (let i = 0; i < blocks.length; i++) {
    try {
      new X509Certificate(blocks[i]!);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} is not valid: ${messageOf(err)}`;
    }
  }
  return null;
}

/**
 * GUARD_SERVICE_CA_FILE at start: a file that cannot be read, or that holds anything but valid
 * certificates, is a configuration error.
 */
function readCa(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('GUARD_SERVICE_CA_FILE', `cannot read ${file}: ${messageOf(err)}`);
  }
  const problem = pemProblem(text);
  if (problem !== null) throw new ConfigError('GUARD_SERVICE_CA_FILE', `${file}: ${problem}`);
  return text;
}

/** The projected token, re-read at every sync (it rotates); null when missing or empty. */
async function readToken(file: string): Promise<string | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}
