// "Something in this directory may have changed" signals for the file store's watch: fs.watch,
// coalesced over a short window, plus a periodic rescan because fs.watch misses events on some
// file systems (network mounts, some container volumes) and can fail outright (inotify limits).
import { watch as fsWatch, type FSWatcher } from 'node:fs';

export interface DirectorySignalOptions {
  debounceMs: number;
  rescanMs: number;
  onSignal: () => void;
  /** fs.watch could not start or failed; the periodic rescan goes on alone. */
  onWatchError: (err: Error) => void;
}

export function watchDirectory(dir: string, options: DirectorySignalOptions): { close(): void } {
  let pending: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = (): void => {
    pending = undefined;
    if (!closed) options.onSignal();
  };
  // Coalesce, without postponing: a steady stream of writes still yields a signal per window.
  const poke = (): void => {
    if (pending || closed) return;
    pending = setTimeout(fire, options.debounceMs);
    pending.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = fsWatch(dir, { persistent: false }, poke);
    watcher.on('error', (err) => {
      watcher?.close();
      watcher = undefined;
      if (!closed) options.onWatchError(err);
    });
  } catch (err) {
    options.onWatchError(err as Error);
  }
  const rescan = setInterval(() => !closed && options.onSignal(), options.rescanMs);
  rescan.unref();

  return {
    close() {
      closed = true;
      watcher?.close();
      clearInterval(rescan);
      if (pending) clearTimeout(pending);
    },
  };
}
