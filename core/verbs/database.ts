import { mkdir, rm } from 'node:fs/promises';
import { closeDuckDBSession, openDuckDBSession } from '../duckdb-session.js';
import { AlreadyExistsError, InvalidArgumentError } from '../errors.js';
import { validateNewName } from '../names.js';
import { mustGetDatabase, sameNameOtherCase } from '../refs.js';
import type { Repository } from '../repository.js';
import { sealFile, type Sealed } from '../seal.js';
import { openDuckDBFile } from '../format/duckdb-file.js';
import type { DatabaseRow } from '../store/metadata-store.js';
import { lockWorkingCopy, WorkingCopy } from '../working-copy.js';

export const DEFAULT_BRANCH = 'main';

export interface CreatedDatabase {
  name: string;
  branch: string;
  snapshot: string;
}

/**
 * A new database starts with branch main at a first snapshot of an empty DuckDB file. A name that
 * differs from an existing one only in case is refused: DuckDB catalog names ignore case, and so
 * do some file systems the working copies live on.
 */
export async function createDatabase(repo: Repository, name: string): Promise<CreatedDatabase> {
  validateNewName('database', name);
  if (await repo.metadata.getDatabase(name)) throw new AlreadyExistsError('database', name);
  const other = await sameNameOtherCase(repo, name);
  if (other) throw new AlreadyExistsError('database', `${other} (database names ignore case, so ${name} would be the same database)`);
  const wc = new WorkingCopy(repo, name);
  // A state file is written only after the metadata commit, so a folder without one holds
  // leftovers of a create that died first; a folder with one is a working copy to keep.
  if (await wc.readState().catch(() => true)) {
    throw new AlreadyExistsError('working copy', `${wc.dir} (a database named ${name} was here; restore the repository metadata, or move the folder away)`);
  }
  await rm(wc.dir, { recursive: true, force: true });
  await mkdir(wc.dir, { recursive: true });
  const session = await openDuckDBSession(wc.path, name, false);
  await closeDuckDBSession(session, true);
  const { handle, layout } = await openDuckDBFile(wc.path);
  let sealed: Sealed | null;
  try {
    sealed = await sealFile(repo, { db: name, handle, layout, path: wc.path, base: null, message: `create database ${name}`, author: repo.author() });
  } finally {
    await handle.close();
  }
  if (!sealed) throw new Error('sealing a new database produced no snapshot');
  await repo.metadata.createDatabase({ name, defaultBranch: DEFAULT_BRANCH, createdAt: sealed.snapshot.createdAt }, sealed.snapshot, sealed.layer);
  await wc.writeState({ branch: DEFAULT_BRANCH, base: sealed.snapshot.id, stamp: await wc.stampClean() });
  return { name, branch: DEFAULT_BRANCH, snapshot: sealed.snapshot.id };
}

export interface DatabaseSummary extends DatabaseRow {
  branches: number;
  snapshots: number;
  currentBranch: string;
}

export async function listDatabases(repo: Repository): Promise<DatabaseSummary[]> {
  const out: DatabaseSummary[] = [];
  for (const d of await repo.metadata.listDatabases()) {
    out.push({
      ...d,
      branches: (await repo.metadata.listBranches(d.name)).length,
      snapshots: (await repo.metadata.listSnapshots(d.name)).length,
      currentBranch: await new WorkingCopy(repo, d.name).currentBranch(),
    });
  }
  return out;
}

/**
 * Drops the database's refs, history rows and working copy. Its objects stay until gc. Refuses
 * unless `force`, since the history goes too; a database that does not exist is NotFoundError first.
 */
export async function dropDatabase(repo: Repository, name: string, options: { force?: boolean } = {}): Promise<void> {
  await mustGetDatabase(repo, name);
  if (!options.force) throw new InvalidArgumentError(`dropping ${name} deletes its history; pass --force to confirm`);
  const locked = await lockWorkingCopy(repo, name, 'openduck db drop', { mode: 'drop' });
  try {
    await repo.metadata.dropDatabase(name);
    await rm(locked.wc.dir, { recursive: true, force: true });
  } finally {
    await locked.release().catch(() => undefined);
  }
}
