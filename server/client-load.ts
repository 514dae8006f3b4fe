/**
 * Loading a remote result into a table of a local DuckDB.
 *
 *   const result = await client.executeArrow('SELECT * FROM t', { database: 'shop@main' });
 *   const rows = await loadRemoteResult(result, connection, 't_copy');
 *
 * The fast path takes the Arrow record batches of `OpenDuckClient.executeArrow`, writes them into
 * a reused DuckDB chunk straight from the Arrow buffers (wire/duckdb-chunks.ts) and appends each
 * chunk with DuckDB's Appender. A `RemoteResult` from `execute` (rows of values) loads too, through
 * the node-api's value writers, which is much slower for large results.
 *
 * By default the table is created (identifiers quoted, column types exactly the remote ones) and
 * the whole load runs in one transaction, so a failed or cancelled stream leaves no table and no
 * rows behind. On a connection that already has a transaction open, the load joins it instead.
 */
import { DuckDBDataChunk, DuckDBTypeId, INTEGER, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { quoteIdentifier } from '../core/sql.js';
import { ArrowChunkFiller, CHUNK_ROWS, setColumnValuesAndNulls } from './wire/duckdb-chunks.js';

/** Anything with columns and Arrow record batches, e.g. a RemoteArrowResult. */
export interface ArrowBatchSource {
  names: string[];
  types: DuckDBType[];
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>;
  /** Called when the load fails, so a remote execution stops streaming. */
  cancel?(): void;
}

/** Anything with columns and row-major batches of values, e.g. a RemoteResult. */
export interface ValueRowSource {
  names: string[];
  types: DuckDBType[];
  batches: AsyncIterable<DuckDBValue[][]> | Iterable<DuckDBValue[][]>;
  /** Called when the load fails, so a remote execution stops streaming. */
  cancel?(): void;
}

export interface LoadOptions {
  schema?: string;
  catalog?: string;
  /**
   * `create` (the default) makes the table and fails if it exists; `replace` uses CREATE OR
   * REPLACE; `append` adds the rows to an existing table, whose columns must take these types.
   */
  mode?: 'create' | 'replace' | 'append';
  /** Whether to run the load in its own transaction (default true). */
  transaction?: boolean;
  /** Called after each appended chunk with the rows loaded so far. */
  onProgress?: (rows: number) => void;
  /** Filled in with where the load spent its time, for profiling. */
  timings?: LoadTimings;
}

/** Milliseconds spent in each part of a load (added to, so one object can sum several loads). */
export interface LoadTimings {
  /** Waiting for the source's next batch: network and decoding for a remote result. */
  sourceMs: number;
  /** Writing Arrow buffers (or values) into DuckDB chunks. */
  fillMs: number;
  /** appender.appendDataChunk and the appender's final flush. */
  appendMs: number;
  /** CREATE TABLE, BEGIN and COMMIT. */
  sqlMs: number;
}

export function emptyTimings(): LoadTimings {
  return { sourceMs: 0, fillMs: 0, appendMs: 0, sqlMs: 0 };
}

/** Creates the table (unless appending) and appends every row of `source`; resolves with the row count. */
export async function loadRemoteResult(source: ArrowBatchSource | ValueRowSource, connection: DuckDBConnection, table: string, options: LoadOptions = {}): Promise<number> {
  if (source.names.length !== source.types.length) throw new Error(`${source.names.length} column names but ${source.types.length} column types`);
  const mode = options.mode ?? 'create';
  const t = options.timings ?? emptyTimings();
  let mark = performance.now();
  /** Adds the time since the last lap to `key`. */
  const lap = (key: keyof LoadTimings) => {
    const now = performance.now();
    t[key] += now - mark;
    mark = now;
  };
  let ownTransaction = false;
  try {
    ownTransaction = (options.transaction ?? true) && (await beginIfIdle(connection));
    if (mode !== 'append') await connection.run(createTableSql(source, table, options, mode === 'replace'));
    const appender = await connection.createAppender(table, options.schema ?? null, options.catalog ?? null);
    lap('sqlMs');
    let rows = 0;
    try {
      const progress = options.onProgress ?? (() => undefined);
      let arrow: ArrowChunkFiller | null = null;
      let values: DuckDBDataChunk | null = null;
      for await (const batch of source.batches as AsyncIterable<RecordBatch | DuckDBValue[][]>) {
        lap('sourceMs');
        if (Array.isArray(batch)) {
          values ??= DuckDBDataChunk.create(source.types);
          rows = appendRows(appender, values, source.types, batch, rows, progress, lap);
        } else {
          arrow ??= new ArrowChunkFiller(source.types);
          // The generator fills each chunk when asked for it, so the lap times the fill alone.
          for (const chunk of arrow.chunks(batch)) {
            lap('fillMs');
            appender.appendDataChunk(chunk);
            lap('appendMs');
            rows += chunk.rowCount;
            progress(rows);
          }
        }
      }
      appender.closeSync();
      lap('appendMs');
    } catch (err) {
      closeQuietly(appender);
      throw err;
    }
    if (ownTransaction) await connection.run('COMMIT');
    lap('sqlMs');
    return rows;
  } catch (err) {
    source.cancel?.();
    if (ownTransaction) await connection.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The CREATE TABLE statement for a result's columns; SQLNULL columns become INTEGER, as in DuckDB's own CREATE TABLE AS. */
export function createTableSql(source: { names: string[]; types: DuckDBType[] }, table: string, options: Pick<LoadOptions, 'schema' | 'catalog'> = {}, replace = false): string {
  const name = [options.catalog, options.schema, table].filter((p): p is string => p !== undefined && p !== null).map(quoteIdentifier).join('.');
  const columns = source.names.map((n, i) => `${quoteIdentifier(n)} ${columnTypeSql(source.types[i]!)}`);
  return `CREATE ${replace ? 'OR REPLACE ' : ''}TABLE ${name} (${columns.join(', ')})`;
}

function columnTypeSql(type: DuckDBType): string {
  return String(type.typeId === DuckDBTypeId.SQLNULL ? INTEGER : type);
}

/** BEGIN, unless the connection is already inside a transaction (then the load joins it). */
async function beginIfIdle(connection: DuckDBConnection): Promise<boolean> {
  try {
    await connection.run('BEGIN TRANSACTION');
    return true;
  } catch (err) {
    if (/within a transaction/i.test(String(err))) return false;
    throw err;
  }
}

function appendRows(
  appender: DuckDBAppender,
  chunk: DuckDBDataChunk,
  types: readonly DuckDBType[],
  rows: DuckDBValue[][],
  loaded: number,
  progress: (rows: number) => void,
  lap: (key: keyof LoadTimings) => void,
): number {
  const columnCount = chunk.columnCount;
  for (let from = 0; from < rows.length; from += CHUNK_ROWS) {
    const slice = rows.slice(from, from + CHUNK_ROWS);
    chunk.reset();
    chunk.rowCount = slice.length;
    for (let c = 0; c < columnCount; c++) setColumnValuesAndNulls(chunk, c, types[c]!, slice.map((r) => r[c]!));
    lap('fillMs');
    appender.appendDataChunk(chunk);
    lap('appendMs');
    loaded += slice.length;
    progress(loaded);
  }
  return loaded;
}

function closeQuietly(appender: DuckDBAppender): void {
  try {
    appender.clear();
    appender.closeSync();
  } catch {
    // The load already failed; its error is the one to report.
  }
}
