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
  /** Objects nothing references (left by interrupted writes or dropped databases); gc reclaims them. */
  unreferenced: string[];
}

/**
 * Verifies every reachable object: each snapshot record against its id, each block map against
 * its id and structure, each layer byte for byte (id, header, index, trailer and every block),
 * and that block maps and layer indexes agree. Also checks that every ref points at a snapshot
 * that exists. Problems are collected, not thrown, so one run names every damaged object.
 */
export async function fsck(repo: Repository, db?: string, options: { onProgress?: ProgressSink } = {}): Promise<FsckReport> {
  if (db !== undefined) await mustHaveDatabase(repo, db);
  // One consistent view: a snapshot committed meanwhile is seen with its branch, or not at all.
  const view = await repo.metadata.readView(db);
  const databases = view.databases.map((h) => h.database.name);
  const problems: FsckProblem[] = [];
  const report = (object: string, err: unknown) => problems.push({ object, problem: describe(err) });
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
    const state = await new WorkingCopy(repo, name).readState();
    if (state && !ids.has(state.base) && !expiredIds.has(state.base)) {
      problems.push({ object: `working copy of ${name}`, problem: `based on missing snapshot ${shortId(state.base)}` });
    }
  }

  const unreferenced: string[] = [];
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
  };
}

function describe(err: unknown): string {
  if (err instanceof NotFoundError) return 'missing';
  if (err instanceof OpenDuckError && 'detail' in err) return String((err as { detail: unknown }).detail);
  return errorMessage(err);
}
