/**
 * The layer format: one immutable object holding the blocks that changed in one snapshot.
 *
 *   header   96 B   magic "ODLAYER1", version, flags, DuckDB block size, created-at (ms),
 *                   base snapshot id (the snapshot it was diffed against; zero if none),
 *                   then sha256 of the first 64 bytes
 *   blocks          each changed chunk as stored (raw, or deflate-raw when that saves space)
 *   index    64 B × n  per block: chunk number, encoding, offset, stored length, raw length,
 *                   DuckDB's 8-byte block checksum, sha256 of the raw bytes
 *   trailer  88 B   index offset, block count, sha256 of the index, sha256 of the blocks
 *                   section, magic "ODLAYEND"
 *
 * The layer's id is the sha256 of the whole object. Every byte is covered by some checksum, so a
 * flipped byte anywhere is found by `verifyLayer`, and a reader that goes through the header,
 * index and trailer (as materialization does) finds it without reading unrelated blocks.
 * Layers describe themselves (chunk numbers, base snapshot), in the manner of Neon's layer files,
 * so block maps could be rebuilt from a bucket listing.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { CorruptObjectError } from '../errors.js';
import { writeFully } from './duckdb-file.js';

export const LAYER_MAGIC = 'ODLAYER1';
export const LAYER_END_MAGIC = 'ODLAYEND';
export const LAYER_VERSION = 1;
export const LAYER_HEADER_SIZE = 96;
export const LAYER_INDEX_ENTRY_SIZE = 64;
export const LAYER_TRAILER_SIZE = 88;

export enum BlockEncoding {
  Raw = 0,
  DeflateRaw = 1,
}

/** Where one block sits in a layer, and how to check it. Shared with the block map. */
export interface StoredBlock {
  encoding: BlockEncoding;
  offset: number;
  storedLength: number;
  rawLength: number;
  /** DuckDB's own checksum: the first 8 bytes of the raw block (zeros for the header chunk). */
  duckdbChecksum: Buffer;
  sha256: Buffer;
}

export interface LayerIndexEntry extends StoredBlock {
  chunk: number;
}

export interface LayerHeader {
  version: number;
  flags: number;
  dbBlockSize: number;
  createdAtMs: number;
  baseSnapshot: string | null;
}

export interface LayerTrailer {
  indexOffset: number;
  blockCount: number;
  indexSha256: Buffer;
  blocksSha256: Buffer;
}

const ZERO32 = Buffer.alloc(32);

const SAMPLE_SLICE = 4096;

/**
 * Deflate when it saves at least an eighth: DuckDB blocks are often partly empty. Deflating
 * incompressible data runs at ~50 MB/s, so large blocks are judged first by four 4 KiB slices
 * taken across the block; only a block whose sample shrinks is deflated whole.
 */
