import { NotFoundError, OpenDuckError, errorMessage } from '../errors.js';
import { decodeBlockMap, layersOf, type BlockMap } from '../format/block-map.js';
import { verifyLayer, type LayerIndexEntry } from '../format/layer.js';
import { decodeSnapshotRecord } from '../format/snapshot-record.js';
import { shortId } from '../hash.js';
import type { Repository } from '../repository.js';
import type { SnapshotRow } from '../store/metadata-store.js';
import { objectKeys, parseObjectKey } from '../store/object-store.js';
import { mustHaveDatabase } from './common.js';
import { WorkingCopy } from '../working-copy.js';
import { cachePath, checkCacheFile, dropCacheEntry, listCacheEntries } from '../snapshot-cache.js';
import type { ProgressSink } from '../progress.js';

export interface FsckProblem {
  /** The object or row concerned: "layers/<id>", "shop@main", … */
  object: string;
  problem: string;
}

export interface FsckReport {
  ok: boolean;
  databases: string[];
  snapshots: number;
  blockMaps: number;
  layers: number;
  bytesVerified: number;
  problems: FsckProblem[];
  /**
   * Objects nothing references (left by interrupted writes or dropped databases) and cached files
   * of snapshots no database has; gc reclaims them.
   */
  unreferenced: string[];
  /** Cached snapshots checked against their block maps. */
  cacheEntries: number;
  /** What `repair` fixed: damaged or orphaned cache entries dropped (they are rebuilt on demand). */
  repaired: string[];
}

/**
 * Verifies every reachable object: each snapshot record against its id, each block map against
 * its id and structure, each layer byte for byte (id, header, index, trailer and every block),
 * and that block maps and layer indexes agree. Also reads every metadata table in full, checks
 * that every ref points at a snapshot that exists, that each working copy's state file is sound,
 * and that each cached snapshot holds exactly its block map (`repair` drops the ones that do
 * not; they are rebuilt from the layers when next read). Problems are collected, not thrown, so
 * one run names every damaged object.
 */
