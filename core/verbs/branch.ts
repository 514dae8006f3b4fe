import { ConflictError, DirtyWorkingCopyError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { shortId } from '../hash.js';
import { reachable } from '../history.js';
import { validateName, validateNewName } from '../names.js';
import { mustGetSnapshot, resolveRefIn } from '../refs.js';
import { mustHaveDatabase } from './common.js';
import type { Repository } from '../repository.js';
import type { BranchRow } from '../store/metadata-store.js';
import type { ProgressSink } from '../progress.js';
import { lockWorkingCopy, WorkingCopy } from '../working-copy.js';

/** Creating a branch writes one metadata row and copies nothing. `from` is any ref within db (default HEAD). */
export async function createBranch(repo: Repository, db: string, name: string, from?: string): Promise<BranchRow> {
  await mustHaveDatabase(repo, db);
  validateNewName('branch', name);
  const head = (await resolveRefIn(repo, db, from)).snapshot.id;
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

export interface DeletedBranch {
  db: string;
  name: string;
  head: string;
  /** Snapshots that no other branch or tag reaches any more (gc may reclaim them). */
  unreachable: number;
}

/**
 * Deletes a branch other than the working copy's. Like `git branch -d`, refuses when that would
 * leave snapshots that no other branch or tag reaches, unless forced.
 */
export async function deleteBranch(repo: Repository, db: string, name: string, options: { force?: boolean } = {}): Promise<DeletedBranch> {
  await mustHaveDatabase(repo, db);
  validateName('branch', name);
  const branch = await repo.metadata.getBranch(db, name);
  if (!branch) throw new NotFoundError('branch', `${db}@${name}`);
  if ((await new WorkingCopy(repo, db).currentBranch()) === name) {
    throw new ConflictError(`${db}@${name}`, `cannot delete branch ${db}@${name}: it is the working copy's current branch (checkout another first)`);
  }
  const unreachable = await onlyReachableFrom(repo, db, name, branch.head);
  if (unreachable > 0 && !options.force) {
    const them = unreachable === 1 ? '1 snapshot' : `${unreachable} snapshots`;
    throw new ConflictError(
      `${db}@${name}`,
      `deleting branch ${db}@${name} would leave ${them} that no other branch or tag reaches; pass --force to delete it anyway, or tag ${shortId(branch.head)} first`,
    );
  }
  await repo.metadata.deleteBranch(db, name);
  return { db, name, head: branch.head, unreachable };
}

/** How many snapshots `head` reaches that no other branch and no tag does. */
async function onlyReachableFrom(repo: Repository, db: string, branch: string, head: string): Promise<number> {
  const byId = new Map((await repo.metadata.listSnapshots(db)).map((s) => [s.id, s]));
  const others = [
    ...(await repo.metadata.listBranches(db)).filter((b) => b.name !== branch).map((b) => b.head),
    ...(await repo.metadata.listTags(db)).map((t) => t.snapshot),
  ];
  const kept = reachable(byId, others);
  let count = 0;
  for (const id of reachable(byId, [head]).keys()) if (!kept.has(id)) count++;
  return count;
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
 * Switches the working copy to another branch (`ref` is a branch, `DB@BRANCH` or HEAD), rewriting
 * only the blocks that differ. Switching to the branch it is already on is a no-op that keeps
 * unsnapshotted changes; with --force it resets the working copy to the branch head, rebuilding it
 * when it is missing or damaged. Otherwise it refuses when there are changes, unless forced (which
 * discards them).
 */
export async function checkout(
  repo: Repository,
  db: string,
  ref: string,
  options: { force?: boolean; onProgress?: ProgressSink } = {},
): Promise<CheckoutResult> {
  const resolved = await resolveRefIn(repo, db, ref);
  if (resolved.kind !== 'branch' || resolved.ancestry > 0) {
    const what = resolved.kind === 'tag' ? 'a tag' : resolved.kind === 'id' ? 'a snapshot id' : 'a snapshot in the history of a branch';
    throw new InvalidArgumentError(
      `checkout moves the working copy to a branch, and ${resolved.label} is ${what}; start a branch there with openduck branch create ${db} NAME --from ${resolved.label}`,
    );
  }
  const branch = resolved.name;
  // Checking out is how a working copy comes to a folder that has none (a joined repository, say).
  const absent = !(await new WorkingCopy(repo, db).present());
  const locked = await lockWorkingCopy(repo, db, 'openduck checkout', { alsoLock: [branch], mode: options.force || absent ? 'repair' : 'write' });
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
