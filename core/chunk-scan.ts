/**
 * The chunk scan: which chunks of a file differ from a block map, decided soundly. Every chunk
 * is read and hashed with sha256; a chunk is unchanged only when its hash equals the base's.
 * DuckDB's own 8-byte block checksum never decides that: it XOR-folds the block's words, so it
 * cannot see words that moved within a block, and a snapshot built on it stored stale blocks.
 *
 * Reading and hashing a whole file costs about what `cp` costs, so large files are scanned by
 * worker threads (sha256 runs at ~1.6 GB/s per core with the CPU's SHA instructions) while the
 * caller consumes changed chunks in chunk order. Memory stays at a few batches of 8 MiB.
 */
import { existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BATCH_BYTES, processChunkBatch, type ChunkBatchJob, type ChunkBatchResult, type CollectMode } from './chunk-batch.js';
import { envInteger } from './env.js';
import { TruncatedFileError } from './errors.js';
import type { BlockMap } from './format/block-map.js';
import type { BlockEncoding } from './format/block-entry.js';
import { chunkExtent, type FileLayout } from './format/duckdb-file.js';
import { noProgress, type ProgressSink } from './progress.js';

export type { CollectMode } from './chunk-batch.js';

export interface ScannedChunk {
  chunk: number;
  sha256: Buffer;
  rawLength: number;
  duckdbChecksum: Buffer;
  /** Why DuckDB would reject this chunk (only when `verify` was asked for). */
  problem: string | null;
  encoding: BlockEncoding;
  /**
   * The raw bytes (`collect: 'raw'`) or the layer encoding (`collect: 'encoded'`); empty for
   * 'none'. Valid until the consumer asks for the next chunk: the memory is reused after that.
   */
  data: Buffer;
}

export interface ScanOptions {
  /** What the file is compared with; null: every chunk counts as changed. */
  base: BlockMap | null;
  collect: CollectMode;
  /** Check DuckDB's own checksum of every changed chunk. */
  verify?: boolean;
  /** With `collect: 'encoded'`: compress blocks where it pays (default true). */
  compress?: boolean;
  /** Scan only chunks [0, chunkLimit) of the layout (checkout: the chunks the file fully holds). */
  chunkLimit?: number;
  /** Names the file in errors. */
  file: string;
  onProgress?: ProgressSink;
}

/** Below this many bytes, starting worker threads costs more than it saves. */
const PARALLEL_THRESHOLD_BYTES = 48 << 20;
const MAX_WORKERS = 4;

/** Worker threads for large scans: one per core up to four; OPENDUCK_SCAN_THREADS=0 scans inline. */
function scanThreads(): number {
  return envInteger('OPENDUCK_SCAN_THREADS', Math.min(MAX_WORKERS, availableParallelism()), { max: 64 });
}

/**
 * Yields, in chunk order, the chunks of the open file that differ from `options.base`. Reads go
 * through `handle`'s descriptor; the handle is not closed.
 */
export async function* scanChangedChunks(handle: FileHandle, layout: FileLayout, options: ScanOptions): AsyncGenerator<ScannedChunk> {
  const jobs = planBatches(handle.fd, layout, options);
  const totalBytes = jobs.reduce((n, j) => n + j.lengths.reduce((a, b) => a + b, 0), 0);
  const progress = options.onProgress ?? noProgress;
  const chunkTotal = options.chunkLimit ?? layout.chunkCount;
  const threads = scanThreads();
  const source = threads > 0 && totalBytes >= PARALLEL_THRESHOLD_BYTES && workerScript() ? runOnWorkers(jobs, threads) : runInline(jobs);
  const { results } = source;
  try {
    for await (const result of results) {
      const job = jobs[result.id]!;
      if (result.truncatedAt !== undefined) throw new TruncatedFileError(options.file, result.truncatedAt);
      yield* unpack(result);
      // The consumer asked for the chunk after this batch's last one: it is done with them.
      source.recycle(result);
      progress({ task: 'scanning blocks', done: job.firstChunk + job.lengths.length, total: chunkTotal });
    }
  } finally {
    await results.return(undefined);
  }
}

function planBatches(fd: number, layout: FileLayout, options: ScanOptions): ChunkBatchJob[] {
  const { base } = options;
  const sameGeometry = base !== null && base.blockSize === layout.blockSize && base.headerSize === layout.headerSize;
  const limit = Math.min(options.chunkLimit ?? layout.chunkCount, layout.chunkCount);
  const jobs: ChunkBatchJob[] = [];
  let chunk = 0;
  while (chunk < limit) {
    const first = chunk;
    const lengths: number[] = [];
    let bytes = 0;
    while (chunk < limit && (lengths.length === 0 || bytes + chunkExtent(layout, chunk).length <= BATCH_BYTES)) {
      const { length } = chunkExtent(layout, chunk);
      lengths.push(length);
      bytes += length;
      chunk++;
    }
    const baseShas = new Uint8Array(lengths.length * 32);
    const baseKnown = new Uint8Array(lengths.length);
    lengths.forEach((length, i) => {
      const prior = sameGeometry ? base.chunks[first + i] : undefined;
      if (prior && prior.rawLength === length) {
        baseShas.set(prior.sha256, i * 32);
        baseKnown[i] = 1;
      }
    });
    jobs.push({
      id: jobs.length,
      fd,
      firstChunk: first,
      offset: chunkExtent(layout, first).offset,
      lengths,
      baseShas,
      baseKnown,
      collect: options.collect,
      verify: options.verify ?? false,
      compress: options.compress ?? true,
    });
  }
  return jobs;
}

