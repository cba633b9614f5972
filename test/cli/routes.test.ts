// `guard learn` and `guard check` with route-aware Guardians (docs/routes.md), on the real core: the caps
// options are recorded by the Guardian, the policy options decide instead of the Guardian's, the
// reasons name the route and the parameter, and bad values are usage errors naming the option.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LEARNING_CAPS } from '../../core/index.js';
import { runGuard, tempDir } from '../support/cli.js';

const dir = tempDir('guard-routes-cli-');
const guard = runGuard;

const rec = (method: string, path: string, query = '', body?: object) =>
  JSON.stringify({
    method,
    path,
    query,
    headers: [['Accept', '*/*'], ...(body ? [['Content-Type', 'application/json']] : [])],
    ...(body ? { body: JSON.stringify(body) } : {}),
    remote: '10.0.0.5',
  });

const TRAIN = join(dir, 'train.jsonl');
writeFileSync(
  TRAIN,
  Array.from({ length: 300 }, (_, i) =>
    i % 3 === 0 ? rec('GET', `/items/${1000 + i}`, `lang=${i % 2 ? 'en' : 'de'}`) : i % 3 === 1 ? rec('GET', '/search', `q=book${i % 7}&page=${1 + (i % 5)}`) : rec('POST', '/cart', '', { item: i, qty: 1 + (i % 3) }),
  ).join('\n') + '\n',
);
const PROBES = join(dir, 'probes.jsonl');
writeFileSync(
  PROBES,
  [rec('GET', '/items/4242', 'lang=en'), rec('GET', '/items/4242', 'lang=en&page=2'), rec('GET', '/admin', 'q=book1'), rec('POST', '/cart', '', { item: 3, page: 2 })].join('\n') + '\n',
);

async function learnTo(name: string, extra: string[] = []) {
  const out = join(dir, name);
  const r = await guard(['learn', '--in', TRAIN, '--out', out, ...extra]);
  expect(r.stderr).toMatch(/^guard learn: learned 300 sessions from 1 file in [\d.]+ s; Guardian written to /);
  expect(r.status).toBe(0);
  return out;
}

async function check(guardian: string, extra: string[] = []) {
  const r = await guard(['check', '--guardian', guardian, '--in', PROBES, ...extra]);
  expect(r.status).toBe(0);
  return r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).decision as string);
}

describe('guard learn', () => {
  it('writes the route table and the caps it learned with (the defaults)', async () => {
    const spec = JSON.parse(readFileSync(await learnTo('default.json'), 'utf8'));
    expect(spec.learned.caps).toEqual(DEFAULT_LEARNING_CAPS);
    expect(Object.keys(spec.learned.routes).sort()).toEqual(['GET /items/{id}', 'GET /search', 'POST /cart']);
    expect(spec.learned.routes['GET /search']).toEqual({ query: ['page', 'q'], body: [] });
  });

  it('takes the caps from its options; --route-cap 0 learns no route table', async () => {
    const spec = JSON.parse(readFileSync(await learnTo('capped.json', ['--param-cap', '1', '--header-cap', '9', '--route-cap', '0', '--unknown-headers', 'shape']), 'utf8'));
    expect(spec.learned.caps).toEqual({ params: 1, headers: 9, routes: 0, unknownHeaders: 'shape' });
    expect(spec.learned.routes).toBeUndefined();
    expect(Object.keys(spec.learned.req.qs.kv.vals)).toHaveLength(1);
  });

  it('refuses out-of-range caps with status 2, naming the option', async () => {
    for (const [flag, value, msg] of [
      ['--param-cap', '0', '--param-cap must be an integer from 1 to 256, got "0"'],
      ['--header-cap', '257', '--header-cap must be an integer from 1 to 256'],
      ['--route-cap', 'many', '--route-cap must be an integer from 0 to 1024, got "many"'],
      ['--unknown-headers', 'ignore', '--unknown-headers must be one of alert, shape, got "ignore"'],
    ]) {
      const r = await guard(['learn', '--in', TRAIN, flag, value]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });
});

describe('guard check', () => {
  it('names the route and the parameter in its reasons; a new id passes', async () => {
    const [newId, moved, page, body] = await check(await learnTo('g.json'));
    expect(newId).toBe('');
    expect(moved).toBe('[Req:[Route GET /items/{id}:[Query parameter page is not known on this route,],],]');
    expect(page).toBe('[Req:[Route GET /admin:[Route is not known,],],]');
    expect(body).toContain('Route POST /cart:[Body parameter page is not known on this route,]');
  });

  it('decides with the policies given instead of the Guardian\'s', async () => {
    const g = await learnTo('p.json');
    const [, moved, page, body] = await check(g, ['--unknown-route', 'ignore', '--unknown-param', 'service-wide']);
    expect(moved).toBe('');
    expect(page).toBe('');
    // a query name is not a body name of the service: still unknown there
    expect(body).toContain('Body parameter page is not known in the service');
    // the file is not changed
    expect(JSON.parse(readFileSync(g, 'utf8')).control.unknownRoute).toBeUndefined();
  });

  it('refuses a bad policy or slack with status 2', async () => {
    const g = await learnTo('bad.json');
    const a = await guard(['check', '--guardian', g, '--in', PROBES, '--unknown-route', 'block']);
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('--unknown-route must be one of alert, ignore, service-wide, got "block"');
    const b = await guard(['check', '--guardian', g, '--in', PROBES, '--slack', '17']);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--slack must be an integer from 0 to 16, got "17"');
  });
});
