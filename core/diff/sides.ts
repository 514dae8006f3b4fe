/**
 * The two things a diff compares: a committed snapshot, or a database's working copy.
 *
 * A snapshot is read from the snapshot cache, read-only, with no lease. The working copy is
 * another matter: a writer may be changing it, and DuckDB's file lock would make a writer fail
 * while we keep it open. So the working copy is read under its branch's write lease for as short
 * a time as possible, and never written:
 *
 * - clean (its clean stamp still matches, or no block differs from its base): the base snapshot's
 *   cached file stands in for it, and the lease is released at once;
 * - dirty: before taking the lease, the base's cached file is copied to a private file; under the
 *   lease, only the blocks that differ from the base (and a WAL, if one was left behind) are copied
 *   over it. The lease is held for the changed blocks, not for the diff.
 *
 * Each side also carries a block map describing its file chunk by chunk, so the caller can tell
 * which blocks differ between the two sides without reading either file.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { scanChangedChunks } from '../chunk-scan.js';
import { ConflictError, errorMessage } from '../errors.js';
import { chunkExtent, openDuckDBFile, type FileLayout } from '../format/duckdb-file.js';
import { stagingPath, writeFully } from '../fs-util.js';
import type { BlockMap, BlockRef } from '../format/block-map.js';
import { acquireLeases, releaseAll } from '../lease.js';
import { mustGetSnapshot, type ResolvedRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { materializeSnapshot } from '../snapshot-cache.js';
import { quoteIdentifier, quoteLiteral } from '../sql.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { WorkingCopy, type WorkingCopyState } from '../working-copy.js';

/** What one side of a diff is, for people and for JSON. */
export interface DiffSideInfo {
  /** As it would be written on the command line: `shop@v1`, or `shop` for the working copy. */
  ref: string;
  db: string;
  workingCopy: boolean;
  /** The snapshot whose content this side has: the ref's, or a clean working copy's base; null for a dirty working copy. */
  snapshot: string | null;
  /** Working copy only: its branch, and the snapshot it was made from. */
  branch?: string;
  base?: string;
}

export interface DiffSide {
  info: DiffSideInfo;
  /** The id of the block map the side's content has; null for a dirty working copy (its content has no map object). */
  mapId: string | null;
  /** A WAL comes with the file (left by a write that was killed): the blocks alone do not say all that changed. */
  hasWal: boolean;
  /** Describes the side's file chunk by chunk (a dirty working copy's changed chunks are in no layer). */
  map: BlockMap;
  /** Attaches the side's file read-only to `con` under `alias`. */
  attach(con: DuckDBConnection, alias: string): Promise<void>;
  /** Removes the private copy, if one was made. */
  release(): Promise<void>;
}

export async function snapshotSide(repo: Repository, resolved: ResolvedRef): Promise<DiffSide> {
  const { snapshot } = resolved;
  return {
    info: { ref: resolved.text, db: resolved.db, workingCopy: false, snapshot: snapshot.id },
    mapId: snapshot.blockMap,
    hasWal: false,
    map: await repo.blockMap(snapshot.blockMap),
    attach: (con, alias) => attachSnapshot(repo, snapshot, con, alias),
    release: async () => undefined,
  };
}

/**
 * Attaches a snapshot's cached file. Another process may evict the file between materializing
 * and attaching; then it is materialized once more. Once attached, eviction cannot hurt: an open
 * file outlives its unlinking.
 */
async function attachSnapshot(repo: Repository, snapshot: SnapshotRow, con: DuckDBConnection, alias: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const path = await materializeSnapshot(repo, snapshot);
    try {
      await attachReadOnly(con, path, alias);
      return;
    } catch (err) {
      if (attempt > 0 || !/No such file|does not exist/i.test(errorMessage(err))) throw err;
    }
  }
}

async function attachReadOnly(con: DuckDBConnection, path: string, alias: string): Promise<void> {
  await con.run(`ATTACH ${quoteLiteral(path)} AS ${quoteIdentifier(alias)} (READ_ONLY)`);
}

