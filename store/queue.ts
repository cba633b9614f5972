// Ordering and bookkeeping shared by the stores: an operation on one Guardian starts after every
// earlier one on the same Guardian (through the same store) has finished, whatever their outcomes;
// operations in flight are tracked so that close() can wait for them.

/** Run fn after the earlier operations queued under `key` in `queues`; the queue cleans itself up. */
export function serializeOn<T>(queues: Map<string, Promise<void>>, key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const result = prev.then(fn);
  const tail = result.then(
    () => {},
    () => {},
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/** Hold `op` in `inflight` until it settles; returns it. */
export function tracked<T>(inflight: Set<Promise<unknown>>, op: Promise<T>): Promise<T> {
  inflight.add(op);
  const done = (): void => void inflight.delete(op);
  op.then(done, done);
  return op;
}
