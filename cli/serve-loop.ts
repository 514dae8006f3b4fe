/**
 * Keeps a server process alive until SIGTERM or SIGINT, then drains: running executions get up
 * to `graceMs` to finish before the rest are cut off.
 */
export async function runUntilSignalled(stop: (graceMs: number) => Promise<void>, log: (line: string) => void, graceMs = 10_000): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: draining (up to ${graceMs / 1000} s)`);
      stop(graceMs).then(resolve, resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  log('stopped');
}
