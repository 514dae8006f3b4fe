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
 * when the working copy has unsnapshotted changes, unless forced (which discards them).
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
  const locked = await lockWorkingCopy(repo, db, 'openduck checkout', [branch]);
  const { wc, state } = locked;
  try {
    const target = await repo.metadata.getBranch(db, branch);
    if (!target) throw new NotFoundError('branch', `${db}@${branch}`);
    await wc.checkpoint();
    const base = await mustGetSnapshot(repo, db, state.base);
    const dirty = await wc.isDirty(base, state.stamp);
    if (dirty && !options.force) throw new DirtyWorkingCopyError(db, `openduck checkout ${db} ${branch}`);
    if (state.branch === branch && !dirty) {
      return { db, branch, previousBranch: state.branch, snapshot: state.base, blocksRewritten: 0, bytesWritten: 0 };
    }
    await wc.writeState({ ...state, move: { branch, target: target.head } });
    const applied = await wc.apply(await mustGetSnapshot(repo, db, target.head), dirty ? undefined : base, options.onProgress);
    await wc.writeState({ branch, base: target.head, stamp: applied.stamp });
    return { db, branch, previousBranch: state.branch, snapshot: target.head, blocksRewritten: applied.chunksWritten, bytesWritten: applied.bytesWritten };
  } finally {
    await locked.release();
  }
}
