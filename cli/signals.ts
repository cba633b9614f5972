// Long-running commands stop on SIGTERM (Kubernetes) or SIGINT (Ctrl-C); both are handled once.

/** Resolves with the first SIGTERM or SIGINT received. */
export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(s);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
