// The %v fast path for JSON number literals (assembly/text/gonumber.ts) must print exactly what
// Go's %v prints for the float64 the literal parses to — checked against the exact formatter.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWasmFile } from '../core/build-file.js';
import type { WasmIoExports, WasmModule } from '../core/wasm.js';
import { random } from './support/random.js';

interface Exports extends WasmIoExports {
  t_numberLiteral(len: number, x: number): void;
}

let mod: WasmModule<Exports>;
beforeAll(() => {
  mod = loadWasmFile<Exports>('test-primitives.wasm');
});

function both(literal: string): [string, string] {
  const n = mod.writeInputString(literal);
  mod.exports.t_numberLiteral(n, Number(literal));
  const [fast, slow] = mod.readOutputString().split('|');
  return [fast, slow];
}

const rng = random;

describe('Go %v of JSON number literals', () => {
  it('prints Go\'s forms', () => {
    const cases: Array<[string, string]> = [
      ['12', '12'], ['2.3', '2.3'], ['1000000', '1e+06'], ['0.00001', '1e-05'], ['1e21', '1e+21'],
      ['123456', '123456'], ['1234567', '1.234567e+06'], ['0.0001', '0.0001'], ['1.2e-5', '1.2e-05'],
      ['-1e6', '-1e+06'], ['0', '0'], ['-0', '-0'], ['0.000001', '1e-06'], ['12.50', '12.5'], ['100000', '100000'],
      ['1E+2', '100'], ['0e10', '0'], ['43', '43'],
    ];
    for (const [literal, expected] of cases) {
      const [fast] = both(literal);
      expect(fast, literal).toBe(expected);
    }
  });

  it('agrees with the exact formatter on 50,000 random literals', () => {
    const next = rng(20261126);
    for (let i = 0; i < 50_000; i++) {
      const intDigits = Math.floor(next() * 12);
      const fracDigits = Math.floor(next() * 12);
      let literal = next() < 0.2 ? '-' : '';
      literal += intDigits === 0 ? '0' : String(1 + Math.floor(next() * 9)) + Array.from({ length: intDigits - 1 }, () => Math.floor(next() * 10)).join('');
      if (fracDigits > 0) literal += '.' + Array.from({ length: fracDigits }, () => Math.floor(next() * 10)).join('');
      if (next() < 0.3) literal += 'e' + (next() < 0.5 ? '-' : '+') + Math.floor(next() * 40);
      const [fast, slow] = both(literal);
      if (fast !== '\u0000null') expect(fast, literal).toBe(slow);
    }
  });
});