export function encodeBlock(raw: Buffer): { encoding: BlockEncoding; stored: Buffer } {
  if (raw.length >= 16 * SAMPLE_SLICE) {
    const step = Math.floor((raw.length - SAMPLE_SLICE) / 3);
    const sample = Buffer.concat([0, 1, 2, 3].map((i) => raw.subarray(i * step, i * step + SAMPLE_SLICE)));
    if (deflateRawSync(sample, { level: 1 }).length > sample.length * 0.9) return { encoding: BlockEncoding.Raw, stored: raw };
  }
  const deflated = deflateRawSync(raw, { level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  if (deflated.length <= raw.length - (raw.length >> 3)) return { encoding: BlockEncoding.DeflateRaw, stored: deflated };
  return { encoding: BlockEncoding.Raw, stored: raw };
}

/** Decodes one stored block and checks it against its recorded hash. `object` names the layer in errors. */
export function decodeBlock(stored: Buffer, block: StoredBlock, object: string): Buffer {
  let raw: Buffer;
  if (block.encoding === BlockEncoding.Raw) raw = stored;
  else if (block.encoding === BlockEncoding.DeflateRaw) {
    try {
      raw = inflateRawSync(stored, { maxOutputLength: Math.max(block.rawLength, 1) });
    } catch {
      throw new CorruptObjectError(object, `block at offset ${block.offset} does not inflate`);
    }
  } else throw new CorruptObjectError(object, `block at offset ${block.offset} has unknown encoding ${block.encoding}`);
  if (raw.length !== block.rawLength) {
    throw new CorruptObjectError(object, `block at offset ${block.offset} is ${raw.length} bytes, expected ${block.rawLength}`);
  }
  if (!createHash('sha256').update(raw).digest().equals(block.sha256)) {
    throw new CorruptObjectError(object, `block at offset ${block.offset} fails its sha256 check`);
  }
  return raw;
}

export function encodeLayerHeader(h: LayerHeader): Buffer {
  const buf = Buffer.alloc(LAYER_HEADER_SIZE);
  buf.write(LAYER_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(h.version, 8);
  buf.writeUInt32LE(h.flags, 12);
  buf.writeUInt32LE(h.dbBlockSize, 16);
  buf.writeUInt32LE(0, 20);
  buf.writeBigUInt64LE(BigInt(h.createdAtMs), 24);
  (h.baseSnapshot ? Buffer.from(h.baseSnapshot, 'hex') : ZERO32).copy(buf, 32);
  createHash('sha256').update(buf.subarray(0, 64)).digest().copy(buf, 64);
  return buf;
}

export function decodeLayerHeader(buf: Buffer, object: string): LayerHeader {
  if (buf.length < LAYER_HEADER_SIZE || buf.toString('latin1', 0, 8) !== LAYER_MAGIC) {
    throw new CorruptObjectError(object, 'bad layer header magic');
  }
  if (!createHash('sha256').update(buf.subarray(0, 64)).digest().equals(buf.subarray(64, 96))) {
    throw new CorruptObjectError(object, 'layer header fails its checksum');
  }
  const version = buf.readUInt32LE(8);
  if (version !== LAYER_VERSION) throw new CorruptObjectError(object, `unsupported layer version ${version}`);
  const base = buf.subarray(32, 64);
  return {
    version,
    flags: buf.readUInt32LE(12),
    dbBlockSize: buf.readUInt32LE(16),
    createdAtMs: Number(buf.readBigUInt64LE(24)),
    baseSnapshot: base.equals(ZERO32) ? null : base.toString('hex'),
  };
}

export function encodeLayerIndex(entries: readonly LayerIndexEntry[]): Buffer {
  const buf = Buffer.alloc(entries.length * LAYER_INDEX_ENTRY_SIZE);
  entries.forEach((e, i) => {
    const o = i * LAYER_INDEX_ENTRY_SIZE;
    buf.writeUInt32LE(e.chunk, o);
    buf.writeUInt8(e.encoding, o + 4);
    buf.writeBigUInt64LE(BigInt(e.offset), o + 8);
    buf.writeUInt32LE(e.storedLength, o + 16);
    buf.writeUInt32LE(e.rawLength, o + 20);
    e.duckdbChecksum.copy(buf, o + 24, 0, 8);
    e.sha256.copy(buf, o + 32, 0, 32);
  });
  return buf;
}

export function decodeLayerIndex(buf: Buffer, object: string): LayerIndexEntry[] {
  if (buf.length % LAYER_INDEX_ENTRY_SIZE !== 0) throw new CorruptObjectError(object, 'layer index has a partial entry');
  const entries: LayerIndexEntry[] = [];
  for (let o = 0; o < buf.length; o += LAYER_INDEX_ENTRY_SIZE) {
    entries.push({
      chunk: buf.readUInt32LE(o),
      encoding: buf.readUInt8(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 8)),
      storedLength: buf.readUInt32LE(o + 16),
      rawLength: buf.readUInt32LE(o + 20),
      duckdbChecksum: Buffer.from(buf.subarray(o + 24, o + 32)),
      sha256: Buffer.from(buf.subarray(o + 32, o + 64)),
    });
  }
  return entries;
}

export function encodeLayerTrailer(t: LayerTrailer): Buffer {
  const buf = Buffer.alloc(LAYER_TRAILER_SIZE);
  buf.writeBigUInt64LE(BigInt(t.indexOffset), 0);
  buf.writeUInt32LE(t.blockCount, 8);
  buf.writeUInt32LE(0, 12);
  t.indexSha256.copy(buf, 16);
  t.blocksSha256.copy(buf, 48);
  buf.write(LAYER_END_MAGIC, 80, 'latin1');
  return buf;
}

export function decodeLayerTrailer(buf: Buffer, layerSize: number, object: string): LayerTrailer {
  if (buf.length !== LAYER_TRAILER_SIZE || buf.toString('latin1', 80, 88) !== LAYER_END_MAGIC) {
    throw new CorruptObjectError(object, 'bad layer trailer magic');
  }
  const t: LayerTrailer = {
    indexOffset: Number(buf.readBigUInt64LE(0)),
    blockCount: buf.readUInt32LE(8),
    indexSha256: Buffer.from(buf.subarray(16, 48)),
    blocksSha256: Buffer.from(buf.subarray(48, 80)),
  };
  const expectedEnd = t.indexOffset + t.blockCount * LAYER_INDEX_ENTRY_SIZE + LAYER_TRAILER_SIZE;
  if (buf.readUInt32LE(12) !== 0 || t.indexOffset < LAYER_HEADER_SIZE || expectedEnd !== layerSize) {
    throw new CorruptObjectError(object, 'layer trailer does not describe the object');
  }
  return t;
}

/** Decodes and checks the index against the trailer. */
export function checkLayerIndex(indexBytes: Buffer, trailer: LayerTrailer, object: string): LayerIndexEntry[] {
  if (!createHash('sha256').update(indexBytes).digest().equals(trailer.indexSha256)) {
    throw new CorruptObjectError(object, 'layer index fails its checksum');
  }
  const entries = decodeLayerIndex(indexBytes, object);
  let expected = LAYER_HEADER_SIZE;
  for (const e of entries) {
    if (e.offset !== expected) throw new CorruptObjectError(object, 'layer index entries are not contiguous');
    expected += e.storedLength;
  }
  if (expected !== trailer.indexOffset) throw new CorruptObjectError(object, 'layer index does not cover the blocks section');
  return entries;
}

/**
 * Streams changed blocks into a layer file. Memory stays at one block; the layer id (sha256 of
 * the whole file) is computed as bytes are written, so sealing never re-reads the layer.
 */
export class LayerWriter {
  private position = LAYER_HEADER_SIZE;
  private readonly entries: LayerIndexEntry[] = [];
  private readonly whole: Hash = createHash('sha256');
  private readonly blocks: Hash = createHash('sha256');

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async create(path: string, header: Omit<LayerHeader, 'version' | 'flags'>): Promise<LayerWriter> {
    const handle = await open(path, 'wx', 0o644);
    const writer = new LayerWriter(handle, path);
    const h = encodeLayerHeader({ ...header, version: LAYER_VERSION, flags: 0 });
    await writeFully(handle, h, 0);
    writer.whole.update(h);
    return writer;
  }

  get blockCount(): number {
    return this.entries.length;
  }

  async addBlock(chunk: number, raw: Buffer, sha: Buffer): Promise<LayerIndexEntry> {
    const { encoding, stored } = encodeBlock(raw);
    await writeFully(this.handle, stored, this.position);
    this.whole.update(stored);
    this.blocks.update(stored);
    const entry: LayerIndexEntry = {
      chunk,
      encoding,
      offset: this.position,
      storedLength: stored.length,
      rawLength: raw.length,
      duckdbChecksum: checksumOf(chunk, raw),
      sha256: sha,
    };
    this.entries.push(entry);
    this.position += stored.length;
    return entry;
  }

  /** Writes index and trailer, fsyncs and closes. Returns the layer id and size. */
  async finish(): Promise<{ id: string; bytes: number; entries: LayerIndexEntry[] }> {
    const index = encodeLayerIndex(this.entries);
    const trailer = encodeLayerTrailer({
      indexOffset: this.position,
      blockCount: this.entries.length,
      indexSha256: createHash('sha256').update(index).digest(),
      blocksSha256: this.blocks.digest(),
    });
    await writeFully(this.handle, Buffer.concat([index, trailer]), this.position);
    this.whole.update(index).update(trailer);
    await this.handle.sync();
    await this.handle.close();
    return { id: this.whole.digest('hex'), bytes: this.position + index.length + trailer.length, entries: this.entries };
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** DuckDB's per-block checksum; the header chunk has none of its own. */
export function checksumOf(chunk: number, raw: Buffer): Buffer {
  return chunk === 0 || raw.length < 8 ? Buffer.alloc(8) : Buffer.from(raw.subarray(0, 8));
}

/**
 * Verifies a whole layer from a stream of its bytes plus its size: the id, the header, index and
 * trailer checksums, and every block's hash. `readRange` fetches the small structural parts first
 * so that blocks can be checked as they stream past.
 */
export async function verifyLayer(
  id: string,
  size: number,
  readRange: (offset: number, length: number) => Promise<Buffer>,
  stream: () => AsyncIterable<Buffer>,
  object: string,
): Promise<{ header: LayerHeader; entries: LayerIndexEntry[] }> {
  if (size < LAYER_HEADER_SIZE + LAYER_TRAILER_SIZE) throw new CorruptObjectError(object, `layer is truncated (${size} bytes)`);
  const header = decodeLayerHeader(await readRange(0, LAYER_HEADER_SIZE), object);
  const trailer = decodeLayerTrailer(await readRange(size - LAYER_TRAILER_SIZE, LAYER_TRAILER_SIZE), size, object);
  const entries = checkLayerIndex(await readRange(trailer.indexOffset, trailer.blockCount * LAYER_INDEX_ENTRY_SIZE), trailer, object);

  const whole = createHash('sha256');
  const blocks = createHash('sha256');
  let pos = 0;
  let next = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  for await (const piece of stream()) {
    whole.update(piece);
    const start = pos;
    pos += piece.length;
    // Only the blocks section feeds the per-block checks.
    const lo = Math.max(start, LAYER_HEADER_SIZE);
    const hi = Math.min(pos, trailer.indexOffset);
    if (lo >= hi) continue;
    const slice = piece.subarray(lo - start, hi - start);
    blocks.update(slice);
    pending.push(slice);
    pendingLen += slice.length;
    while (next < entries.length && pendingLen >= entries[next]!.storedLength) {
      const e = entries[next]!;
      const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      decodeBlock(joined.subarray(0, e.storedLength), e, object);
      const rest = joined.subarray(e.storedLength);
      pending = rest.length ? [rest] : [];
      pendingLen = rest.length;
      next++;
    }
  }
  if (pos !== size) throw new CorruptObjectError(object, `layer is ${pos} bytes, expected ${size}`);
  if (next !== entries.length) throw new CorruptObjectError(object, 'layer blocks section is short');
  if (!blocks.digest().equals(trailer.blocksSha256)) throw new CorruptObjectError(object, 'layer blocks section fails its checksum');
  if (whole.digest('hex') !== id) throw new CorruptObjectError(object, 'layer content does not match its id');
  return { header, entries };
}
