// guard-service with TLS on (GUARD_SERVICE_TLS): a throwaway CA and a server certificate made with
// the openssl CLI at test time, for the name the original's gates pin (data-plane.knative.dev,
// docs/operations.md) and localhost. Real listeners on port 0, real undici
// clients; what a gate, a stranger and an operator with a broken secret each observe.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readServiceConfig, serviceConfig, ServiceError, startService } from '../../service/index.js';
import { syncMessage } from '../vectors/fixtures.js';
import { freePort } from '../support/ports.js';
import { core, silent, start } from './api-support.js';

const OPENSSL = '/usr/bin/openssl';
/** The server name the original's gates send and verify, whatever the URL says. */
const GATE_SERVER_NAME = 'data-plane.knative.dev';
const hasOpenssl = existsSync(OPENSSL);
if (!hasOpenssl) console.warn(`tls.test.ts: skipped — ${OPENSSL} is missing; the test makes its certificates with the openssl CLI`);

const run = promisify(execFile);
const openssl = (dir: string, ...args: string[]) => run(OPENSSL, args, { cwd: dir, timeout: 10_000 });

interface Pki {
  dir: string;
  caCert: Buffer;
  certFile: string;
  keyFile: string;
  /** A valid key that does not belong to the server certificate (the CA's). */
  otherKeyFile: string;
}