/** The working copy as of now, read as described at the top of this file. */
export async function workingCopySide(repo: Repository, db: string, purpose: string): Promise<DiffSide> {
  const wc = new WorkingCopy(repo, db);
  for (let attempt = 0; ; attempt++) {
    const before = await settledState(wc);
    const base = await mustGetSnapshot(repo, db, before.base);
    const baseMap = await repo.blockMap(base.blockMap);
    // Copying the base is the expensive part; it happens outside the lease, when the working copy
    // looks dirty. One never written since the database was created is its base.
    const looksClean = (await wc.matchesStamp(before.stamp)) || !(await stat(wc.path).catch(() => null));
    let copy: string | null = looksClean ? null : await privateCopyOf(repo, base);
    try {
      const outcome = await withWorkingCopyLease(wc, before.branch, purpose, async (state) => {
        if (state.base !== before.base) return 'moved' as const;
        if (await wc.matchesStamp(state.stamp)) return 'clean' as const;
        copy ??= await privateCopyOf(repo, base);
        const scan = await copyChangesOnto(wc, baseMap, copy);
        return scan.clean ? ('clean' as const) : scan;
      });
      if (outcome === 'moved') {
        // A snapshot was created meanwhile: the copy holds the wrong base.
        if (copy) await removePrivateCopy(copy);
        copy = null;
        if (attempt < 3) continue;
        throw new ConflictError(db, `the working copy of ${db} keeps moving; try again`);
      }
      const info: DiffSideInfo = { ref: db, db, workingCopy: true, snapshot: outcome === 'clean' ? base.id : null, branch: before.branch, base: base.id };
      if (outcome === 'clean') {
        if (copy) await removePrivateCopy(copy);
        copy = null;
        return { info, mapId: base.blockMap, hasWal: false, map: baseMap, attach: (con, alias) => attachSnapshot(repo, base, con, alias), release: async () => undefined };
      }
      const path = copy!;
      copy = null;
      return { info, mapId: null, hasWal: outcome.hasWal, map: outcome.map, attach: (con, alias) => attachReadOnly(con, path, alias), release: () => removePrivateCopy(path) };
    } catch (err) {
      if (copy) await removePrivateCopy(copy);
      throw err;
    }
  }
}

/** Writes the working copy's chunks that differ from the base over `copy` (a copy of the base), and its WAL beside it. */
async function copyChangesOnto(wc: WorkingCopy, baseMap: BlockMap, copy: string): Promise<WorkingCopyScan> {
  const handle = await open(copy, 'r+');
  try {
    const scan = await scanWorkingCopy(wc, baseMap, (layout, chunk, data) => writeFully(handle, data, chunkExtent(layout, chunk).offset));
    if (scan.clean) return scan;
    await handle.truncate(scan.map.fileSize);
    if (scan.hasWal) await copyFile(wc.walPath, `${copy}.wal`);
    return scan;
  } finally {
    await closeQuietly(handle);
  }
}

/**
 * The working copy's own file, attached read-only where it is: only while its lease is held (see
 * `withWorkingCopyLease`), since a writer could change it otherwise.
 */
export function workingCopyInPlace(wc: WorkingCopy, state: WorkingCopyState, scan: WorkingCopyScan): DiffSide {
  return {
    info: { ref: wc.db, db: wc.db, workingCopy: true, snapshot: null, branch: state.branch, base: state.base },
    mapId: null,
    hasWal: scan.hasWal,
    map: scan.map,
    attach: (con, alias) => attachReadOnly(con, wc.path, alias),
    release: async () => undefined,
  };
}

/** The state file, with the defaults `recover()` would settle on; refuses an interrupted move. */
async function settledState(wc: WorkingCopy): Promise<WorkingCopyState> {
  const state = await wc.readState();
  if (state?.move) {
    throw new ConflictError(
      wc.db,
      `the working copy of ${wc.db} has an interrupted checkout or snapshot; any write (for example openduck snapshot create ${wc.db}) finishes it`,
    );
  }
  if (state) return state;
  // No state file: the working copy was never written, so it is the default branch's head.
  const branch = await wc.currentBranch();
  const head = await wc.repo.metadata.getBranch(wc.db, branch);
  return { branch, base: head!.head };
}

