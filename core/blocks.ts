/**
 * Moving blocks between DuckDB files and layers:
 *
 * - `BlockReader` fetches blocks named by a block map from their layers, coalescing neighbours
 *   into one range read, and verifies every block against its hash. Each layer's structure
 *   (header, index, trailer, and for format 2 its id) is checked once per reader, so a flipped
 *   byte anywhere on the read path is an error naming the layer, never wrong data.
 * - `applyBlockMap` makes a file hold exactly a block map's content, rewriting only the chunks
 *   that differ, decided by the same sound rule as sealing (chunk-scan.ts): sha256 equality.
 */
import type { FileHandle } from 'node:fs/promises';
import { scanChangedChunks } from './chunk-scan.js';
import { CorruptObjectError, NotFoundError } from './errors.js';
import { chunkExtent } from './format/duckdb-file.js';
import { blockMapLayout, type BlockMap, type BlockRef } from './format/block-map.js';
import { decodeBlock, readLayerStructure, type LayerIndexEntry } from './format/layer.js';
import { writeFully } from './fs-util.js';
import { objectKeys, type ObjectStore } from './store/object-store.js';
import { noProgress, type ProgressSink } from './progress.js';

interface VerifiedLayer {
  byOffset: Map<number, LayerIndexEntry>;
}

/** Reads blocks from layers, verified. One reader per operation; it remembers verified layers. */
export class BlockReader {
  private readonly layers = new Map<string, Promise<VerifiedLayer>>();
  /** Neighbouring blocks are fetched in one range read of at most this many bytes. */
  static readonly MAX_RANGE = 8 << 20;

  constructor(private readonly objects: ObjectStore) {}

  private verifiedLayer(id: string): Promise<VerifiedLayer> {
    let p = this.layers.get(id);
    if (!p) {
      p = this.loadLayer(id);
      this.layers.set(id, p);
    }
    return p;
  }

  private async loadLayer(id: string): Promise<VerifiedLayer> {
    const key = objectKeys.layer(id);
    const info = await this.objects.head(key);
    if (!info) throw new NotFoundError('object', key, 'the layer is missing from the object store');
    const { entries } = await readLayerStructure(id, info.size, (o, l) => this.objects.getRange(key, o, l), key);
    return { byOffset: new Map(entries.map((e) => [e.offset, e])) };
  }

  /**
   * Fetches the given chunks and hands each, verified, to `sink`. Chunks are grouped by layer
   * and neighbouring offsets are read together.
   */
  async read(wanted: Array<{ chunk: number; ref: BlockRef }>, sink: (chunk: number, data: Buffer) => Promise<void>): Promise<void> {
    const sorted = [...wanted].sort((a, b) => (a.ref.layer < b.ref.layer ? -1 : a.ref.layer > b.ref.layer ? 1 : a.ref.offset - b.ref.offset));
    let i = 0;
    while (i < sorted.length) {
      const first = sorted[i]!;
      const layer = first.ref.layer;
      const key = objectKeys.layer(layer);
      const verified = await this.verifiedLayer(layer);
      let end = first.ref.offset + first.ref.storedLength;
      let j = i + 1;
      while (
        j < sorted.length &&
        sorted[j]!.ref.layer === layer &&
        sorted[j]!.ref.offset === end &&
        end + sorted[j]!.ref.storedLength - first.ref.offset <= BlockReader.MAX_RANGE
      ) {
        end += sorted[j]!.ref.storedLength;
        j++;
      }
      // Blocks referenced twice (same content in two chunks) sit at the same offset.
      while (j < sorted.length && sorted[j]!.ref.layer === layer && sorted[j]!.ref.offset < end) j++;
      const range = await this.objects.getRange(key, first.ref.offset, end - first.ref.offset);
      for (let k = i; k < j; k++) {
        const { chunk, ref } = sorted[k]!;
        const entry = verified.byOffset.get(ref.offset);
        if (!entry || entry.storedLength !== ref.storedLength || entry.rawLength !== ref.rawLength || !entry.sha256.equals(ref.sha256) || entry.encoding !== ref.encoding) {
          throw new CorruptObjectError(key, `layer index has no block matching chunk ${chunk} of the block map`);
        }
        const start = ref.offset - first.ref.offset;
        await sink(chunk, decodeBlock(range.subarray(start, start + ref.storedLength), ref, key));
      }
      i = j;
    }
  }
}

