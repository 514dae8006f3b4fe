/** Real server processes on loopback for the tests: started from the CLI, found by their "listening on" line. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BIN } from '../helpers.js';

export interface ServerProcess {
  endpoint: string;
  port: number;
  pid: number;
  process: ResultPromise;
  output(): string;
  /** SIGTERM and wait; SIGKILL after `ms`. */
  stop(ms?: number): Promise<void>;
  kill(): Promise<void>;
}

const running = new Set<ServerProcess>();

export async function startServer(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const child = execa('node', [BIN, ...args], {
    cwd: options.cwd,
    env: { OPENDUCK_REPO: '', ...options.env },
    stdin: 'ignore',
    reject: false,
    all: true,
    buffer: false,
  });
  let text = '';
  child.all!.on('data', (d: Buffer) => (text += d.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" from openduck ${args.join(' ')}:\n${text}`)), 20_000);
    const onData = () => {
      const m = /listening on (\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        child.all!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.all!.on('data', onData);
    void child.then(() => {
      clearTimeout(timer);
      reject(new Error(`openduck ${args.join(' ')} exited:\n${text}`));
    });
  });
  const server: ServerProcess = {
    endpoint,
    port: Number(endpoint.split(':').at(-1)),
    pid: child.pid!,
    process: child,
    output: () => text,
    async stop(ms = 15_000) {
      running.delete(server);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      await child;
      clearTimeout(timer);
    },
    async kill() {
      running.delete(server);
      child.kill('SIGKILL');
      await child;
    },
  };
  running.add(server);
  return server;
}

/** `openduck serve` on a free loopback port over the repository in `dir`, and the client token it generated there. */
export async function startServeIn(dir: string, args: string[] = []): Promise<{ server: ServerProcess; token: string }> {
  const server = await startServer(['serve', '--listen', '127.0.0.1:0', ...args], { cwd: dir });
  return { server, token: (await readFile(join(dir, '.openduck', 'server', 'token'), 'utf8')).trim() };
}

/** Leftover servers from a failed test must not outlive the test file. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.kill()));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
