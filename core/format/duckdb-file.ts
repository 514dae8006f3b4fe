/**
 * The DuckDB database file, as far as differential storage needs it: its layout, and a verifier
 * that applies DuckDB's own checks, so a damaged file is refused before it is ever sealed.
 *
 *   0        main header       4 KiB: 8-byte checksum, magic "DUCK" at 8, version, flags, …
 *   4096     database header 1 4 KiB: 8-byte checksum, iteration (+8), meta block, free list,
 *                              block count (+32), block allocation size (+40), …
 *   8192     database header 2 the same; the one with the higher iteration is active
 *   12288    blocks            block i at 12288 + i × blockSize, each starting with its checksum
 *
 * We split a file into "chunks": chunk 0 is the 12,288-byte header region, chunk i ≥ 1 is block
 * i-1. The block size is read from the header rather than assumed, because DuckDB lets a
 * database choose it at creation.
 *
 * DuckDB's checksum of a region is 5381 XOR-folded with each 64-bit word times a constant. It
 * detects flipped bits but not words that moved, so it verifies a block; it never proves two
 * blocks equal (sha256 does that).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DamagedFileError } from '../errors.js';
import { readFully } from '../fs-util.js';

export const DUCKDB_HEADER_SIZE = 12_288;
export const DUCKDB_DEFAULT_BLOCK_SIZE = 262_144;
const HEADER_SLOT_SIZE = 4096;
const DATABASE_HEADER_OFFSETS = [4096, 8192] as const;
const DUCKDB_MAGIC = 'DUCK';
/** DuckDB's per-block checksum, the first bytes of every block and header slot. */
export const BLOCK_CHECKSUM_SIZE = 8;

export interface FileLayout {
  headerSize: number;
  blockSize: number;
  fileSize: number;
  /** Header chunk plus one chunk per (possibly partial) block. */
  chunkCount: number;
}

export interface ChunkExtent {
  offset: number;
  length: number;
}

/**
 * DuckDB's checksum as a tiny WebAssembly function, because JS has no fast 64-bit multiply (a
 * JS version cost ~0.8 s per GiB, this one ~0.1 s). `checksum(len)` folds the words of
 * memory[8, len): r = 5381; r ^= word × 0xbf58476d1ce4e5b9, for each 64-bit word. Hand-assembled
 * from:
 *
 *   (func (export "checksum") (param $len i32) (result i64) (local $i i32) (local $r i64)
 *     (local.set $r (i64.const 5381)) (local.set $i (i32.const 8))
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $i) (local.get $len)))
 *       (local.set $r (i64.xor (local.get $r) (i64.mul (i64.load (local.get $i)) (i64.const 0xbf58476d1ce4e5b9))))
 *       (local.set $i (i32.add (local.get $i) (i32.const 8)))
 *       (br 0)))
 *     (local.get $r))
 *
 * plus an exported memory of 5 pages (320 KiB) that grows for larger blocks.
 */
const CHECKSUM_WASM =
  '0061736d0100000001060160017f017e030201000503010005071502066d656d6f7279020008636865636b73756d00000a3f013d02017f017e42852a2102410821010240' +
  '0340200120004f0d012002200129030042b9cb93e7d1ed91acbf7f7e852102200141086a21010c000b0b20020b';

interface ChecksumModule {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  checksum(length: number): bigint;
}

/** The slice of the WebAssembly global used here (the project compiles without DOM types). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

let checksumModule: ChecksumModule | null = null;

function checksumInstance(): ChecksumModule {
  checksumModule ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(CHECKSUM_WASM, 'hex'))).exports as unknown as ChecksumModule;
  return checksumModule;
}

/** True when `region` (a header slot or a block) carries a correct DuckDB checksum in its first 8 bytes. */
export function duckdbChecksumMatches(region: Uint8Array): boolean {
  if (region.length < 16 || region.length % 8 !== 0) return false;
  const wasm = checksumInstance();
  if (wasm.memory.buffer.byteLength < region.length) wasm.memory.grow(Math.ceil((region.length - wasm.memory.buffer.byteLength) / 65_536));
  new Uint8Array(wasm.memory.buffer, 0, region.length).set(region);
  const stored = Buffer.from(region.buffer, region.byteOffset, 8).readBigUInt64LE(0);
  return BigInt.asUintN(64, wasm.checksum(region.length)) === stored;
}

