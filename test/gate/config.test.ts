// guard-gate's environment (docs/configuration.md): defaults, and every invalid value is a
// ConfigError naming the variable and what is allowed.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, gateConfig, readGateConfig, defaultBodyBudget } from '../../gate/config.js';

const BASE = { SERVICE_NAME: 'myapp', NAMESPACE: 'prod' };

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    readGateConfig({ ...BASE, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('readGateConfig', () => {
  it('has the documented defaults and is frozen', () => {
    const c = readGateConfig(BASE, { exists: () => false });
    expect(c).toEqual({
      serviceName: 'myapp',
      namespace: 'prod',
      protectedService: 'http://127.0.0.1:8080',
      port: 22000,
      guardServiceUrl: 'https://guard-service.knative-serving',
      useCrd: true,
      monitorPod: true,
      analyzeBody: true,
      guardianSyncInterval: 60,
      podMonitorInterval: 5,
      podBlock: true,
      inFlightTick: 1,
      logLevel: 'info',
      guardianFile: null,
      adminPort: 22001,
      maxBody: 1024 * 1024,
      blockStatus: 403,
      oversize: 'decide',
      bodyBudget: defaultBodyBudget(),
      maxInFlight: 4096,
      listener: 'uws',
      listenAddress: '::',
      maxHeaderSize: 16384,
      maxConnections: 10000,
      maxResponseHeadSize: 65536,
      responseHold: 100,
      keepAliveTimeout: 10,
      upstreamHeadersTimeout: 300,
      upstreamBodyTimeout: 300,
      upstreamConnectTimeout: 5,
      upstreamConnections: 0,
      shutdownDelay: 0,
      drainTimeout: 10,
      guardServiceTokenFile: '/var/run/secrets/tokens/guard-service',
      guardServiceCaFile: null,
      guardServiceCaFileFound: false,
      guardServiceCa: null,
      guardServiceServerName: null,
      inCluster: false,
      podName: hostname(),
      plugins: [],
      pluginConfig: {},
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(readGateConfig({ ...BASE, KUBERNETES_SERVICE_HOST: '10.0.0.1' }).inCluster).toBe(true);
    expect(readGateConfig({ ...BASE, HOSTNAME: 'shop-7f9c-abcde' }).podName).toBe('shop-7f9c-abcde');
  });

  it('derives the body budget from the memory limit, and refuses one below GUARD_MAX_BODY', () => {
    const MiB = 1 << 20;
    expect(defaultBodyBudget(() => null)).toBe(64 * MiB);
    expect(defaultBodyBudget(() => 256 * MiB)).toBe(64 * MiB);
    expect(defaultBodyBudget(() => 32 * MiB)).toBe(16 * MiB);
    expect(defaultBodyBudget(() => 64 * 1024 * MiB)).toBe(512 * MiB);
    expect(readGateConfig({ ...BASE, GUARD_BODY_BUDGET: String(8 * MiB), GUARD_MAX_IN_FLIGHT: '100', GUARD_OVERSIZE: 'refuse' })).toMatchObject({ bodyBudget: 8 * MiB, maxInFlight: 100, oversize: 'refuse' });
    expect(() => readGateConfig({ ...BASE, GUARD_BODY_BUDGET: String(MiB / 2) })).toThrow(/GUARD_BODY_BUDGET: must be at least GUARD_MAX_BODY/);
    expect(() => readGateConfig({ ...BASE, GUARD_OVERSIZE: 'stream' })).toThrow(/GUARD_OVERSIZE: expected one of decide, refuse/);
    expect(() => readGateConfig({ ...BASE, GUARD_MAX_IN_FLIGHT: '0' })).toThrow(/GUARD_MAX_IN_FLIGHT/);
  });

  it('reads the listener, its address and the timeouts', () => {
    expect(readGateConfig({ ...BASE, GUARD_LISTENER: 'node', GUARD_LISTEN_ADDRESS: '0.0.0.0', GUARD_UPSTREAM_HEADERS_TIMEOUT: '15m', GUARD_SHUTDOWN_DELAY: '5s', GUARD_MAX_HEADER_SIZE: '65536' })).toMatchObject({
      listener: 'node',
      listenAddress: '0.0.0.0',
      upstreamHeadersTimeout: 900,
      shutdownDelay: 5,
      maxHeaderSize: 65536,
    });
    expect(() => readGateConfig({ ...BASE, GUARD_LISTENER: 'express' })).toThrow(/GUARD_LISTENER: expected one of uws, node/);
    expect(() => readGateConfig({ ...BASE, GUARD_LISTEN_ADDRESS: 'localhost' })).toThrow(/GUARD_LISTEN_ADDRESS: expected an IP address/);
  });

  it('reads every variable', () => {
    const c = readGateConfig({
      ...BASE,
      PROTECTED_SERVICE: 'https://backend.prod.svc:8443/',
      PORT: '8000',
      GUARD_SERVICE_URL: 'https://guard-service.knative-serving',
      USE_CRD: 'false',
      MONITOR_POD: '0',
      ANALYZE_BODY: '1',
      GUARDIAN_SYNC_INTERVAL: '2m',
      POD_MONITOR_INTERVAL: '10s',
      LOG_LEVEL: 'debug',
      GUARDIAN_FILE: '/etc/guard/guardian.json',
      GUARD_ADMIN_PORT: '9000',
      GUARD_MAX_BODY: '65536',
      GUARD_BLOCK_STATUS: '502',
      GUARD_SERVICE_TOKEN_FILE: '/tok',
      GUARD_SERVICE_CA_FILE: '/ca.crt',
      GUARD_SERVICE_SERVER_NAME: 'guard-service.knative-serving.svc',
    });
    expect(c).toMatchObject({
      protectedService: 'https://backend.prod.svc:8443',
      port: 8000,
      guardServiceUrl: 'https://guard-service.knative-serving',
      useCrd: false,
      monitorPod: false,
      analyzeBody: true,
      guardianSyncInterval: 120,
      podMonitorInterval: 10,
      logLevel: 'debug',
      guardianFile: '/etc/guard/guardian.json',
      adminPort: 9000,
      maxBody: 65536,
      blockStatus: 502,
      guardServiceTokenFile: '/tok',
      guardServiceCaFile: '/ca.crt',
      guardServiceServerName: 'guard-service.knative-serving.svc',
    });
  });

  it('treats empty values as unset', () => {
    expect(readGateConfig({ ...BASE, PORT: '', USE_CRD: ' ', LOG_LEVEL: '' })).toMatchObject({ port: 22000, useCrd: true, logLevel: 'info' });
  });

  it.each([
    [{ SERVICE_NAME: undefined }, 'SERVICE_NAME', /required/],
    [{ NAMESPACE: '' }, 'NAMESPACE', /required/],
    [{ SERVICE_NAME: 'My_App' }, 'SERVICE_NAME', /DNS-1123 label/],
    [{ NAMESPACE: 'a'.repeat(64) }, 'NAMESPACE', /DNS-1123 label/],
    [{ SERVICE_NAME: 'ns-prod' }, 'SERVICE_NAME', /reserved/],
    [{ PROTECTED_SERVICE: 'ftp://x' }, 'PROTECTED_SERVICE', /http:\/\/ or https:\/\//],
    [{ PROTECTED_SERVICE: ':8080abc' }, 'PROTECTED_SERVICE', /:<port>/],
    [{ PROTECTED_SERVICE: ':0' }, 'PROTECTED_SERVICE', /:<port>/],
    [{ PROTECTED_SERVICE: '8080' }, 'PROTECTED_SERVICE', /http:\/\/ or https:\/\//],
    [{ GUARD_SERVICE_URL: 'guard-service' }, 'GUARD_SERVICE_URL', /URL/],
    [{ PORT: '70000' }, 'PORT', /integer from 1 to 65535/],
    [{ PORT: '80a' }, 'PORT', /integer/],
    [{ USE_CRD: 'yes' }, 'USE_CRD', /true, false, 1 or 0/],
    [{ MONITOR_POD: 'enabled' }, 'MONITOR_POD', /true, false, 1 or 0/],
    [{ ANALYZE_BODY: 'off' }, 'ANALYZE_BODY', /true, false, 1 or 0/],
    [{ GUARDIAN_SYNC_INTERVAL: '4' }, 'GUARDIAN_SYNC_INTERVAL', /from 5/],
    [{ GUARDIAN_SYNC_INTERVAL: '4.9s' }, 'GUARDIAN_SYNC_INTERVAL', /from 5/],
    [{ GUARDIAN_SYNC_INTERVAL: '1m30' }, 'GUARDIAN_SYNC_INTERVAL', /Go duration/],
    [{ GUARD_SERVICE_CA: 'not a certificate' }, 'GUARD_SERVICE_CA', /PEM/],
    [{ GUARD_PLUGINS: 'testgate,waf' }, 'GUARD_PLUGINS', /unknown plugin "waf"/],
    [{ GUARD_PLUGINS: 'testgate', GUARD_TESTGATE_ACTION: 'drop' }, 'GUARD_TESTGATE_ACTION', /tag, block/],
    [{ POD_MONITOR_INTERVAL: '0' }, 'POD_MONITOR_INTERVAL', /from 1/],
    [{ POD_MONITOR_INTERVAL: '500ms' }, 'POD_MONITOR_INTERVAL', /whole seconds/],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /one of fatal, error, warn, info, debug, trace, silent/],
    [{ GUARD_ADMIN_PORT: '22000' }, 'GUARD_ADMIN_PORT', /differ from PORT/],
    [{ PORT: '9000', GUARD_ADMIN_PORT: '9000' }, 'GUARD_ADMIN_PORT', /differ from PORT/],
    [{ GUARD_MAX_BODY: '10' }, 'GUARD_MAX_BODY', /integer from 1024/],
    [{ GUARD_MAX_BODY: String(1 << 30) }, 'GUARD_MAX_BODY', /to 67108864/],
    [{ GUARD_BLOCK_STATUS: '200' }, 'GUARD_BLOCK_STATUS', /from 400 to 599/],
    [{ GUARD_BLOCK_STATUS: '302' }, 'GUARD_BLOCK_STATUS', /from 400 to 599/],
    [{ GUARD_SERVICE_SERVER_NAME: 'a b' }, 'GUARD_SERVICE_SERVER_NAME', /host name/],
  ])('%j is an error naming %s', (env, variable, allowed) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).toMatch(allowed);
  });

  it('accepts the original gate\'s forms with their meaning', () => {
    // PROTECTED_SERVICE as :<port>; Go durations truncated to whole seconds; switches in any case.
    expect(readGateConfig({ ...BASE, PROTECTED_SERVICE: ':8081' }).protectedService).toBe('http://127.0.0.1:8081');
    expect(readGateConfig({ ...BASE, GUARDIAN_SYNC_INTERVAL: '1m30s', POD_MONITOR_INTERVAL: '2500ms' })).toMatchObject({ guardianSyncInterval: 90, podMonitorInterval: 2 });
    expect(readGateConfig({ ...BASE, GUARDIAN_SYNC_INTERVAL: '1.5m' }).guardianSyncInterval).toBe(90);
    expect(readGateConfig({ ...BASE, MONITOR_POD: 'FALSE', USE_CRD: 'False', LOG_LEVEL: 'DEBUG' })).toMatchObject({ monitorPod: false, useCrd: false, logLevel: 'debug' });
    // Without GUARD_SERVICE_URL, the original's guard-service; `none` runs without one.
    expect(readGateConfig(BASE).guardServiceUrl).toBe('https://guard-service.knative-serving');
    expect(readGateConfig({ ...BASE, GUARD_SERVICE_URL: 'none' }).guardServiceUrl).toBeNull();
    // The original's Knative CA file, when mounted, is trusted for data-plane.knative.dev.
    const knative = { exists: (p: string) => p === '/var/lib/knative/certs/ca.crt' };
    expect(readGateConfig(BASE, knative)).toMatchObject({ guardServiceCaFile: '/var/lib/knative/certs/ca.crt', guardServiceCaFileFound: true, guardServiceServerName: 'data-plane.knative.dev' });
    expect(readGateConfig({ ...BASE, GUARD_SERVICE_SERVER_NAME: 'guard.example' }, knative).guardServiceServerName).toBe('guard.example');
    expect(readGateConfig({ ...BASE, GUARD_SERVICE_CA_FILE: '/ca.pem' }, knative)).toMatchObject({ guardServiceCaFile: '/ca.pem', guardServiceCaFileFound: false, guardServiceServerName: null });
  });

  it('switches the test-gate plugin on from the environment', () => {
    const c = readGateConfig({ ...BASE, GUARD_PLUGINS: 'TestGate', GUARD_TESTGATE_SENDER: 'ci', GUARD_TESTGATE_ACTION: 'block', GUARD_TESTGATE_PATH: '/forbidden' });
    expect(c.plugins).toEqual(['testgate']);
    expect(c.pluginConfig).toEqual({ testgate: { sender: 'ci', action: 'block', path: '/forbidden' } });
  });

  it('gateConfig() gives test defaults with overrides', () => {
    expect(gateConfig({ port: 0, adminPort: 0 })).toMatchObject({ serviceName: 'test', namespace: 'default', port: 0, adminPort: 0 });
  });
});
