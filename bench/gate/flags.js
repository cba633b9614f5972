// How the gate benchmarks run the gate: with the Node flags and the environment of the deployment
// (deploy/gate-sidecar-example.yaml). A small young generation and a capped old one keep memory
// down; glibc returns freed memory above 128 KiB to the system instead of raising that threshold as
// large blocks come and go (about 6 MB of RSS). BENCH_GATE_NODE_FLAGS (space-separated) tries
// other flags; the reports name the flags they ran with.
export const GATE_ENV = { MALLOC_TRIM_THRESHOLD_: '131072' };
export const GATE_NODE_FLAGS = process.env.BENCH_GATE_NODE_FLAGS ? process.env.BENCH_GATE_NODE_FLAGS.split(' ').filter(Boolean) : ['--max-semi-space-size=4', '--max-old-space-size=128'];
