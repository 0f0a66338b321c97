/**
 * Waits for SIGINT/SIGTERM. perfwatch's own timers are unref'd (a library must never keep its
 * host alive), so the CLI holds the process open itself until a signal comes.
 */
export function waitForSignal(): Promise<NodeJS.Signals> {
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
