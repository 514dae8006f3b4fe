import { Flags } from '@oclif/core';
import { DEFAULT_LISTEN } from '../server/serve.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_QUEUE } from '../server/gateway/gateway-server.js';
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_MEMORY_LIMIT } from '../server/worker/engine.js';
import { DEFAULT_MAX_MEMORY, DEFAULT_STALL_TIMEOUT_MS } from '../server/limits.js';
import { printable } from './render/format.js';

/** Flags every server process takes. */
export const serverFlags = {
  listen: Flags.string({ default: DEFAULT_LISTEN, description: 'HOST:PORT to listen on' }),
  'insecure-no-auth': Flags.boolean({ description: 'accept calls without a token (loopback addresses only)' }),
};

/** The client token, for processes clients call (serve, gateway, daemon start). */
export const clientTokenFlag = {
  token: Flags.string({ description: 'the token clients must present (default: $OPENDUCK_TOKEN, else the repository token file)' }),
};

/** The worker credential: workers present it to the gateway, and the gateway to workers. */
export const workerCredentialFlags = {
  'worker-token': Flags.string({ description: 'the worker credential (default: --worker-token-file, else $OPENDUCK_WORKER_TOKEN, else the repository worker-token file)' }),
  'worker-token-file': Flags.string({ description: 'a file holding the worker credential (keeps it off the command line)' }),
};

/** What a server command's credential flags ask of resolveGatewayAuth / resolveWorkerAuth. */
export function authOptions(flags: { listen: string; token?: string; 'worker-token'?: string; 'worker-token-file'?: string; 'insecure-no-auth'?: boolean }) {
  return {
    listen: flags.listen,
    token: flags.token,
    workerToken: flags['worker-token'],
    workerTokenFile: flags['worker-token-file'],
    insecureNoAuth: flags['insecure-no-auth'],
  };
}

/** Flags of processes that run SQL (serve, worker, daemon start). */
export const engineFlags = {
  'memory-limit': Flags.string({ default: DEFAULT_MEMORY_LIMIT, description: "DuckDB memory per database instance; larger results and operators spill to the repository's tmp/" }),
  'max-memory': Flags.string({ default: DEFAULT_MAX_MEMORY, description: 'cap on the whole process\'s data memory; a query needing more fails with RESOURCE_EXHAUSTED' }),
  'max-concurrency': Flags.integer({ min: 0, default: DEFAULT_MAX_CONCURRENCY, description: 'executions the worker runs at once (0: unlimited)' }),
};

/** Flags of processes that route (gateway, serve, daemon start). */
export const gatewayFlags = {
  'max-queue': Flags.integer({ min: 0, default: DEFAULT_MAX_QUEUE, description: 'requests that may wait for a free worker before RESOURCE_EXHAUSTED' }),
  'stall-timeout': Flags.integer({ min: 100, default: DEFAULT_STALL_TIMEOUT_MS, description: 'ms a client may read nothing of its result before the execution is cancelled' }),
};

export const heartbeatFlag = (hidden: boolean) =>
  Flags.integer({ min: 50, default: DEFAULT_HEARTBEAT_MS, hidden, description: 'ms between worker heartbeats; three missed ones evict a worker' });

/**
 * Server logs go to stderr with a timestamp; stdout carries only "listening on …". Lines name
 * things clients chose (execution ids, worker ids), so they are made printable first.
 */
export function serverLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${printable(line)}\n`);
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
