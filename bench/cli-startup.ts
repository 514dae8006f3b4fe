/**
 * Everyday commands as whole processes, the way a user or a script pays for them: each command is
 * timed from spawn to exit against `node -e 0` in the same run, interleaved round by round so a
 * busy machine slows both alike. Targets (issue 13): read-only commands ≤ 2.5 × `node -e 0`, a
 * query on a small working copy ≤ 4 ×.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createBranch, createDatabase, createSnapshot, createTag, query, Repository } from '../index.js';
import { atMost } from './checks.js';
import { median, timed } from './timing.js';
import type { Measurement, TargetCheck } from './types.js';

/** dist/bench/*.js → the project root. */
const BIN = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'run.js');
const DATABASE = 'small repo';

interface Command {
  args: string[];
  /** Times `node -e 0` this command may take; none for commands measured without a target. */
  limit?: number;
}

const READ_ONLY = 2.5;
const QUERY = 4;

const COMMANDS: Command[] = [
  { args: ['--version'] },
  { args: ['log', 'shop'], limit: READ_ONLY },
  { args: ['branch', 'list', 'shop'], limit: READ_ONLY },
  { args: ['tag', 'list', 'shop'], limit: READ_ONLY },
  { args: ['db', 'list'], limit: READ_ONLY },
  { args: ['snapshot', 'list', 'shop'], limit: READ_ONLY },
  { args: ['snapshot', 'show', 'shop@main'], limit: READ_ONLY },
  { args: ['query', '--db', 'shop', 'SELECT count(*) FROM t'], limit: QUERY },
  { args: ['snapshot', 'create', 'shop', '-m', 'nothing changed'] },
];

/** A repository like a user's first hour: one database, a 1,000-row table, a few snapshots, a tag, a branch. */
async function buildRepository(scratchDir: string): Promise<string> {
  const dir = join(scratchDir, 'cli-startup');
  await mkdir(dir, { recursive: true });
  const repo = await Repository.init(join(dir, '.openduck'));
  try {
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS s FROM range(1000)');
    await createSnapshot(repo, 'shop', { message: 'load t' });
    await query(repo, 'shop', 'UPDATE t SET s = upper(s) WHERE id < 10');
    await createSnapshot(repo, 'shop', { message: 'shout' });
    await createTag(repo, 'shop', 'v1');
    await createBranch(repo, 'shop', 'experiment', 'main~1');
    return dir;
  } finally {
    await repo.close();
  }
}

function runProcess(args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OPENDUCK_REPO: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

export async function benchmarkCliStartup(
  scratchDir: string,
  rounds: number,
  progress: (message: string) => void,
): Promise<{ measurements: Measurement[]; checks: TargetCheck[] }> {
  progress('cli startup: building a small repository');
  const cwd = await buildRepository(scratchDir);
  const baseline: number[] = [];
  const samples = COMMANDS.map(() => [] as number[]);
  // One untimed round warms the page cache for node, oclif and DuckDB alike.
  for (let round = -1; round < rounds; round++) {
    const base = await timed(() => runProcess(['-e', '0'], cwd));
    if (round >= 0) baseline.push(base.seconds);
    for (const [i, command] of COMMANDS.entries()) {
      const t = await timed(() => runProcess([BIN, ...command.args], cwd));
      if (round >= 0) samples[i]!.push(t.seconds);
    }
  }
  const node = median(baseline);
  progress(`cli startup: node -e 0 takes ${(node * 1000).toFixed(0)} ms (median of ${rounds})`);
  const measurements: Measurement[] = [
    { scenario: 'cli startup', database: DATABASE, case: 'node -e 0', values: [{ name: 'median', value: node * 1000, unit: 'ms' }], samplesSeconds: { run: baseline } },
  ];
  const checks: TargetCheck[] = [];
  for (const [i, command] of COMMANDS.entries()) {
    const seconds = median(samples[i]!);
    const ratio = seconds / node;
    const label = `openduck ${command.args.join(' ')}`;
    measurements.push({
      scenario: 'cli startup',
      database: DATABASE,
      case: label,
      values: [
        { name: 'median', value: seconds * 1000, unit: 'ms' },
        { name: 'vs node -e 0', value: ratio, unit: 'ratio' },
      ],
      samplesSeconds: { run: samples[i]! },
    });
    if (command.limit !== undefined) {
      checks.push(atMost({ scenario: 'cli startup', database: DATABASE, case: label }, `process time ≤ ${command.limit} × node -e 0`, ratio, command.limit, 'ratio'));
    }
  }
  return { measurements, checks };
}
