/**
 * What a worker does: runs fragments against its repository and streams results as Arrow IPC.
 *
 * - `shop@…` (or a snapshot id) reads a committed snapshot through the shared pool of read-only
 *   instances; any number run at once and none waits for a writer. Because the instances are
 *   shared, only statements DuckDB classifies as reads (SELECT, EXPLAIN) run there, inside a
 *   transaction that is rolled back, and the instances have no writable catalog at all.
 * - `shop` runs on the working copy of the current branch. The worker becomes the branch's
 *   single writer for the duration (the write lease names this process); writes to one database
 *   queue behind each other inside the worker instead of failing.
 * - an empty database runs in a scratch in-memory database (health checks, SELECT 1), where each
 *   execution has a catalog of its own that nothing else sees.
 *
 * Every DuckDB instance that runs network SQL is sandboxed (no file system access).
 */
import { rm } from 'node:fs/promises';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, NotFoundError, ReadOnlyError, ResourceExhaustedError, errorMessage } from '../../core/errors.js';
import { instanceOptions, sandbox, type SessionOptions } from '../../core/duckdb-session.js';
import { parseRef, resolveRef } from '../../core/refs.js';
import type { Repository } from '../../core/repository.js';
import { createSnapshot } from '../../core/verbs/snapshot.js';
import type { CreateSnapshotReply__Output } from '../generated/openduck/v1/CreateSnapshotReply.js';
import { QuerySession, translateSqlError } from '../../core/verbs/query.js';
import { collectReleasedChunks, prepareProbe, runChecked, type ChunkedResult, type StatementGate } from '../../core/checked-result.js';
import { quoteIdentifier } from '../../core/sql.js';
import { listDatabases } from '../../core/verbs/database.js';
import { MAX_PLAN_BYTES } from '../grpc-config.js';
import { statusError } from '../status.js';
import { ArrowIpcEncoder, type EncodedPayload } from '../wire/arrow-ipc.js';
import { SnapshotPool } from './snapshot-pool.js';
import type { ExecuteFragmentChunk } from '../proto.js';
import { KeyedMutex } from './keyed-mutex.js';

export interface FragmentRequest {
  plan: Uint8Array;
  database: string;
  snapshotId?: string;
  executionId: string;
}

export interface FragmentSummary {
  rows: number;
  bytes: number;
  snapshotId: string;
}

/** Where encoded payloads go; resolves when the transport can take more (flow control). */
export type PayloadSink = (payload: EncodedPayload) => Promise<void>;

export interface RunningExecution {
  executionId: string;
  database: string;
  startedAt: number;
}

