// The gate-wide invariants, checked after every scenario of the gate suites that start their proxy
// or gate through here: once the clients have their answers, no exchange is left in flight, every
// request the listener received ended exactly once (counted through onEnd), and — for scenarios of
// normal traffic — nothing was logged at warn or above.
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger } from 'pino';
import { afterEach, expect } from 'vitest';
import type { Logger } from '../../log/index.js';
import type { ExchangeOutcome, ProxyHandle, ProxyOptions, Stage } from '../../gate/proxy.js';
import { startProxy } from '../../gate/proxy.js';
import { startGate, type GateConfig, type GateHandle, type GateOptions } from '../../gate/index.js';

/** A log line at warn or above, as the gate wrote it. */
export interface LoggedLine {
  level: 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

interface Watched {
  proxy: Pick<ProxyHandle, 'inFlight' | 'received' | 'idle'>;
  closed: boolean;
  ended: () => number;
  outcomes: Map<ExchangeOutcome, number>;
  lines: LoggedLine[];
  quiet: boolean;
  what: string;
}

/** Proxies and gates started through here, checked after every test until they were closed. */
const watched = new Set<Watched>();

/** How long a finished client may wait for the gate to end its exchange (one event-loop turn, normally). */
const IDLE_MS = 3_000;

/**
 * Register the check after each test of the calling file. afterEach hooks run in reverse order of
 * registration: call this after the file's own cleanup hook, so that the check sees the gate before
 * it is closed.
 */
export function checkGateInvariants(): void {
  afterEach(async () => {
    // Every watched gate is checked (a failure of one does not skip the others), then the first
    // failure is reported; each gate's lines are forgotten once checked, so the next test reports
    // only its own.
    const failures: unknown[] = [];
    for (const w of [...watched]) {
      if (w.closed) watched.delete(w);
      try {
        await expectInvariants(w);
      } catch (err) {
        failures.push(err);
      } finally {
        w.lines.length = 0;
      }
    }
    if (failures.length > 0) throw failures[0];
  });
}

/** The handle's close() marks it closed (checked once more after the test, then forgotten). */
function watch<T extends { close(...args: never[]): Promise<void> }>(handle: T, w: Omit<Watched, 'closed'>): T {
  const entry: Watched = { ...w, closed: false };
  watched.add(entry);
  const close = handle.close.bind(handle);
  handle.close = (async (...args: never[]) => {
    entry.closed = true;
    await close(...args);
  }) as T['close'];
  return handle;
}

async function expectInvariants(w: Watched): Promise<void> {
  const idle = await w.proxy.idle(IDLE_MS);
  expect(idle ? 0 : w.proxy.inFlight, `${w.what}: exchanges still in flight after the clients had their answers`).toBe(0);
  expect(w.ended(), `${w.what}: exchanges ended (onEnd) vs requests the listener received`).toBe(w.proxy.received);
  if (w.quiet) expect(w.lines, `${w.what}: normal traffic logged at warn or above`).toEqual([]);
}

/**
 * The warn and error lines a scenario logged so far, taken off the record: a test of a quiet gate
 * asserts the lines its block or failure must log, and the check after it sees only the rest.
 */
export function takeLines(handle: { lines: LoggedLine[] }): string[] {
  return handle.lines.splice(0).map((l) => `${l.level} ${l.msg}`);
}

export interface CheckOptions {
  /** Normal traffic: any warn or error line fails the scenario. */
  quiet?: boolean;
}

function recordingLog(lines: LoggedLine[], inner?: Logger): Logger {
  return {
    debug: (obj, msg) => inner?.debug(obj, msg),
    info: (obj, msg) => inner?.info(obj, msg),
    warn: (obj, msg) => {
      lines.push({ level: 'warn', msg: msg ?? '', fields: obj as Record<string, unknown> });
      inner?.warn(obj, msg);
    },
    error: (obj, msg) => {
      lines.push({ level: 'error', msg: msg ?? '', fields: obj as Record<string, unknown> });
      inner?.error(obj, msg);
    },
  };
}

/** startProxy, watched: its ends counted, its warn/error lines recorded. */
export async function checkedProxy(opts: ProxyOptions, check: CheckOptions = {}): Promise<ProxyHandle & { lines: LoggedLine[]; outcomes: Map<ExchangeOutcome, number> }> {
  let ended = 0;
  const outcomes = new Map<ExchangeOutcome, number>();
  const lines: LoggedLine[] = [];
  const onEnd = opts.onEnd;
  const proxy = await startProxy({
    ...opts,
    log: recordingLog(lines, opts.log),
    onEnd: (outcome: ExchangeOutcome, blocked: Stage) => {
      ended++;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      onEnd?.(outcome, blocked);
    },
  });
  watch(proxy, { proxy, ended: () => ended, outcomes, lines, quiet: check.quiet ?? false, what: `proxy on port ${proxy.port}` });
  return Object.assign(proxy, { lines, outcomes });
}

/** A pino logger whose warn and error lines are recorded (and nothing printed). */
export function recordingLogger(lines: LoggedLine[]): PinoLogger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        const { level, msg, ...fields } = JSON.parse(text) as { level: number; msg?: string };
        if (level >= 40) lines.push({ level: level >= 50 ? 'error' : 'warn', msg: msg ?? '', fields });
      }
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

/**
 * startGate, watched: the proxy's in-flight set and ends are checked after the test, and
 * guard_gate_requests_total must equal the requests the listener received.
 */
export async function checkedGate(config: GateConfig, options: GateOptions = {}, check: CheckOptions = {}): Promise<GateHandle & { lines: LoggedLine[] }> {
  const lines: LoggedLine[] = [];
  const gate = await startGate(config, { ...options, log: options.log ?? recordingLogger(lines) });
  // The counter is read when scraped: read it at check time, after the idle wait.
  let total = 0;
  watch(gate, {
    proxy: {
      get inFlight() {
        return gate.proxy.inFlight;
      },
      get received() {
        return gate.proxy.received;
      },
      idle: async (ms: number) => {
        const ok = await gate.proxy.idle(ms);
        total = await requestsCounted(gate);
        return ok;
      },
    },
    ended: () => total,
    outcomes: new Map(),
    lines,
    quiet: check.quiet ?? false,
    what: `gate on port ${gate.port}`,
  });
  return Object.assign(gate, { lines });
}

/** guard_gate_requests_total of a gate, as scraped. */
export async function requestsCounted(gate: GateHandle): Promise<number> {
  const metric = await gate.metrics.requests.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}
