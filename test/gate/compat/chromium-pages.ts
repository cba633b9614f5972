// What the compatibility suite asks of headless Chromium beyond a navigation: an EventSource, a
// streamed fetch, a WebSocket and a form upload, each run in a page of the origin under test (the
// service's /blank page, direct or through the gate) in a browser context of its own.
import type { Browser, Page } from 'playwright-core';

async function onPage<T>(browser: Browser, origin: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/blank`);
    return await fn(page);
  } finally {
    await context.close();
  }
}

/** Milliseconds from `new EventSource(path)` to its first message; null when none came within timeoutMs. */
export function eventSourceFirst(browser: Browser, origin: string, path: string, timeoutMs: number): Promise<number | null> {
  return onPage(browser, origin, (page) =>
    page.evaluate(
      ([path, timeoutMs]) =>
        new Promise<number | null>((resolve) => {
          const t0 = performance.now();
          const es = new EventSource(path);
          const timer = setTimeout(() => {
            es.close();
            resolve(null);
          }, timeoutMs);
          es.onmessage = () => {
            clearTimeout(timer);
            es.close();
            resolve(performance.now() - t0);
          };
        }),
      [path, timeoutMs] as const,
    ),
  );
}

/** Milliseconds from fetch(path) to the body holding `text`; null when it did not within timeoutMs. */
export function fetchUntil(browser: Browser, origin: string, path: string, text: string, timeoutMs: number): Promise<number | null> {
  return onPage(browser, origin, (page) =>
    page.evaluate(
      async ([path, text, timeoutMs]) => {
        const t0 = performance.now();
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), timeoutMs);
        try {
          const reader = (await fetch(path, { signal: ctl.signal })).body!.getReader();
          const decoder = new TextDecoder();
          let seen = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return null;
            seen += decoder.decode(value, { stream: true });
            if (seen.includes(text)) {
              ctl.abort();
              return performance.now() - t0;
            }
          }
        } catch {
          return null;
        } finally {
          clearTimeout(timer);
        }
      },
      [path, text, timeoutMs] as const,
    ),
  );
}

/** A WebSocket to `path` of the page's origin: a text and a 64 KiB binary message echoed back. */
export function webSocketEcho(browser: Browser, origin: string, path: string): Promise<{ text: string; binaryBytes: number; binarySum: number; protocol: string } | string> {
  return onPage(browser, origin, (page) =>
    page.evaluate(
      (path) =>
        new Promise<{ text: string; binaryBytes: number; binarySum: number; protocol: string } | string>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}${path}`);
          ws.binaryType = 'arraybuffer';
          const got: Array<string | ArrayBuffer> = [];
          const timer = setTimeout(() => resolve(`timed out after ${got.length} messages`), 5_000);
          ws.onerror = () => resolve('error');
          ws.onopen = () => {
            ws.send('hello through the gate');
            const bin = new Uint8Array(64 * 1024);
            for (let i = 0; i < bin.length; i++) bin[i] = i % 251;
            ws.send(bin);
          };
          ws.onmessage = (e) => {
            got.push(e.data as string | ArrayBuffer);
            if (got.length < 2) return;
            clearTimeout(timer);
            ws.close(1000);
            const bin = new Uint8Array(got[1] as ArrayBuffer);
            resolve({ text: got[0] as string, binaryBytes: bin.length, binarySum: bin.reduce((s, b) => (s + b) % 65521, 0), protocol: ws.protocol });
          };
        }),
      path,
    ),
  );
}

/** The service's /form, a file of `bytes` chosen as photo.jpg and submitted: the answer (the service's echo). */
export function formUpload(browser: Browser, origin: string, file: Buffer): Promise<{ status: number; echo: Record<string, unknown> | null }> {
  return onPage(browser, origin, async (page) => {
    await page.goto(`${origin}/form`);
    await page.setInputFiles('input[type=file]', { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: file });
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/echo')), page.click('button')]);
    const text = await response.text();
    return { status: response.status(), echo: response.status() === 200 ? (JSON.parse(text) as Record<string, unknown>) : null };
  });
}

/**
 * An EventSource of the page, opened and its first message awaited; then `during()` runs (the gate
 * shuts down) and the next error event is awaited. `readyState` at that error: 0 (CONNECTING) when
 * the browser will reconnect, 2 (CLOSED) when it gave up (what an error answer such as 502 does).
 */
export function eventSourceAcross(browser: Browser, origin: string, path: string, during: () => Promise<void>): Promise<{ opened: boolean; readyStateAtError: number | null }> {
  return onPage(browser, origin, async (page) => {
    const opened = await page.evaluate(
      (path) =>
        new Promise<boolean>((resolve) => {
          const es = new EventSource(path);
          (window as unknown as { es: EventSource }).es = es;
          const timer = setTimeout(() => resolve(false), 5_000);
          es.onmessage = () => {
            clearTimeout(timer);
            es.onmessage = null;
            resolve(true);
          };
        }),
      path,
    );
    if (!opened) return { opened, readyStateAtError: null };
    const error = page.evaluate(
      () =>
        new Promise<number | null>((resolve) => {
          const es = (window as unknown as { es: EventSource }).es;
          const timer = setTimeout(() => resolve(null), 10_000);
          es.onerror = () => {
            clearTimeout(timer);
            const state = es.readyState;
            es.close();
            resolve(state);
          };
        }),
    );
    await during();
    return { opened, readyStateAtError: await error };
  });
}
