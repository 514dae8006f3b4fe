/**
 * The layout of a DuckDB database file, as far as differential storage needs it: a 12,288-byte
 * header region (main header + two database headers, 4 KiB each) followed by fixed-size blocks
 * that each begin with DuckDB's own 8-byte checksum. We split a file into "chunks": chunk 0 is
 * the header region, chunk i ≥ 1 is block i-1. The block size is read from the header rather
 * than assumed, because DuckDB lets a database choose it at creation.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CorruptObjectError } from '../errors.js';

export const DUCKDB_HEADER_SIZE = 12_288;
export const DUCKDB_DEFAULT_BLOCK_SIZE = 262_144;
const DATABASE_HEADER_OFFSETS = [4096, 8192] as const;
const DUCKDB_MAGIC = 'DUCK';
/** DuckDB's per-block checksum, the first bytes of every block. */
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

/** Parses the header region. `file` names the file in errors. */
export function parseDuckDBHeader(header: Buffer, fileSize: number, file: string): FileLayout {
  if (fileSize === 0) {
    return { headerSize: DUCKDB_HEADER_SIZE, blockSize: DUCKDB_DEFAULT_BLOCK_SIZE, fileSize: 0, chunkCount: 0 };
  }
  if (header.length < DUCKDB_HEADER_SIZE || header.subarray(8, 12).toString('latin1') !== DUCKDB_MAGIC) {
    throw new CorruptObjectError(file, 'not a DuckDB database file (bad magic in header)');
  }
  // The active database header is the one with the higher iteration count.
  let blockSize = 0;
  let bestIteration = -1n;
  for (const base of DATABASE_HEADER_OFFSETS) {
    const iteration = header.readBigUInt64LE(base + 8);
    const allocSize = header.readBigUInt64LE(base + 40);
    if (iteration > bestIteration) {
      bestIteration = iteration;
      blockSize = Number(allocSize);
    }
  }
  if (blockSize === 0) blockSize = DUCKDB_DEFAULT_BLOCK_SIZE;
  if (blockSize < 4096 || blockSize > 16 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw new CorruptObjectError(file, `unsupported DuckDB block size ${blockSize}`);
  }
  return layoutFor(DUCKDB_HEADER_SIZE, blockSize, fileSize);
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

/** Opens a DuckDB file and reads its layout. The caller closes the handle. */
export async function openDuckDBFile(path: string, flags = 'r'): Promise<{ handle: FileHandle; layout: FileLayout }> {
  const handle = await open(path, flags);
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(size, DUCKDB_HEADER_SIZE));
    await readFully(handle, header, 0);
    return { handle, layout: parseDuckDBHeader(header, size, path) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export async function readFully(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}

export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
