/**
 * Snapshots materialized for read-only queries. A snapshot is assembled once from its block map
 * (every block verified), then opened read-only by any number of readers; readers never take a
 * lease, so they never wait for writers. The newest `cache.max_snapshots` stay on disk.
 *
 * Materializing starts from the nearest cached ancestor when there is one: a file copy plus the
 * differing blocks is much cheaper than assembling every block from layers.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as fsConstants } from 'node:fs';
import { applyBlockMap, BlockReader } from './blocks.js';
import { CorruptObjectError } from './errors.js';
import { fsyncDir, removeStaleStagingFiles } from './fs-util.js';
import type { Repository } from './repository.js';
import type { SnapshotRow } from './store/metadata-store.js';
import type { ProgressSink } from './progress.js';

const ANCESTOR_SEARCH_DEPTH = 32;

export async function materializeSnapshot(repo: Repository, snapshot: SnapshotRow, progress?: ProgressSink): Promise<string> {
  // The record and the map are small and verified on every read, so a damaged object is
  // reported even when an earlier read already assembled the file.
  const record = await repo.snapshotRecord(snapshot.id);
  if (record.blockMap !== snapshot.blockMap) {
    throw new CorruptObjectError(`snapshots/${snapshot.id}`, 'the record names a different block map than the metadata store');
  }
  const map = await repo.blockMap(snapshot.blockMap);
  const path = cachePath(repo, snapshot.id);
  const now = new Date();
  if (await stat(path).catch(() => null)) {
    await utimes(path, now, now).catch(() => undefined);
    return path;
  }
  await mkdir(repo.cacheDir, { recursive: true });
  // A reader killed while assembling leaves its partial file behind; reclaim those.
  await removeStaleStagingFiles(repo.cacheDir);
  const tmp = join(repo.cacheDir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const ancestor = await cachedAncestor(repo, snapshot);
    if (ancestor) {
      await copyFile(ancestor.path, tmp, fsConstants.COPYFILE_FICLONE);
      await chmod(tmp, 0o644);
    }
    // A cached file holds exactly its snapshot, so only the chunks whose hashes differ are fetched.
    const from = ancestor ? await repo.blockMap(ancestor.snapshot.blockMap) : 'fresh';
    await applyBlockMap(tmp, map, new BlockReader(repo.objects), from, progress);
    await chmod(tmp, 0o444);
    await rename(tmp, path);
    await fsyncDir(repo.cacheDir);
  } finally {
    await rm(tmp, { force: true });
  }
  await evict(repo, path);
  return path;
}

export function cachePath(repo: Repository, id: string): string {
  return join(repo.cacheDir, `${id}.duckdb`);
}

async function cachedAncestor(repo: Repository, snapshot: SnapshotRow): Promise<{ path: string; snapshot: SnapshotRow } | null> {
  let current: SnapshotRow | null = snapshot;
  for (let depth = 0; depth < ANCESTOR_SEARCH_DEPTH && current?.parents[0]; depth++) {
    current = await repo.metadata.getSnapshot(snapshot.db, current.parents[0]);
    if (!current) return null;
    const path = cachePath(repo, current.id);
    if (await stat(path).catch(() => null)) return { path, snapshot: current };
  }
  return null;
}

async function evict(repo: Repository, keep: string): Promise<void> {
  const names = (await readdir(repo.cacheDir)).filter((n) => n.endsWith('.duckdb'));
  if (names.length <= repo.config.cacheMaxSnapshots) return;
  const entries = await Promise.all(
    names.map(async (n) => ({ path: join(repo.cacheDir, n), mtime: (await stat(join(repo.cacheDir, n)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  entries.sort((a, b) => a.mtime - b.mtime);
  // Unlinking a file another reader has open is safe on POSIX: its open handle keeps the data.
  for (const e of entries.slice(0, entries.length - repo.config.cacheMaxSnapshots)) {
    if (e.path !== keep) await rm(e.path, { force: true });
  }
}
