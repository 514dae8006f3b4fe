/** A worker thread of the chunk scan: runs batches it is sent and sends their results back. */
import { parentPort } from 'node:worker_threads';
import { BATCH_BYTES, processChunkBatch, type ChunkBatchJob } from './chunk-batch.js';

const readBuffer = Buffer.allocUnsafe(BATCH_BYTES);

parentPort!.on('message', (job: ChunkBatchJob) => {
  const result = processChunkBatch(job, readBuffer);
  parentPort!.postMessage(result, [result.shas, result.checksums, result.payload]);
});
