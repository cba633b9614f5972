// A benchmark's block of a generated document (docs/performance.md): the text between its start and
// end markers is replaced by the new block, or the block is appended under a heading the first time.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * @param {string} doc the document's path
 * @param {{ start: string, end: string, heading: string }} markers the block's markers, and its heading when new
 * @param {string} block the block, markers included
 */
export function writeBlock(doc, markers, block) {
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n';
  const a = text.indexOf(markers.start);
  const b = text.indexOf(markers.end);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + markers.end.length) : `${text.trimEnd()}\n\n${markers.heading}\n\n${block}\n`;
  writeFileSync(doc, out);
}

/**
 * The rows of a checks table: what was checked, what was measured, the result.
 * @param {Array<{ what: string, value: string, ok: boolean, informative?: boolean }>} checks
 * @param {string} [informativeResult] the result shown for an informative check that is not ok
 */
export function checkTable(checks, informativeResult = 'over') {
  const rows = ['| Check | Measured | Result |', '| --- | --- | --- |'];
  for (const c of checks) rows.push(`| ${c.what} | ${c.value} | ${c.ok ? '**pass**' : c.informative ? informativeResult : '**FAIL**'} |`);
  return rows;
}