function* unpack(result: ChunkBatchResult): Generator<ScannedChunk> {
  const shas = Buffer.from(result.shas);
  const checksums = Buffer.from(result.checksums);
  const payload = Buffer.from(result.payload);
  for (const [i, c] of result.changed.entries()) {
    yield {
      chunk: c.chunk,
      sha256: shas.subarray(i * 32, i * 32 + 32),
      rawLength: c.rawLength,
      duckdbChecksum: checksums.subarray(i * 8, i * 8 + 8),
      problem: c.problem,
      encoding: c.encoding,
      data: payload.subarray(c.payloadOffset, c.payloadOffset + c.payloadLength),
    };
  }
}

/** Batches and a way to hand a consumed batch's payload back for reuse. */
interface BatchSource {
  results: AsyncGenerator<ChunkBatchResult>;
  recycle(result: ChunkBatchResult): void;
}

function runInline(jobs: ChunkBatchJob[]): BatchSource {
  const readBuffer = Buffer.allocUnsafe(BATCH_BYTES);
  let spare: ArrayBuffer | null = null;
  async function* results(): AsyncGenerator<ChunkBatchResult> {
    for (const job of jobs) {
      const payload = spare;
      spare = null;
      yield processChunkBatch(job, readBuffer, payload);
    }
  }
  return { results: results(), recycle: (r) => void (spare = r.payload) };
}

/** The compiled worker script; tests that run the TypeScript sources use the built one. */
let workerPath: string | null | undefined;
function workerScript(): string | null {
  if (workerPath === undefined) {
    const candidates = [join(import.meta.dirname, 'chunk-scan-worker.js'), join(import.meta.dirname, '..', 'dist', 'core', 'chunk-scan-worker.js')];
    workerPath = candidates.find((p) => existsSync(p)) ?? null;
  }
  return workerPath;
}

/**
 * Runs the batches on a few worker threads and yields results in batch order. At most two
 * batches per worker are out (sent and not yet consumed), so memory stays bounded however slowly
 * the consumer writes; each consumed payload goes back to the worker that filled it, with its next
 * job. Stopping early (the consumer returns) terminates the workers.
 */
function runOnWorkers(jobs: ChunkBatchJob[], threads: number): BatchSource {
  const count = Math.max(1, Math.min(threads, jobs.length));
  const workers = Array.from({ length: count }, () => ({ thread: new Worker(workerScript()!), busy: 0, spares: [] as ArrayBuffer[] }));
  const producedBy = new Map<number, (typeof workers)[number]>();
  const window = 2 * count;
  const ready = new Map<number, ChunkBatchResult>();
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let sent = 0;
  let consumed = 0;
  const topUp = () => {
    while (sent < jobs.length && sent - consumed < window) {
      const idlest = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
      idlest.busy++;
      const spare = idlest.spares.pop();
      idlest.thread.postMessage(spare ? { ...jobs[sent++]!, spare } : jobs[sent++], spare ? [spare] : []);
    }
  };
  for (const w of workers) {
    w.thread.on('message', (r: ChunkBatchResult) => {
      w.busy--;
      producedBy.set(r.id, w);
      ready.set(r.id, r);
      notify();
    });
    w.thread.on('error', (err) => {
      failure ??= err;
      notify();
    });
    w.thread.on('exit', (code) => {
      failure ??= new Error(`chunk scan worker exited with code ${code}`);
      notify();
    });
  }
  async function* results(): AsyncGenerator<ChunkBatchResult> {
    try {
      topUp();
      for (; consumed < jobs.length; ) {
        while (!ready.has(consumed)) {
          if (failure) throw failure;
          await new Promise<void>((r) => (wake = r));
        }
        const result = ready.get(consumed)!;
        ready.delete(consumed);
        consumed++;
        topUp();
        yield result;
      }
    } finally {
      for (const w of workers) w.thread.removeAllListeners('exit');
      await Promise.all(workers.map((w) => w.thread.terminate()));
    }
  }
  const recycle = (r: ChunkBatchResult) => {
    const w = producedBy.get(r.id);
    producedBy.delete(r.id);
    if (w && r.payload.byteLength > 0) w.spares.push(r.payload);
  };
  return { results: results(), recycle };
}
