/**
 * Sealing: turning a DuckDB file into a snapshot. Only the chunks that differ from the base
 * snapshot's block map go into a new layer; the new block map points unchanged chunks at the
 * layers that already hold them. A chunk counts as unchanged only when its sha256 equals the
 * base's (chunk-scan.ts), and every chunk that goes into the layer must pass DuckDB's own
 * checksum, so a damaged file is refused rather than committed.
 *
 * Objects are written whole (staging file, fsync, rename) before anything refers to them; the
 * metadata commit that follows is the single point at which the snapshot starts to exist. A
 * crash before it leaves only unreferenced objects.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, rm } from 'node:fs/promises';
import { scanChangedChunks } from './chunk-scan.js';
import { DamagedFileError } from './errors.js';
import type { FileLayout } from './format/duckdb-file.js';
import { blockMapId, encodeBlockMap, type BlockMap, type BlockRef } from './format/block-map.js';
import { LayerWriter } from './format/layer.js';
import { SNAPSHOT_RECORD_FORMAT, encodeSnapshotRecord, snapshotIdOf, type SnapshotRecord } from './format/snapshot-record.js';
import type { Repository } from './repository.js';
import type { LayerRow, SnapshotRow } from './store/metadata-store.js';
import { objectKeys } from './store/object-store.js';
import { removeStaleStagingFiles, stagingPath } from './fs-util.js';
import type { ProgressSink } from './progress.js';

export interface SealRequest {
  db: string;
  /** The file, open and (for a working copy) locked; `layout` is its verified header's. */
  handle: FileHandle;
  layout: FileLayout;
  /** Names the file in errors. */
  path: string;
  base: SnapshotRow | null;
  message: string;
  author: string;
  /** Compress blocks where it pays (default true); the bench measures what that costs. */
  compress?: boolean;
  onProgress?: ProgressSink;
}

export interface Sealed {
  snapshot: SnapshotRow;
  layer: LayerRow | null;
}

/** Start write-back every this many bytes, so the layer's final fsync does not wait for all of it. */
const FLUSH_EVERY_BYTES = 64 << 20;

/** Writes the objects for a new snapshot of the file. Returns null when nothing differs from base. */
export async function sealFile(repo: Repository, req: SealRequest): Promise<Sealed | null> {
  await mkdir(repo.tmpDir, { recursive: true });
  await removeStaleStagingFiles(repo.tmpDir);
  const baseMap = req.base ? await repo.blockMap(req.base.blockMap) : null;
  const { layout } = req;
  const layerPath = stagingPath(repo.tmpDir, '.layer');
  let writer: LayerWriter | null = null;
  try {
    const createdAt = Date.now();
    writer = await LayerWriter.create(layerPath, { dbBlockSize: layout.blockSize, createdAtMs: createdAt, baseSnapshot: req.base?.id ?? null });
    let unflushed = 0;
    // Write-back runs beside the scan: awaiting each flush would leave the scan's workers idle
    // while the disk catches up.
    let flushing: Promise<void> = Promise.resolve();
    const scan = scanChangedChunks(req.handle, layout, {
      base: baseMap,
      collect: 'encoded',
      compress: req.compress,
      verify: true,
      file: req.path,
      onProgress: req.onProgress,
    });
    for await (const changed of scan) {
      if (changed.problem) throw new DamagedFileError(req.path, changed.problem);
      await writer.addEncodedBlock({ ...changed, stored: changed.data });
      unflushed += changed.data.length;
      if (unflushed >= FLUSH_EVERY_BYTES) {
        await flushing;
        flushing = writer.flush();
        flushing.catch(() => undefined); // surfaced by the await above or below
        unflushed = 0;
      }
    }
    await flushing;
    const sameGeometry = baseMap !== null && baseMap.blockSize === layout.blockSize && baseMap.headerSize === layout.headerSize;
    if (writer.blockCount === 0 && sameGeometry && baseMap.fileSize === layout.fileSize) {
      await writer.abort();
      writer = null;
      return null;
    }

    const chunks: BlockRef[] = sameGeometry ? baseMap.chunks.slice(0, layout.chunkCount) : [];
    let layer: LayerRow | null = null;
    let bytesWritten = 0;
    if (writer.blockCount > 0) {
      const finished = await writer.finish();
      writer = null;
      await repo.objects.putFile(objectKeys.layer(finished.id), layerPath);
      for (const e of finished.entries) {
        const { chunk, ...stored } = e;
        chunks[chunk] = { ...stored, layer: finished.id };
      }
      layer = { id: finished.id, db: req.db, bytes: finished.bytes, createdAt };
      bytesWritten += finished.bytes;
    } else {
      await writer.abort();
      writer = null;
    }

    const map: BlockMap = { headerSize: layout.headerSize, blockSize: layout.blockSize, fileSize: layout.fileSize, chunks };
    const encodedMap = encodeBlockMap(map);
    const mapId = blockMapId(encodedMap);
    await repo.objects.put(objectKeys.blockMap(mapId), encodedMap);
    bytesWritten += encodedMap.length;

    const record: SnapshotRecord = {
      format: SNAPSHOT_RECORD_FORMAT,
      parents: req.base ? [req.base.id] : [],
      blockMap: mapId,
      message: req.message,
      author: req.author,
      time: new Date(createdAt).toISOString(),
      size: layout.fileSize,
    };
    const id = await putSnapshotRecord(repo, record);
    bytesWritten += encodeSnapshotRecord(record).length;

    return {
      snapshot: {
        db: req.db,
        id,
        parents: record.parents,
        blockMap: mapId,
        layer: layer?.id ?? null,
        message: record.message,
        author: record.author,
        createdAt,
        sizeBytes: layout.fileSize,
        blocksChanged: layer ? countChangedChunks(chunks, layer.id) : 0,
        bytesWritten,
      },
      layer,
    };
  } finally {
    if (writer) await writer.abort();
    await rm(layerPath, { force: true });
  }
}

export async function putSnapshotRecord(repo: Repository, record: SnapshotRecord): Promise<string> {
  const id = snapshotIdOf(record);
  await repo.objects.put(objectKeys.snapshot(id), encodeSnapshotRecord(record));
  return id;
}

function countChangedChunks(chunks: BlockRef[], layer: string): number {
  return chunks.reduce((n, c) => n + (c.layer === layer ? 1 : 0), 0);
}
