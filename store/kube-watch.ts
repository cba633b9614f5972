// List-then-watch of one kind of Kubernetes object, kept going until closed: a dropped stream
// resumes from the last resourceVersion seen, an expired one (410) relists and reports what
// changed meanwhile, and every failure is reported and retried with back-off — never a silent stop.
import { StoreError } from './errors.js';
import { apiError, httpStatus, type KubeApi, type WatchEventType, type WatchStream } from './kube-client.js';

export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ObjectSource {
  /** Path of the collection to watch, e.g. `/api/v1/configmaps`. */
  path: string;
  /** Lists the collection; the resourceVersion is the list's, where the watch starts. */
  list(): Promise<{ items: KubeObjectLike[]; resourceVersion: string }>;
  /** Only objects this accepts are reported (e.g. ConfigMaps named `guardian.*`). */
  accepts(name: string): boolean;
}

export interface ReflectorOptions {
  /** Server-side end of each watch (s); jittered up to twice this, as client-go does. */
  timeoutSeconds: number;
  /** First and largest delay between attempts after a failure (ms). */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface ReflectorHandlers {
  /** An object present (listed, added or modified), or gone. */
  onPut(object: KubeObjectLike): void;
  onDelete(namespace: string, name: string): void;
  onProblem(problem: StoreError): void;
}

export function reflect(api: KubeApi, source: ObjectSource, handlers: ReflectorHandlers, options: ReflectorOptions): { close(): void } {
  /** namespace/name → resourceVersion of what was reported. */
  const known = new Map<string, { namespace: string; name: string; rv: string }>();
  let resourceVersion: string | undefined;
  let stopped = false;
  let failures = 0;
  let stream: WatchStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastProblem: string | undefined;

  const problem = (err: unknown, action: string): void => {
    const error = err instanceof StoreError ? err : apiError(err, action, source.path);
    // One report per distinct failure until something works again: a long outage is not a flood.
    if (error.message === lastProblem) return;
    lastProblem = error.message;
    handlers.onProblem(error);
  };
  const recovered = (): void => {
    failures = 0;
    lastProblem = undefined;
  };
  const later = (fn: () => void): void => {
    const ceiling = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** Math.min(failures, 20));
    failures++;
    timer = setTimeout(fn, ceiling / 2 + (Math.random() * ceiling) / 2);
    timer.unref();
  };

  const keyOf = (o: KubeObjectLike) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

  const put = (object: KubeObjectLike): void => {
    const { namespace, name, resourceVersion: rv } = object.metadata ?? {};
    if (!namespace || !name || !source.accepts(name)) return;
    const key = keyOf(object);
    if (known.get(key)?.rv === rv) return;
    known.set(key, { namespace, name, rv: rv ?? '' });
    handlers.onPut(object);
  };
  const remove = (object: KubeObjectLike): void => {
    const key = keyOf(object);
    const seen = known.get(key);
    if (!seen) return;
    known.delete(key);
    handlers.onDelete(seen.namespace, seen.name);
  };

  const relist = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    let listed;
    try {
      listed = await source.list();
    } catch (err) {
      if (stopped) return;
      problem(err, `list ${source.path}`);
      later(() => void relist());
      return;
    }
    if (stopped) return;
    const present = new Set<string>();
    for (const item of listed.items) {
      present.add(keyOf(item));
      put(item);
    }
    // What disappeared while no watch was open (or before a 410) is reported now.
    for (const [key, seen] of [...known]) if (!present.has(key)) remove({ metadata: { namespace: seen.namespace, name: seen.name } });
    resourceVersion = listed.resourceVersion;
    void rewatch();
  };

  const rewatch = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    let mustRelist = false;
    let idle: NodeJS.Timeout | undefined;
    const timeoutSeconds = Math.round(options.timeoutSeconds * (1 + Math.random()));
    const opened = Date.now();
    let events = 0;
    // A half-open connection never ends by itself: if not even a bookmark came well after the
    // server should have closed the stream, drop it and start again.
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        current?.abort();
        ended(new Error(`the watch of ${source.path} went silent`));
      }, (timeoutSeconds + 30) * 1000);
      idle.unref();
    };
    let current: WatchStream | undefined;
    let finished = false;
    const ended = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      if (stream === current) stream = undefined;
      if (stopped) return;
      if (mustRelist || httpStatus(err) === 410) {
        // A 410 is routine (history compacted); relist at once unless it keeps happening.
        if (events > 1 || Date.now() - opened > 1000) failures = 0;
        if (failures === 0) {
          failures++;
          void relist();
        } else later(() => void relist());
        return;
      }
      if (err) problem(err, `watch ${source.path}`);
      else if (events > 0 || Date.now() - opened > 1000) {
        // A clean end (the server's timeout, or a restart): resume where we were.
        recovered();
        void rewatch();
        return;
      }
      later(() => void rewatch());
    };
    const query: Record<string, string> = { allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
    if (resourceVersion) query.resourceVersion = resourceVersion;
    armIdle();
    current = await api.watch(
      source.path,
      query,
      (type: WatchEventType, object) => {
        if (stopped || finished) return;
        events++;
        armIdle();
        if (type === 'ERROR') {
          const code = (object as { code?: unknown }).code;
          if (code !== 410) problem(new StoreError('GUARD_STORE_IO', `the watch of ${source.path} failed: ${String((object as { message?: unknown }).message ?? JSON.stringify(object))}`, { location: source.path }), '');
          mustRelist = true;
          return;
        }
        const o = object as KubeObjectLike;
        if (o.metadata?.resourceVersion) resourceVersion = o.metadata.resourceVersion;
        recovered();
        if (type === 'ADDED' || type === 'MODIFIED') put(o);
        else if (type === 'DELETED') remove(o);
      },
      ended,
    );
    if (finished || stopped) current.abort();
    else stream = current;
  };

  void relist();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      stream?.abort();
      stream = undefined;
    },
  };
}
