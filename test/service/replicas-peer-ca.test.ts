// The replicas' CA (GUARD_SERVICE_PEER_CA) followed while serving, as the serving certificate is: the
// CA and the replicas' certificate are renewed (the Secret's files replaced), a replica started
// after the renewal serves a certificate only the new CA signed, and the replica that was running
// before still forwards syncs to it — and it to that one. A file that is no certificate is refused
// and the CA in use stays (at start: GUARD_SERVICE_SETUP). Certificates made with the openssl CLI; real HTTPS listeners on port 0.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../service/index.js';
import type { KubeStandin } from '../kube/standin.js';
import { eventually, pileText, replicaConfig, silent, standin } from './api-support.js';

const OPENSSL = '/usr/bin/openssl';
const hasOpenssl = existsSync(OPENSSL);
if (!hasOpenssl) console.warn(`replicas-peer-ca.test.ts: skipped — ${OPENSSL} is missing; the test makes its certificates with the openssl CLI`);
const run = promisify(execFile);
/** The name the replicas' certificate carries (GUARD_SERVICE_PEER_SERVER_NAME). */
const PEER_NAME = 'guard-service.guard.svc';
const NS = 'apps';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A CA and a certificate it signed for PEER_NAME, in `dir`: ca.crt, tls.crt, tls.key. */
async function issue(dir: string, name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const openssl = (...args: string[]) => run(OPENSSL, args, { cwd: dir, timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl('req', '-x509', ...ec, '-days', '2', '-subj', `/CN=${name}`, '-keyout', 'ca.key', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await openssl('req', '-new', ...ec, '-subj', `/CN=${PEER_NAME}`, '-keyout', 'tls.key', '-out', 'tls.csr');
  await writeFile(join(dir, 'leaf.ext'), `subjectAltName=DNS:${PEER_NAME}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`);
  await openssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x5eed', '-days', '2', '-extfile', 'leaf.ext', '-out', 'tls.crt');
}

/**
 * The mounted Secret: its three files replaced by those of `from`, each at once (written aside, then
 * renamed), as the kubelet swaps a Secret's files: a reader never sees one half-written.
 */
async function install(from: string, secret: string): Promise<void> {
  for (const f of ['ca.crt', 'tls.crt', 'tls.key']) {
    await copyFile(join(from, f), join(secret, `.${f}.new`));
    await rename(join(secret, `.${f}.new`), join(secret, f));
  }
}

async function replica(kube: KubeStandin, secret: string, name: string): Promise<RunningService> {
  return startService(
    replicaConfig(name, {
      tls: { certFile: join(secret, 'tls.crt'), keyFile: join(secret, 'tls.key') },
      replicas: { peerCaFile: join(secret, 'ca.crt'), peerServerName: PEER_NAME, peerCaCheckMs: 100 },
    }),
    { logger: silent, kubeConfig: kube.kubeConfig(), kubeTimeoutMs: 5000, certCheckMs: 100 },
  );
}

async function settled(all: RunningService[]): Promise<void> {
  await eventually(async () => {
    const held = all.map((r) => r.replicas!.leases.heldShards());
    return held.every((h) => h.length > 0) && new Set(held.flat()).size === 8 && held.flat().length === 8;
  }, 40_000);
}

describe.skipIf(!hasOpenssl)("guard-service replicas: the replicas' CA renewed while serving", () => {
  it('forwards syncs to a replica whose certificate only the renewed CA signed, refuses a CA file that is no certificate, and answers 503 for a replica whose certificate does not verify', async () => {
    const root = await mkdtemp(join(tmpdir(), 'guard-peer-ca-'));
    dirs.push(root);
    const [before, after, secret] = ['before', 'after', 'secret'].map((d) => join(root, d)) as [string, string, string];
    await Promise.all([issue(before, 'Guard replicas CA 1'), issue(after, 'Guard replicas CA 2'), mkdir(secret)]);
    await install(before, secret);
    // The test's own client (a gate) trusts both CAs: it is not what is tested.
    const gateClient = new Agent({ connect: { ca: [await readFile(join(before, 'ca.crt')), await readFile(join(after, 'ca.crt'))], servername: PEER_NAME } });
    const kube = await standin();
    const running: RunningService[] = [];
    const syncOf = async (service: string, via: RunningService) => {
      kube.state.addPod({ namespace: NS, name: `${service}-0`, labels: { app: service } });
      const token = kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: `${service}-0`, audiences: ['guard-service'] });
      let last = '';
      // 503 while a shard changes hands or a replica has not seen its holder yet; the gate resends.
      await eventually(async () => {
        const res = await request(`${via.url}/sync`, { method: 'POST', dispatcher: gateClient, headers: { authorization: `Bearer ${token}` }, body: `{"pile":${pileText(1)},"alerts":null,"compromised":false}` });
        last = `${res.statusCode} ${await res.body.text()}`;
        return res.statusCode === 200;
      }, 15_000).catch(() => {
        throw new Error(`a sync of ${service} sent to ${via.url} was not learned: last answer ${last}`);
      });
    };
    const heldBy = (r: RunningService, tag: string) => {
      for (let i = 0; ; i++) if (r.replicas!.learnsHere(NS, `${tag}-${i}`)) return `${tag}-${i}`;
    };
    try {
      const a = await replica(kube, secret, 'guard-service-a');
      running.push(a);
      const b = await replica(kube, secret, 'guard-service-b');
      running.push(b);
      await settled([a, b]);
      // Forwarded a → b over TLS, verified with the first CA.
      await syncOf(heldBy(b, 'first'), a);

      // The CA and the certificate are renewed; a is left running and follows.
      await install(after, secret);
      await eventually(async () => a.replicas!.peerCaCounts.rotations === 1, 10_000);
      // b is replaced by a replica with the new certificate (a rollout after the renewal).
      await b.close();
      running.splice(running.indexOf(b), 1);
      const c = await replica(kube, secret, 'guard-service-c');
      running.push(c);
      await settled([a, c]);
      // a → c: c's certificate verifies only with the renewed CA; c → a: a serves its renewed certificate.
      await syncOf(heldBy(c, 'second'), a);
      await syncOf(heldBy(a, 'third'), c);

      // A CA file that is no certificate (a broken renewal): refused, the CA in use stays; counted
      // and logged once, however often it is read again (twice here, and by the 100 ms check).
      await writeFile(join(secret, '.ca.crt.new'), 'not a certificate\n');
      await rename(join(secret, '.ca.crt.new'), join(secret, 'ca.crt'));
      await a.replicas!.reloadPeerCa();
      await a.replicas!.reloadPeerCa();
      expect(a.replicas!.peerCaCounts).toEqual({ rotations: 1, refused: 1 });
      await syncOf(heldBy(c, 'fourth'), a);
      // A replica whose certificate another CA signed (a wrong Secret): a sync for its services is
      // refused with 503 naming the setting, as it was never sent (resent, not "may have learned").
      const stranger = join(root, 'stranger');
      await issue(stranger, 'Some other CA');
      const d = await replica(kube, stranger, 'guard-service-d');
      running.push(d);
      await settled([a, c, d]);
      const service = heldBy(d, 'fifth');
      kube.state.addPod({ namespace: NS, name: `${service}-0`, labels: { app: service } });
      const token = kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: `${service}-0`, audiences: ['guard-service'] });
      const refused = await eventually(async () => {
        const res = await request(`${a.url}/sync`, { method: 'POST', dispatcher: gateClient, headers: { authorization: `Bearer ${token}` }, body: `{"pile":${pileText(1)},"alerts":null,"compromised":false}` });
        const text = await res.body.text();
        return text.includes('does not verify') ? { status: res.statusCode, text } : null;
      }, 15_000);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.text).error).toMatchObject({ code: 'GUARD_API_UNAVAILABLE', message: expect.stringMatching(/was not sent the sync: its certificate does not verify with GUARD_SERVICE_PEER_CA/) });

      // At start, such a file is a setup error, not a replica that trusts nothing.
      await expect(replica(kube, secret, 'guard-service-d')).rejects.toMatchObject({ code: 'GUARD_SERVICE_SETUP', message: expect.stringMatching(/GUARD_SERVICE_PEER_CA.*holds no PEM certificate/) });
    } finally {
      for (const r of running) await r.close();
      await gateClient.close();
    }
  }, 120_000);
});
