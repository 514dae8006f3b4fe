import { Flags } from '@oclif/core';
import { DEFAULT_LISTEN } from '../server/serve.js';

/** Flags every server process takes. */
export const serverFlags = {
  listen: Flags.string({ default: DEFAULT_LISTEN, description: 'HOST:PORT to listen on' }),
  token: Flags.string({ description: 'access token clients and peers must present (default: $OPENDUCK_TOKEN, else the repository token file)' }),
  'insecure-no-auth': Flags.boolean({ description: 'accept calls without a token (loopback addresses only)' }),
};

/** Flags of processes that run SQL (serve, worker). */
export const engineFlags = {
  'memory-limit': Flags.string({ default: '256MB', description: "DuckDB memory per database instance; larger results and operators spill to the repository's tmp/" }),
};

/** Server logs go to stderr with a timestamp; stdout carries only "listening on …". */
export function serverLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

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
