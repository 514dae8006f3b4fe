/**
 * Starting the service: `serve` (a gateway and one worker in one process, over the repository's
 * embedded stores), or a gateway and workers apart. Token handling lives here too: with no token
 * configured, one is generated and kept in the repository (mode 0600) for local clients to use.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { Repository } from '../core/repository.js';
import { loadOrCreateTokenFile, readTokenFile, tokensEqual, type AccessPolicy } from './auth.js';
import { loopbackListenAddress } from './grpc-config.js';
import { startGateway, type RunningGateway } from './gateway/gateway-server.js';
import { IN_PROCESS_ENDPOINT } from './gateway/registry.js';
import { DEFAULT_MAX_CONCURRENCY, WorkerEngine } from './worker/engine.js';
import { checkMemoryLimit } from '../core/duckdb-session.js';
import { localWorkerChannels } from './worker/local-channel.js';
import { capProcessMemory, parseByteSize } from './limits.js';

export const DEFAULT_LISTEN = '127.0.0.1:7878';

/** Where this process's DuckDB instances spill; named for the pid so a dead process's is reclaimed. */
export function spillDirectory(repo: Repository): string {
  return join(repo.tmpDir, `${process.pid}-spill`);
}

export function tokenFilePath(repo: Repository): string {
  return join(repo.serverDir, 'token');
}

/** The worker credential of servers that run on this repository; clients never read it. */
export function workerTokenFilePath(repo: Repository): string {
  return join(repo.serverDir, 'worker-token');
}

export interface AuthOptions {
  /** The client token. */
  token?: string;
  /** The worker credential, given directly. */
  workerToken?: string;
  /** A file holding the worker credential (read, never created). */
  workerTokenFile?: string;
  /** Operator's explicit choice; loopback only. */
  insecureNoAuth?: boolean;
  listen: string;
  repo?: Repository | null;
  warn?: (line: string) => void;
}

export interface GatewayAuth {
  policy: AccessPolicy;
  /** Where to listen: with --insecure-no-auth, the resolved loopback address. */
  listen: string;
  /** What the gateway presents to workers. */
  workerToken: string | null;
  tokenFile: string | null;
  workerTokenFile: string | null;
}

/** The roles a gateway (or serve) accepts: clients with the client token, workers with the worker credential. */
export async function resolveGatewayAuth(options: AuthOptions): Promise<GatewayAuth> {
  if (options.insecureNoAuth) return { ...(await insecure(options)), workerToken: null, tokenFile: null, workerTokenFile: null };
  let token = options.token || process.env.OPENDUCK_TOKEN || null;
  let tokenFile: string | null = null;
  if (!token) {
    if (!options.repo) throw new InvalidArgumentError('no token: pass --token or set OPENDUCK_TOKEN');
    tokenFile = tokenFilePath(options.repo);
    token = await loadOrCreateTokenFile(tokenFile);
  }
  const worker = await resolveWorkerToken(options);
  if (tokensEqual(token, worker.token)) {
    throw new InvalidArgumentError('the worker credential must differ from the client token: clients holding it could pose as workers');
  }
  return { policy: { client: token, worker: worker.token }, listen: options.listen, workerToken: worker.token, tokenFile, workerTokenFile: worker.file };
}

/** A worker accepts only the worker credential: its one caller is the gateway. */
export async function resolveWorkerAuth(options: AuthOptions): Promise<{ policy: AccessPolicy; listen: string; workerToken: string | null }> {
  if (options.insecureNoAuth) return { ...(await insecure(options)), workerToken: null };
  const worker = await resolveWorkerToken(options);
  return { policy: { worker: worker.token }, listen: options.listen, workerToken: worker.token };
}

/**
 * The worker credential: --worker-token, --worker-token-file, OPENDUCK_WORKER_TOKEN, else the
 * repository's worker-token file, created (mode 0600) when missing so one machine needs no setup.
 */
