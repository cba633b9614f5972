// What the service parses against what the core profiled. A Guardian is learned through the gate
// from the shop's normal traffic and switched to blocking; then several hundred generated requests
// try to carry an attack payload past it through every class of parser differential
// (differential/variants.ts), to a backend that reads each request as common services do
// (differential/backend.ts). For every variant: the gate refused it and nothing reached the
// service, or it was forwarded and no parser read the payload in anything the service treats as a
// value, and every query or body key a parser read is one the core profiled (qs's bracket keys
// aside; body keys where the core profiled the body as structured). A benign twin not marked
// `refusable` must pass; the refusable ones may be refused.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCore, type Core, type Guardian, type Pile } from '../../core/index.js';
import type { ProxyHandle, Verdict } from '../../gate/proxy.js';
import { blockingGuardianFrom } from '../support/guardian.js';
import { startParsersBackend, type ParsedRequest, type ParsersBackend } from './differential/backend.js';
import { allVariants, encode, normalTraffic, PAYLOADS, type Variant } from './differential/variants.js';
import { checkedProxy, checkGateInvariants } from './invariants.js';

checkGateInvariants();

interface CoreView {
  verdict: Verdict;
  queryKeys: Set<string>;
  bodyKeys: Set<string>;
  /** The body was profiled as text: every byte of it was seen. */
  unstructured: boolean;
}

const core: Core = loadCore();

/** Raw bytes to the gate; the status of the first answer (0: none), once the gate closed or 2 s passed. */
function send(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(bytes));
    let out = '';
    c.on('data', (d) => (out += d.toString('latin1')));
    c.on('error', () => {});
    const done = (): void => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(out);
      resolve(m ? Number(m[1]) : 0);
    };
    // A listener that never answers (uWS and some malformed requests) is given one second.
    const t = setTimeout(() => {
      c.destroy();
      done();
    }, 1_000);
    c.on('close', () => {
      clearTimeout(t);
      done();
    });
  });
}

function viewOf(session: Parameters<NonNullable<Parameters<typeof checkedProxy>[0]['onSession']>>[0], verdict: Verdict): CoreView {
  const pile = core.newPile();
  pile.add(session);
  const wire = JSON.parse(pile.toWire()) as { req?: { qs?: { kv?: object | null } }; reqbody?: { structured?: { kv?: object | null } | null; unstructured?: unknown } };
  pile.dispose();
  return {
    verdict,
    queryKeys: new Set(Object.keys(wire.req?.qs?.kv ?? {})),
    bodyKeys: new Set(Object.keys(wire.reqbody?.structured?.kv ?? {})),
    unstructured: wire.reqbody?.unstructured != null,
  };
}

/**
 * Every value a parser read of a forwarded request. A file's content is the service's to store, not a
 * value; its name, which a service may store it under, is.
 */
function valuesRead(p: ParsedRequest): string[] {
  const out = [...p.query, ...p.fields, ...p.files].flatMap((s) => [s.key, s.value]);
  out.push(...p.rawHeaders);
  return out.filter((x): x is string => typeof x === 'string');
}

const variants = allVariants();

