// Learning as guard-service learns, for the route benchmarks: requests profiled into piles of 1000,
// each sent through its wire form (parsePile) and learned into one Guardian.
export const PILE = 1000;

/** A Guardian learned from request records (the core's fields); caps undefined = the original's learning. */
export function learnInPiles(core, requests, caps) {
  const guardian = core.defaultGuardian();
  const pile = core.newPile();
  const flush = () => {
    const wire = core.parsePile(pile.toWire());
    guardian.learn(wire, caps);
    wire.dispose();
    pile.clear();
  };
  for (let i = 0; i < requests.length; i++) {
    const s = core.newSession();
    s.profileRequest(requests[i]);
    pile.add(s);
    s.dispose();
    if ((i + 1) % PILE === 0) flush();
  }
  if (pile.count > 0) flush();
  pile.dispose();
  return guardian;
}
