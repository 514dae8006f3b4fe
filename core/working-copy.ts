/**
 * A database's working copy: one DuckDB file that SQL writes to, plus a small state file saying
 * which branch it is on and which snapshot it was made from (its base).
 *
 * Operations that move the working copy (checkout, restore, and the commit step of a seal) first
 * record their intent in the state file. If the process dies halfway, the next writer finds the
 * intent and finishes it: when the target snapshot exists, the file is brought to exactly that
 * snapshot (only differing blocks are rewritten); when it does not, the commit never happened and
 * the intent is dropped. Either way no committed data is lost and the file is never left torn.
 */
import { mkdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { applyBlockMap, BlockReader, scanChangedChunks, type ApplyResult } from './blocks.js';
import type { BlockMap } from './format/block-map.js';
import { closeDuckDBSession, openDuckDBSession } from './duckdb-session.js';
import { ConflictError, NotFoundError } from './errors.js';
import { openDuckDBFile } from './format/duckdb-file.js';
import { writeFileAtomic } from './fs-util.js';
import { shortId } from './hash.js';
import { acquireLeases, releaseAll, type WriteLease } from './lease.js';
import type { Repository } from './repository.js';
import type { SnapshotRow } from './store/metadata-store.js';
import type { ProgressSink } from './progress.js';

export interface WorkingCopyState {
  branch: string;
  base: string;
  /** An interrupted move to `target` on `branch`, finished or dropped by recovery. */
  move?: { branch: string; target: string };
  /** The file's size and mtime when it was last known to equal `base`; see `stampClean`. */
  stamp?: FileStamp;
}

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * How far back a clean file's mtime is set. Any later write sets mtime to the current time, so a
 * file whose mtime still equals the stamp has not been written since: no scan is needed to know
 * it is clean (git's index does the same with its racy-clean rule).
 */
const STAMP_AGE_MS = 3_600_000;

export class WorkingCopy {
  constructor(
    readonly repo: Repository,
    readonly db: string,
  ) {}

  get dir(): string {
    return this.repo.workdir(this.db);
  }

  get path(): string {
    return join(this.dir, `${this.db}.duckdb`);
  }

  get walPath(): string {
    return `${this.path}.wal`;
  }

  private get statePath(): string {
    return join(this.dir, 'state.json');
  }

  async readState(): Promise<WorkingCopyState | null> {
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as WorkingCopyState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async writeState(state: WorkingCopyState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.statePath, JSON.stringify(state, null, 2) + '\n');
  }

  /** The branch the working copy is on, recreating a missing working copy on the default branch. */
  async currentBranch(): Promise<string> {
    const state = await this.readState();
    if (state) return state.move?.branch ?? state.branch;
    const database = await this.repo.metadata.getDatabase(this.db);
    if (!database) throw new NotFoundError('database', this.db);
    return database.defaultBranch;
  }

  /** Folds a leftover WAL into the file, so the file alone is the content. */
  async checkpoint(): Promise<void> {
    const wal = await stat(this.walPath).catch(() => null);
    if (!wal) return;
    const session = await openDuckDBSession(this.path, this.db, false);
    await closeDuckDBSession(session, true);
  }

  /**
   * Marks the file as known to equal the state's base: moves its mtime an hour back and returns
   * size and mtime for the state file. Call only while the file is known to hold `base`.
   */
  async stampClean(): Promise<FileStamp> {
    const past = new Date(Date.now() - STAMP_AGE_MS);
    await utimes(this.path, past, past);
    const s = await stat(this.path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  }

  /** True when the file is untouched since `stamp` was taken, so it still equals the base. */
  async matchesStamp(stamp: FileStamp | undefined): Promise<boolean> {
    if (!stamp || (await stat(this.walPath).catch(() => null))) return false;
    const s = await stat(this.path).catch(() => null);
    return !!s && s.size === stamp.size && s.mtimeMs === stamp.mtimeMs;
  }

  /** Whether the file differs from `base`. Call after checkpoint(). */
  async isDirty(base: SnapshotRow, stamp?: FileStamp): Promise<boolean> {
    if (await this.matchesStamp(stamp)) return false;
    const map = await this.repo.blockMap(base.blockMap);
    const { handle, layout } = await openDuckDBFile(this.path);
    try {
      if (layout.fileSize !== map.fileSize) return true;
      for await (const _ of scanChangedChunks(handle, layout, map)) return true;
      return false;
    } finally {
      await handle.close();
    }
  }

  /**
   * Rewrites the file to hold `target`'s content; only differing chunks are written. `holds` is
   * the snapshot the file is known to equal (found clean just before), which spares reading the
   * file; without it the file is scanned.
   */
  async apply(target: SnapshotRow, holds?: SnapshotRow, progress?: ProgressSink): Promise<ApplyResult & { stamp: FileStamp }> {
    const map = await this.repo.blockMap(target.blockMap);
    await mkdir(this.dir, { recursive: true });
    await rm(this.walPath, { force: true });
    const exists = !!(await stat(this.path).catch(() => null));
    const from: 'fresh' | 'scan' | BlockMap = !exists ? 'fresh' : holds ? await this.repo.blockMap(holds.blockMap) : 'scan';
    const applied = await applyBlockMap(this.path, map, new BlockReader(this.repo.objects), from, progress);
    return { ...applied, stamp: await this.stampClean() };
  }

  /**
   * Finishes or drops an interrupted move, and rebuilds a missing working copy. Call while
   * holding the branch's lease. Returns the settled state.
   */
  async recover(): Promise<WorkingCopyState> {
    let state = await this.readState();
    if (!state) {
      const database = await this.repo.metadata.getDatabase(this.db);
      if (!database) throw new NotFoundError('database', this.db);
      const branch = await this.repo.metadata.getBranch(this.db, database.defaultBranch);
      if (!branch) throw new NotFoundError('branch', `${this.db}@${database.defaultBranch}`);
      state = { branch: branch.name, base: branch.head, move: { branch: branch.name, target: branch.head } };
    }
    if (state.move) {
      const target = await this.repo.metadata.getSnapshot(this.db, state.move.target);
      if (target) {
        const { stamp } = await this.apply(target);
        state = { branch: state.move.branch, base: target.id, stamp };
      } else {
        state = { branch: state.branch, base: state.base };
      }
      await this.writeState(state);
    }
    return state;
  }
}

/** A working copy held for writing: the lease on its branch (and any others asked for) is taken. */
export interface LockedWorkingCopy {
  wc: WorkingCopy;
  state: WorkingCopyState;
  leases: WriteLease[];
  /** The lease on the working copy's own branch. */
  lease: WriteLease;
  release(): Promise<void>;
}

/**
 * Takes the write lease on the working copy's branch (plus `alsoLock` branches), recovers any
 * interrupted operation, and checks that the working copy still sits on its branch head. A branch
 * head that moved elsewhere is followed when the working copy is clean.
 */
export async function lockWorkingCopy(repo: Repository, db: string, purpose: string, alsoLock: string[] = []): Promise<LockedWorkingCopy> {
  const wc = new WorkingCopy(repo, db);
  for (let attempt = 0; ; attempt++) {
    const branch = await wc.currentBranch();
    const leases = await acquireLeases(repo.metadata, db, [branch, ...alsoLock], { purpose });
    try {
      // A checkout may have switched branches while we waited for the lease.
      if ((await wc.currentBranch()) !== branch) {
        if (attempt < 3) {
          await releaseAll(leases);
          continue;
        }
        throw new ConflictError(`${db}`, `working copy of ${db} keeps switching branches; try again`);
      }
      let state = await wc.recover();
      const head = await repo.metadata.getBranch(db, state.branch);
      if (!head) throw new NotFoundError('branch', `${db}@${state.branch}`, 'the working copy is on a branch that no longer exists');
      if (head.head !== state.base) {
        await wc.checkpoint();
        // gc may have expired the base since (another folder moved the branch on and trimmed
        // history); a file untouched since its clean stamp still holds it and can follow.
        const base = await repo.metadata.getSnapshot(db, state.base);
        if (base ? await wc.isDirty(base, state.stamp) : !(await wc.matchesStamp(state.stamp))) {
          throw new ConflictError(
            `${db}@${state.branch}`,
            `${db}@${state.branch} moved to ${shortId(head.head)} but the working copy, made from ${shortId(state.base)}, has unsnapshotted changes`,
          );
        }
        state = { branch: state.branch, base: head.head, move: { branch: state.branch, target: head.head } };
        await wc.writeState(state);
        state = await wc.recover();
      }
      const lease = leases.find((l) => l.branch === state.branch)!;
      return { wc, state, leases, lease, release: () => releaseAll(leases) };
    } catch (err) {
      await releaseAll(leases);
      throw err;
    }
  }
}