export async function fsck(repo: Repository, db?: string, options: { onProgress?: ProgressSink; repair?: boolean } = {}): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const report = (object: string, err: unknown) => problems.push({ object, problem: describe(err) });
  const empty = { databases: [], snapshots: 0, blockMaps: 0, layers: 0, bytesVerified: 0, unreferenced: [], cacheEntries: 0, repaired: [] };
  try {
    for (const p of await repo.metadata.verifyIntegrity()) problems.push({ object: repo.metadata.description, problem: p });
  } catch (err) {
    // A store that cannot even be opened: nothing else can be checked.
    report(repo.metadata.description, err);
    return { ok: false, ...empty, problems };
  }
  if (problems.length) return { ok: false, ...empty, problems };
  if (db !== undefined) await mustHaveDatabase(repo, db);
  // One consistent view: a snapshot committed meanwhile is seen with its branch, or not at all.
  const view = await repo.metadata.readView(db);
  const databases = view.databases.map((h) => h.database.name);
  const seen = { blockMaps: new Map<string, BlockMap | null>(), layers: new Map<string, Map<number, LayerIndexEntry> | null>() };
  let snapshots = 0;
  let bytesVerified = 0;

  const checkLayer = async (id: string): Promise<Map<number, LayerIndexEntry> | null> => {
    if (seen.layers.has(id)) return seen.layers.get(id)!;
    const key = objectKeys.layer(id);
    let result: Map<number, LayerIndexEntry> | null = null;
    try {
      const info = await repo.objects.head(key);
      if (!info) throw new NotFoundError('object', key);
      const { entries } = await verifyLayer(
        id,
        info.size,
        (o, l) => repo.objects.getRange(key, o, l),
        () => repo.objects.getStream(key),
        key,
      );
      bytesVerified += info.size;
      result = new Map(entries.map((e) => [e.offset, e]));
    } catch (err) {
      report(key, err);
    }
    seen.layers.set(id, result);
    return result;
  };

  const checkBlockMap = async (id: string): Promise<BlockMap | null> => {
    if (seen.blockMaps.has(id)) return seen.blockMaps.get(id)!;
    const key = objectKeys.blockMap(id);
    let map: BlockMap | null = null;
    try {
      const bytes = await repo.objects.get(key);
      map = decodeBlockMap(bytes, key, id);
      bytesVerified += bytes.length;
    } catch (err) {
      report(key, err);
    }
    seen.blockMaps.set(id, map);
    if (map) {
      for (const layer of layersOf(map)) {
        const index = await checkLayer(layer);
        if (!index) continue;
        const bad = map.chunks.findIndex((c) => {
          if (c.layer !== layer) return false;
          const e = index.get(c.offset);
          return !e || e.storedLength !== c.storedLength || !e.sha256.equals(c.sha256);
        });
        if (bad !== -1) problems.push({ object: key, problem: `chunk ${bad} does not match the index of layers/${layer}` });
      }
    }
    return map;
  };

  const checkSnapshot = async (s: SnapshotRow): Promise<void> => {
    snapshots++;
    const key = objectKeys.snapshot(s.id);
    try {
      const bytes = await repo.objects.get(key);
      const record = decodeSnapshotRecord(bytes, key, s.id);
      bytesVerified += bytes.length;
      if (record.blockMap !== s.blockMap) problems.push({ object: key, problem: 'names a different block map than the metadata store' });
    } catch (err) {
      report(key, err);
    }
    await checkBlockMap(s.blockMap);
  };

  for (const { database, snapshots: rows, branches, tags, expired } of view.databases) {
    const name = database.name;
    const ids = new Set(rows.map((r) => r.id));
    // gc expires old history: a parent (or a working copy's base) it expired is not missing.
    const expiredIds = new Set(expired.map((e) => e.id));
    for (const [i, s] of rows.entries()) {
      options.onProgress?.({ task: `verifying ${name}`, done: i, total: rows.length });
      await checkSnapshot(s);
      for (const p of s.parents) if (!ids.has(p) && !expiredIds.has(p)) problems.push({ object: `${name}@${shortId(s.id)}`, problem: `parent ${shortId(p)} is missing` });
    }
    for (const b of branches) {
      if (!ids.has(b.head)) problems.push({ object: `${name}@${b.name}`, problem: `branch points at missing snapshot ${shortId(b.head)}` });
    }
    for (const t of tags) {
      if (!ids.has(t.snapshot)) problems.push({ object: `${name}@${t.name}`, problem: `tag points at missing snapshot ${shortId(t.snapshot)}` });
    }
    const wc = new WorkingCopy(repo, name);
    try {
      const state = await wc.readState();
      if (state && !ids.has(state.base) && !expiredIds.has(state.base)) {
        problems.push({ object: `working copy of ${name}`, problem: `based on missing snapshot ${shortId(state.base)}` });
      }
    } catch (err) {
      report(wc.statePath, err);
    }
  }

  const known = new Map(view.databases.flatMap((h) => h.snapshots.map((s) => [s.id, s] as const)));
  const { cacheEntries, repaired, orphaned } = await checkCache(repo, known, db === undefined, report, options.repair ?? false);

  const unreferenced: string[] = [...orphaned];
  if (db === undefined) {
    const referencedSnapshots = new Set(view.databases.flatMap((h) => h.snapshots.map((s) => s.id)));
    for (const prefix of ['layers/', 'blockmaps/', 'snapshots/']) {
      for await (const o of repo.objects.list(prefix)) {
        const parsed = parseObjectKey(o.key);
        if (!parsed) {
          problems.push({ object: o.key, problem: 'unexpected object name' });
          continue;
        }
        const known =
          parsed.kind === 'layer' ? seen.layers.has(parsed.id) : parsed.kind === 'blockMap' ? seen.blockMaps.has(parsed.id) : referencedSnapshots.has(parsed.id);
        if (!known) unreferenced.push(o.key);
      }
    }
  }

  return {
    ok: problems.length === 0,
    databases,
    snapshots,
    blockMaps: seen.blockMaps.size,
    layers: seen.layers.size,
    bytesVerified,
    problems,
    unreferenced,
    cacheEntries,
    repaired,
  };
}

/**
 * Checks each cached snapshot among `known` against its block map. With `all`, entries of
 * snapshots no database knows are reported too. `repair` drops what is wrong.
 */
async function checkCache(
  repo: Repository,
  known: Map<string, SnapshotRow>,
  all: boolean,
  report: (object: string, err: unknown) => void,
  repair: boolean,
): Promise<{ cacheEntries: number; repaired: string[]; orphaned: string[] }> {
  const orphaned: string[] = [];
  const repaired: string[] = [];
  let cacheEntries = 0;
  for (const id of await listCacheEntries(repo)) {
    const object = `cache/snapshots/${id}.duckdb`;
    const snapshot = known.get(id);
    if (!snapshot) {
      if (!all) continue;
      // A snapshot gc expired (or a dropped database's): garbage, not damage; gc trims it too.
      if (repair) {
        await dropCacheEntry(repo, id);
        repaired.push(`${object}: dropped (no database has this snapshot)`);
      } else orphaned.push(object);
      continue;
    }
    cacheEntries++;
    let problem: string | null;
    try {
      problem = await checkCacheFile(cachePath(repo, id), await repo.blockMap(snapshot.blockMap));
    } catch {
      continue; // a damaged block map is reported with the snapshot's objects
    }
    if (problem === null) continue;
    if (repair) {
      await dropCacheEntry(repo, id);
      repaired.push(`${object}: dropped (${problem}); it is rebuilt from the layers when next read`);
    } else report(object, new Error(`${problem} (fsck --repair drops it)`));
  }
  return { cacheEntries, repaired, orphaned };
}

function describe(err: unknown): string {
  if (err instanceof NotFoundError) return 'missing';
  if (err instanceof OpenDuckError && 'detail' in err) return String((err as { detail: unknown }).detail);
  return errorMessage(err);
}
