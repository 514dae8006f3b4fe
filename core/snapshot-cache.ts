/**
 * Snapshots materialized for read-only queries. A snapshot is assembled once from its block map,
 * then opened read-only by any number of readers; readers never take a lease, so they never wait
 * for writers. The newest `cache.max_snapshots` stay on disk.
 *
 * The cache is never trusted as it is. An entry is verified against its block map when it is
 * filled (every chunk either hashed equal or written from a verified layer block), and its stat
 * is recorded beside it (`<id>.stamp`). A reader whose stat still matches uses the entry at
 * once; one whose stat differs (the file was written since) re-verifies every chunk, and a
 * damaged entry is dropped and rebuilt from the layers, with a warning. The stamp file's mtime
 * is the entry's last use, for eviction.
 *
 * Materializing starts from the nearest cached ancestor when there is one: a file copy plus the
 * differing blocks is much cheaper than assembling every block from layers. The copy is hashed
 * against the target map rather than trusted, so a damaged ancestor cannot leak into a child.
 */
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, utimes, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as fsConstants } from 'node:fs';
import { applyBlockMap, BlockReader } from './blocks.js';
import { scanChangedChunks } from './chunk-scan.js';
import { CorruptObjectError, errorMessage } from './errors.js';
import { blockMapLayout, type BlockMap } from './format/block-map.js';
import { fsyncDir, removeStaleStagingFiles, stagingPath, writeFileAtomic } from './fs-util.js';
import { shortId } from './hash.js';
import type { Repository } from './repository.js';
import type { SnapshotRow } from './store/metadata-store.js';
import type { ProgressSink } from './progress.js';

const ANCESTOR_SEARCH_DEPTH = 32;
const ENTRY_SUFFIX = '.duckdb';
const STAMP_SUFFIX = '.stamp';

export async function materializeSnapshot(repo: Repository, snapshot: SnapshotRow, progress?: ProgressSink): Promise<string> {
  // The record and the map are small and verified on every read, so a damaged object is
  // reported even when an earlier read already assembled the file.
  const record = await repo.snapshotRecord(snapshot.id);
  if (record.blockMap !== snapshot.blockMap) {
    throw new CorruptObjectError(`snapshots/${snapshot.id}`, 'the record names a different block map than the metadata store');
  }
  const map = await repo.blockMap(snapshot.blockMap);
  const path = cachePath(repo, snapshot.id);
  if (await stat(path).catch(() => null)) {
    if (await usableEntry(repo, snapshot.id, map)) return path;
  }
  await mkdir(repo.cacheDir, { recursive: true });
  // A reader killed while assembling leaves its partial file behind; reclaim those.
  await removeStaleStagingFiles(repo.cacheDir);
  const tmp = stagingPath(repo.cacheDir, '.tmp');
  try {
    const ancestor = await cachedAncestor(repo, snapshot);
    if (ancestor) {
      await copyFile(ancestor, tmp, fsConstants.COPYFILE_FICLONE);
      await chmod(tmp, 0o644);
    }
    const handle = await open(tmp, ancestor ? 'r+' : 'wx', 0o644);
    try {
      await applyBlockMap(handle, tmp, map, new BlockReader(repo.objects), ancestor ? 'scan' : 'fresh', progress);
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o444);
    await rename(tmp, path);
    await fsyncDir(repo.cacheDir);
    await writeStamp(repo, snapshot.id);
  } finally {
    await rm(tmp, { force: true });
  }
  await evict(repo, path);
  return path;
}

export function cachePath(repo: Repository, id: string): string {
  return join(repo.cacheDir, `${id}${ENTRY_SUFFIX}`);
}

function stampPath(repo: Repository, id: string): string {
  return join(repo.cacheDir, `${id}${STAMP_SUFFIX}`);
}

/** The cache entry's stat, as recorded when it was last verified. */
async function entryStat(path: string): Promise<string | null> {
  const s = await stat(path, { bigint: true }).catch(() => null);
  return s ? JSON.stringify({ size: String(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), ino: String(s.ino), dev: String(s.dev) }) : null;
}

async function writeStamp(repo: Repository, id: string): Promise<void> {
  const current = await entryStat(cachePath(repo, id));
  if (current) await writeFileAtomic(stampPath(repo, id), current + '\n');
}

/**
 * Whether the entry can be read as it is: its stat matches its stamp, or a full re-verification
 * passes. A damaged entry is removed (with a warning) so the caller rebuilds it.
 */
async function usableEntry(repo: Repository, id: string, map: BlockMap): Promise<boolean> {
  const path = cachePath(repo, id);
  const recorded = (await readFile(stampPath(repo, id), 'utf8').catch(() => '')).trim();
  if (recorded && recorded === (await entryStat(path))) {
    const now = new Date();
    await utimes(stampPath(repo, id), now, now).catch(() => undefined);
    return true;
  }
  const problem = await checkCacheFile(path, map);
  if (problem === null) {
    await writeStamp(repo, id);
    return true;
  }
  repo.warn(`cached snapshot ${shortId(id)} was damaged (${problem}); rebuilding it from its layers`);
  await dropCacheEntry(repo, id);
  return false;
}

/** Hashes every chunk of a cache file against its block map: null when it holds exactly the map. */
export async function checkCacheFile(path: string, map: BlockMap): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return errorMessage(err);
  }
  try {
    const { size } = await handle.stat();
    if (size !== map.fileSize) return `it is ${size} bytes, the snapshot ${map.fileSize}`;
    for await (const c of scanChangedChunks(handle, blockMapLayout(map), { base: map, collect: 'none', file: path })) {
      return `chunk ${c.chunk} differs from the block map`;
    }
    return null;
  } catch (err) {
    return errorMessage(err);
  } finally {
    await handle.close();
  }
}

export async function dropCacheEntry(repo: Repository, id: string): Promise<void> {
  await rm(cachePath(repo, id), { force: true });
  await rm(stampPath(repo, id), { force: true });
}

/** The ids of the snapshots the cache holds. */
export async function listCacheEntries(repo: Repository): Promise<string[]> {
  const names = await readdir(repo.cacheDir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(ENTRY_SUFFIX)).map((n) => n.slice(0, -ENTRY_SUFFIX.length));
}

async function cachedAncestor(repo: Repository, snapshot: SnapshotRow): Promise<string | null> {
  let current: SnapshotRow | null = snapshot;
  for (let depth = 0; depth < ANCESTOR_SEARCH_DEPTH && current?.parents[0]; depth++) {
    current = await repo.metadata.getSnapshot(snapshot.db, current.parents[0]);
    if (!current) return null;
    const path = cachePath(repo, current.id);
    if (await stat(path).catch(() => null)) return path;
  }
  return null;
}

async function evict(repo: Repository, keep: string): Promise<void> {
  const ids = await listCacheEntries(repo);
  if (ids.length <= repo.config.cacheMaxSnapshots) return;
  const lastUse = async (id: string) => (await stat(stampPath(repo, id)).catch(() => stat(cachePath(repo, id)).catch(() => null)))?.mtimeMs ?? 0;
  const entries = await Promise.all(ids.map(async (id) => ({ id, used: await lastUse(id) })));
  entries.sort((a, b) => a.used - b.used);
  // Unlinking a file another reader has open is safe on POSIX: its open handle keeps the data.
  for (const e of entries.slice(0, entries.length - repo.config.cacheMaxSnapshots)) {
    if (cachePath(repo, e.id) !== keep) await dropCacheEntry(repo, e.id);
  }
}