export interface ApplyResult {
  chunksWritten: number;
  bytesWritten: number;
}

/**
 * How to find the chunks that must be written:
 * - `fresh`: the file is new; write every chunk.
 * - `scan`: hash what is on disk and compare with the target. Robust to a torn or modified file,
 *   so recovery, forced checkouts and cache fills use it.
 * - a block map the file is proven to hold (a working copy whose stat stamp still matches, a
 *   cache entry just verified): compare maps in memory and read nothing from the file.
 */
export type ApplyFrom = 'fresh' | 'scan' | BlockMap;

/**
 * Makes the open file hold exactly the content `target` describes, rewriting only the chunks that
 * differ, then truncates and fsyncs it. Idempotent: running it again after a crash finishes the
 * job. `file` names the file in errors.
 */
export async function applyBlockMap(
  handle: FileHandle,
  file: string,
  target: BlockMap,
  reader: BlockReader,
  from: ApplyFrom,
  progress: ProgressSink = noProgress,
): Promise<ApplyResult> {
  const layout = blockMapLayout(target);
  const wanted =
    from === 'fresh'
      ? target.chunks.map((ref, chunk) => ({ chunk, ref }))
      : from === 'scan'
        ? await staleChunks(handle, file, target, progress)
        : changedBetween(from, target);
  let bytesWritten = 0;
  let written = 0;
  await reader.read(wanted, async (chunk, data) => {
    await writeFully(handle, data, chunkExtent(layout, chunk).offset);
    bytesWritten += data.length;
    if (++written % 16 === 0) progress({ task: 'writing blocks', done: written, total: wanted.length });
  });
  await handle.truncate(target.fileSize);
  await handle.sync();
  return { chunksWritten: wanted.length, bytesWritten };
}

/** Chunks of `to` whose content differs from `from`'s, by comparing hashes in memory. */
export function changedBetween(from: BlockMap, to: BlockMap): Array<{ chunk: number; ref: BlockRef }> {
  const sameGeometry = from.blockSize === to.blockSize && from.headerSize === to.headerSize;
  const out: Array<{ chunk: number; ref: BlockRef }> = [];
  to.chunks.forEach((ref, chunk) => {
    const prior = sameGeometry ? from.chunks[chunk] : undefined;
    if (!prior || prior.rawLength !== ref.rawLength || !prior.sha256.equals(ref.sha256)) out.push({ chunk, ref });
  });
  return out;
}

/**
 * Chunks of `target` that the file does not hold, read with the target's geometry: those whose
 * bytes on disk hash differently, and those the file is too short to hold at all.
 */
async function staleChunks(handle: FileHandle, file: string, target: BlockMap, progress: ProgressSink): Promise<Array<{ chunk: number; ref: BlockRef }>> {
  const layout = blockMapLayout(target);
  const { size } = await handle.stat();
  let present = 0;
  while (present < layout.chunkCount) {
    const { offset, length } = chunkExtent(layout, present);
    if (offset + length > size) break;
    present++;
  }
  const stale: Array<{ chunk: number; ref: BlockRef }> = [];
  for await (const c of scanChangedChunks(handle, layout, { base: target, collect: 'none', chunkLimit: present, file, onProgress: progress })) {
    stale.push({ chunk: c.chunk, ref: target.chunks[c.chunk]! });
  }
  for (let chunk = present; chunk < layout.chunkCount; chunk++) stale.push({ chunk, ref: target.chunks[chunk]! });
  return stale;
}

