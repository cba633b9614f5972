// deploy/guardian-crd.yaml: its identity, and its openAPIV3Schema checked with a small validator of
// the subset it uses (type, properties, required, minimum, maximum, enum, nullable, preserve-unknown).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canonical, defaultSpec, exampleSpec } from './support.js';

const CRD_PATH = fileURLToPath(new URL('../../deploy/guardian-crd.yaml', import.meta.url));

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  nullable?: boolean;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

/**
 * The problems the API server would find with `value`: wrong types, out of range, missing required
 * fields, and fields it would prune (unknown and not under preserve-unknown-fields).
 */
function problems(schema: Schema, value: unknown, path = '$'): string[] {
  if (value === null) return schema.nullable ? [] : [`${path}: must not be null`];
  const type = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  const typeOk = schema.type === undefined || schema.type === type || (schema.type === 'number' && type === 'integer');
  if (!typeOk) return [`${path}: expected ${schema.type}, got ${type}`];
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${path}: ${value} < minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${path}: ${value} > maximum ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...problems(schema.items!, v, `${path}[${i}]`)));
  if (type === 'object') {
    const obj = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in obj)) out.push(`${path}.${name}: required`);
    for (const [key, v] of Object.entries(obj)) {
      const sub = schema.properties?.[key];
      if (sub) out.push(...problems(sub, v, `${path}.${key}`));
      else if (!schema['x-kubernetes-preserve-unknown-fields']) out.push(`${path}.${key}: unknown field, would be pruned`);
    }
  }
  return out;
}

const crd = parse(readFileSync(CRD_PATH, 'utf8'));
const version = crd.spec.versions[0];
const root: Schema = version.schema.openAPIV3Schema;

function guardian(spec: unknown): Record<string, unknown> {
  return { spec: spec as object };
}

describe('deploy/guardian-crd.yaml', () => {
  it('defines guardians.guard.security.knative.dev v1alpha1, namespaced, kind Guardian, short name gdn', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe('guardians.guard.security.knative.dev');
    expect(crd.spec.group).toBe('guard.security.knative.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'Guardian', listKind: 'GuardianList', plural: 'guardians', singular: 'guardian', shortNames: ['gdn'] });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    expect(version.subresources).toBeUndefined();
    expect(Object.keys(root.properties!)).toEqual(['spec']);
  });

  it('is a structural schema: every declared node has a type', () => {
    const untyped: string[] = [];
    const walk = (s: Schema, path: string): void => {
      if (!s.type) untyped.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(root, '$');
    expect(untyped).toEqual([]);
  });

  it('declares the spec the original writes', () => {
    const spec = root.properties!.spec;
    const p = spec.properties!;
    expect(Object.keys(p).sort()).toEqual(['configured', 'control', 'learned', 'learnedAt', 'samples', 'syncs']);
    // Guard's learning time: declared, or the API server prunes it.
    expect(p.learnedAt).toMatchObject({ type: 'string', format: 'date-time' });
    // Guard's sync ids (docs/operations.md, Replicas): declared, bounded as the store bounds them.
    expect(p.syncs).toMatchObject({ type: 'array', maxItems: 512, items: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } });
    for (const deep of ['configured', 'learned']) {
      expect(p[deep]).toMatchObject({ type: 'object', nullable: true, 'x-kubernetes-preserve-unknown-fields': true });
    }
    expect(p.samples).toMatchObject({ type: 'integer', minimum: 0, maximum: 1_000_000 });
    expect(p.control).toMatchObject({ type: 'object', nullable: true });
    expect(Object.keys(p.control.properties!).sort()).toEqual(['alert', 'auto', 'block', 'force', 'learn', 'slack', 'unknownParam', 'unknownRoute']);
    for (const flag of ['alert', 'auto', 'block', 'force', 'learn']) expect(p.control.properties![flag]).toEqual(expect.objectContaining({ type: 'boolean', default: false }));
    // Guard's route policies and slack (docs/routes.md): declared, or the API server prunes them
    for (const policy of ['unknownRoute', 'unknownParam']) expect(p.control.properties![policy]).toMatchObject({ type: 'string', enum: ['alert', 'ignore', 'service-wide'] });
    expect(p.control.properties!.slack).toMatchObject({ type: 'integer', minimum: 0, maximum: 16 });
  });

  it('shows auto, learn, block, samples, when last learned and age in kubectl get', () => {
    const columns = version.additionalPrinterColumns.map((c: { name: string; type: string; jsonPath: string }) => [c.name, c.type, c.jsonPath]);
    expect(columns).toEqual([
      ['Auto', 'boolean', '.spec.control.auto'],
      ['Learn', 'boolean', '.spec.control.learn'],
      ['Block', 'boolean', '.spec.control.block'],
      ['Samples', 'integer', '.spec.samples'],
      ['Learned', 'date', '.spec.learnedAt'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  it('accepts, without pruning anything, every spec the original or the core writes', () => {
    const accepted = [
      exampleSpec(), // the original's example GuardianSpec
      canonical(exampleSpec()),
      defaultSpec(),
      { configured: null, samples: 0, control: null },
      { configured: null, learned: null, samples: 1_000_000, control: null },
      {},
      { control: { block: true } },
      { ...defaultSpec(), samples: 3, syncs: ['gate-1:4'], learnedAt: '2026-12-07T17:30:00.000Z' },
      { control: { ...defaultSpec().control!, unknownRoute: 'service-wide', unknownParam: 'ignore', slack: 2 } },
      canonical({ ...defaultSpec(), learned: { active: true, req: {}, caps: {}, routes: { 'GET /items/{id}': { query: ['lang'], body: [] } } } }),
    ];
    for (const spec of accepted) expect(problems(root, guardian(spec))).toEqual([]);
  });

  it('refuses out-of-range samples and non-boolean flags', () => {
    const bad = (patch: object) => guardian({ ...defaultSpec(), ...patch });
    expect(problems(root, bad({ samples: -1 }))).toEqual(['$.spec.samples: -1 < minimum 0']);
    expect(problems(root, bad({ samples: 1_000_001 }))).toEqual(['$.spec.samples: 1000001 > maximum 1000000']);
    expect(problems(root, bad({ samples: 1.5 }))).toEqual(['$.spec.samples: expected integer, got number']);
    expect(problems(root, bad({ control: { ...defaultSpec().control!, block: 'yes' } }))).toEqual(['$.spec.control.block: expected boolean, got string']);
    expect(problems(root, bad({ configured: 'everything' }))).toEqual(['$.spec.configured: expected object, got string']);
    expect(problems(root, bad({ control: { alert: null } }))).toEqual(['$.spec.control.alert: must not be null']);
    expect(problems(root, bad({ control: { unknownRoute: 'block' } }))).toEqual(['$.spec.control.unknownRoute: "block" is not one of alert, ignore, service-wide']);
    expect(problems(root, bad({ control: { slack: 17 } }))).toEqual(['$.spec.control.slack: 17 > maximum 16']);
  });
});
