// The learner's core instances. The core collects its garbage all at once, in a pause that grows
// with everything it holds (docs/operations.md, Pauses); guard-service holds a Guardian and piles
// for every service it learns, so one instance for all of them makes one long pause. Services are
// spread over a few instances by a hash of their name instead: each pause is as long as what one
// instance holds. The first instance is the process's own, which the store validates with too.
import type { Core } from '../core/index.js';

export class CoreShards {
  private readonly cores: readonly Core[];

  /** `first` and `count - 1` fresh instances of the same compiled core. */
  constructor(first: Core, count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`core shards: ${count} is not a count of instances`);
    this.cores = [first, ...Array.from({ length: count - 1 }, () => first.fresh())];
  }

  get count(): number {
    return this.cores.length;
  }

  /** The instance that holds this service's Guardian and piles: the same for the process's life. */
  coreFor(namespace: string, service: string): Core {
    if (this.cores.length === 1) return this.cores[0]!;
    return this.cores[fnv1a(namespace, service) % this.cores.length]!;
  }
}

/** FNV-1a over `namespace/service` (UTF-16 code units): stable, and spreads similar names. */
function fnv1a(namespace: string, service: string): number {
  let h = 0x811c9dc5;
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  feed(namespace);
  feed('/');
  feed(service);
  return h >>> 0;
}
