// A stand-in for the Guard core with the same surface as core/index.ts, for testing what the
// commands do around it (piling, wire round trips, ordering, error paths) independently of the
// wasm. Its "rules" are trivial: a Guardian allows the paths it has learned.
import { CoreError, type Core, type HttpRequestFields, type HttpResponseFields } from '../../core/index.js';

export interface FakeCoreLog {
  /** Session counts of each pile learned, in order. */
  learnedPiles: number[];
  /** Sessions not disposed. */
  liveSessions: number;
  /** Requests as profiled. */
  requests: HttpRequestFields[];
  responses: HttpResponseFields[];
}

export interface FakeCoreOptions {
  /** A method the core refuses as invalid input (CoreError GUARD_INVALID_REQUEST). */
  refuseMethod?: string;
  /** A method on which the core traps. */
  trapMethod?: string;
}

class FakeSession {
  path = '';
  result = 0;
  constructor(
    private readonly log: FakeCoreLog,
    private readonly options: FakeCoreOptions,
  ) {
    log.liveSessions++;
  }
  profileRequest(req: HttpRequestFields): void {
    if (req.method === this.options.refuseMethod) throw new CoreError('GUARD_INVALID_REQUEST', `method ${req.method} refused`);
    if (req.method === this.options.trapMethod) throw new WebAssembly.RuntimeError('unreachable');
    this.log.requests.push(req);
    this.path = req.path;
  }
  profileResponse(resp: HttpResponseFields): void {
    this.log.responses.push(resp);
  }
  decide(guardian: FakeGuardian, _sections: number): number {
    this.result = guardian.paths.has(this.path) || !guardian.control.alert ? 0 : 2;
    return this.result;
  }
  decisionString(): string {
    return this.result ? `[Req:[Url:[unknown path ${this.path},],],]` : '';
  }
  dispose(): void {
    this.log.liveSessions--;
  }
}

class FakePile {
  paths: string[] = [];
  add(session: FakeSession): void {
    this.paths.push(session.path);
  }
  get count(): number {
    return this.paths.length;
  }
  clear(): void {
    this.paths = [];
  }
  toWire(): string {
    return JSON.stringify({ count: this.paths.length, paths: this.paths });
  }
  dispose(): void {}
}

class FakeGuardian {
  paths = new Set<string>();
  samples = 0;
  control = { alert: true, block: false, learn: true, force: true, auto: true };
  constructor(private readonly log: FakeCoreLog) {}
  learn(pile: FakePile): void {
    this.log.learnedPiles.push(pile.count);
    for (const p of pile.paths) this.paths.add(p);
    this.samples += pile.count;
  }
  toWire(): string {
    return JSON.stringify({ control: this.control, learned: { paths: [...this.paths].sort() }, samples: this.samples });
  }
  dispose(): void {}
}

export function fakeCore(options: FakeCoreOptions = {}): { core: Core; log: FakeCoreLog } {
  const log: FakeCoreLog = { learnedPiles: [], liveSessions: 0, requests: [], responses: [] };
  const core = {
    newSession: () => new FakeSession(log, options),
    newPile: () => new FakePile(),
    parsePile(text: string) {
      const wire = JSON.parse(text) as { paths: string[] };
      const pile = new FakePile();
      pile.paths = wire.paths;
      return pile;
    },
    defaultGuardian: () => new FakeGuardian(log),
    parseGuardian(input: string) {
      let spec: { spec?: unknown; learned?: { paths: string[] }; control?: FakeGuardian['control'] };
      try {
        spec = JSON.parse(input);
      } catch (err) {
        throw new CoreError('GUARD_INVALID_GUARDIAN', `invalid Guardian: ${(err as Error).message}`);
      }
      if (spec.spec) spec = spec.spec as typeof spec;
      if (!spec.learned) throw new CoreError('GUARD_INVALID_GUARDIAN', 'invalid Guardian: no learned criteria');
      const g = new FakeGuardian(log);
      g.paths = new Set(spec.learned.paths);
      if (spec.control) g.control = spec.control;
      return g;
    },
  };
  return { core: core as unknown as Core, log };
}
