/**
 * Starting the service: `serve` (a gateway and one worker in one process, over the repository's
 * embedded stores), or a gateway and workers apart. Token handling lives here too: with no token
 * configured, one is generated and kept in the repository (mode 0600) for local clients to use.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { Repository } from '../core/repository.js';
import { loadOrCreateTokenFile, readTokenFile, type TokenPolicy } from './auth.js';
import { isLoopback, parseEndpoint } from './grpc-config.js';
import { startGateway, type RunningGateway } from './gateway/gateway-server.js';
import { IN_PROCESS_ENDPOINT } from './gateway/registry.js';
import { DEFAULT_MAX_CONCURRENCY, WorkerEngine } from './worker/engine.js';
import { checkMemoryLimit } from '../core/duckdb-session.js';
import { localWorkerChannels } from './worker/local-channel.js';

export const DEFAULT_LISTEN = '127.0.0.1:7878';

/** Where this process's DuckDB instances spill; named for the pid so a dead process's is reclaimed. */
export function spillDirectory(repo: Repository): string {
  return join(repo.tmpDir, `${process.pid}-spill`);
}

export function tokenFilePath(repo: Repository): string {
  return join(repo.serverDir, 'token');
}

export interface AuthOptions {
  token?: string;
  /** Operator's explicit choice; loopback only. */
  insecureNoAuth?: boolean;
  listen: string;
  repo?: Repository | null;
  warn?: (line: string) => void;
}

/** The policy a server enforces and the token it presents to its peers. */
export async function resolveServerAuth(options: AuthOptions): Promise<{ policy: TokenPolicy; token: string | null; tokenFile: string | null }> {
  if (options.insecureNoAuth) {
    const host = parseEndpoint(options.listen, 'listen address').host;
    if (!isLoopback(host)) throw new InvalidArgumentError(`--insecure-no-auth only works on a loopback address, not ${host}`);
    options.warn?.('WARNING: authentication is off (--insecure-no-auth); anyone who can reach this port can run SQL');
    return { policy: null, token: null, tokenFile: null };
  }
  const explicit = options.token || process.env.OPENDUCK_TOKEN;
  if (explicit) return { policy: { token: explicit }, token: explicit, tokenFile: null };
  if (!options.repo) throw new InvalidArgumentError('no token: pass --token or set OPENDUCK_TOKEN');
  const tokenFile = tokenFilePath(options.repo);
  const token = await loadOrCreateTokenFile(tokenFile);
  return { policy: { token }, token, tokenFile };
}

/** The token a client presents: --token, OPENDUCK_TOKEN, else the repository's token file. */
export async function resolveClientToken(flag: string | undefined, repo: Repository | null): Promise<string | null> {
  if (flag) return flag;
  if (process.env.OPENDUCK_TOKEN) return process.env.OPENDUCK_TOKEN;
  return repo ? readTokenFile(tokenFilePath(repo)) : null;
}

export interface ServeOptions extends AuthOptions {
  repo: Repository;
  /** DuckDB memory limit per instance; beyond it results and operators spill to disk. */
  memoryLimit?: string;
  maxQueue?: number;
  maxConcurrency?: number;
  heartbeatIntervalMs?: number;
  log?: (line: string) => void;
  version?: string;
}

export interface RunningServe {
  endpoint: string;
  gateway: RunningGateway;
  engine: WorkerEngine;
  tokenFile: string | null;
  stop(graceMs?: number): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  await checkMemoryLimit(options.memoryLimit, '--memory-limit');
  const auth = await resolveServerAuth(options);
  const gateway = await startGateway({
    listen: options.listen,
    policy: auth.policy,
    token: auth.token,
    maxQueue: options.maxQueue,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    log: options.log,
    version: options.version,
  });
  // The worker lives in this process and the gateway calls it directly: no loopback hop.
  const engine = new WorkerEngine(options.repo, 'local', { memoryLimit: options.memoryLimit, tempDirectory: spillDirectory(options.repo) });
  gateway.registry.register(
    { workerId: 'local', endpoint: IN_PROCESS_ENDPOINT, databases: [], computeContext: '', maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY },
    localWorkerChannels(engine),
  );
  options.log?.('worker local runs in this process');
  return {
    endpoint: gateway.endpoint,
    gateway,
    engine,
    tokenFile: auth.tokenFile,
    async stop(graceMs = 10_000) {
      // Draining: the gateway stops taking calls and lets running ones finish, then the engine closes.
      await gateway.stop(graceMs);
      await engine.close();
    },
  };
}