/**
 * Runs `read` while holding the lease on the working copy's branch, so no writer changes the file
 * meanwhile. The state is read again under the lease; a checkout that moved the working copy to
 * another branch meanwhile is a conflict.
 */
export async function withWorkingCopyLease<T>(
  wc: WorkingCopy,
  branch: string,
  purpose: string,
  read: (state: WorkingCopyState) => Promise<T>,
  waitMs?: number,
): Promise<T> {
  const leases = await acquireLeases(wc.repo.metadata, wc.db, [branch], { purpose, waitMs });
  try {
    const state = await settledState(wc);
    if (state.branch !== branch) throw new ConflictError(wc.db, `the working copy of ${wc.db} moved to branch ${state.branch} meanwhile; try again`);
    return await read(state);
  } finally {
    await releaseAll(leases);
  }
}

export interface WorkingCopyScan {
  /** No chunk differs from the base, the size is the same and there is no WAL. */
  clean: boolean;
  hasWal: boolean;
  /** The working copy's content: the base's chunks where they are the same, the file's own where not. */
  map: BlockMap;
  changedChunks: number;
}

/**
 * Compares the working copy's file with its base's block map (call under the lease). Each chunk
 * that differs is handed to `onChanged`, which may copy it elsewhere.
 */
export async function scanWorkingCopy(
  wc: WorkingCopy,
  baseMap: BlockMap,
  onChanged?: (layout: FileLayout, chunk: number, data: Buffer) => Promise<void>,
): Promise<WorkingCopyScan> {
  const hasWal = !!(await stat(wc.walPath).catch(() => null));
  if (!(await stat(wc.path).catch(() => null))) return { clean: true, hasWal: false, map: baseMap, changedChunks: 0 };
  const { handle, layout } = await openDuckDBFile(wc.path);
  try {
    const sameGeometry = baseMap.blockSize === layout.blockSize && baseMap.headerSize === layout.headerSize;
    const chunks: BlockRef[] = [];
    for (let i = 0; i < layout.chunkCount; i++) if (sameGeometry && baseMap.chunks[i]) chunks[i] = baseMap.chunks[i]!;
    let changedChunks = 0;
    for await (const changed of scanChangedChunks(handle, layout, { base: baseMap, collect: 'raw', file: wc.path })) {
      changedChunks++;
      chunks[changed.chunk] = ownChunk(changed.data, changed.sha256);
      await onChanged?.(layout, changed.chunk, changed.data);
    }
    const map: BlockMap = { headerSize: layout.headerSize, blockSize: layout.blockSize, fileSize: layout.fileSize, chunks };
    return { clean: changedChunks === 0 && !hasWal && layout.fileSize === baseMap.fileSize && sameGeometry, hasWal, map, changedChunks };
  } finally {
    await closeQuietly(handle);
  }
}

/** A chunk that exists only in the working copy: described by its hash, stored in no layer. */
function ownChunk(data: Buffer, sha256: Buffer): BlockRef {
  return { layer: '', encoding: 0, offset: 0, storedLength: data.length, rawLength: data.length, duckdbChecksum: Buffer.from(data.subarray(0, 8)), sha256 };
}

/** Named `<pid>-…` so that a copy left by a killed process is removed by the next seal. */
async function privateCopyOf(repo: Repository, base: SnapshotRow): Promise<string> {
  await mkdir(repo.tmpDir, { recursive: true });
  const path = stagingPath(repo.tmpDir, '.duckdb');
  for (let attempt = 0; ; attempt++) {
    const source = await materializeSnapshot(repo, base);
    try {
      await copyFile(source, path, fsConstants.COPYFILE_FICLONE);
      break;
    } catch (err) {
      // Evicted by another process between materializing and copying.
      if (attempt > 0 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await chmod(path, 0o600);
  return path;
}

async function removePrivateCopy(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.wal`, { force: true });
}

async function closeQuietly(handle: FileHandle): Promise<void> {
  await handle.close().catch(() => undefined);
}
