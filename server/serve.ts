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
import { startWorker, type RunningWorker } from './worker/worker-server.js';

export const DEFAULT_LISTEN = '127.0.0.1:7878';

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
  maxQueue?: number;
  maxConcurrency?: number;
  heartbeatIntervalMs?: number;
  log?: (line: string) => void;
  version?: string;
}

export interface RunningServe {
  endpoint: string;
  gateway: RunningGateway;
  worker: RunningWorker;
  tokenFile: string | null;
  stop(graceMs?: number): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
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
  try {
    const worker = await startWorker({
      repo: options.repo,
      listen: '127.0.0.1:0',
      gateway: `127.0.0.1:${gateway.port}`,
      policy: auth.policy,
      token: auth.token,
      maxConcurrency: options.maxConcurrency ?? 8,
      workerId: 'local',
      log: options.log,
    });
    return {
      endpoint: gateway.endpoint,
      gateway,
      worker,
      tokenFile: auth.tokenFile,
      async stop(graceMs = 10_000) {
        // Draining: the gateway stops taking calls and lets running ones finish, then the worker.
        await gateway.stop(graceMs);
        await worker.stop(1000);
      },
    };
  } catch (err) {
    await gateway.stop(0);
    throw err;
  }
}
