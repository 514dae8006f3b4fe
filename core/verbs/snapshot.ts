import { ConflictError, DamagedFileError, DamagedWorkingCopyError, DirtyWorkingCopyError, InvalidArgumentError } from '../errors.js';
import { shortId } from '../hash.js';
import { validateName } from '../names.js';
import { mustGetSnapshot, parseRefIn, resolveRef, resolveRefIn, type ResolvedRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { putSnapshotRecord, sealFile, type Sealed } from '../seal.js';
import { SNAPSHOT_RECORD_FORMAT, type SnapshotRecord } from '../format/snapshot-record.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { lockWorkingCopy, WorkingCopy, type WorkingCopyState } from '../working-copy.js';
import { blockMapLayout } from '../format/block-map.js';
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
  /** Default: defaultSnapshotMessage(db, branch). */
  message?: string;
  author?: string;
  onProgress?: ProgressSink;
}

/** What a snapshot made without a message records, so `log` still says what it was. */
export function defaultSnapshotMessage(db: string, branch: string): string {
  return `snapshot of ${db}@${branch} (no message given)`;
}

/** Seals the working copy of `db` into a snapshot on its current branch. */
export async function createSnapshot(repo: Repository, db: string, options: SnapshotCreateOptions = {}): Promise<SnapshotCreateResult> {
  validateName('database', db);
  const locked = await lockWorkingCopy(repo, db, 'openduck snapshot create');
  const { wc, state, file } = locked;
  try {
    const base = await mustGetSnapshot(repo, db, state.base);
    const unchanged = { created: false, id: base.id, parent: base.parents[0] ?? null, branch: state.branch, blocksChanged: 0, bytesWritten: 0 };
    if (await wc.matchesStamp(state.stamp)) return unchanged;
    let sealed: Sealed | null;
    try {
      sealed = await sealFile(repo, {
        db,
        handle: file!.handle,
        layout: file!.layout,
        path: wc.path,
        base,
        message: options.message || defaultSnapshotMessage(db, state.branch),
        author: options.author ?? repo.author(),
        onProgress: options.onProgress,
      });
    } catch (err) {
      if (err instanceof DamagedFileError) throw new DamagedWorkingCopyError(db, wc.path, err.detail, state.branch);
      throw err;
    }
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
  /** Set on the snapshot the working copy's branch points at: that branch's name (git's `HEAD -> main`). */
  currentBranch?: string;
}

/** Adds the branches and tags that point at each snapshot, and marks the working copy's branch. */
export async function decorate(repo: Repository, db: string, rows: SnapshotRow[]): Promise<SnapshotInfo[]> {
  const branches = await repo.metadata.listBranches(db);
  const tags = await repo.metadata.listTags(db);
  const current = await new WorkingCopy(repo, db).currentBranch();
  return rows.map((s) => {
    const here = branches.filter((b) => b.head === s.id).map((b) => b.name);
    const info: SnapshotInfo = { ...s, branches: here, tags: tags.filter((t) => t.snapshot === s.id).map((t) => t.name) };
    if (here.includes(current)) info.currentBranch = current;
    return info;
  });
}

export interface HistoryOptions {
  /** Where the history starts, within the database: BRANCH, TAG, ID or REV~N (`--branch`). */
  branch?: string;
  limit?: number;
}

/**
 * Where a history starts: `ref` is DB (HEAD, or `options.branch` when given) or DB@REF; giving
 * a ref in both places is refused rather than guessed.
 */
export async function resolveHistoryStart(repo: Repository, ref: string, options: HistoryOptions): Promise<ResolvedRef> {
  if (options.branch === undefined) return resolveRef(repo, ref);
  if (ref.includes('@')) throw new InvalidArgumentError(`give the ref once: ${ref}, or ${ref.split('@')[0]} with --branch ${options.branch}`);
  return resolveRefIn(repo, ref, options.branch);
}

/**
 * First-parent history, newest first, from `ref`: DB (the working copy's branch, or
 * `options.branch`) or DB@REF.
 */
export async function listSnapshots(repo: Repository, ref: string, options: HistoryOptions = {}): Promise<SnapshotInfo[]> {
  const start = await resolveHistoryStart(repo, ref, options);
  const db = start.db;
  const byId = new Map((await repo.metadata.listSnapshots(db)).map((s) => [s.id, s]));
  const out: SnapshotRow[] = [];
  for (let id: string | undefined = start.snapshot.id; id && out.length < (options.limit ?? Infinity); ) {
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

/** One snapshot in detail; `ref` is DB (HEAD) or DB@REF. */
export async function showSnapshot(repo: Repository, ref: string): Promise<SnapshotDetails> {
  const resolved = await resolveRef(repo, ref);
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
  const parsed = parseRefIn(db, ref);
  const locked = await lockWorkingCopy(repo, db, 'openduck snapshot restore', { mode: options.force ? 'repair' : 'write' });
  const { wc, state, file } = locked;
  try {
    const target: ResolvedRef = await resolveRef(repo, parsed);
    const head = await mustGetSnapshot(repo, db, state.base);
    // A file that is missing or too damaged to open counts as dirty: only --force replaces it.
    const dirty = file ? await wc.isDirty(head, state.stamp, file) : true;
    if (dirty && !options.force) throw new DirtyWorkingCopyError(db, `openduck snapshot restore ${db} ${ref}`);
    const moveTo = async (snapshot: SnapshotRow) =>
      file ? wc.apply(snapshot, file, dirty ? undefined : head, options.onProgress) : wc.rebuild(snapshot, options.onProgress);
    const unchanged = { restoredFrom: target.snapshot.id, branch: state.branch, blocksChanged: 0, bytesWritten: 0 };
    if (target.snapshot.blockMap === head.blockMap) {
      let blocksChanged = 0;
      if (dirty) {
        const applied = await moveTo(head);
        await wc.writeState({ branch: state.branch, base: state.base, stamp: applied.stamp });
        blocksChanged = applied.chunksWritten;
      }
      return { ...unchanged, created: false, id: head.id, parent: head.parents[0] ?? null, blocksChanged };
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
    const applied = await moveTo(row);
    await wc.writeState({ branch: state.branch, base: id, stamp: applied.stamp });
    return { ...unchanged, created: true, id, parent: head.id, blocksChanged: applied.chunksWritten };
  } finally {
    await locked.release();
  }
}
