/**
 * A client for an OpenDuck gateway: runs SQL remotely and streams the decoded result, cancels,
 * asks for status and seals working copies. The CLI's remote mode is built on it, and scripts can
 * use it directly. Results are pulled as the consumer reads them, so a slow consumer slows the
 * server (HTTP/2 flow control) instead of filling memory.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { bearerMetadata } from './auth.js';
import { parseEndpoint } from './grpc-config.js';
import { closeClients, openduckClients } from './proto.js';
import { fromStatusError } from './status.js';
import type { SnapshotCreateResult } from '../core/verbs/snapshot.js';
import type { RecordBatch } from 'apache-arrow';
import { AlignedScratch, ArrowIpcDecoder } from './wire/arrow-ipc.js';
import type { ExecuteFragmentChunk__Output } from './generated/openduck/v1/ExecuteFragmentChunk.js';
import type { CancelReply__Output } from './generated/openduck/v1/CancelReply.js';
import type { StatusReply__Output } from './generated/openduck/v1/StatusReply.js';
import type { CreateSnapshotReply__Output } from './generated/openduck/v1/CreateSnapshotReply.js';
import type { ListTablesReply__Output } from './generated/openduck/v1/ListTablesReply.js';
import type { DescribeTableReply__Output } from './generated/openduck/v1/DescribeTableReply.js';
import type { ListDatabasesReply__Output } from './generated/openduck/v1/ListDatabasesReply.js';

export interface ExecuteOptions {
  database?: string;
  snapshotId?: string;
  executionId?: string;
  computeContext?: string;
}

export interface RemoteSummary {
  rows: number;
  bytes: number;
  snapshotId: string;
  workerId: string;
}

/** A running remote execution: its columns once known, then row batches as they arrive. */
export interface RemoteResult {
  executionId: string;
  names: string[];
  types: DuckDBType[];
  batches: AsyncIterable<DuckDBValue[][]>;
  /** Available after the batches are consumed. */
  summary(): RemoteSummary | null;
  cancel(): void;
}

/**
 * A running remote execution read as Arrow: record batches straight from the wire, checksummed
 * and validated by ArrowIpcDecoder.pushArrow, without turning values into JS objects. For loading
 * results into DuckDB (client-load.ts) or handing them to Arrow tools.
 */
export interface RemoteArrowResult {
  executionId: string;
  names: string[];
  types: DuckDBType[];
  /**
   * Record batches with rows, in order. A batch's buffers may live in a scratch buffer that the
   * next payload reuses: finish with a batch before asking for the next one.
   */
  batches: AsyncIterable<RecordBatch>;
  /** What has arrived so far; once the batches are consumed, `bytes` is the Arrow IPC stream's size. */
  stats(): RemoteArrowStats;
  /** Available after the batches are consumed. */
  summary(): RemoteSummary | null;
  cancel(): void;
}

export interface RemoteArrowStats {
  payloads: number;
  bytes: number;
  /** Time spent verifying and decoding payloads (ArrowIpcDecoder.pushArrow). */
  decodeMs: number;
}

export class OpenDuckClient {
  readonly endpoint: string;
  private readonly clients: ReturnType<typeof openduckClients>;

  constructor(
    endpoint: string,
    private readonly token: string | null,
  ) {
    this.endpoint = parseEndpoint(endpoint).target;
    this.clients = openduckClients(this.endpoint);
  }

  private metadata(): grpc.Metadata {
    return bearerMetadata(this.token);
  }

  /** Resolves with how long connecting took, or fails with the endpoint named. */
  waitForReady(timeoutMs = 5000): Promise<number> {
    const started = performance.now();
    return new Promise((resolve, reject) =>
      this.clients.execution.waitForReady(Date.now() + timeoutMs, (err) =>
        err ? reject(fromStatusError(Object.assign(err, { code: grpc.status.UNAVAILABLE, details: err.message }), this.endpoint)) : resolve(performance.now() - started),
      ),
    );
  }

  /**
   * Starts an execution. Resolves once the schema has arrived (or fails with the server's error),
   * so callers can print headers before rows stream.
   */
  async execute(sql: string, options: ExecuteOptions = {}): Promise<RemoteResult> {
    const decoder = new ArrowIpcDecoder();
    return this.stream(sql, options, decoder, (payload) => decoder.push(payload).map((batch) => batch.rows()));
  }

  /**
   * Like `execute`, but yields Arrow record batches instead of rows of DuckDB values: the fast
   * path for moving a large result into a local DuckDB (see loadRemoteResult in client-load.ts).
   */
  async executeArrow(sql: string, options: ExecuteOptions = {}): Promise<RemoteArrowResult> {
    const decoder = new ArrowIpcDecoder();
    const scratch = new AlignedScratch();
    const stats: RemoteArrowStats = { payloads: 0, bytes: 0, decodeMs: 0 };
    const result = await this.stream(sql, options, decoder, (payload) => {
      const started = performance.now();
      const batches = decoder.pushArrow(payload, { alignedScratch: scratch });
      stats.decodeMs += performance.now() - started;
      stats.payloads++;
      stats.bytes += payload.bytes.byteLength;
      return batches;
    });
    return { ...result, stats: () => ({ ...stats }) };
  }

