/**
 * OpenDuck server processes (`openduck serve`, or a gateway and a worker apart) as children of the
 * bench, and the child runs of remote-child.js, for benchmarks where process separation matters:
 * each process's time and peak memory are its own.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { peakRssBytes } from './proc.js';
import type { ChildReport, Job } from './remote-child.js';

/** dist/bench/*.js → the project root. */
const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'run.js');
const CHILD = join(import.meta.dirname, 'remote-child.js');

export interface ServerLimits {
  maxConcurrency: number;
  maxQueue: number;
}

/** One running `openduck …` server process. */
export interface OpenDuckProcess {
  /** What it printed after "listening on". */
  endpoint: string;
  pid: number;
  /** VmHWM of the process so far. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

/** A running service clients can call: `serve`, or a gateway with one worker. */
export interface ServeProcess {
  endpoint: string;
  token: string;
  /** The process clients talk to; with `serve` it runs the worker too. */
  gateway: OpenDuckProcess;
  /** The worker's own process, when it runs apart from the gateway. */
  worker: OpenDuckProcess | null;
  /** VmHWM of the gateway process so far (gateway + worker for `serve`). */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

async function startOpenDuck(args: string[]): Promise<OpenDuckProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENDUCK_TOKEN: '', OPENDUCK_REPO: '' } });
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`openduck ${args[0]} did not report "listening on" within 60 s:\n${output}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolveEndpoint(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`openduck ${args[0]} exited with ${code}:\n${output}`));
    });
  });
  const pid = child.pid!;
  return {
    endpoint,
    pid,
    peakRssBytes: () => peakRssBytes(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function repositoryToken(repoDir: string): Promise<string> {
  return (await readFile(join(repoDir, 'server', 'token'), 'utf8')).trim();
}

/** `openduck serve`: a gateway and one worker in one process. */
export async function startServeProcess(repoDir: string, limits: ServerLimits): Promise<ServeProcess> {
  const server = await startOpenDuck(['serve', '--repo', repoDir, '--listen', '127.0.0.1:0', '--max-concurrency', String(limits.maxConcurrency), '--max-queue', String(limits.maxQueue)]);
  return {
    endpoint: server.endpoint,
    token: await repositoryToken(repoDir),
    gateway: server,
    worker: null,
    peakRssBytes: () => server.peakRssBytes(),
    stop: () => server.stop(),
  };
}

/** `openduck gateway` and `openduck worker` as two processes, for the gateway's own memory. */
export async function startSplitProcesses(repoDir: string, limits: ServerLimits): Promise<ServeProcess> {
  const gateway = await startOpenDuck(['gateway', '--repo', repoDir, '--listen', '127.0.0.1:0', '--max-queue', String(limits.maxQueue)]);
  let worker: OpenDuckProcess;
  try {
    worker = await startOpenDuck(['worker', '--repo', repoDir, '--gateway', gateway.endpoint, '--max-concurrency', String(limits.maxConcurrency)]);
  } catch (err) {
    await gateway.stop();
    throw err;
  }
  return {
    endpoint: gateway.endpoint,
    token: await repositoryToken(repoDir),
    gateway,
    worker,
    peakRssBytes: () => gateway.peakRssBytes(),
    async stop() {
      await gateway.stop();
      await worker.stop();
    },
  };
}

/** Runs one job of remote-child.js in a fresh Node process and returns its report. */
export function runChild(job: Job): Promise<ChildReport> {
  return new Promise((resolveReport, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      if (code === 0 && line) resolveReport(JSON.parse(line) as ChildReport);
      else reject(new Error(`${job.kind} child exited with ${code}:\n${stderr}`));
    });
  });
}