/** A CA, and a leaf it signed for data-plane.knative.dev and localhost (EC P-256: fast to make). */
async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, 'req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Guard test CA', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await openssl(dir, 'req', '-new', ...ec, '-subj', `/CN=${GATE_SERVER_NAME}`, '-keyout', 'tls.key', '-out', 'tls.csr');
  await writeFile(
    join(dir, 'leaf.ext'),
    `subjectAltName=DNS:${GATE_SERVER_NAME},DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(dir, 'x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x5eed', '-days', '2', '-extfile', 'leaf.ext', '-out', 'tls.crt');
  return { dir, caCert: await readFile(join(dir, 'ca.crt')), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), otherKeyFile: join(dir, 'ca.key') };
}

const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
});

/** An undici client whose TLS connections use `connect` (trust, server name). */
function client(connectOptions: { ca?: Buffer; servername?: string }): Agent {
  const agent = new Agent({ connect: { timeout: 5_000, ...connectOptions } });
  agents.push(agent);
  return agent;
}

async function post(url: string, body: string, dispatcher: Agent) {
  const res = await request(url, { method: 'POST', body, dispatcher, headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: res.statusCode, text: await res.body.text() };
}


function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe.skipIf(!hasOpenssl)('guard-service over TLS (certificates made with the openssl CLI)', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });
  afterAll(async () => {
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  /** guard-service on the file store, auth off, TLS on with the generated certificate. */
  const startTls = () => start(null, { tls: { certFile: pki.certFile, keyFile: pki.keyFile } }, { core });

  it('a gate that trusts the CA and sends server name data-plane.knative.dev syncs the original\'s example message and gets its Guardian', async () => {
    const { url } = await startTls();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const gate = client({ ca: pki.caCert, servername: GATE_SERVER_NAME });

    const r = await post(`${url}/sync?pod=cart-1&sid=cart&ns=shop`, JSON.stringify(syncMessage()), gate);
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.text);
    expect(Object.keys(answer)).toEqual(['guardian']);
    expect(answer.guardian.samples).toBe(1);
    expect(answer.guardian.control).toEqual({ alert: true, block: false, learn: true, force: true, auto: true });

    // The probes' endpoint answers over the same listener.
    const health = await request(`${url}/healthz`, { dispatcher: gate });
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ status: 'ok' });
  });

  it('the certificate also verifies for localhost (local use)', async () => {
    const { url } = await startTls();
    const r = await request(`${url}/healthz`, { dispatcher: client({ ca: pki.caCert, servername: 'localhost' }) });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  });

  it('a client that does not trust the CA is refused with a verification error, and nothing is learned', async () => {
    const { url, disk } = await startTls();
    const stranger = client({ servername: GATE_SERVER_NAME }); // the default (system) roots only
    await expect(post(`${url}/sync?pod=cart-1&sid=cart&ns=shop`, JSON.stringify(syncMessage()), stranger)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(await disk.list()).toEqual([]);
  });

  it('a client that trusts the CA but expects another name is refused (the name is verified, not only the chain)', async () => {
    const { url } = await startTls();
    const elsewhere = client({ ca: pki.caCert, servername: 'guard-service.knative-serving.svc' });
    await expect(request(`${url}/healthz`, { dispatcher: elsewhere })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('plain HTTP to the TLS port gets no answer, and the listener keeps serving TLS', async () => {
    const { url } = await startTls();
    const plain = url.replace(/^https:/, 'http:');
    // The TLS server drops the connection at the first non-TLS byte: no HTTP answer, not a hang.
    const dropped = { code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) };
    await expect(request(`${plain}/healthz`, { headersTimeout: 5_000 })).rejects.toMatchObject(dropped);
    await expect(request(`${plain}/sync?pod=cart-1&sid=cart&ns=shop`, { method: 'POST', body: '{}', headersTimeout: 5_000 })).rejects.toMatchObject(dropped);

    const r = await request(`${url}/healthz`, { dispatcher: client({ ca: pki.caCert, servername: GATE_SERVER_NAME }) });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  });

  it('serves a renewed certificate without a restart, and keeps the one in use when the new files do not load', async () => {
    // The Secret's files, in a directory of their own (a Secret mount is swapped as a whole).
    const mount = await mkdtemp(join(pki.dir, 'mount-'));
    const certFile = join(mount, 'tls.crt');
    const keyFile = join(mount, 'tls.key');
    await writeFile(certFile, await readFile(pki.certFile));
    await writeFile(keyFile, await readFile(pki.keyFile));
    const { url, service } = await start(null, { tls: { certFile, keyFile } }, { core, certCheckMs: 3_600_000 });
    const port = Number(new URL(url).port);
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ port, host: '127.0.0.1', ca: pki.caCert, servername: GATE_SERVER_NAME }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        });
        socket.once('error', reject);
      });
    expect(await serial()).toBe('5EED');

    // cert-manager renews: a new leaf from the same CA, same key.
    await openssl(pki.dir, 'x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x5eee', '-days', '2', '-extfile', 'leaf.ext', '-out', 'renewed.crt');
    await writeFile(certFile, await readFile(join(pki.dir, 'renewed.crt')));
    await service.reloadCertificate();
    expect(await serial()).toBe('5EEE');

    // A rotation caught half-way (the key of another certificate): refused, the renewed one stays.
    await writeFile(keyFile, await readFile(pki.otherKeyFile));
    await service.reloadCertificate();
    expect(await serial()).toBe('5EEE');
    const r = await request(`${url}/healthz`, { dispatcher: client({ ca: pki.caCert, servername: GATE_SERVER_NAME }) });
    expect(r.statusCode).toBe(200);
    await r.body.text();
  });

  describe('a certificate or key that cannot be used stops startService before it listens', () => {
    /** startService with these TLS files on a known port; what it threw, and whether that port stayed closed. */
    async function startWith(tls: { certFile: string; keyFile: string }) {
      const port = await freePort();
      const storeDir = join(pki.dir, `store-${port}`);
      let error: unknown;
      try {
        const s = await startService(serviceConfig({ port, address: '127.0.0.1', auth: false, peopleAuth: 'token', store: 'file', storeDir, tls }), {
          logger: silent,
          core,
        });
        await s.close();
      } catch (err) {
        error = err;
      }
      return { error, portClosed: await refusesConnections(port), storeCreated: existsSync(storeDir) };
    }

    it('a missing certificate file: ServiceError GUARD_SERVICE_SETUP naming the file and the variables', async () => {
      const missing = join(pki.dir, 'nowhere', 'tls.crt');
      const { error, portClosed, storeCreated } = await startWith({ certFile: missing, keyFile: pki.keyFile });
      expect(error).toBeInstanceOf(ServiceError);
      expect(error).toMatchObject({ code: 'GUARD_SERVICE_SETUP' });
      expect((error as Error).message).toContain(missing);
      expect((error as Error).message).toContain('GUARD_SERVICE_TLS_CERT');
      expect(portClosed).toBe(true);
      expect(storeCreated).toBe(false);
    });

    it('a missing key file: the same named error, naming the key file', async () => {
      const missing = join(pki.dir, 'nowhere', 'tls.key');
      const { error, portClosed } = await startWith({ certFile: pki.certFile, keyFile: missing });
      expect(error).toMatchObject({ name: 'ServiceError', code: 'GUARD_SERVICE_SETUP' });
      expect((error as Error).message).toContain(missing);
      expect((error as Error).message).toContain('GUARD_SERVICE_TLS_KEY');
      expect(portClosed).toBe(true);
    });

    it('an unreadable certificate (a directory; and mode 000 when not root): the same named error', async () => {
      const asDirectory = join(pki.dir, 'cert-is-a-directory');
      await mkdir(asDirectory, { recursive: true });
      const byDirectory = await startWith({ certFile: asDirectory, keyFile: pki.keyFile });
      expect(byDirectory.error).toMatchObject({ name: 'ServiceError', code: 'GUARD_SERVICE_SETUP' });
      expect(byDirectory.portClosed).toBe(true);

      if (process.getuid?.() !== 0) {
        const locked = join(pki.dir, 'locked.crt');
        await writeFile(locked, await readFile(pki.certFile));
        await chmod(locked, 0o000);
        const byMode = await startWith({ certFile: locked, keyFile: pki.keyFile });
        expect(byMode.error).toMatchObject({ name: 'ServiceError', code: 'GUARD_SERVICE_SETUP' });
        expect((byMode.error as Error).message).toContain('EACCES');
        expect(byMode.portClosed).toBe(true);
      }
    });

    // Files that read but are not a usable PEM certificate / key pair are refused by readTls
    // (service/index.ts) before anything is started, as unreadable ones are.
    it('a file that is not PEM: the same named error', async () => {
      const garbage = join(pki.dir, 'garbage.crt');
      await writeFile(garbage, 'not a certificate\n');
      const { error, portClosed, storeCreated } = await startWith({ certFile: garbage, keyFile: pki.keyFile });
      expect(portClosed).toBe(true);
      expect(error).toMatchObject({ name: 'ServiceError', code: 'GUARD_SERVICE_SETUP' });
      expect(storeCreated).toBe(false);
    });

    it('a key that does not belong to the certificate: the same named error', async () => {
      const { error, portClosed } = await startWith({ certFile: pki.certFile, keyFile: pki.otherKeyFile });
      expect(portClosed).toBe(true);
      expect(error).toMatchObject({ name: 'ServiceError', code: 'GUARD_SERVICE_SETUP' });
    });
  });
});

describe('GUARD_SERVICE_TLS in the configuration', () => {
  it('is on by default in a pod, off elsewhere; the files default to /secrets/tls.crt and /secrets/tls.key', () => {
    const inPod = { KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    expect(readServiceConfig(inPod).tls).toEqual({ certFile: '/secrets/tls.crt', keyFile: '/secrets/tls.key' });
    expect(readServiceConfig({}).tls).toBeNull();
    expect(readServiceConfig({ ...inPod, GUARD_SERVICE_TLS: 'false' }).tls).toBeNull();
    expect(readServiceConfig({ GUARD_SERVICE_TLS: 'true', GUARD_SERVICE_TLS_CERT: '/c/cert.pem', GUARD_SERVICE_TLS_KEY: '/c/key.pem' }).tls).toEqual({
      certFile: '/c/cert.pem',
      keyFile: '/c/key.pem',
    });
  });

  it('anything but true or false is a ConfigError naming the variable', () => {
    for (const value of ['yes', 'TRUE', '1', 'off']) {
      let error: unknown;
      try {
        readServiceConfig({ GUARD_SERVICE_TLS: value });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ variable: 'GUARD_SERVICE_TLS', code: 'GUARD_SERVICE_CONFIG' });
    }
  });
});
