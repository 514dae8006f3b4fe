/** A worker thread of the chunk scan: runs batches it is sent and sends their results back. */
import { parentPort } from 'node:worker_threads';
import { BATCH_BYTES, processChunkBatch, type ChunkBatchJob } from './chunk-batch.js';

const readBuffer = Buffer.allocUnsafe(BATCH_BYTES);
/** Payload buffers the consumer gave back, reused before any new one is allocated. */
const spares: ArrayBuffer[] = [];

parentPort!.on('message', (job: ChunkBatchJob) => {
  if (job.spare) spares.push(job.spare);
  const result = processChunkBatch({ ...job, spare: undefined }, readBuffer, spares.pop() ?? null);
  parentPort!.postMessage(result, [result.shas, result.checksums, result.payload]);
});
