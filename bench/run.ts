/**
 * `npm run bench`: builds databases of a few sizes in a temporary folder, runs every scenario
 * against each, then the remote scenarios (bench/remote.ts) against an `openduck serve` child
 * process, prints a table to stdout and writes bench/results.json. Progress goes to stderr so
 * stdout holds only the report. Needs the compiled library: run `npm run build` first.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureCopy } from './copy-baseline.js';
import { buildFixture, measureBytesPerRow, rowsFor } from './fixture.js';
import { benchmarkRemote } from './remote.js';
import { benchmarkCliStartup } from './cli-startup.js';
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options.js';
import { databaseReport, machineInfo, summarize, type BenchResults, type DatabaseReport } from './results.js';
import { scenarios } from './scenarios/index.js';
import { formatBytes, formatReport } from './table.js';
import type { DatabaseSize, Measurement, TargetCheck } from './types.js';

/** dist/bench/run.js → bench/results.json at the project root, next to the sources. */
const RESULTS_PATH = resolve(import.meta.dirname, '..', '..', 'bench', 'results.json');

const startedAt = performance.now();

function elapsedSeconds(): number {
  return (performance.now() - startedAt) / 1000;
}

function progress(message: string): void {
  process.stderr.write(`[${elapsedSeconds().toFixed(1).padStart(6)} s] ${message}\n`);
}

/** A killed run would otherwise leave up to a few GiB behind in the temp folder. */
function removeOnInterrupt(dir: string): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: removing ${dir}`);
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
}

interface SizeOutcome {
  database: DatabaseReport;
  measurements: Measurement[];
  checks: TargetCheck[];
}

async function benchmarkSize(scratchDir: string, size: DatabaseSize, bytesPerRow: number, options: BenchOptions): Promise<SizeOutcome> {
  progress(`${size.label}: building table t (${rowsFor(size, bytesPerRow).toLocaleString('en-US')} rows) and its base snapshot`);
  const fixture = await buildFixture(scratchDir, size, bytesPerRow);
  try {
    progress(`${size.label}: file is ${formatBytes(fixture.fileBytes)}; measuring cp ×${options.repeats}`);
    const copy = await measureCopy(fixture.workingCopyPath, fixture.scratchDir, options.repeats);
    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    for (const scenario of scenarios) {
      const result = await scenario.run({ fixture, copy, repeats: options.repeats, progress });
      measurements.push(...result.measurements);
      checks.push(...result.checks);
    }
    return { database: databaseReport(fixture, copy), measurements, checks };
  } finally {
    await fixture.repo.close();
    // Free the disk before the next, larger size is built.
    await rm(fixture.scratchDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseOptions(args, process.env);
  const date = new Date().toISOString();
  const scratchDir = await mkdtemp(join(tmpdir(), 'openduck-bench-'));
  removeOnInterrupt(scratchDir);
  progress(`${options.quick ? 'quick' : 'full'} run in ${scratchDir}`);
  try {
    const outcomes: SizeOutcome[] = [];
    if (options.storage) {
      progress('measuring file bytes per row');
      const bytesPerRow = await measureBytesPerRow(scratchDir);
      for (const size of options.sizes) outcomes.push(await benchmarkSize(scratchDir, size, bytesPerRow, options));
    }
    const remote = options.remoteScenarios ? await benchmarkRemote(scratchDir, options.remote, progress) : null;
    const cli = options.cliStartup ? await benchmarkCliStartup(scratchDir, options.cliRounds, progress) : null;

    const checks = [...outcomes.flatMap((o) => o.checks), ...(remote?.checks ?? []), ...(cli?.checks ?? [])];
    const results: BenchResults = {
      date,
      mode: options.quick ? 'quick' : 'full',
      durationSeconds: elapsedSeconds(),
      machine: machineInfo(),
      databases: outcomes.map((o) => o.database),
      ...(remote ? { remote: { label: remote.fixture.label, rows: remote.fixture.rows, fileBytes: remote.fixture.fileBytes, buildSeconds: remote.fixture.buildSeconds } } : {}),
      measurements: [...outcomes.flatMap((o) => o.measurements), ...(remote?.measurements ?? []), ...(cli?.measurements ?? [])],
      checks,
      summary: summarize(checks),
    };
    await writeFile(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${RESULTS_PATH}`);
    process.stdout.write(formatReport(results));
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const detail = err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`bench failed: ${detail}\n`);
  process.exitCode = 1;
});
