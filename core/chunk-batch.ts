/**
 * One unit of the chunk scan: read a run of neighbouring chunks with one positional read, hash
 * each with sha256, and for those that differ from the base, check DuckDB's checksum and encode
 * them for a layer. Runs on the main thread for small files and on worker threads for large ones
 * (chunk-scan-worker.ts), so it takes plain data in and gives plain data out.
 *
 * Reads go through a file descriptor the caller keeps open: the scan never opens or closes the
 * file itself, because closing any descriptor of a file drops the process's POSIX locks on it,
 * and the working copy's lock is what fences out other writers (see working-copy-lock.ts).
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { checkDuckDBChunk } from './format/duckdb-file.js';
import { BlockEncoding, checksumOf, encodeBlock } from './format/layer.js';

/** What a scan returns for each changed chunk besides its hash. */
export type CollectMode = 'none' | 'raw' | 'encoded';

export interface ChunkBatchJob {
  id: number;
  fd: number;
  firstChunk: number;
  /** File offset of the first chunk; the chunks are contiguous. */
  offset: number;
  lengths: number[];
  /** Per chunk, the sha256 it had in the base (32 bytes each), or zeros where `baseKnown` is 0. */
  baseShas: Uint8Array;
  baseKnown: Uint8Array;
  collect: CollectMode;
  /** Check DuckDB's checksum of changed chunks. */
  verify: boolean;
  /** With `collect: 'encoded'`: try compression (false stores every block raw). */
  compress: boolean;
  /** A payload buffer the consumer is done with, handed back for reuse (transferred). */
  spare?: ArrayBuffer;
}

export interface ChangedChunkRecord {
  chunk: number;
  rawLength: number;
  /** Why DuckDB would reject this chunk, when `verify` was asked for. */
  problem: string | null;
  encoding: BlockEncoding;
  /** Where this chunk's bytes (raw or encoded, per `collect`) sit in `payload`. */
  payloadOffset: number;
  payloadLength: number;
}

export interface ChunkBatchResult {
  id: number;
  changed: ChangedChunkRecord[];
  /** sha256 of each changed chunk, 32 bytes each, in `changed` order. */
  shas: ArrayBuffer;
  /** DuckDB checksum of each changed chunk, 8 bytes each. */
  checksums: ArrayBuffer;
  /** The changed chunks' bytes at their `payloadOffset`s; reused once the consumer is done. */
  payload: ArrayBuffer;
  /** Set when the file ended early: the offset where it did. */
  truncatedAt?: number;
}

/** Bytes one batch reads at most: 32 blocks of 256 KiB. */
export const BATCH_BYTES = 8 << 20;

/**
 * Runs one batch. `readBuffer` and `payload` are reused from batch to batch: touching fresh memory
 * costs about as much as reading it from the page cache (measured: allocating every batch's
 * payload anew doubled the scan's system time), so the payload goes back and forth between the
 * worker and its consumer instead (see chunk-scan.ts). A payload too small for this batch is
 * replaced by a larger one, which the result then carries.
 */
export function processChunkBatch(job: ChunkBatchJob, readBuffer: Buffer, payload: ArrayBuffer | null): ChunkBatchResult {
  const total = job.lengths.reduce((a, b) => a + b, 0);
  const data = readBuffer.length >= total ? readBuffer.subarray(0, total) : Buffer.alloc(total);
  const out = payload && payload.byteLength >= total ? payload : new ArrayBuffer(Math.max(total, BATCH_BYTES));
  const empty = { id: job.id, changed: [], shas: new ArrayBuffer(0), checksums: new ArrayBuffer(0), payload: out };
  let done = 0;
  while (done < total) {
    const n = readSync(job.fd, data, done, total - done, job.offset + done);
    if (n === 0) return { ...empty, truncatedAt: job.offset + done };
    done += n;
  }
  const changed: ChangedChunkRecord[] = [];
  const shas: Buffer[] = [];
  const checksums: Buffer[] = [];
  const outBytes = new Uint8Array(out);
  let payloadLength = 0;
  let at = 0;
  job.lengths.forEach((length, i) => {
    const chunk = job.firstChunk + i;
    const raw = data.subarray(at, at + length);
    at += length;
    const sha = createHash('sha256').update(raw).digest();
    if (job.baseKnown[i] && sha.equals(job.baseShas.subarray(i * 32, i * 32 + 32))) return;
    let encoding = BlockEncoding.Raw;
    let bytes: Buffer | null = null;
    if (job.collect === 'raw') bytes = raw;
    else if (job.collect === 'encoded') ({ encoding, stored: bytes } = job.compress ? encodeBlock(raw) : { encoding, stored: raw });
    changed.push({
      chunk,
      rawLength: length,
      problem: job.verify ? checkDuckDBChunk(chunk, raw) : null,
      encoding,
      payloadOffset: payloadLength,
      payloadLength: bytes?.length ?? 0,
    });
    shas.push(sha);
    checksums.push(checksumOf(chunk, raw));
    if (bytes) {
      // An encoding is never longer than its raw block, so the batch always fits.
      outBytes.set(bytes, payloadLength);
      payloadLength += bytes.length;
    }
  });
  return { id: job.id, changed, shas: packed(shas), checksums: packed(checksums), payload: out };
}

/** Small parts joined into a buffer of their own, which can be transferred. */
function packed(parts: Buffer[]): ArrayBuffer {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.buffer;
}
