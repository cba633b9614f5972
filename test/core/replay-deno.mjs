// Deno's side of the second-runtime test: the runtime-neutral core as compiled to build/js, the
// wasm bytes read by Deno, the recorded calls replayed; the answers printed as JSON.
import { compileCore } from '../../build/js/core/portable.js';
import { decideRecord } from '../../build/js/cli/decide-record.js';
import { toTrafficRecord } from '../../build/js/cli/traffic-record.js';
import { replay } from './replay.mjs';

const [inputFile] = Deno.args;
const input = JSON.parse(await Deno.readTextFile(inputFile));
const core = await compileCore(await Deno.readFile(new URL('../../build/guard-core.wasm', import.meta.url)));
const out = replay(core, { decideRecord, toTrafficRecord }, input);
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, ...out })));