  /**
   * The shared life of an execution: send it, wait for the schema, then hand out what `decode`
   * makes of each payload. The batches of one payload are all handed out before the next payload
   * is read (a decoder may reuse buffers), and a consumer that stops early cancels the execution
   * rather than leave the server streaming into the void.
   */
  private async stream<B>(
    sql: string,
    options: ExecuteOptions,
    decoder: ArrowIpcDecoder,
    decode: (payload: { bytes: Uint8Array; crc32: number }) => B[],
  ): Promise<{ executionId: string; names: string[]; types: DuckDBType[]; batches: AsyncIterable<B>; summary(): RemoteSummary | null; cancel(): void }> {
    const executionId = options.executionId ?? randomUUID();
    const call = this.clients.execution.ExecuteFragment(
      {
        plan: Buffer.from(sql, 'utf8'),
        database: options.database ?? '',
        snapshotId: options.snapshotId,
        executionId,
        computeContext: options.computeContext ?? '',
        accessToken: '',
      },
      this.metadata(),
    );
    const iterator = (call as AsyncIterable<ExecuteFragmentChunk__Output>)[Symbol.asyncIterator]();
    const endpoint = this.endpoint;
    let summary: RemoteSummary | null = null;
    let pending: B[] = [];

    const pull = async (): Promise<boolean> => {
      let next: IteratorResult<ExecuteFragmentChunk__Output>;
      try {
        next = await iterator.next();
      } catch (err) {
        throw fromStatusError(err, endpoint);
      }
      if (next.done) return false;
      const chunk = next.value;
      if (chunk.arrowBatch) {
        pending = decode({ bytes: chunk.arrowBatch.ipcStreamPayload, crc32: chunk.arrowBatch.crc32 });
      } else if (chunk.finished) {
        const s = chunk.summary;
        summary = { rows: Number(s?.rows ?? 0), bytes: Number(s?.bytes ?? 0), snapshotId: s?.snapshotId ?? '', workerId: s?.workerId ?? '' };
      } else if (chunk.error) {
        throw fromStatusError(Object.assign(new Error(chunk.error), { code: grpc.status.UNKNOWN, details: chunk.error }), endpoint);
      }
      return true;
    };

    try {
      while (!decoder.columns) {
        if (!(await pull())) throw fromStatusError(Object.assign(new Error('stream ended without a schema'), { code: grpc.status.INTERNAL, details: 'stream ended without a schema' }), endpoint);
      }
    } catch (err) {
      call.cancel();
      throw err;
    }
    const columns = decoder.columns;
    return {
      executionId,
      names: columns.names,
      types: columns.types,
      batches: (async function* () {
        try {
          for (;;) {
            while (pending.length) yield pending.shift()!;
            if (!(await pull())) break;
          }
        } finally {
          if (summary === null) call.cancel();
        }
      })(),
      summary: () => summary,
      cancel: () => call.cancel(),
    };
  }

  cancel(executionId: string): Promise<boolean> {
    return this.unary<CancelReply__Output>((md, cb) => this.clients.execution.CancelExecution({ executionId, accessToken: '' }, md, cb)).then((r) => r.acknowledged);
  }

  status(): Promise<StatusReply__Output> {
    return this.unary((md, cb) => this.clients.control.GetStatus({}, md, cb));
  }

  /** Seals through the server; answers as a local `createSnapshot` does. */
  async createSnapshot(database: string, message = '', author = ''): Promise<SnapshotCreateResult> {
    const r = await this.unary<CreateSnapshotReply__Output>((md, cb) => this.clients.control.CreateSnapshot({ database, message, author }, md, cb));
    return { created: r.created, id: r.id, parent: r.parent || null, branch: r.branch, blocksChanged: r.blocksChanged, bytesWritten: r.bytesWritten };
  }

  listDatabases(): Promise<ListDatabasesReply__Output> {
    return this.unary((md, cb) => this.clients.catalog.ListDatabases({}, md, cb));
  }

  listTables(database: string): Promise<ListTablesReply__Output> {
    return this.unary((md, cb) => this.clients.catalog.ListTables({ database }, md, cb));
  }

  describeTable(database: string, schema: string, table: string): Promise<DescribeTableReply__Output> {
    return this.unary((md, cb) => this.clients.catalog.DescribeTable({ database, schema, table }, md, cb));
  }

  private unary<T>(invoke: (md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => invoke(this.metadata(), (err, res) => (err ? reject(fromStatusError(err, this.endpoint)) : resolve(res as T))));
  }

  close(): void {
    closeClients(this.clients);
  }
}