/** A connection to run SQL on, however it was obtained, and how to give it back. */
interface Target {
  label: string;
  snapshotId: string;
  readOnly: boolean;
  connection: DuckDBConnection | null;
  run(sql: string): Promise<ChunkedResult>;
  interrupt(): void;
  /**
   * Gives the connection back. `clean` when everything run on it finished; otherwise a result may
   * still be pending in DuckDB, which keeps the transaction alive until something ends it.
   */
  close(clean: boolean): Promise<void>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Per DuckDB instance; results and operators beyond it spill to the temp directory. */
export const DEFAULT_MEMORY_LIMIT = '256MB';
/** Executions a worker runs at once when its operator does not say (serve, the CLI). */
export const DEFAULT_MAX_CONCURRENCY = 8;
const SCRATCH_POOL_SIZE = 16;
/** A COMMIT would make one client's scratch tables visible to every later client. */
const SCRATCH_TRANSACTIONS_REFUSED =
  'the scratch database (--db \'\') runs each query in its own transaction, which is rolled back; BEGIN, COMMIT and ROLLBACK are not allowed there';

/** "a CREATE statement", "an ATTACH statement": what DuckDB classified a statement as. */
function statementKind(type: StatementType): string {
  const name = type === StatementType.SET ? 'SET, RESET or USE' : (StatementType[type] ?? 'unknown').replaceAll('_', ' ');
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} statement`;
}

/** A pooled scratch connection: a transaction begun, its default catalog one nobody else uses. */
interface ScratchConnection {
  connection: DuckDBConnection;
  catalog: string;
}

/** Shared snapshot instances run only what DuckDB classifies as a read. */
function readOnlyGate(label: string): StatementGate {
  return (type) => {
    if (type === StatementType.SELECT || type === StatementType.EXPLAIN) return;
    throw new ReadOnlyError(label, `only SELECT and EXPLAIN statements run on a snapshot, and this is ${statementKind(type)}`);
  };
}

/** The scratch database: anything in the execution's own catalog, but no catalogs of its own making, nor commits. */
const scratchGate: StatementGate = (type) => {
  if (type === StatementType.TRANSACTION) throw new InvalidArgumentError(SCRATCH_TRANSACTIONS_REFUSED);
  if (type === StatementType.ATTACH || type === StatementType.DETACH) {
    throw new InvalidArgumentError(`the scratch database (--db '') gives each query a catalog of its own; ${statementKind(type)} is not allowed there`);
  }
};


export class WorkerEngine {
  private readonly pool: SnapshotPool | null;
  private readonly writers = new KeyedMutex();
  private readonly running = new Map<string, RunningExecution & { cancel(): void; cancelled: boolean }>();
  private scratch: Promise<DuckDBInstance> | null = null;
  /** Scratch connections ready to use: a transaction begun, bound to a catalog nobody else uses. */
  private readonly idleScratch: ScratchConnection[] = [];
  /** Scratch catalogs attached and not in use; each serves one execution at a time. */
  private readonly freeCatalogs: string[] = [];
  private scratchCatalogs = 0;
  private closed = false;

  private readonly session: SessionOptions;
  private readonly label: string;
  /** Named in out-of-memory errors: the bounds this worker keeps. */
  private readonly memoryCaps: string;

  constructor(
    readonly repo: Repository | null,
    readonly workerId: string,
    options: { memoryLimit?: string; tempDirectory?: string; maxMemory?: string } = {},
  ) {
    this.label = `openduck worker ${workerId}`;
    // Every instance here runs network SQL: sandboxed, and bounded in memory (it spills instead).
    this.session = { sandboxed: true, memoryLimit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT, tempDirectory: options.tempDirectory };
    this.memoryCaps = `--memory-limit ${this.session.memoryLimit} per DuckDB instance${options.maxMemory ? `, --max-memory ${options.maxMemory} for the process` : ''}`;
    this.pool = repo ? new SnapshotPool(repo, this.session) : null;
  }

  get inFlight(): number {
    return this.running.size;
  }

  executions(): RunningExecution[] {
    return [...this.running.values()].map(({ executionId, database, startedAt }) => ({ executionId, database, startedAt }));
  }

  /** Runs one fragment, handing encoded payloads to `sink`. Throws typed errors or gRPC status errors. */
  async execute(req: FragmentRequest, sink: PayloadSink, onCancel: (cancel: () => void) => void): Promise<FragmentSummary> {
    const sql = decodePlan(req.plan);
    if (!req.executionId) throw new InvalidArgumentError('execution_id is required');
    if (this.running.has(req.executionId)) throw new InvalidArgumentError(`execution ${req.executionId} is already running`);
    const record = { executionId: req.executionId, database: req.database, startedAt: Date.now(), cancelled: false, cancel: () => undefined as void };
    this.running.set(req.executionId, record);
    let exhausted = false;
    const fail = (err: unknown, target: Target): Error => {
      if (record.cancelled) return cancelled();
      const error = this.translate(err, target);
      exhausted ||= error instanceof ResourceExhaustedError;
      return error;
    };
    try {
      return await this.withTarget(req.database, req.snapshotId, `execution ${req.executionId}`, async (target) => {
        record.cancel = () => {
          record.cancelled = true;
          target.interrupt();
        };
        onCancel(record.cancel);
        if (record.cancelled) throw cancelled();
        let result: ChunkedResult;
        try {
          result = await target.run(sql);
        } catch (err) {
          throw fail(err, target);
        }
        const encoder = new ArrowIpcEncoder({ names: result.deduplicatedColumnNames(), types: result.columnTypes() });
        let rows = 0;
        let bytes = 0;
        const emit = async (payloads: EncodedPayload[]) => {
          for (const p of payloads) {
            rows += p.rows;
            bytes += p.bytes.length;
            await sink(p);
          }
        };
        try {
          for (let chunk = await result.next(); chunk; chunk = await result.next()) {
            if (record.cancelled) throw cancelled();
            await emit(encoder.push(chunk));
          }
        } catch (err) {
          throw fail(err, target);
        }
        if (record.cancelled) throw cancelled();
        await emit(encoder.finish());
        return { rows, bytes, snapshotId: target.snapshotId };
      });
    } finally {
      this.running.delete(req.executionId);
      // The chunk that held an oversized value is unreachable now; its native memory goes back
      // at the next collection, which should not wait for unrelated garbage to pile up.
      if (exhausted) collectReleasedChunks('major');
    }
  }

  /** DuckDB's errors as typed ones; running out of memory is a bound reached, and says which. */
  private translate(err: unknown, target: Target): Error {
    if (err instanceof ResourceExhaustedError) return new ResourceExhaustedError(err.cap, `${target.label}: ${err.message}`);
    const message = errorMessage(err).split('\n')[0]!;
    if (/^Out of Memory Error/i.test(message)) return new ResourceExhaustedError('memory', `${target.label}: ${message} (this worker's bounds: ${this.memoryCaps})`);
    return translateSqlError(err, target.label, target.readOnly);
  }

