// guard-gate assembled: the Guardian source and its sync with guard-service, the pod monitor, the
// uWebSockets.js proxy, alerts and the admin listener, wired as docs/architecture.md draws them.
// Each part is its own module; this file only connects them and orders start and shutdown.
import { pino } from 'pino';
import { loadCore, type Core, type PodProfile, type Session } from '../core/index.js';
import { GateMetrics, startAdmin, type AdminServer } from './admin.js';
import { Alerts } from './alerts.js';
import type { GateConfig } from './config.js';
import type { Logger } from '../log/index.js';
import { CoreHost } from './core-host.js';
import { gateKubeStore, GuardianSource } from './guardian-source.js';
import { guardPlugin, PluginRegistry, TestGate } from './plugins.js';
import { PodMonitor } from './pod.js';
import { startProxy, type CoreFault, type ExchangeOutcome, type ProxyHandle, type Stage, type Verdict } from './proxy.js';
import { SyncClient } from './sync.js';

export { readGateConfig, ConfigError, type GateConfig } from './config.js';

export interface GateOptions {
  core?: Core;
  log?: Logger;
  /** This pod's name (default: the configuration's, from HOSTNAME). */
  podName?: string;
  /** Where the /proc/net tables are read (tests point it at fixtures). */
  procDir?: string;
  /** Start on the slow uWS JavaScript fallback (default: refuse). */
  allowFallback?: boolean;
  /** How long SIGTERM waits for in-flight requests (default: the config's drainTimeout, GUARD_DRAIN_TIMEOUT). */
  drainMs?: number;
  /**
   * Plugins in the request path, registered but not yet initialised: startGate adds the
   * guard's own entry at the front, initialises them with pluginConfig and shuts them down on close.
   */
  plugins?: PluginRegistry;
  /** Each plugin's configuration, by plugin name. */
  pluginConfig?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Core restarts allowed within the window before the gate fails closed (default 5 in 60 s). */
  coreRestarts?: { max: number; windowMs: number };
}

export interface GateHandle {
  port: number;
  adminPort: number;
  metrics: GateMetrics;
  /** The plugin chain (the guard's own entry first). */
  plugins: PluginRegistry;
  /** Owner of the core instance (restarts after a core fault). */
  coreHost: CoreHost;
  /** The request path (exchanges in flight, requests received). */
  proxy: ProxyHandle;
  /** Sync with guard-service now (for tools and the demo; the policy still applies otherwise). */
  syncNow(): Promise<void>;
  /** guard-service's URL and whether the last sync reached it (null: not tried, or no guard-service). */
  guardService(): { url: string | null; reachable: boolean | null; lastError: string | null };
  /** Stop accepting, drain in-flight exchanges, send the final sync, stop everything. */
  close(): Promise<void>;
}

