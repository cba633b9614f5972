// The reference pages stay true to the sources: every error code the sources raise is a row of
// docs/errors.md and every row there is a code the sources raise; every environment variable the
// sources read is in docs/configuration.md; no comment or document cites a spec, a reference or an
// issue tracker that is not in this repository.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = ['core', 'clock', 'log', 'tls', 'store', 'gate', 'service', 'inject', 'webhook', 'cli', 'assembly', 'bin'];

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    // Installed packages and built output are not ours to cite from.
    if (e.isDirectory() && (e.name === 'node_modules' || e.name === 'dist')) continue;
    if (e.isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(e.name)) out.push(path);
  }
  return out;
}

const sources = SOURCES.flatMap((d) => filesUnder(d, (n) => /\.(ts|js)$/.test(n) && !n.endsWith('.test.ts')));
const text = new Map(sources.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
const all = [...text.values()].join('\n');

/** Environment variables the sources read: `env.NAME`, `env['NAME']`, `process.env.NAME`. */
const envRead = new Set([...all.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)].map((m) => m[1] ?? m[2]));
/** Error codes: `GUARD_…` string literals that are not a variable's name, nor a prefix ('GUARD_API_'). */
const codes = new Set(
  [...all.matchAll(/['"`](GUARD_[A-Z0-9_]*[A-Z0-9])['"`]/g)].map((m) => m[1]).filter((name) => !envRead.has(name)),
);

const errorsDoc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const configurationDoc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
/** The codes docs/errors.md describes: the first cell of its table rows. */
const documentedCodes = new Set([...errorsDoc.matchAll(/^\| `(GUARD_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));

describe('docs/errors.md', () => {
  it('has a row for every error code the sources raise, and no other', () => {
    // The extraction really finds the codes of every component (core, CLI, stores, API, gate).
    for (const known of ['GUARD_CORE_FAULT', 'GUARD_CLI_USAGE', 'GUARD_STORE_IO', 'GUARD_API_UNAVAILABLE', 'GUARD_GATE_CONFIG', 'GUARD_LISTEN_FAILED']) {
      expect(codes.has(known), known).toBe(true);
    }
    expect(codes.size).toBeGreaterThanOrEqual(38);
    expect([...codes].filter((c) => !documentedCodes.has(c)).sort(), 'codes missing from docs/errors.md').toEqual([]);
    expect([...documentedCodes].filter((c) => !codes.has(c)).sort(), 'rows of docs/errors.md no source raises').toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  it('lists every environment variable the sources read', () => {
    for (const known of ['SERVICE_NAME', 'GUARD_MAX_BODY', 'GUARD_STORE_DIR', 'HOSTNAME', 'GUARD_CLI_STATS']) expect(envRead.has(known), known).toBe(true);
    expect([...envRead].filter((v) => !configurationDoc.includes(`\`${v}\``)).sort(), 'variables missing from docs/configuration.md').toEqual([]);
  });
});

/**
 * Citations of what is not in the repository. The spec and the reference notes this code was written
 * from: "SPEC §4.1", "reference §2.6", "upstream-gate.md", "(Q22)"; and an issue tracker a reader of
 * a copy may not have: "issue 10", "(#18)", "PR 7".
 */
const CITATION =
  /\bSPEC\b|§|\breference\/|upstream-(?:gate|service|datamodel)\.md|\b[Rr]eference (?:doc|data ?model|upstream)|\(Q\d+\)|\bQ\d+:|\b[Ii]ssues? #?\d+\b|\b(?:PR|[Pp]ull request) #?\d+\b|(?:^|[\s([])#\d+\b/;

/** The lines of `lines` that cite something outside the repository, numbered from 1. */
function citations(lines: readonly string[]): number[] {
  // RFC sections are public standards, not documents of ours.
  return lines.flatMap((line, i) => (CITATION.test(line.replace(/RFC \d+ §[\d.]+/g, '')) ? [i + 1] : []));
}

describe('citations', () => {
  it('comments and docs cite only what is in this repository', () => {
    const files = [
      ...sources,
      ...['test', 'bench', 'deploy', 'docs', 'scripts', 'ui'].flatMap((d) => filesUnder(d, (n) => /\.(ts|tsx|js|mjs|md|yaml|html|css)$/.test(n) || n === 'Dockerfile')),
      'README.md',
    ].filter((f) => f !== 'test/structure/docs.test.ts');
    // The walk reaches every kind of file it should (guard-ui's sources too).
    for (const known of ['ui/src/main.tsx', 'ui/index.html', 'docs/compatibility.md', 'test/gate/compat.test.ts']) expect(files, known).toContain(known);
    const found: string[] = [];
    for (const f of files) {
      const lines = (text.get(f) ?? readFileSync(join(root, f), 'utf8')).split('\n');
      for (const n of citations(lines)) found.push(`${f}:${n}: ${lines[n - 1]!.trim()}`);
    }
    expect(found).toEqual([]);
  });

  it('the check catches each kind of citation, and not what only looks like one', () => {
    const cited = ['see SPEC §4.1', 'reference/gate.md', 'as upstream-gate.md says', '(Q22)', 'these close such gaps (issue 10)', 'Issues 3 and 4', 'fixed in #18', '(#7)', 'since PR 12', 'pull request #5'];
    expect(citations(cited)).toEqual(cited.map((_, i) => i + 1));
    const clean = ['RFC 9110 §7.6.1 says so', 'stroke="#000"', 'body{color:#333}', 'no issues here', 'an issue with 2 causes', '# Heading', 'a#1 anchor', 'x.issue10'];
    expect(citations(clean)).toEqual([]);
  });
});
