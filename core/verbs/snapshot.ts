import { ConflictError, DirtyWorkingCopyError, NotFoundError } from '../errors.js';
import { shortId } from '../hash.js';
import { validateName } from '../names.js';
import { mustGetSnapshot, parseRef, resolveRef, type ResolvedRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { putSnapshotRecord, sealFile } from '../seal.js';
import { SNAPSHOT_RECORD_FORMAT, type SnapshotRecord } from '../format/snapshot-record.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { lockWorkingCopy, WorkingCopy, type WorkingCopyState } from '../working-copy.js';
import { blockMapLayout } from '../format/block-map.js';
import { mustHaveDatabase } from './common.js';
import type { ProgressSink } from '../progress.js';

export interface SnapshotCreateResult {
  /** False when the working copy matched its base: nothing was written. */
  created: boolean;
  id: string;
  parent: string | null;
  branch: string;
  blocksChanged: number;
  bytesWritten: number;
}

export interface SnapshotCreateOptions {
  message?: string;
  author?: string;
  onProgress?: ProgressSink;
}

/** Seals the working copy of `db` into a snapshot on its current branch. */
export async function createSnapshot(repo: Repository, db: string, options: SnapshotCreateOptions = {}): Promise<SnapshotCreateResult> {
  validateName('database', db);
  const locked = await lockWorkingCopy(repo, db, 'openduck snapshot create');
  const { wc, state } = locked;
  try {
    await wc.checkpoint();
    const base = await mustGetSnapshot(repo, db, state.base);
    const unchanged = { created: false, id: base.id, parent: base.parents[0] ?? null, branch: state.branch, blocksChanged: 0, bytesWritten: 0 };
    if (await wc.matchesStamp(state.stamp)) return unchanged;
    const sealed = await sealFile(repo, {
      db,
      path: wc.path,
      base,
      message: options.message ?? '',
      author: options.author ?? repo.author(),
      onProgress: options.onProgress,
    });
    if (!sealed) {
      await wc.writeState({ branch: state.branch, base: state.base, stamp: await wc.stampClean() });
      return unchanged;
    }
    await wc.writeState({ ...state, move: { branch: state.branch, target: sealed.snapshot.id } });
    try {
      await repo.metadata.commitSnapshot({
        snapshot: sealed.snapshot,
        layer: sealed.layer,
        branch: state.branch,
        expectedHead: base.id,
        leaseToken: locked.lease.token,
      });
    } catch (err) {
      await settleFailedCommit(wc, state, err);
      throw err;
    }
    await wc.writeState({ branch: state.branch, base: sealed.snapshot.id, stamp: await wc.stampClean() });
    return {
      created: true,
      id: sealed.snapshot.id,
      parent: base.id,
      branch: state.branch,
      blocksChanged: sealed.snapshot.blocksChanged,
      bytesWritten: sealed.snapshot.bytesWritten,
    };
  } finally {
    await locked.release();
  }
}

/**
 * After a failed commit: a conflict certainly committed nothing, so the intent is dropped. Any
 * other failure (the metadata store became unreachable mid-commit) leaves it unknown whether the
 * commit landed, so the intent stays for the next writer, which checks whether its target exists.
 */
async function settleFailedCommit(wc: WorkingCopy, state: WorkingCopyState, err: unknown): Promise<void> {
  if (err instanceof ConflictError) await wc.writeState({ branch: state.branch, base: state.base });
}

export interface SnapshotInfo extends SnapshotRow {
  branches: string[];
  tags: string[];
}

async function decorate(repo: Repository, db: string, rows: SnapshotRow[]): Promise<SnapshotInfo[]> {
  const branches = await repo.metadata.listBranches(db);
  const tags = await repo.metadata.listTags(db);
  return rows.map((s) => ({
    ...s,
    branches: branches.filter((b) => b.head === s.id).map((b) => b.name),
    tags: tags.filter((t) => t.snapshot === s.id).map((t) => t.name),
  }));
}

/** First-parent history of a branch (default: the working copy's), newest first. */
export async function listSnapshots(repo: Repository, db: string, options: { branch?: string; limit?: number } = {}): Promise<SnapshotInfo[]> {
  await mustHaveDatabase(repo, db);
  const branchName = options.branch ?? (await new WorkingCopy(repo, db).currentBranch());
  validateName('branch', branchName);
  const branch = await repo.metadata.getBranch(db, branchName);
  if (!branch) throw new NotFoundError('branch', `${db}@${branchName}`);
  const byId = new Map((await repo.metadata.listSnapshots(db)).map((s) => [s.id, s]));
  const out: SnapshotRow[] = [];
  for (let id: string | undefined = branch.head; id && out.length < (options.limit ?? Infinity); ) {
    const s = byId.get(id);
    if (!s) break;
    out.push(s);
    id = s.parents[0];
  }
  return decorate(repo, db, out);
}

export interface SnapshotDetails extends SnapshotInfo {
  ref: string;
  blocks: number;
  layers: number;
  blockSize: number;
}

export async function showSnapshot(repo: Repository, ref: string): Promise<SnapshotDetails> {
  const parsed = parseRef(ref);
  const resolved = await resolveRef(repo, parsed, parsed.rev ? undefined : await new WorkingCopy(repo, parsed.db).currentBranch());
  const [info] = await decorate(repo, resolved.db, [resolved.snapshot]);
  const map = await repo.blockMap(resolved.snapshot.blockMap);
  return {
    ...info!,
    ref,
    blocks: blockMapLayout(map).chunkCount,
    layers: new Set(map.chunks.map((c) => c.layer)).size,
    blockSize: map.blockSize,
  };
}

export interface RestoreResult extends SnapshotCreateResult {
  restoredFrom: string;
}

/**
 * Points the current branch at REF's content as a new snapshot whose parent is the current head,
 * so no history is lost, and moves the working copy there.
 */
export async function restoreSnapshot(
  repo: Repository,
  db: string,
  ref: string,
  options: { force?: boolean; message?: string; onProgress?: ProgressSink } = {},
): Promise<RestoreResult> {
  validateName('database', db);
  const parsed = parseRef(ref.includes('@') ? ref : `${db}@${ref}`);
  if (parsed.db !== db) throw new NotFoundError('ref', ref, `it names database ${parsed.db}, not ${db}`);
  const locked = await lockWorkingCopy(repo, db, 'openduck snapshot restore');
  const { wc, state } = locked;
  try {
    const target: ResolvedRef = await resolveRef(repo, parsed, state.branch);
    const head = await mustGetSnapshot(repo, db, state.base);
    await wc.checkpoint();
    const dirty = await wc.isDirty(head, state.stamp);
    if (dirty && !options.force) throw new DirtyWorkingCopyError(db, `openduck snapshot restore ${db} ${ref}`);
    const unchanged = { restoredFrom: target.snapshot.id, branch: state.branch, blocksChanged: 0, bytesWritten: 0 };
    if (target.snapshot.blockMap === head.blockMap) {
      if (dirty) await wc.writeState({ branch: state.branch, base: state.base, stamp: (await wc.apply(head)).stamp });
      return { ...unchanged, created: false, id: head.id, parent: head.parents[0] ?? null };
    }
    const record: SnapshotRecord = {
      format: SNAPSHOT_RECORD_FORMAT,
      parents: [head.id],
      blockMap: target.snapshot.blockMap,
      message: options.message ?? `restore ${db}@${shortId(target.snapshot.id)}`,
      author: repo.author(),
      time: new Date().toISOString(),
      size: target.snapshot.sizeBytes,
    };
    const id = await putSnapshotRecord(repo, record);
    const row: SnapshotRow = {
      db,
      id,
      parents: record.parents,
      blockMap: record.blockMap,
      layer: null,
      message: record.message,
      author: record.author,
      createdAt: Date.parse(record.time),
      sizeBytes: record.size,
      blocksChanged: 0,
      bytesWritten: 0,
    };
    await wc.writeState({ ...state, move: { branch: state.branch, target: id } });
    try {
      await repo.metadata.commitSnapshot({ snapshot: row, layer: null, branch: state.branch, expectedHead: head.id, leaseToken: locked.lease.token });
    } catch (err) {
      await settleFailedCommit(wc, state, err);
      throw err;
    }
    const applied = await wc.apply(row, dirty ? undefined : head, options.onProgress);
    await wc.writeState({ branch: state.branch, base: id, stamp: applied.stamp });
    return { ...unchanged, created: true, id, parent: head.id, blocksChanged: applied.chunksWritten };
  } finally {
    await locked.release();
  }
}
