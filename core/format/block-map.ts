/**
 * The block map format: for one snapshot, where each chunk of its database file lives.
 *
 *   header   48 B   magic "ODBMAP01", version, header-chunk size, block size, file size,
 *                   layer count, chunk count, reserved
 *   layers   32 B × L   layer ids, in order of first use by chunk (canonical)
 *   chunks   64 B × C   per chunk, in chunk order: the layer's position in the list above, then
 *                   the shared block entry (block-entry.ts): encoding, offset, stored length,
 *                   raw length, DuckDB checksum, sha256 of the raw bytes
 *   trailer  32 B   sha256 of everything before it
 *
 * The encoding is canonical (one byte sequence per map), so the map's id, the sha256 of the whole
 * object, is a content address: equal maps have equal ids in every repository.
 */
import { CorruptObjectError } from '../errors.js';
import { sha256, sha256Hex } from '../hash.js';
import { chunkExtent, layoutFor, type FileLayout } from './duckdb-file.js';
import { BLOCK_ENTRY_SIZE, readBlockEntry, writeBlockEntry, type StoredBlock } from './block-entry.js';

export const BLOCK_MAP_MAGIC = 'ODBMAP01';
export const BLOCK_MAP_VERSION = 1;
const HEADER_SIZE = 48;
const LAYER_ID_SIZE = 32;
const ENTRY_SIZE = BLOCK_ENTRY_SIZE;
const TRAILER_SIZE = 32;

export interface BlockRef extends StoredBlock {
  layer: string;
}

export interface BlockMap {
  headerSize: number;
  blockSize: number;
  fileSize: number;
  /** chunks[i] is where chunk i lives; its length equals the layout's chunk count. */
  chunks: BlockRef[];
}

export function blockMapLayout(map: BlockMap): FileLayout {
  return layoutFor(map.headerSize, map.blockSize, map.fileSize);
}

export function emptyBlockMap(headerSize: number, blockSize: number): BlockMap {
  return { headerSize, blockSize, fileSize: 0, chunks: [] };
}

export function encodeBlockMap(map: BlockMap): Buffer {
  const layout = blockMapLayout(map);
  if (layout.chunkCount !== map.chunks.length) {
    throw new Error(`block map has ${map.chunks.length} chunks, its layout needs ${layout.chunkCount}`);
  }
  const layerIndex = new Map<string, number>();
  for (const c of map.chunks) if (!layerIndex.has(c.layer)) layerIndex.set(c.layer, layerIndex.size);
  const size = HEADER_SIZE + layerIndex.size * LAYER_ID_SIZE + map.chunks.length * ENTRY_SIZE + TRAILER_SIZE;
  const buf = Buffer.alloc(size);
  buf.write(BLOCK_MAP_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(BLOCK_MAP_VERSION, 8);
  buf.writeUInt32LE(map.headerSize, 12);
  buf.writeUInt32LE(map.blockSize, 16);
  buf.writeUInt32LE(0, 20);
  buf.writeBigUInt64LE(BigInt(map.fileSize), 24);
  buf.writeUInt32LE(layerIndex.size, 32);
  buf.writeUInt32LE(map.chunks.length, 36);
  let o = HEADER_SIZE;
  for (const id of layerIndex.keys()) {
    Buffer.from(id, 'hex').copy(buf, o);
    o += LAYER_ID_SIZE;
  }
  for (const c of map.chunks) {
    writeBlockEntry(buf, o, layerIndex.get(c.layer)!, c);
    o += ENTRY_SIZE;
  }
  sha256(buf.subarray(0, o)).copy(buf, o);
  return buf;
}

export function blockMapId(encoded: Buffer): string {
  return sha256Hex(encoded);
}

/**
 * Decodes a block map and verifies it: the id (when given), the trailer checksum, the structure,
 * and canonical form (re-encoding gives the same bytes). `object` names it in errors.
 */
export function decodeBlockMap(buf: Buffer, object: string, expectedId?: string): BlockMap {
  if (expectedId !== undefined && sha256Hex(buf) !== expectedId) {
    throw new CorruptObjectError(object, 'content does not match its id');
  }
  if (buf.length < HEADER_SIZE + TRAILER_SIZE || buf.toString('latin1', 0, 8) !== BLOCK_MAP_MAGIC) {
    throw new CorruptObjectError(object, 'bad block map magic');
  }
  const body = buf.subarray(0, buf.length - TRAILER_SIZE);
  if (!sha256(body).equals(buf.subarray(buf.length - TRAILER_SIZE))) {
    throw new CorruptObjectError(object, 'block map fails its checksum');
  }
  const version = buf.readUInt32LE(8);
  if (version !== BLOCK_MAP_VERSION) throw new CorruptObjectError(object, `unsupported block map version ${version}`);
  const layerCount = buf.readUInt32LE(32);
  const chunkCount = buf.readUInt32LE(36);
  if (buf.length !== HEADER_SIZE + layerCount * LAYER_ID_SIZE + chunkCount * ENTRY_SIZE + TRAILER_SIZE) {
    throw new CorruptObjectError(object, 'block map size does not match its counts');
  }
  const layers: string[] = [];
  let o = HEADER_SIZE;
  for (let i = 0; i < layerCount; i++, o += LAYER_ID_SIZE) layers.push(buf.toString('hex', o, o + LAYER_ID_SIZE));
  const chunks: BlockRef[] = [];
  for (let i = 0; i < chunkCount; i++, o += ENTRY_SIZE) {
    const { lead, block } = readBlockEntry(buf, o);
    const layer = layers[lead];
    if (layer === undefined) throw new CorruptObjectError(object, `chunk ${i} names layer ${lead} of ${layerCount}`);
    chunks.push({ layer, ...block });
  }
  const map: BlockMap = {
    headerSize: buf.readUInt32LE(12),
    blockSize: buf.readUInt32LE(16),
    fileSize: Number(buf.readBigUInt64LE(24)),
    chunks,
  };
  const layout = blockMapLayout(map);
  if (layout.chunkCount !== chunks.length) throw new CorruptObjectError(object, 'chunk count does not match the file size');
  chunks.forEach((c, i) => {
    if (c.rawLength !== chunkExtent(layout, i).length) throw new CorruptObjectError(object, `chunk ${i} has the wrong length`);
  });
  let canonical: Buffer;
  try {
    canonical = encodeBlockMap(map);
  } catch (err) {
    throw new CorruptObjectError(object, (err as Error).message);
  }
  if (!canonical.equals(buf)) throw new CorruptObjectError(object, 'block map is not in canonical form');
  return map;
}

/** The layers a map references, each once. */
export function layersOf(map: BlockMap): string[] {
  return [...new Set(map.chunks.map((c) => c.layer))];
}
