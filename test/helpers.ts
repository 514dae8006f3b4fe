import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { Repository } from '../core/repository.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(PROJECT_ROOT, 'bin', 'run.js');

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh directory, removed when the test file ends. */
export async function tempDir(prefix = 'openduck-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export async function tempRepository(): Promise<Repository> {
  return Repository.init(join(await tempDir(), '.openduck'));
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a subprocess, as a user would. */
export async function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    cwd: options.cwd,
    env: { OPENDUCK_REPO: '', ...options.env },
    input: options.input,
    reject: false,
    stdin: options.input === undefined ? 'ignore' : undefined,
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function spawnCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): ResultPromise {
  return execa('node', [BIN, ...args], { cwd: options.cwd, env: { OPENDUCK_REPO: '', ...options.env }, reject: false, stdin: 'ignore' });
}

/** A user-facing error: exactly one line on stderr, no stack trace, non-zero exit. */
export function expectOneLineError(r: CliResult): string {
  if (r.exitCode === 0) throw new Error(`expected failure, got exit 0: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got:\n${r.stderr}`);
  if (/^\s+at /m.test(r.stderr)) throw new Error(`stack trace on stderr:\n${r.stderr}`);
  return lines[0]!;
}

/** A fresh repository with database `db`, driven through the CLI from its folder. */
export async function cliRepository(db = 'shop'): Promise<{ dir: string; run: (...args: string[]) => Promise<CliResult>; runWith: (env: Record<string, string>, ...args: string[]) => Promise<CliResult> }> {
  const dir = await tempDir();
  const runWith = (env: Record<string, string>, ...args: string[]) => cli(args, { cwd: dir, env });
  const run = (...args: string[]) => runWith({}, ...args);
  for (const args of [['init'], ['db', 'create', db]]) {
    const r = await run(...args);
    if (r.exitCode !== 0) throw new Error(`openduck ${args.join(' ')} failed: ${r.stderr}`);
  }
  return { dir, run, runWith };
}
