import { ConflictError, DirtyWorkingCopyError, NotFoundError } from '../errors.js';
import { validateName } from '../names.js';
import { mustGetSnapshot } from '../refs.js';
import { mustHaveDatabase, resolveWithin } from './common.js';
import type { Repository } from '../repository.js';
import type { BranchRow } from '../store/metadata-store.js';
import type { ProgressSink } from '../progress.js';
import { lockWorkingCopy, WorkingCopy } from '../working-copy.js';

/** Creating a branch writes one metadata row and copies nothing. */
export async function createBranch(repo: Repository, db: string, name: string, from?: string): Promise<BranchRow> {
  await mustHaveDatabase(repo, db);
  validateName('branch', name);
  const head = await resolveWithin(repo, db, from);
  const row: BranchRow = { db, name, head, createdAt: Date.now() };
  await repo.metadata.createBranch(row);
  return row;
}

export interface BranchInfo extends BranchRow {
  current: boolean;
}

export async function listBranches(repo: Repository, db: string): Promise<BranchInfo[]> {
  await mustHaveDatabase(repo, db);
  const current = await new WorkingCopy(repo, db).currentBranch();
  return (await repo.metadata.listBranches(db)).map((b) => ({ ...b, current: b.name === current }));
}

export async function deleteBranch(repo: Repository, db: string, name: string): Promise<void> {
  await mustHaveDatabase(repo, db);
  validateName('branch', name);
  if ((await new WorkingCopy(repo, db).currentBranch()) === name) {
    throw new ConflictError(`${db}@${name}`, `cannot delete branch ${db}@${name}: it is the working copy's current branch (checkout another first)`);
  }
  await repo.metadata.deleteBranch(db, name);
}

export interface CheckoutResult {
  db: string;
  branch: string;
  previousBranch: string;
  snapshot: string;
  blocksRewritten: number;
  bytesWritten: number;
}

/**
 * Switches the working copy to another branch, rewriting only the blocks that differ. Refuses
 * when the working copy has unsnapshotted changes, unless forced (which discards them). Checking
 * out the branch the working copy is already on keeps its changes; with --force it resets the
 * working copy to the branch head, rebuilding it when it is missing or damaged.
 */
export async function checkout(
  repo: Repository,
  db: string,
  branch: string,
  options: { force?: boolean; onProgress?: ProgressSink } = {},
): Promise<CheckoutResult> {
  await mustHaveDatabase(repo, db);
  validateName('branch', branch);
  if (!(await repo.metadata.getBranch(db, branch))) throw new NotFoundError('branch', `${db}@${branch}`);
  const locked = await lockWorkingCopy(repo, db, 'openduck checkout', { alsoLock: [branch], mode: options.force ? 'repair' : 'write' });
  const { wc, state, file } = locked;
  try {
    const target = await repo.metadata.getBranch(db, branch);
    if (!target) throw new NotFoundError('branch', `${db}@${branch}`);
    const unchanged = { db, branch, previousBranch: state.branch, snapshot: state.base, blocksRewritten: 0, bytesWritten: 0 };
    if (state.branch === branch && !options.force) return unchanged;
    const base = await mustGetSnapshot(repo, db, state.base);
    // A file that is missing or too damaged to open counts as dirty: only --force replaces it.
    const dirty = file ? await wc.isDirty(base, state.stamp, file) : true;
    if (dirty && !options.force) throw new DirtyWorkingCopyError(db, `openduck checkout ${db} ${branch}`);
    if (state.branch === branch && !dirty) return unchanged;
    await wc.writeState({ ...state, move: { branch, target: target.head } });
    const snapshot = await mustGetSnapshot(repo, db, target.head);
    const applied = file ? await wc.apply(snapshot, file, dirty ? undefined : base, options.onProgress) : await wc.rebuild(snapshot, options.onProgress);
    await wc.writeState({ branch, base: target.head, stamp: applied.stamp });
    return { ...unchanged, snapshot: target.head, blocksRewritten: applied.chunksWritten, bytesWritten: applied.bytesWritten };
  } finally {
    await locked.release();
  }
}
