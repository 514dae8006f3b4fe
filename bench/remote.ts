/**
 * The remote scenarios: a table in a temporary repository, snapshotted, served by `openduck serve`
 * (a gateway and one worker) running as a child process, and read by clients over loopback gRPC.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, createSnapshot, parseRef, query, Repository, resolveRef } from '../index.js';
import { materializeSnapshot } from '../core/snapshot-cache.js';
import type { RemoteOptions } from './options.js';
import { remoteScenarios } from './scenarios/index.js';
import { startServeProcess, startSplitProcesses, type ServeProcess } from './server-process.js';
import { rowsLabel } from './table.js';
import { timed } from './timing.js';
import type { Measurement, RemoteFixture, TargetCheck } from './types.js';

const DB = 'remote';
const TABLE = 't';
/** Enough for every remote scenario at once (32 latency clients) with room to spare. */
const SERVER_LIMITS = { maxConcurrency: 64, maxQueue: 256 };

/** The workload of docs/notes: id BIGINT, v DOUBLE, k INTEGER, s VARCHAR of 11 (poorly compressible) bytes. */
export function remoteTableSql(rows: number): string {
  return `CREATE TABLE ${TABLE} AS SELECT i AS id, random() AS v, (i % 1000)::INTEGER AS k, substr(md5(i::VARCHAR), 1, 11) AS s FROM range(${rows}) r(i)`;
}

export async function buildRemoteFixture(scratchDir: string, rows: number): Promise<RemoteFixture> {
  const dir = join(scratchDir, 'remote');
  await mkdir(dir, { recursive: true });
  const repoDir = join(dir, '.openduck');
  const repo = await Repository.init(repoDir);
  try {
    await createDatabase(repo, DB);
    const build = await timed(() => query(repo, DB, remoteTableSql(rows)));
    await createSnapshot(repo, DB, { message: 'bench: remote' });
    // Materialized once here, so no timed run pays for assembling the file.
    const resolved = await resolveRef(repo, parseRef(`${DB}@main`));
    const snapshotFile = await materializeSnapshot(repo, resolved.snapshot);
    const { size } = await stat(snapshotFile);
    return { label: rowsLabel(rows), repoDir, db: DB, table: TABLE, rows, snapshotFile, fileBytes: size, buildSeconds: build.seconds, scratchDir: dir };
  } finally {
    // The server process opens the repository itself.
    await repo.close();
  }
}

export interface RemoteOutcome {
  fixture: RemoteFixture;
  measurements: Measurement[];
  checks: TargetCheck[];
}

export async function benchmarkRemote(scratchDir: string, options: RemoteOptions, progress: (message: string) => void): Promise<RemoteOutcome> {
  progress(`remote: building table ${TABLE} (${options.rows.toLocaleString('en-US')} rows) and its snapshot`);
  const fixture = await buildRemoteFixture(scratchDir, options.rows);
  const startServer = (kind: 'serve' | 'split') => (kind === 'serve' ? startServeProcess : startSplitProcesses)(fixture.repoDir, SERVER_LIMITS);
  let server: ServeProcess | null = null;
  try {
    progress(`remote: snapshot file is ${(fixture.fileBytes / (1 << 20)).toFixed(1)} MiB; starting openduck serve`);
    server = await startServer('serve');
    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    for (const scenario of remoteScenarios) {
      const result = await scenario.run({ fixture, options, server, startServer, progress });
      measurements.push(...result.measurements);
      checks.push(...result.checks);
    }
    return { fixture, measurements, checks };
  } finally {
    await server?.stop();
    await rm(fixture.scratchDir, { recursive: true, force: true });
  }
}
