/**
 * Moving blocks between DuckDB files and layers. Two directions:
 *
 * - `scanChangedChunks` compares a file with a block map. DuckDB's own 8-byte block checksum
 *   picks candidates from an 8-byte read per block; a sha256 of the candidate confirms. Cost is
 *   one tiny read per block plus a full read of what changed.
 * - `BlockReader` fetches blocks named by a block map from their layers, coalescing neighbours
 *   into one range read, and verifies every block against its hash. Each layer's header, index
 *   and trailer are checked once per reader, so a flipped byte anywhere on the read path is an
 *   error naming the layer, never wrong data.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CorruptObjectError, NotFoundError } from './errors.js';
import { BLOCK_CHECKSUM_SIZE, chunkExtent, layoutFor, readFully, writeFully, type FileLayout } from './format/duckdb-file.js';
import { blockMapLayout, type BlockMap, type BlockRef } from './format/block-map.js';
import {
  LAYER_HEADER_SIZE,
  LAYER_INDEX_ENTRY_SIZE,
  LAYER_TRAILER_SIZE,
  checkLayerIndex,
  decodeBlock,
  decodeLayerHeader,
  decodeLayerTrailer,
  type LayerIndexEntry,
} from './format/layer.js';
import { objectKeys, type ObjectStore } from './store/object-store.js';
import { noProgress, type ProgressSink } from './progress.js';

/**
 * Reads DuckDB's 8-byte block checksum at `offset`. Synchronous on purpose: thousands of 8-byte
 * reads through the thread pool cost ~40 µs each, a direct pread a few µs.
 */
function probeChecksum(handle: FileHandle, into: Buffer, offset: number): Buffer {
  const n = readSync(handle.fd, into, 0, into.length, offset);
  if (n !== into.length) throw new Error(`unexpected end of file at ${offset}`);
  return into;
}

export interface ChangedChunk {
  chunk: number;
  data: Buffer;
  sha256: Buffer;
}

/**
 * Yields the chunks of an open DuckDB file that differ from `base` (all chunks when base is
 * null). One buffer is reused for candidates, so memory stays at one block.
 */
export async function* scanChangedChunks(
  handle: FileHandle,
  layout: FileLayout,
  base: BlockMap | null,
  progress: ProgressSink = noProgress,
): AsyncGenerator<ChangedChunk> {
  const sameGeometry = base !== null && base.blockSize === layout.blockSize && base.headerSize === layout.headerSize;
  const probe = Buffer.alloc(BLOCK_CHECKSUM_SIZE);
  for (let chunk = 0; chunk < layout.chunkCount; chunk++) {
    if (chunk % 64 === 0) progress({ task: 'scanning blocks', done: chunk, total: layout.chunkCount });
    const { offset, length } = chunkExtent(layout, chunk);
    const prior = sameGeometry ? base.chunks[chunk] : undefined;
    if (prior && chunk > 0 && prior.rawLength === length && length >= BLOCK_CHECKSUM_SIZE) {
      if (probeChecksum(handle, probe, offset).equals(prior.duckdbChecksum)) continue;
    }
    const data = Buffer.alloc(length);
    await readFully(handle, data, offset);
    const sha = createHash('sha256').update(data).digest();
    if (prior && prior.rawLength === length && sha.equals(prior.sha256)) continue;
    yield { chunk, data, sha256: sha };
  }
}

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
    if (info.size < LAYER_HEADER_SIZE + LAYER_TRAILER_SIZE) throw new CorruptObjectError(key, `layer is truncated (${info.size} bytes)`);
    decodeLayerHeader(await this.objects.getRange(key, 0, LAYER_HEADER_SIZE), key);
    const trailer = decodeLayerTrailer(await this.objects.getRange(key, info.size - LAYER_TRAILER_SIZE, LAYER_TRAILER_SIZE), info.size, key);
    const index = await this.objects.getRange(key, trailer.indexOffset, trailer.blockCount * LAYER_INDEX_ENTRY_SIZE);
    const entries = checkLayerIndex(index, trailer, key);
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
 * - `scan`: compare what is on disk with the target (checksum probe, then sha256). Robust to a
 *   torn or modified file, so recovery and forced checkouts use it.
 * - a block map the file is known to hold (a clean working copy): compare maps in memory and
 *   read nothing from the file.
 */
export type ApplyFrom = 'fresh' | 'scan' | BlockMap;

/**
 * Makes the file at `path` hold exactly the content `target` describes, rewriting only the chunks
 * that differ. Idempotent: running it again after a crash finishes the job.
 */
export async function applyBlockMap(
  path: string,
  target: BlockMap,
  reader: BlockReader,
  from: ApplyFrom,
  progress: ProgressSink = noProgress,
): Promise<ApplyResult> {
  const handle = await open(path, from === 'fresh' ? 'wx' : 'r+', 0o644);
  try {
    const layout = blockMapLayout(target);
    const wanted =
      from === 'fresh'
        ? target.chunks.map((ref, chunk) => ({ chunk, ref }))
        : from === 'scan'
          ? await staleChunks(handle, layout, target)
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
  } finally {
    await handle.close();
  }
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

async function staleChunks(handle: FileHandle, layout: FileLayout, target: BlockMap): Promise<Array<{ chunk: number; ref: BlockRef }>> {
  const { size } = await handle.stat();
  // Compare what is on disk with the target, read with the target's geometry.
  const current = layoutFor(layout.headerSize, layout.blockSize, size);
  const stale: Array<{ chunk: number; ref: BlockRef }> = [];
  const probe = Buffer.alloc(BLOCK_CHECKSUM_SIZE);
  for (let chunk = 0; chunk < layout.chunkCount; chunk++) {
    const ref = target.chunks[chunk]!;
    const { offset, length } = chunkExtent(layout, chunk);
    const have = chunk < current.chunkCount ? chunkExtent(current, chunk).length : 0;
    if (have === length) {
      if (chunk > 0 && length >= BLOCK_CHECKSUM_SIZE && probeChecksum(handle, probe, offset).equals(ref.duckdbChecksum)) continue;
      const data = Buffer.alloc(length);
      await readFully(handle, data, offset);
      if (createHash('sha256').update(data).digest().equals(ref.sha256)) continue;
    }
    stale.push({ chunk, ref });
  }
  return stale;
}
