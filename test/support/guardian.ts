// Shared by the gate suites: a Guardian learned from what a proxy piled, as guard-service would
// learn it (the pile through its wire JSON), then switched to blocking.
import type { Core, Guardian, Pile } from '../../core/index.js';

/** Learn from `pile` (disposed) through the wire format; control: alert, block, learn, auto. */
export function blockingGuardianFrom(core: Core, pile: Pile): Guardian {
  const wire = pile.toWire();
  pile.dispose();
  const loaded = core.parsePile(wire);
  const learned = core.defaultGuardian();
  learned.learn(loaded);
  loaded.dispose();
  learned.control = { alert: true, block: true, learn: true, force: false, auto: true };
  return learned;
}
