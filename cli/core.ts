// How the command reaches the Guard core: loading it with a message that says what to do, and
// telling a record the core refused (reported, the run goes on) from a fault of the core (fatal).
import { CoreError, loadCore, type Core } from '../core/index.js';
import { CliError } from './errors.js';

export function openCore(): Core {
  try {
    return loadCore();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError('GUARD_CORE_UNAVAILABLE', `cannot load the Guard core (build/guard-core.wasm): ${why}. Run \`npm run build\` first.`);
  }
}

/**
 * The message for a record the core refused as input; any other failure (a trap, a refused pile of
 * our own making) means the core is in an unknown state, so the run stops.
 */
export function recordRefusal(err: unknown, where: string): string {
  if (err instanceof CoreError && err.code === 'GUARD_INVALID_REQUEST') return err.message;
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  throw new CliError('GUARD_CORE_FAULT', `the Guard core failed on ${where} (a bug; please report it with that record): ${why}`);
}

export function coreFault(err: unknown, doing: string): CliError {
  if (err instanceof CliError) return err;
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new CliError('GUARD_CORE_FAULT', `the Guard core failed while ${doing} (a bug; please report it): ${why}`);
}
