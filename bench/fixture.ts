/**
 * Building the databases the scenarios run against: one table of realistic, poorly compressible
 * rows (hashes, random doubles, md5 strings), sized to a target file size and snapshotted once as
 * the base of all later changes.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, createSnapshot, query, Repository } from '../index.js';
import { WorkingCopy } from '../core/working-copy.js';
import { timed } from './timing.js';
import type { DatabaseSize, Fixture } from './types.js';

export const BENCH_DB = 'bench';
/** Enough rows that DuckDB's fixed overhead (header, metadata blocks) is noise in the estimate. */
const CALIBRATION_ROWS = 1_000_000;

export function createTableSql(rows: number): string {
  return `CREATE TABLE t AS SELECT i AS id, hash(i) AS h, random() AS r, md5(i::VARCHAR) AS s, (i % 1000)::INT AS k FROM range(${rows}) r(i)`;
}

/**
 * Bytes of file per row, from a throwaway database. Measured rather than assumed because DuckDB's
 * compression (and so the row count behind a given file size) changes between versions.
 */
export async function measureBytesPerRow(scratchDir: string): Promise<number> {
  const dir = join(scratchDir, 'calibration');
  const repo = await Repository.init(join(dir, '.openduck'));
  try {
    await createDatabase(repo, BENCH_DB);
    await query(repo, BENCH_DB, createTableSql(CALIBRATION_ROWS));
    const { size } = await stat(new WorkingCopy(repo, BENCH_DB).path);
    return size / CALIBRATION_ROWS;
  } finally {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function rowsFor(size: DatabaseSize, bytesPerRow: number): number {
  return Math.max(1000, Math.round(size.targetBytes / bytesPerRow));
}

export async function buildFixture(scratchDir: string, size: DatabaseSize, bytesPerRow: number): Promise<Fixture> {
  const dir = join(scratchDir, `db-${size.targetBytes}`);
  await mkdir(dir, { recursive: true });
  const repo = await Repository.init(join(dir, '.openduck'));
  try {
    const rows = rowsFor(size, bytesPerRow);
    await createDatabase(repo, BENCH_DB);
    const build = await timed(() => query(repo, BENCH_DB, createTableSql(rows)));
    const workingCopyPath = new WorkingCopy(repo, BENCH_DB).path;
    const { size: fileBytes } = await stat(workingCopyPath);
    const base = await timed(() => createSnapshot(repo, BENCH_DB, { message: 'bench: base' }));
    return {
      size,
      repo,
      db: BENCH_DB,
      rows,
      fileBytes,
      workingCopyPath,
      scratchDir: dir,
      buildSeconds: build.seconds,
      baseSnapshot: { seconds: base.seconds, bytesWritten: base.result.bytesWritten, blocksChanged: base.result.blocksChanged },
    };
  } catch (err) {
    await repo.close();
    throw err;
  }
}

/** A clustered update of `fraction` of the rows: the lowest ids, so changes land in few row groups. */
export function clusteredUpdateSql(rows: number, fraction: number): string {
  return `UPDATE t SET r = r + 1 WHERE id < ${Math.max(1, Math.round(rows * fraction))}`;
}