/**
 * Parses and verifies the header region of a file of `fileSize` bytes: the magic, DuckDB's
 * checksum of all three header slots, the block size, and that the file is the header plus whole
 * blocks. (The header's block count is a high-water mark: DuckDB truncates free blocks off the end
 * without lowering it, so it cannot tell a truncation at a block boundary from DuckDB's own.)
 * `file` names the file in errors.
 */
export function parseDuckDBHeader(header: Buffer, fileSize: number, file: string): FileLayout {
  if (fileSize === 0) throw new DamagedFileError(file, 'the file is empty, not a DuckDB database');
  if (fileSize < DUCKDB_HEADER_SIZE || header.length < DUCKDB_HEADER_SIZE) {
    throw new DamagedFileError(file, `the file is ${fileSize} bytes, shorter than DuckDB's ${DUCKDB_HEADER_SIZE}-byte header`);
  }
  if (header.toString('latin1', 8, 12) !== DUCKDB_MAGIC) throw new DamagedFileError(file, 'not a DuckDB database file (bad magic in header)');
  for (const offset of [0, ...DATABASE_HEADER_OFFSETS]) {
    if (!duckdbChecksumMatches(header.subarray(offset, offset + HEADER_SLOT_SIZE))) {
      throw new DamagedFileError(file, `the ${offset === 0 ? 'main' : 'database'} header at byte ${offset} fails DuckDB's checksum`);
    }
  }
  // The active database header is the one with the higher iteration count.
  let active: number = DATABASE_HEADER_OFFSETS[0];
  for (const base of DATABASE_HEADER_OFFSETS) {
    if (header.readBigUInt64LE(base + 8) > header.readBigUInt64LE(active + 8)) active = base;
  }
  let blockSize = Number(header.readBigUInt64LE(active + 40));
  if (blockSize === 0) blockSize = DUCKDB_DEFAULT_BLOCK_SIZE;
  if (blockSize < 4096 || blockSize > 16 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw new DamagedFileError(file, `unsupported DuckDB block size ${blockSize}`);
  }
  const body = fileSize - DUCKDB_HEADER_SIZE;
  if (body % blockSize !== 0) {
    throw new DamagedFileError(file, `the file is ${fileSize} bytes, which is not the header plus whole ${blockSize}-byte blocks (truncated?)`);
  }
  return layoutFor(DUCKDB_HEADER_SIZE, blockSize, fileSize);
}

/**
 * Checks one chunk as DuckDB would: a block must carry its correct checksum. An all-zero block
 * is accepted: DuckDB may punch holes in free blocks, and a hole reads as zeros. The header
 * chunk is checked by `parseDuckDBHeader`. Returns a problem description, or null.
 */
export function checkDuckDBChunk(chunk: number, data: Uint8Array): string | null {
  if (chunk === 0) return null;
  if (duckdbChecksumMatches(data)) return null;
  if (isAllZero(data)) return null;
  return `block ${chunk - 1} fails DuckDB's checksum`;
}

function isAllZero(data: Uint8Array): boolean {
  const aligned = data.byteOffset % 4 === 0 && data.length % 4 === 0;
  if (!aligned) return data.every((b) => b === 0);
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

export function layoutFor(headerSize: number, blockSize: number, fileSize: number): FileLayout {
  const body = Math.max(0, fileSize - headerSize);
  const chunkCount = fileSize === 0 ? 0 : 1 + Math.ceil(body / blockSize);
  return { headerSize, blockSize, fileSize, chunkCount };
}

export function chunkExtent(layout: FileLayout, chunk: number): ChunkExtent {
  if (chunk === 0) return { offset: 0, length: Math.min(layout.headerSize, layout.fileSize) };
  const offset = layout.headerSize + (chunk - 1) * layout.blockSize;
  return { offset, length: Math.min(layout.blockSize, layout.fileSize - offset) };
}

/** Reads and verifies the header of an open DuckDB file. */
export async function readDuckDBLayout(handle: FileHandle, file: string): Promise<FileLayout> {
  const { size } = await handle.stat();
  const header = Buffer.alloc(Math.min(size, DUCKDB_HEADER_SIZE));
  await readFully(handle, header, 0, file);
  return parseDuckDBHeader(header, size, file);
}

/** Opens a DuckDB file and reads its verified layout. The caller closes the handle. */
export async function openDuckDBFile(path: string, flags = 'r'): Promise<{ handle: FileHandle; layout: FileLayout }> {
  const handle = await open(path, flags);
  try {
    return { handle, layout: await readDuckDBLayout(handle, path) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