  /**
   * Runs a fragment and hands the protocol's messages to `send`: Arrow batches, then `finished`
   * with the summary. Shared by the gRPC worker service and the in-process channel of `serve`.
   */
  async executeToMessages(req: FragmentRequest, send: (message: ExecuteFragmentChunk) => Promise<void>, onCancel: (cancel: () => void) => void): Promise<void> {
    const summary = await this.execute(
      req,
      (p) => send({ arrowBatch: { ipcStreamPayload: Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), crc32: p.crc32, rowCount: p.rows } }),
      onCancel,
    );
    await send({ finished: true, summary: { rows: summary.rows, bytes: summary.bytes, snapshotId: summary.snapshotId, workerId: this.workerId } });
  }

  cancel(executionId: string): boolean {
    const r = this.running.get(executionId);
    if (!r) return false;
    r.cancel();
    return true;
  }

  /**
   * Seals a database's working copy; the worker is its writer, so this queues behind writes.
   * Answers in the protocol's CreateSnapshotReply shape.
   */
  async createSnapshot(database: string, message: string, author: string): Promise<CreateSnapshotReply__Output> {
    const repo = this.requireRepo();
    const r = await this.writers.run(database, () => createSnapshot(repo, database, { message, author: author || undefined }));
    return { created: r.created, id: r.id, parent: r.parent ?? '', branch: r.branch, blocksChanged: r.blocksChanged, bytesWritten: r.bytesWritten };
  }

  async listDatabases(): Promise<Array<{ name: string; defaultBranch: string; branches: string[] }>> {
    const repo = this.requireRepo();
    const out = [];
    for (const d of await listDatabases(repo)) {
      out.push({ name: d.name, defaultBranch: d.defaultBranch, branches: (await repo.metadata.listBranches(d.name)).map((b) => b.name) });
    }
    return out;
  }

  async listTables(database: string): Promise<{ snapshotId: string; schemas: string[]; tables: Array<{ schema: string; name: string; estimatedRows: number; kind: string }> }> {
    return this.withTarget(database, undefined, 'catalog', async (target) => {
      const con = target.connection!;
      const schemas = (await con.runAndReadAll(`SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name NOT IN ('information_schema', 'pg_catalog') ORDER BY 1`))
        .getRows()
        .map((r) => String(r[0]));
      const tables = (
        await con.runAndReadAll(
          `SELECT schema_name, table_name, estimated_size, 'table' FROM duckdb_tables() WHERE database_name = current_database()
           UNION ALL
           SELECT schema_name, view_name, 0, 'view' FROM duckdb_views() WHERE database_name = current_database() AND NOT internal
           ORDER BY 1, 2`,
        )
      )
        .getRows()
        .map((r) => ({ schema: String(r[0]), name: String(r[1]), estimatedRows: Number(r[2] ?? 0), kind: String(r[3]) }));
      return { snapshotId: target.snapshotId, schemas, tables };
    });
  }

  async describeTable(database: string, schema: string, table: string): Promise<{ snapshotId: string; columns: Array<{ name: string; type: string; nullable: boolean }>; estimatedRows: number }> {
    return this.withTarget(database, undefined, 'catalog', async (target) => {
      const con = target.connection!;
      const columns = (
        await con.runAndReadAll(
          `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index`,
          [schema || 'main', table],
        )
      )
        .getRows()
        .map((r) => ({ name: String(r[0]), type: String(r[1]), nullable: Boolean(r[2]) }));
      if (columns.length === 0) throw new NotFoundError('table', `${database}.${schema || 'main'}.${table}`);
      const estimate = (
        await con.runAndReadAll(`SELECT estimated_size FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, [
          schema || 'main',
          table,
        ])
      ).getRows()[0];
      return { snapshotId: target.snapshotId, columns, estimatedRows: Number(estimate?.[0] ?? 0) };
    });
  }

  /** Opens the right kind of target for `database`, runs fn, and always gives the target back. */
  private async withTarget<T>(database: string, snapshotId: string | undefined, purpose: string, fn: (t: Target) => Promise<T>): Promise<T> {
    if (!database) {
      if (snapshotId) throw new InvalidArgumentError('snapshot_id needs a database');
      return this.useTarget(await this.scratchTarget(), fn);
    }
    const repo = this.requireRepo();
    const parsed = parseRef(snapshotId ? `${database.split('@')[0]}@${snapshotId}` : database);
    if (parsed.rev === null) {
      // The working copy: one writer per database inside this worker, and the branch lease across processes.
      return this.writers.run(parsed.db, async () => {
        const session = await QuerySession.open(repo, parsed.db, { purpose: `${this.label}, ${purpose}`, session: this.session });
        return this.useTarget(
          {
            label: session.label,
            snapshotId: '',
            readOnly: false,
            connection: session.connection,
            run: (sql) => session.run(sql),
            interrupt: () => session.interrupt(),
            close: () => session.close(),
          },
          fn,
        );
      });
    }
    const resolved = await resolveRef(repo, parsed);
    const lease = await this.pool!.connect(resolved.snapshot);
    const label = resolved.label;
    return this.useTarget(
      {
        label,
        snapshotId: resolved.snapshot.id,
        readOnly: true,
        connection: lease.connection,
        // The lease's transaction is rolled back when it is released: nothing a statement did survives it.
        run: (sql) => runChecked(lease.connection, sql, { inTransaction: true, gate: readOnlyGate(label), gateAllFirst: true }),
        interrupt: () => lease.connection.interrupt(),
        close: (clean) => lease.release(clean),
      },
      fn,
    );
  }

  private async useTarget<T>(target: Target, fn: (t: Target) => Promise<T>): Promise<T> {
    let clean = false;
    try {
      const result = await fn(target);
      clean = true;
      return result;
    } finally {
      await target.close(clean);
    }
  }

  /**
   * Each scratch execution has a catalog of its own: an in-memory database that no other
   * execution uses while it runs, made its default with USE, on a connection of its own, inside a
   * transaction that is rolled back when it ends.
   * - Nothing it creates is ever committed, so no other execution can read it, now or later: a
   *   catalog goes back to the pool empty. (Another execution could name it and write into it in
   *   its own transaction; what it writes is invisible to the owner and rolled back in turn.)
   * - ATTACH, DETACH and transaction statements are refused, and the instance's `memory` catalog
   *   is detached: there is no catalog the executions share.
   * - A connection keeps session state outside any transaction (SET VARIABLE, USE, PREPARE), so
   *   a used one is closed, not reused.
   * Connections wait in a small pool with all of this done, so it costs a query no latency; a
   * used one is replaced in the background.
   */
  private async scratchTarget(): Promise<Target> {
    const { connection, catalog } = this.idleScratch.pop() ?? (await this.newScratchConnection());
    return {
      label: 'scratch database',
      snapshotId: '',
      readOnly: false,
      connection,
      run: (sql) => runChecked(connection, sql, { inTransaction: true, gate: scratchGate }),
      interrupt: () => connection.interrupt(),
      close: async (clean) => {
        // A pending result would keep the transaction (and what it wrote in the catalog) alive
        // past closing the connection; a statement run after it ends both, so the catalog is
        // empty for its next execution. A catalog that cannot be vouched for is not reused.
        const ended = clean || (await connection.run('ROLLBACK').then(() => true, () => false));
        connection.closeSync();
        if (ended) this.freeCatalogs.push(catalog);
        void this.replenishScratch();
      },
    };
  }

  private async newScratchConnection(): Promise<ScratchConnection> {
    if (!this.scratch) {
      this.scratch = (async () => {
        const instance = await DuckDBInstance.create(':memory:', instanceOptions(this.session));
        const first = await this.attachScratchCatalog(instance);
        const setup = await instance.connect();
        try {
          // The default catalog would be one every execution could write to. It can go once
          // another is this connection's default.
          await setup.run(`USE ${quoteIdentifier(first)}; DETACH memory`);
          await sandbox(setup);
        } finally {
          setup.closeSync();
        }
        this.freeCatalogs.push(first);
        return instance;
      })();
    }
    const instance = await this.scratch;
    const catalog = this.freeCatalogs.pop() ?? (await this.attachScratchCatalog(instance));
    const connection = await instance.connect();
    try {
      await connection.run(`BEGIN TRANSACTION; USE ${quoteIdentifier(catalog)}`);
      await prepareProbe(connection);
      return { connection, catalog };
    } catch (err) {
      connection.closeSync();
      this.freeCatalogs.push(catalog);
      throw err;
    }
  }

  /** Attaches a new, empty scratch catalog, outside any transaction, so it outlives executions. */
  private async attachScratchCatalog(instance: DuckDBInstance): Promise<string> {
    const catalog = `scratch_${++this.scratchCatalogs}`;
    const connection = await instance.connect();
    try {
      await connection.run(`ATTACH ':memory:' AS ${quoteIdentifier(catalog)}`);
    } finally {
      connection.closeSync();
    }
    return catalog;
  }

  private async replenishScratch(): Promise<void> {
    if (this.closed || this.idleScratch.length >= SCRATCH_POOL_SIZE) return;
    try {
      const scratch = await this.newScratchConnection();
      if (this.closed) return scratch.connection.closeSync();
      this.idleScratch.push(scratch);
    } catch {
      // The next scratch execution connects for itself, and reports any problem.
    }
  }

  private requireRepo(): Repository {
    if (!this.repo) throw new NotFoundError('repository', 'this worker has none');
    return this.repo;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running.values()) r.cancel();
    await this.pool?.close();
    for (const c of this.idleScratch.splice(0)) c.connection.closeSync();
    if (this.session.tempDirectory) await rm(this.session.tempDirectory, { recursive: true, force: true });
    if (this.scratch) (await this.scratch.catch(() => null))?.closeSync();
  }
}

function decodePlan(plan: Uint8Array): string {
  if (plan.length > MAX_PLAN_BYTES) throw new InvalidArgumentError(`plan is ${plan.length} bytes; the limit is ${MAX_PLAN_BYTES}`);
  try {
    return utf8.decode(plan);
  } catch (err) {
    throw new InvalidArgumentError(`plan is not valid UTF-8 SQL (${errorMessage(err)})`);
  }
}

function cancelled(): Error {
  return statusError(grpc.status.CANCELLED, 'cancelled');
}
