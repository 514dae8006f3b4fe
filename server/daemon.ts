/**
 * `openduck daemon`: `serve` in the background. The repository records the daemon (pid,
 * endpoint, token file, log path) in server/daemon.json, so `status`, `stop` and `logs` find it,
 * and local clients find its endpoint and token without flags.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { AlreadyExistsError, NotFoundError, OpenDuckError } from '../core/errors.js';
import { isProcessAlive, writeFileAtomic } from '../core/fs-util.js';
import type { Repository } from '../core/repository.js';
import { packageRoot } from './package-root.js';
import { DEFAULT_LISTEN, tokenFilePath } from './serve.js';
import { checkMemoryLimit } from '../core/duckdb-session.js';

export interface DaemonRecord {
  pid: number;
  endpoint: string;
  startedAt: number;
  logFile: string;
  tokenFile: string | null;
}

export function daemonRecordPath(repo: Repository): string {
  return join(repo.serverDir, 'daemon.json');
}

export function daemonLogPath(repo: Repository): string {
  return join(repo.serverDir, 'serve.log');
}

/** The recorded daemon if its process is alive; a stale record (crashed daemon) is removed. */
export async function runningDaemon(repo: Repository): Promise<DaemonRecord | null> {
  let record: DaemonRecord;
  try {
    record = JSON.parse(await readFile(daemonRecordPath(repo), 'utf8')) as DaemonRecord;
  } catch {
    return null;
  }
  if (isProcessAlive(record.pid)) return record;
  await rm(daemonRecordPath(repo), { force: true });
  return null;
}

export interface DaemonStartOptions {
  listen?: string;
  token?: string;
  workerToken?: string;
  workerTokenFile?: string;
  insecureNoAuth?: boolean;
  maxQueue?: number;
  maxConcurrency?: number;
  /** DuckDB memory per database instance, as for serve's --memory-limit. */
  memoryLimit?: string;
  /** The cap on the daemon's data memory, as for serve's --max-memory. */
  maxMemory?: string;
  stallTimeoutMs?: number;
  /** How long to wait for "listening on". */
  timeoutMs?: number;
}

export async function startDaemon(repo: Repository, options: DaemonStartOptions = {}): Promise<DaemonRecord> {
  const existing = await runningDaemon(repo);
  if (existing) throw new AlreadyExistsError('daemon', `pid ${existing.pid} serving ${existing.endpoint}`);
  await checkMemoryLimit(options.memoryLimit, '--memory-limit');
  const logFile = daemonLogPath(repo);
  await mkdir(repo.serverDir, { recursive: true, mode: 0o700 });
  const log = await open(logFile, 'a', 0o600);
  const offset = (await log.stat()).size;
  const args = [join(packageRoot(), 'bin', 'run.js'), 'serve', '--repo', repo.root, '--listen', options.listen ?? DEFAULT_LISTEN];
  if (options.insecureNoAuth) args.push('--insecure-no-auth');
  if (options.maxQueue !== undefined) args.push('--max-queue', String(options.maxQueue));
  if (options.maxConcurrency !== undefined) args.push('--max-concurrency', String(options.maxConcurrency));
  if (options.memoryLimit !== undefined) args.push('--memory-limit', options.memoryLimit);
  if (options.maxMemory !== undefined) args.push('--max-memory', options.maxMemory);
  if (options.stallTimeoutMs !== undefined) args.push('--stall-timeout', String(options.stallTimeoutMs));
  if (options.workerTokenFile !== undefined) args.push('--worker-token-file', options.workerTokenFile);
  // Tokens go through the environment, never the command line (ps would show them).
  const env = { ...(options.token ? { OPENDUCK_TOKEN: options.token } : {}), ...(options.workerToken ? { OPENDUCK_WORKER_TOKEN: options.workerToken } : {}) };
  // The daemon writes straight to the log file descriptor, and nothing of it is tied to this
  // process's event loop, so `daemon start` can exit while the daemon runs on.
  const child = execa(process.execPath, args, {
    detached: true,
    cleanup: false,
    stdio: ['ignore', log.fd, log.fd] as unknown as ['ignore', 'inherit', 'inherit'],
    env,
    reject: false,
  });
  child.unref();
  void child.catch(() => undefined);
  await log.close();
  const pid = child.pid;
  if (!pid) throw new OpenDuckError('INTERNAL', 'the daemon process did not start');

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const text = await readFrom(logFile, offset);
    const listening = /listening on (\S+)/.exec(text);
    if (listening) {
      const record: DaemonRecord = {
        pid,
        endpoint: listening[1]!,
        startedAt: Date.now(),
        logFile,
        tokenFile: options.token || options.insecureNoAuth ? null : tokenFilePath(repo),
      };
      await writeFileAtomic(daemonRecordPath(repo), JSON.stringify(record, null, 2) + '\n', 0o600);
      return record;
    }
    if (!isProcessAlive(pid) || Date.now() > deadline) {
      if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      const lastLine = text.trim().split('\n').filter(Boolean).at(-1) ?? 'no output';
      throw new OpenDuckError('INTERNAL', `the daemon did not start: ${lastLine.replace(/^error: /, '')} (log: ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks the daemon to drain and stop (SIGTERM), waiting up to `waitMs` before killing it. */
export async function stopDaemon(repo: Repository, waitMs = 15_000): Promise<DaemonRecord> {
  const record = await runningDaemon(repo);
  if (!record) throw new NotFoundError('daemon', 'none is running for this repository');
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + waitMs;
  while (isProcessAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(record.pid)) process.kill(record.pid, 'SIGKILL');
  await rm(daemonRecordPath(repo), { force: true });
  return record;
}

async function readFrom(path: string, offset: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.max(0, size - offset));
    if (buf.length) await fh.read(buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Writes the log to `write`; with `follow`, keeps writing what is appended until `signal` aborts. */
export async function streamDaemonLog(repo: Repository, write: (text: string) => Promise<void>, follow: boolean, signal?: AbortSignal): Promise<void> {
  const path = daemonLogPath(repo);
  if (!(await stat(path).catch(() => null))) throw new NotFoundError('daemon log', path);
  let offset = 0;
  for (;;) {
    const text = await readFrom(path, offset);
    if (text) {
      await write(text);
      offset += Buffer.byteLength(text);
    }
    if (!follow || signal?.aborted) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
