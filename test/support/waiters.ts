// Waiting on callbacks without sleeping: the code that receives events runs every waiter of a set,
// and a wait resolves as soon as its predicate holds (or rejects after a bound, saying what it saw).

/** Resolves once `predicate` holds — now, or when one of `waiters` is run; rejects after `timeoutMs`. */
export function waitFor(waiters: Set<() => void>, predicate: () => boolean, what: string, seen: () => string, timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`watch: timed out waiting for ${what}; ${seen()}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