describe.each(['uws', 'node'] as const)('on the %s listener', (listener) => {
  let backend: ParsersBackend;
  let proxy: ProxyHandle;
  let guardian: Guardian;
  let learning: Pile | null;
  const views: CoreView[] = [];

  beforeAll(async () => {
    backend = await startParsersBackend();
    guardian = core.defaultGuardian();
    learning = core.newPile();
    proxy = await checkedProxy({
      port: 0,
      host: '127.0.0.1',
      listener,
      upstream: `http://127.0.0.1:${backend.port}`,
      core,
      getGuardian: () => guardian,
      onSession: (session, verdict) => {
        if (learning) learning.add(session);
        else views.push(viewOf(session, verdict));
      },
    });
    for (const request of normalTraffic(420)) expect(await send(proxy.port, request)).toBe(200);
    guardian = blockingGuardianFrom(core, learning);
    learning = null;
  }, 120_000);

  afterAll(async () => {
    await proxy.close(500);
    await backend.close();
  });

  /** Send one variant; what reached the service and what the core profiled of it. */
  async function run(v: Variant): Promise<{ status: number; forwarded: ParsedRequest[]; profiled: CoreView[] }> {
    const nb = backend.received.length;
    const nv = views.length;
    const status = await send(proxy.port, v.bytes);
    await proxy.idle(2_000);
    return { status, forwarded: backend.received.slice(nb), profiled: views.slice(nv) };
  }

  describe('the learned Guardian', () => {
    test('passes the normal traffic and blocks every payload in its plain form', async () => {
      for (const request of normalTraffic(21)) expect(await send(proxy.port, request)).toBe(200);
      for (const payload of PAYLOADS) {
        const status = await send(proxy.port, encode({ method: 'GET', target: `/api/items?id=7&name=${encodeURIComponent(payload)}`, headers: [['Accept', 'application/json'], ['User-Agent', 'shop-client/1.0']] }));
        expect(status, payload).toBe(403);
      }
    });

    test('decides Host: a name never learned is refused, a malformed one is a 400', async () => {
      const get = (host: string): Buffer => encode({ method: 'GET', target: '/api/items?id=7&name=alice', headers: [['Host', host], ['Accept', 'application/json'], ['User-Agent', 'shop-client/1.0']], noHost: true });
      expect(await send(proxy.port, get('shop'))).toBe(200);
      expect(await send(proxy.port, get('evil.example'))).toBe(403);
      expect(await send(proxy.port, get('shop:8080'))).toBe(403);
      expect(await send(proxy.port, get('sh op'))).toBe(400);
      expect(await send(proxy.port, get('shop/../admin'))).toBe(400);
    });
  });

  describe(`${variants.length} generated variants`, () => {
    test('cover every class with enough variants', () => {
      const byClass = new Map<string, number>();
      for (const v of variants) byClass.set(v.cls, (byClass.get(v.cls) ?? 0) + 1);
      expect(variants.filter((v) => v.payload !== null).length).toBeGreaterThanOrEqual(300);
      for (const cls of ['query', 'headers', 'host', 'json', 'form', 'multipart', 'framing']) expect(byClass.get(cls) ?? 0, cls).toBeGreaterThan(5);
    });

    const classes = [...new Set(variants.map((v) => v.cls))];
    for (const cls of classes) {
      test(`${cls}: refused, or no parser of the service reads the payload and every key it reads was profiled`, async () => {
        const problems: string[] = [];
        for (const v of variants.filter((x) => x.cls === cls)) {
          const { status, forwarded, profiled } = await run(v);
          const what = `${v.name} [${v.payload ?? 'benign'}]`;
          if (v.payload === null) {
            if (status !== 200 && !v.refusable) problems.push(`${what}: the benign twin was answered ${status}`);
            continue;
          }
          if (forwarded.length === 0) {
            if (status >= 200 && status < 300) problems.push(`${what}: ${status} without reaching the service`);
            continue;
          }
          for (const p of forwarded) {
            const carried = valuesRead(p).filter((x) => x.includes(v.payload!));
            if (carried.length > 0) problems.push(`${what}: forwarded (${status}) and the service read the payload in ${JSON.stringify(carried.slice(0, 2))}`);
          }
          const view = profiled.at(-1);
          const last = forwarded.at(-1)!;
          if (!view) {
            problems.push(`${what}: forwarded without a decision`);
            continue;
          }
          for (const s of last.query) {
            if (s.parser !== 'qs' && !view.queryKeys.has(s.key)) problems.push(`${what}: ${s.parser} read the query key ${JSON.stringify(s.key)}, the core profiled ${JSON.stringify([...view.queryKeys])}`);
          }
          if (!view.unstructured) {
            for (const s of last.fields) {
              if ((s.parser === 'form' || s.parser.includes('multipart') || s.parser === 'busboy') && !view.bodyKeys.has(s.key)) {
                problems.push(`${what}: ${s.parser} read the body field ${JSON.stringify(s.key)}, the core profiled ${JSON.stringify([...view.bodyKeys])}`);
              }
            }
          }
        }
        expect(problems).toEqual([]);
      }, 120_000);
    }
  });

});