/** Start guard-gate. Resolves once a Guardian is in force and both listeners are up. */
export async function startGate(config: GateConfig, options: GateOptions = {}): Promise<GateHandle> {
  const core = options.core ?? loadCore();
  const log = options.log ?? pino({ level: config.logLevel, base: { component: 'guard-gate', service: config.serviceName, namespace: config.namespace } });
  const metrics = new GateMetrics();
  const podName = options.podName ?? config.podName;

  // Plugins first: a fail-closed plugin that cannot initialise stops the start before anything runs.
  const plugins = options.plugins ?? new PluginRegistry({ logger: log });
  plugins.onFailure((f) => metrics.pluginFailures.inc({ plugin: f.plugin, kind: f.kind }));
  if (!plugins.get(guardPlugin.name)) plugins.register(guardPlugin, { first: true });
  // Plugins the environment switches on (GUARD_PLUGINS), configured by it (GUARD_TESTGATE_*).
  if (config.plugins.includes('testgate') && !plugins.get('testgate')) plugins.register(new TestGate());
  await plugins.init({ ...config.pluginConfig, ...options.pluginConfig }, { serviceName: config.serviceName, namespace: config.namespace, logger: log });
  log.info({ plugins: plugins.list().map((e) => ({ name: e.plugin.name, version: e.plugin.version, failure: e.failure })) }, 'plugins');

  const source = new GuardianSource({
    core,
    namespace: config.namespace,
    service: config.serviceName,
    // The store validates what it reads with the gate's current core instance (see CoreHost below).
    store: await gateKubeStore({ useCrd: config.useCrd, inCluster: config.inCluster, namespace: config.namespace, log, core: () => host.core }),
    guardianFile: config.guardianFile ?? undefined,
    log,
  });
  const sync = new SyncClient({
    core,
    source,
    url: config.guardServiceUrl ?? undefined,
    namespace: config.namespace,
    service: config.serviceName,
    pod: podName,
    useCrd: config.useCrd,
    tokenFile: config.guardServiceTokenFile,
    caFile: config.guardServiceCaFile ?? undefined,
    caFileFound: config.guardServiceCaFileFound,
    ca: config.guardServiceCa ?? undefined,
    serverName: config.guardServiceServerName ?? undefined,
    intervalMs: config.guardianSyncInterval * 1000,
    log,
    onResult: (r) => {
      metrics.syncs.inc({ result: r.outcome });
      metrics.syncSeconds.observe(r.ms / 1000);
    },
    onAlertDropped: () => metrics.alertsDropped.inc(),
  });
  metrics.watchPile(() => sync.pileCount);
  metrics.watchReadiness(() => (source.ready ? source.current().readiness : undefined));

  // Owns the core instance: on a trap, a fresh instance gets the same Guardian, an empty pile, a
  // new pod session and new proxy sessions, before the failing caller sees GUARD_CORE_FAULT.
  let pod: PodProfile | null = null;
  let podMonitor: PodMonitor | null = null;
  let proxy: ProxyHandle | null = null;
  const host = new CoreHost({
    core,
    log,
    maxRestarts: options.coreRestarts?.max,
    windowMs: options.coreRestarts?.windowMs,
    rewire: (next) => {
      const from = source.current();
      source.rebind(next);
      const lostSamples = sync.replaceCore(next);
      pod = null;
      podMonitor?.replaceCore(next, { from, to: source.current() });
      proxy?.replaceCore(next);
      return { lostSamples, alertsKept: sync.alertCount, guardian: source.origin };
    },
    onRestart: () => metrics.coreRestarts.inc(),
    onFailClosed: () => metrics.coreFailedClosed.set(1),
  });
  const first = await sync.start();
  // Never silently: a gate that cannot reach guard-service learns nothing and reports no alert
  // there. It says so now, in /readyz while it lasts, and keeps syncing with back-off.
  if (config.guardServiceUrl !== null && first.outcome !== 'ok') {
    log.warn(
      { guardServiceUrl: config.guardServiceUrl, err: first.error ?? first.outcome, guardian: source.origin },
      'guard-service unreachable at start - learning and alert delivery wait for it; the Guardian in force comes from the fallbacks',
    );
  }

  const alerts = new Alerts({
    logger: log,
    onAlert: (event) => {
      metrics.alerts.inc({ level: event.level });
      sync.addAlert(event.decision, `${event.level}${event.decisionText}`, event.level);
    },
  });

  podMonitor = config.monitorPod
    ? new PodMonitor({
        core: host.core,
        interval: config.podMonitorInterval,
        guardian: () => (source.ready ? source.current() : null),
        procDir: options.procDir,
        logger: log,
        onProfile: (p) => {
          pod = p;
        },
        onAlert: (a) => alerts.report({ level: 'Gate', decision: a.decision, decisionText: a.decisionText }),
        onCompromised: () => {
          metrics.podCompromised.set(1);
          sync.setCompromised(true);
        },
      })
    : null;
  podMonitor?.start();

  const onSession = (session: Session, verdict: Verdict): void => {
    metrics.coreSeconds.observe(verdict.coreMs / 1000);
    // A compromised pod under a Guardian that only alerts: every request it serves alerts.
    if (config.podBlock && podMonitor?.compromised && !source.control.block && verdict.blocked === 'none') {
      metrics.podAlertedRequests.inc();
      alerts.report({
        level: 'Session',
        decision: { children: null, reasons: ['pod compromised'], result: 1 },
        decisionText: '[pod compromised,]',
        requestId: verdict.requestId,
        method: verdict.method,
        path: verdict.path,
        clientAddress: verdict.remote,
      });
    }
    if (verdict.upstreamMs > 0) metrics.upstreamSeconds.observe(verdict.upstreamMs / 1000);
    if (verdict.result > 0) {
      alerts.report({
        level: 'Session',
        decision: session.decisionTree(),
        decisionText: session.decisionString(),
        requestId: verdict.requestId,
        method: verdict.method,
        path: verdict.path,
        clientAddress: verdict.remote,
      });
    }
    // With learn on, clean sessions are learned; with force, alerting ones too (difference 1 of
    // docs/compatibility.md).
    const control = source.control;
    if (!verdict.complete || !control.learn || (verdict.result > 0 && !control.force)) return;
    if (pod) session.setPod(pod);
    sync.addSession(session);
  };

  // An exchange the core could not evaluate: blocked when the Guardian in force blocks (or the gate
  // failed closed), passed otherwise; an alert either way, so that nothing opens silently.
  const onCoreFault = (f: CoreFault): 'block' | 'pass' => {
    const action = (source.control.block || host.failedClosed !== null) && f.stage !== 'exchange' ? 'block' : 'pass';
    metrics.coreUnevaluated.inc({ stage: f.stage, action });
    const reason = `${f.cause === 'core' ? 'core fault' : 'gate error'}: ${f.stage} not evaluated`;
    alerts.report({
      level: 'Session',
      decision: { children: null, reasons: [reason], result: 1 },
      decisionText: `[${reason},]`,
      requestId: f.requestId,
      method: f.method,
      path: f.path,
      clientAddress: f.remote,
    });
    return action;
  };
  // Once the core kept failing: every request is refused (and counted as blocked).
  const failClosed = (): string | null => host.failedClosed;
  // Every request ends here once, whatever path it took.
  const onEnd = (outcome: ExchangeOutcome, blocked: Stage): void => {
    metrics.countExchange(outcome);
    if (blocked !== 'none') metrics.blocks.inc({ stage: blocked });
  };

  const toService = metrics.websocketMessages.labels({ direction: 'to_service' });
  const toClient = metrics.websocketMessages.labels({ direction: 'to_client' });
  let admin: AdminServer | null = null;
  let stopping = false;
  try {
    proxy = await startProxy({
      port: config.port,
      host: config.listenAddress,
      listener: config.listener,
      maxHeaderSize: config.maxHeaderSize,
      maxConnections: config.maxConnections,
      maxResponseHeadSize: config.maxResponseHeadSize,
      // 0: as many as exchanges may be in flight.
      connections: config.upstreamConnections > 0 ? config.upstreamConnections : config.maxInFlight,
      responseHoldMs: config.responseHold,
      keepAliveTimeoutMs: config.keepAliveTimeout * 1000,
      headersTimeoutMs: config.upstreamHeadersTimeout * 1000,
      bodyTimeoutMs: config.upstreamBodyTimeout * 1000,
      connectTimeoutMs: config.upstreamConnectTimeout * 1000,
      upstream: config.protectedService,
      getGuardian: () => source.current(),
      core: host.core,
      onCoreFault,
      failClosed,
      // The original's BlockOnPod: once the pod is compromised, every request is refused while the
      // Guardian in force blocks, until the pod restarts (GUARD_POD_BLOCK, docs/compatibility.md).
      podBlocks: () => config.podBlock && podMonitor !== null && podMonitor.compromised && source.control.block,
      inFlightTickSeconds: config.inFlightTick,
      onCancelledInFlight: (n) => metrics.cancelledInFlight.inc(n),
      maxBody: config.maxBody,
      oversize: config.oversize,
      bodyBudget: config.bodyBudget,
      maxInFlight: config.maxInFlight,
      analyzeBody: config.analyzeBody,
      blockStatus: config.blockStatus,
      allowFallback: options.allowFallback,
      onSession,
      onEnd,
      onWebSocket: (event) => {
        if (event === 'upgrade') metrics.websocketUpgrades.inc();
        else (event === 'client-message' ? toService : toClient).inc();
      },
      plugins,
      log,
    });
    const live = proxy;
    metrics.watchInFlight(() => live.inFlight);
    metrics.watchProxy(() => live.stats());
    admin = await startAdmin({
      metrics,
      ready: () => source.ready && host.failedClosed === null && !stopping && live.upstreamStalled() === null,
      notReadyReason: () => (stopping ? 'shutting down' : (host.failedClosed ?? live.upstreamStalled())),
      readyNote: () => {
        const s = sync.service;
        return s.reachable === false ? `guard-service ${s.url} unreachable (${s.lastError}): not learning; Guardian from ${source.origin}` : null;
      },
      port: config.adminPort,
      host: config.listenAddress,
    });
  } catch (err) {
    await proxy?.close(0);
    await podMonitor?.stop();
    await sync.close();
    source.close();
    await plugins.shutdown();
    host.close();
    throw err;
  }

  let closing: Promise<void> | null = null;
  const proxyHandle = proxy;
  const adminHandle = admin;
  return {
    port: proxyHandle.port,
    adminPort: adminHandle.port,
    metrics,
    plugins,
    coreHost: host,
    proxy: proxyHandle,
    syncNow: async () => {
      await sync.sync(true);
    },
    guardService: () => sync.service,
    close: () =>
      (closing ??= (async () => {
        // Not ready from now on, so that Kubernetes takes the pod out of its endpoints; requests
        // still arriving meanwhile are served (a closed port would refuse them).
        stopping = true;
        if (config.shutdownDelay > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelay * 1000));
        // In-flight exchanges finish (and are piled) before the final sync carries them.
        await proxyHandle.close(options.drainMs ?? config.drainTimeout * 1000);
        await podMonitor?.stop();
        await sync.close();
        await adminHandle.close();
        source.close();
        host.close();
        await plugins.shutdown();
      })()),
  };
}
