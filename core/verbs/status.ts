/**
 * `status`: for each database, the branch its working copy is on and that branch's head, and
 * whether the working copy has unsnapshotted changes, and in which tables.
 *
 * It costs what `snapshot create` pays to find changed blocks: nothing when the clean stamp still
 * matches, else one small read per block plus the changed blocks. When something changed, the
 * changed blocks are matched to tables through DuckDB's storage listing (see core/diff/storage.ts);
 * no table's rows are compared. The working copy is read in place, under its branch's write lease,
 * and never written; a writer holding the lease makes the database `busy`, not an error.
 */
import { LeaseHeldError } from '../errors.js';
import type { Repository } from '../repository.js';
import { mustGetSnapshot } from '../refs.js';
import { materializeSnapshot } from '../snapshot-cache.js';
import { scanWorkingCopy, snapshotSide, withWorkingCopyLease, workingCopyInPlace } from '../diff/sides.js';
import { WorkingCopy } from '../working-copy.js';
import { mustHaveDatabase } from './common.js';
import { compareSides, type TableStatus } from './diff.js';
import { shortId } from '../hash.js';

/** A writer at work makes the database `busy`; status waits this long for it first. */
const STATUS_LEASE_WAIT_MS = 500;

export type WorkingCopyCondition = 'clean' | 'dirty' | 'busy' | 'interrupted';

export interface ObjectStatusEntry {
  kind: 'table' | 'view';
  schema: string;
  name: string;
  change: Exclude<TableStatus, 'unchanged'>;
}

/** Where a branch stands against its remote counterpart. */
export interface UpstreamStatus {
  remote: string;
  branch: string;
  ahead: number;
  behind: number;
}

export interface DatabaseStatus {
  db: string;
  branch: string;
  /** The branch's head snapshot. */
  head: string;
  /**
   * The snapshot the working copy was made from. It differs from `head` only when the head moved
   * without the working copy (sync will do that); the working copy follows on its next write.
   */
  base: string;
  workingCopy: WorkingCopyCondition;
  /** Who holds the branch's write lease, when `busy`. */
  writer: string | null;
  /** What changed since `base`: tables whose stored blocks or rows changed, and views. */
  changes: ObjectStatusEntry[];
  /** Chunks of the file that differ from the base (0 when clean). */
  blocksChanged: number;
  /** A WAL beside the file holds writes not yet in it (left by a killed write; the next write folds it in). */
  walPending: boolean;
  /** Ahead/behind a remote branch; null until sync exists. */
  upstream: UpstreamStatus | null;
}

/**
 * Where `db@branch` stands against the remote branch it tracks. There are no remotes yet (issue:
 * push/pull/clone), so there is nothing to compare with; sync fills this in.
 */
export async function upstreamStatus(repo: Repository, db: string, branch: string): Promise<UpstreamStatus | null> {
  void repo;
  void db;
  void branch;
  return null;
}

/** The status of one database, or of every database when `db` is omitted. */
export async function status(repo: Repository, db?: string): Promise<DatabaseStatus[]> {
  if (db !== undefined) {
    await mustHaveDatabase(repo, db);
    return [await databaseStatus(repo, db)];
  }
  const out: DatabaseStatus[] = [];
  for (const d of await repo.metadata.listDatabases()) out.push(await databaseStatus(repo, d.name));
  return out;
}

async function databaseStatus(repo: Repository, db: string): Promise<DatabaseStatus> {
  const wc = new WorkingCopy(repo, db);
  for (let attempt = 0; ; attempt++) {
    const state = await wc.readState();
    const branch = state?.move?.branch ?? state?.branch ?? (await wc.currentBranch());
    const head = (await repo.metadata.getBranch(db, branch))?.head ?? '';
    const entry: DatabaseStatus = {
      db,
      branch,
      head,
      base: state?.base ?? head,
      workingCopy: 'clean',
      writer: null,
      changes: [],
      blocksChanged: 0,
      walPending: false,
      upstream: await upstreamStatus(repo, db, branch),
    };
    if (state?.move) return { ...entry, workingCopy: 'interrupted' };
    // Never written since the database was created, or untouched since its last seal or checkout.
    if (!state || (await wc.matchesStamp(state.stamp))) return entry;

    const base = await mustGetSnapshot(repo, db, state.base);
    // Assembling the base can take a while the first time; not while holding the lease.
    await materializeSnapshot(repo, base);
    const baseSide = await snapshotSide(repo, { db, snapshot: base, kind: 'id', name: base.id, ancestry: 0, text: `${db}@${shortId(base.id)}`, label: `${db}@${shortId(base.id)}` });
    let found: DatabaseStatus | 'moved';
    try {
      found = await withWorkingCopyLease(
        wc,
        state.branch,
        'openduck status (reading the working copy)',
        async (now) => {
          if (now.base !== state.base) return 'moved' as const;
          const scan = await scanWorkingCopy(wc, baseSide.map);
          if (scan.clean) return entry;
          const compared = await compareSides(repo, baseSide, workingCopyInPlace(wc, now, scan), { blocksOnly: true });
          try {
            const changes: ObjectStatusEntry[] = [];
            for await (const t of compared.tables()) changes.push({ kind: 'table', schema: t.schema, name: t.name, change: t.status as ObjectStatusEntry['change'] });
            for (const v of compared.views) changes.push({ kind: 'view', schema: v.schema, name: v.name, change: v.status });
            return { ...entry, workingCopy: 'dirty' as const, changes, blocksChanged: compared.blocks.changed, walPending: scan.hasWal };
          } finally {
            await compared.close();
          }
        },
        STATUS_LEASE_WAIT_MS,
      );
    } catch (err) {
      if (err instanceof LeaseHeldError) return { ...entry, workingCopy: 'busy', writer: err.holder };
      throw err;
    }
    // A snapshot was created while we waited for the lease: look again.
    if (found !== 'moved' || attempt >= 3) return found === 'moved' ? entry : found;
  }
}
