// The gates of one scenario of the compatibility suite: started on first use in front of one
// service each, through test/gate/invariants.ts so that the gate-wide invariants are checked after
// the scenario, and closed before the next one starts (closeAll from beforeEach: the check has seen
// them open, and a failed check cannot leave them open). Each scenario has gates of its own, so
// that what one scenario's gate logged is that scenario's.
import { expect } from 'vitest';
import type { Core } from '../../../core/index.js';
import { gateConfig, type GateConfig } from '../../../gate/config.js';
import type { ProxyHandle, ProxyOptions } from '../../../gate/proxy.js';
import { checkedGate, checkedProxy, type LoggedLine } from '../invariants.js';
import type { ListenerKind } from './compare.js';

export interface Gate {
  origin: string;
  proxy: ProxyHandle & { lines: LoggedLine[] };
}

/** How long a gate may take to close (stop listening, drain 500 ms, close its pool) before the scenario fails. */
const CLOSE_MS = 5_000;

export class Gates {
  private readonly started = new Map<string, Promise<Gate>>();
  private readonly wholes: Array<{ close(): Promise<void>; port: number; lines: LoggedLine[] }> = [];
  /** The scenario that started the open gates. */
  private scenario = '';
  private readonly stuck: string[] = [];

  constructor(
    readonly listener: ListenerKind,
    private readonly core: Core,
  ) {}

  /**
   * The gate named `name` in front of `upstream`, started on first use. `quiet`: a scenario of
   * normal traffic, in which any warn or error line of the gate fails the scenario.
   */
  get(name: string, upstream: string, options: Partial<ProxyOptions> = {}, quiet = true): Promise<Gate> {
    let gate = this.started.get(name);
    this.scenario = expect.getState().currentTestName ?? '';
    if (!gate) {
      const core = this.core;
      const guardian = core.defaultGuardian();
      gate = checkedProxy({ port: 0, host: '127.0.0.1', listener: this.listener, upstream, core, getGuardian: () => guardian, ...options }, { quiet }).then((proxy) => ({
        origin: options.host === '::' ? `http://[::1]:${proxy.port}` : `http://127.0.0.1:${proxy.port}`,
        proxy,
      }));
      this.started.set(name, gate);
    }
    return gate;
  }

  /** guard-gate whole (startGate: Guardian source, alerts, metrics, shutdown) in front of `upstream`, owned by the caller. */
  async whole(upstream: string, overrides: Partial<GateConfig> = {}, drainMs = 2_000) {
    const gate = await checkedGate(
      gateConfig({ serviceName: 'shop', namespace: 'default', port: 0, adminPort: 0, monitorPod: false, listener: this.listener, listenAddress: '127.0.0.1', shutdownDelay: 0, protectedService: upstream, ...overrides }),
      { core: this.core, podName: 'shop-1', drainMs },
    );
    this.wholes.push(gate);
    this.scenario = expect.getState().currentTestName ?? '';
    return Object.assign(gate, { origin: `http://127.0.0.1:${gate.port}` });
  }

  /**
   * Close the scenario's gates (a second close of a gate the scenario closed is a no-op). Their
   * warn lines were checked: they are forgotten, so that the next scenario reports only its own.
   * A gate that does not close within CLOSE_MS (SIGTERM would hang the same way) is an error when
   * `strict`; otherwise it is remembered, and reported by expectAllClosed().
   */
  async closeAll(strict = false): Promise<void> {
    const started = await Promise.allSettled(this.started.values());
    this.started.clear();
    const all = [...started.flatMap((g) => (g.status === 'fulfilled' ? [{ close: () => g.value.proxy.close(500), port: g.value.proxy.port, lines: g.value.proxy.lines }] : [])), ...this.wholes.splice(0)];
    const stuck: number[] = [];
    await Promise.all(
      all.map(async (g) => {
        let timer: NodeJS.Timeout | undefined;
        const closed = await Promise.race([g.close().then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_MS)))]);
        clearTimeout(timer);
        if (!closed) stuck.push(g.port);
        g.lines.length = 0;
      }),
    );
    if (stuck.length === 0) return;
    const problem = `gate(s) of «${this.scenario}» (port ${stuck.join(', ')}) did not close within ${CLOSE_MS} ms: an upstream exchange never ended, and SIGTERM would hang the same way`;
    if (strict) throw new Error(problem);
    this.stuck.push(problem);
  }

  /** Gates closed by closeAll(false) that did not close: each is a failure of the scenario named. */
  expectAllClosed(): void {
    expect(this.stuck).toEqual([]);
  }
}
