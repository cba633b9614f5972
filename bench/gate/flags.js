// How the gate benchmarks run the gate: with the Node flags and the process settings of the
// deployment's gate container, read from deploy/gate-sidecar-example.yaml so that the two cannot
// drift apart (NODE_OPTIONS: a small young generation and a capped old one keep memory down;
// MALLOC_TRIM_THRESHOLD_: glibc returns freed memory above 128 KiB to the system instead of raising
// that threshold as large blocks come and go, about 6 MB of RSS; LOG_LEVEL). BENCH_GATE_NODE_FLAGS
// (space-separated) tries other flags; the reports name the flags they ran with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const MANIFEST = fileURLToPath(new URL('../../deploy/gate-sidecar-example.yaml', import.meta.url));
/** The deployment's settings of the process itself (not of what it talks to). */
const FROM_MANIFEST = ['NODE_OPTIONS', 'MALLOC_TRIM_THRESHOLD_', 'LOG_LEVEL'];

/** The plain `value`s of FROM_MANIFEST in the manifest's guard-gate container. */
export function deploymentEnv() {
  for (const doc of parseAllDocuments(readFileSync(MANIFEST, 'utf8'))) {
    const containers = doc.toJS()?.spec?.template?.spec?.containers ?? [];
    const gate = containers.find((c) => c.name === 'guard-gate');
    if (!gate) continue;
    /** @type {Record<string, string>} */
    const env = {};
    for (const e of gate.env ?? []) if (FROM_MANIFEST.includes(e.name) && typeof e.value === 'string') env[e.name] = e.value;
    for (const name of FROM_MANIFEST) if (!(name in env)) throw new Error(`${MANIFEST}: the guard-gate container sets no ${name}`);
    if (process.env.BENCH_GATE_NODE_FLAGS) env.NODE_OPTIONS = process.env.BENCH_GATE_NODE_FLAGS;
    return env;
  }
  throw new Error(`${MANIFEST}: no guard-gate container`);
}

const deployment = deploymentEnv();
/** The container's environment besides NODE_OPTIONS. */
export const GATE_ENV = { MALLOC_TRIM_THRESHOLD_: deployment.MALLOC_TRIM_THRESHOLD_ };
/** NODE_OPTIONS as a list of flags. */
export const GATE_NODE_FLAGS = deployment.NODE_OPTIONS.split(' ').filter(Boolean);
