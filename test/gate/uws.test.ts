import { describe, expect, test } from 'vitest';
import { assertNative, createApp, detectNative, listen, loadUws, UwsFallbackError, UwsListenError } from '../../gate/uws.js';

describe('uWS adapter', () => {
  test('the native binary is the one loaded on this machine', () => {
    expect(loadUws().native).toBe(true);
  });

  test('the fallback is detected from the loaded modules', () => {
    expect(detectNative(['/x/node_modules/uWebSockets.js/binaries/uws_linux_x64_115.node'])).toBe(true);
    expect(detectNative(['/x/node_modules/uWebSockets.js/src/uws.js', '/x/node_modules/uWebSockets.js/dist/index.js'])).toBe(false);
  });

  test('the fallback refuses to start unless overridden, and warns when overridden', () => {
    expect(() => assertNative(false)).toThrow(UwsFallbackError);
    const warnings: string[] = [];
    expect(() => assertNative(false, { allowFallback: true, warn: (m) => warnings.push(m) })).not.toThrow();
    expect(warnings[0]).toMatch(/fallback/);
  });

  test('listen on port 0 reports the actual port; a port in use is a named error', async () => {
    const a = createApp();
    const l = await listen(a, 0, '127.0.0.1');
    expect(l.port).toBeGreaterThan(0);
    const b = createApp();
    await expect(listen(b, l.port, '127.0.0.1')).rejects.toBeInstanceOf(UwsListenError);
    l.close();
  });
});
