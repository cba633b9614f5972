// What a return from the kernel costs the code that runs after it, on this machine: a system call
// (an 8-byte write to /dev/null) followed by one load in each of N pages (one cache line each), or
// in N cache lines of a few contiguous pages, against the same loads with no system call before
// them. Where system calls flush the TLB (page-table isolation without PCID) the first touch of
// every page after one pays a page walk; where the kernel's own work evicts the data caches, every
// line pays a refill. The gate's core runs its stages right after socket reads, so both land on it
// (docs/performance.md, Where the time goes). Run: node bench/gate/kernel-entry.js [N …]
import { openSync, writeSync } from 'node:fs';

const fd = openSync('/dev/null', 'w');
const bytes = Buffer.alloc(8);
const sys = () => writeSync(fd, bytes);

/** Nanoseconds per call of `fn`, over `n` calls. */
function time(fn, n) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The cost of `touch` right after a system call, and alone (warm), medians of interleaved rounds. */
function measure(touch) {
  const cases = [sys, () => (sys(), touch()), touch];
  for (const f of cases) time(f, 20_000);
  const runs = cases.map(() => []);
  for (let r = 0; r < 15; r++) cases.forEach((f, i) => runs[i].push(time(f, 20_000)));
  const [s, st, t] = runs.map(median);
  return { syscall: s, after: st - s, warm: t };
}

let sink = 0;
const counts = process.argv.slice(2).map(Number);
for (const n of counts.length > 0 ? counts : [50, 200, 800]) {
  if (!(n > 0)) throw new Error(`not a positive count: ${n}`);
  const spread = new Int32Array(n * 1024 + 16);
  const packed = new Int32Array(n * 16 + 16);
  // One line in each page, at a different offset in each (no pile-up in one cache set).
  const pages = measure(() => {
    for (let p = 0; p < n; p++) sink += spread[p * 1024 + ((p * 16) & 1023)];
  });
  const lines = measure(() => {
    for (let l = 0; l < n; l++) sink += packed[l * 16];
  });
  console.log(
    `${n} loads: a system call ${pages.syscall.toFixed(0)} ns. One per page: ${pages.after.toFixed(0)} ns after it, ${pages.warm.toFixed(0)} ns warm ` +
      `(+${((pages.after - pages.warm) / n).toFixed(2)} ns a page). One per line of ${Math.ceil((n * 64) / 4096)} pages: ${lines.after.toFixed(0)} ns after it, ` +
      `${lines.warm.toFixed(0)} ns warm (+${((lines.after - lines.warm) / n).toFixed(2)} ns a line).${sink === 0.5 ? ' ' : ''}`,
  );
}