async function resolveWorkerToken(options: AuthOptions): Promise<{ token: string; file: string | null }> {
  if (options.workerToken) return { token: options.workerToken, file: null };
  if (options.workerTokenFile) {
    const token = await readTokenFile(options.workerTokenFile);
    if (!token) throw new InvalidArgumentError(`worker token file ${options.workerTokenFile} is missing or empty`);
    return { token, file: options.workerTokenFile };
  }
  if (process.env.OPENDUCK_WORKER_TOKEN) return { token: process.env.OPENDUCK_WORKER_TOKEN, file: null };
  if (!options.repo) throw new InvalidArgumentError('no worker credential: pass --worker-token-file or --worker-token, or set OPENDUCK_WORKER_TOKEN');
  const file = workerTokenFilePath(options.repo);
  return { token: await loadOrCreateTokenFile(file), file };
}

async function insecure(options: AuthOptions): Promise<{ policy: null; listen: string }> {
  const listen = await loopbackListenAddress(options.listen);
  options.warn?.('WARNING: authentication is off (--insecure-no-auth); anyone who can reach this port can run SQL');
  return { policy: null, listen };
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
  /**
   * Caps this process's data memory (see limits.ts), so that no query can grow it past this.
   * The CLI always passes one (default 2GB); a script embedding the server chooses.
   */
  maxMemory?: string;
  maxQueue?: number;
  maxConcurrency?: number;
  heartbeatIntervalMs?: number;
  /** A result stream whose client reads nothing for this long is cancelled (default 30 s). */
  stallTimeoutMs?: number;
  log?: (line: string) => void;
  version?: string;
}

export interface RunningServe {
  endpoint: string;
  gateway: RunningGateway;
  engine: WorkerEngine;
  tokenFile: string | null;
  workerTokenFile: string | null;
  stop(graceMs?: number): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  await checkMemoryLimit(options.memoryLimit, '--memory-limit');
  if (options.maxMemory) await capMemory(options.maxMemory, options.memoryLimit, options.warn);
  const auth = await resolveGatewayAuth(options);
  const gateway = await startGateway({
    listen: auth.listen,
    policy: auth.policy,
    workerToken: auth.workerToken,
    maxQueue: options.maxQueue,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    stallTimeoutMs: options.stallTimeoutMs,
    log: options.log,
    version: options.version,
  });
  // The worker lives in this process and the gateway calls it directly: no loopback hop.
  const engine = new WorkerEngine(options.repo, 'local', { memoryLimit: options.memoryLimit, maxMemory: options.maxMemory, tempDirectory: spillDirectory(options.repo) });
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
    workerTokenFile: auth.workerTokenFile,
    async stop(graceMs = 10_000) {
      // Draining: the gateway stops taking calls and lets running ones finish, then the engine closes.
      await gateway.stop(graceMs);
      await engine.close();
    },
  };
}

/** Smaller caps leave too little room to run a server at all. */
const MIN_MAX_MEMORY = 512e6;

/**
 * Checks --max-memory against --memory-limit and caps this process's data memory; a platform
 * that cannot enforce the cap gets a warning, not a refusal to serve.
 */
export async function capMemory(maxMemory: string, memoryLimit: string | undefined, warn?: (line: string) => void): Promise<void> {
  const cap = parseByteSize(maxMemory, '--max-memory');
  if (cap < MIN_MAX_MEMORY) throw new InvalidArgumentError(`--max-memory ${maxMemory} is too small: a server needs at least 512MB`);
  // DuckDB also takes forms such as "80%"; those are not compared.
  const perInstance = memoryLimit && /^\s*[\d.]+\s*[A-Za-z]*\s*$/.test(memoryLimit) ? parseByteSize(memoryLimit, '--memory-limit') : 0;
  if (perInstance >= cap) throw new InvalidArgumentError(`--max-memory ${maxMemory} must be larger than --memory-limit ${memoryLimit}`);
  const notEnforced = await capProcessMemory(cap);
  if (notEnforced) warn?.(`WARNING: --max-memory is not enforced: ${notEnforced}`);
}
