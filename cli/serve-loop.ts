import { Flags } from '@oclif/core';
import { DEFAULT_LISTEN } from '../server/serve.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_QUEUE } from '../server/gateway/gateway-server.js';
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_MEMORY_LIMIT } from '../server/worker/engine.js';

/** Flags every server process takes. */
export const serverFlags = {
  listen: Flags.string({ default: DEFAULT_LISTEN, description: 'HOST:PORT to listen on' }),
  token: Flags.string({ description: 'access token clients and peers must present (default: $OPENDUCK_TOKEN, else the repository token file)' }),
  'insecure-no-auth': Flags.boolean({ description: 'accept calls without a token (loopback addresses only)' }),
};

/** Flags of processes that run SQL (serve, worker, daemon start). */
export const engineFlags = {
  'memory-limit': Flags.string({ default: DEFAULT_MEMORY_LIMIT, description: "DuckDB memory per database instance; larger results and operators spill to the repository's tmp/" }),
  'max-concurrency': Flags.integer({ min: 0, default: DEFAULT_MAX_CONCURRENCY, description: 'executions the worker runs at once (0: unlimited)' }),
};

/** Flags of processes that route (gateway, serve, daemon start). */
export const gatewayFlags = {
  'max-queue': Flags.integer({ min: 0, default: DEFAULT_MAX_QUEUE, description: 'requests that may wait for a free worker before RESOURCE_EXHAUSTED' }),
};

export const heartbeatFlag = (hidden: boolean) =>
  Flags.integer({ min: 50, default: DEFAULT_HEARTBEAT_MS, hidden, description: 'ms between worker heartbeats; three missed ones evict a worker' });

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
