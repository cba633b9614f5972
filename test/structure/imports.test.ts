// The import rules of docs/architecture.md, read from the sources: each component imports only the
// components below it, and only through their public surface (index.ts, and the few files named
// below); gate and service never import each other; nothing the gate loads at start imports
// guard-service's packages. The rules are checked on a made-up graph too, so that they can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Each component and what it may import. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  clock: [],
  log: [],
  // The serving certificate re-read while serving (guard-service and guard-webhook).
  tls: ['log'],
  store: ['core', 'clock', 'log'],
  gate: ['core', 'store', 'clock', 'log'],
  service: ['core', 'store', 'clock', 'log', 'tls'],
  // Kubernetes manifests in, manifests out: no other component (the webhook and the CLI use it).
  inject: [],
  // The webhook also judges Guardians people write, with the core and the store's checks.
  webhook: ['inject', 'log', 'tls', 'core', 'store'],
  cli: ['core', 'store', 'clock', 'log', 'tls', 'gate', 'service', 'inject', 'webhook'],
  // guard-ui runs in a browser: the runtime-neutral core and the CLI's runtime-neutral readers.
  ui: ['core', 'cli'],
};

/** The files of a component that other components may import. */
const SURFACE: Record<string, readonly string[]> = {
  // portable.ts: the runtime-neutral core (no node: import), for code that also runs in a browser.
  core: ['index.ts', 'portable.ts'],
  clock: ['index.ts'],
  log: ['index.ts'],
  tls: ['index.ts'],
  // kube.ts: the Kubernetes stores, for code that always talks to the API (guard-service).
  store: ['index.ts', 'kube.ts'],
  // config.ts: read without loading the component (the CLI's help texts, the demo).
  gate: ['index.ts', 'config.ts'],
  service: ['index.ts', 'config.ts'],
  inject: ['index.ts'],
  webhook: ['index.ts'],
  // The traffic readers that run unchanged in guard-ui (no Node API), so that it decides as `guard check`.
  cli: ['index.ts', 'traffic-record.ts', 'decide-record.ts', 'har-entry.ts'],
  ui: [],
};

/** Packages the gate must not load when it starts (it may load them later, lazily, when needed). */
const NOT_AT_GATE_START = ['fastify', 'stream-json', 'stream-chain', '@kubernetes/client-node'];

interface Edge {
  from: string; // path relative to the root, e.g. gate/sync.ts
  to: string; // a relative path (resolved to a .ts file) or a package name
  /** Erased at run time (`import type`, `export type`). */
  typeOnly: boolean;
  /** `import()` of a module, loaded when the code runs, not with the importer. */
  dynamic: boolean;
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm;
const DYNAMIC = /\bimport\(\s*'([^']+)'\s*\)/g;

function sourceFiles(): string[] {
  const out: string[] = [];
  for (const component of Object.keys(MAY_IMPORT)) {
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const path = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(path);
        else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(path);
      }
    };
    walk(component === 'ui' ? 'ui/src' : component);
  }
  return out;
}

function edgesOf(file: string, text: string): Edge[] {
  const target = (spec: string) => (spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts') : packageOf(spec));
  const edges: Edge[] = [];
  for (const m of text.matchAll(STATIC)) edges.push({ from: file, to: target(m[3]), typeOnly: m[2] !== undefined, dynamic: false });
  for (const m of text.matchAll(DYNAMIC)) edges.push({ from: file, to: target(m[1]), typeOnly: false, dynamic: true });
  return edges;
}

function packageOf(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const componentOf = (path: string): string | undefined => (path.includes('/') && path.split('/')[0] in MAY_IMPORT ? path.split('/')[0] : undefined);

/** Every broken rule, as text. */
function violations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = componentOf(e.from)!;
    const to = componentOf(e.to);
    if (to === undefined || to === from) continue;
    if (!MAY_IMPORT[from].includes(to)) out.push(`${e.from} imports ${e.to}: ${from} may not import ${to}`);
    else if (!SURFACE[to].includes(e.to.slice(to.length + 1))) out.push(`${e.from} imports ${e.to}: not a public surface of ${to} (${SURFACE[to].join(', ')})`);
  }
  return out;
}

/** Packages reached from `start` through imports that load with it (static, not type-only). */
function loadedWith(start: string, edges: readonly Edge[]): Map<string, string> {
  const byFile = new Map<string, Edge[]>();
  for (const e of edges) if (!e.typeOnly && !e.dynamic) byFile.set(e.from, [...(byFile.get(e.from) ?? []), e]);
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const e of byFile.get(file) ?? []) {
      if (e.to.endsWith('.ts')) visit(e.to);
      else if (!packages.has(e.to)) packages.set(e.to, e.from);
    }
  };
  visit(start);
  return packages;
}

const edges = sourceFiles().flatMap((f) => edgesOf(f, readFileSync(join(root, f), 'utf8')));

describe('import rules (docs/architecture.md)', () => {
  it('reads the import graph of every component', () => {
    // The graph is really read: known edges of each kind are in it.
    expect(edges).toContainEqual({ from: 'gate/index.ts', to: 'core/index.ts', typeOnly: false, dynamic: false });
    expect(edges).toContainEqual({ from: 'store/index.ts', to: 'store/kube.ts', typeOnly: false, dynamic: true });
    expect(edges.some((e) => e.from === 'gate/index.ts' && e.to === 'gate/config.ts' && e.typeOnly)).toBe(true);
    expect(edges.length).toBeGreaterThan(150);
  });

  it('each component imports only what it may, through public surfaces', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('nothing the gate loads at start imports guard-service packages', () => {
    const packages = loadedWith('gate/index.ts', edges);
    expect(packages.has('undici') && packages.has('prom-client') && packages.has('pino'), 'the gate graph is walked').toBe(true);
    expect(NOT_AT_GATE_START.filter((p) => packages.has(p)).map((p) => `${p} (imported by ${packages.get(p)})`)).toEqual([]);
  });

  it('the rules catch what they forbid', () => {
    const made = (from: string, to: string, typeOnly = false): Edge => ({ from, to, typeOnly, dynamic: false });
    expect(
      violations([
        made('gate/sync.ts', 'service/clock.ts'),
        made('service/learner.ts', 'gate/index.ts', true),
        made('gate/index.ts', 'store/kube-crd.ts'),
        made('core/index.ts', 'store/index.ts'),
        made('cli/gate.ts', 'gate/index.ts'),
        made('service/index.ts', 'store/kube.ts'),
      ]),
    ).toEqual([
      'gate/sync.ts imports service/clock.ts: gate may not import service',
      'service/learner.ts imports gate/index.ts: service may not import gate',
      'gate/index.ts imports store/kube-crd.ts: not a public surface of store (index.ts, kube.ts)',
      'core/index.ts imports store/index.ts: core may not import store',
    ]);
    const graph = [made('gate/index.ts', 'gate/a.ts'), made('gate/a.ts', 'fastify'), { ...made('gate/index.ts', 'stream-json'), dynamic: true }, made('gate/index.ts', '@kubernetes/client-node', true)];
    expect([...loadedWith('gate/index.ts', graph).keys()]).toEqual(['fastify']);
  });
});
