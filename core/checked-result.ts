/**
 * Reading query results chunk by chunk, with bounded memory and without silent truncation.
 *
 * Two measured problems with the Node bindings shape this module:
 *
 * - A streaming result that fails part-way (a cast error at row 3,000,000, say) ends exactly like
 *   a complete one: the bindings do not expose duckdb_result_error. Materializing instead raises
 *   the error but holds the whole result in memory, outside DuckDB's memory limit (10M rows:
 *   ~1 GB). So a SELECT is streamed inside a transaction: an error aborts the transaction, and a
 *   probe statement after the last chunk finds out. The error's text is then recovered by running
 *   the statement again materialized, when the part already read was small.
 * - Each fetched chunk holds native memory that V8 does not see, so it is freed only when a
 *   garbage collection happens to run: a 10M-row read peaked at 470 MB. A minor collection every
 *   few dozen chunks keeps it near 100 MB and costs nothing measurable.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBPreparedStatement, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import { StatementType } from './duckdb-api.js';
import { InvalidArgumentError, OpenDuckError, errorMessage } from './errors.js';

const CHUNKS_PER_COLLECTION = 50;
/**
 * Re-running a failed statement to learn its error holds what it produced before failing in
 * memory; only when that is small: rows × columns at most this many values.
 */
const RERUN_MAX_VALUES = 16_000_000;

let collector: ((options: { type: 'minor' | 'major' }) => void) | null | undefined;

/**
 * Frees native memory of fetched chunks that are no longer referenced. A minor collection suits
 * the steady stream of chunks; a major one also reaches chunks that lived longer (after a failure).
 */
export function collectReleasedChunks(type: 'minor' | 'major' = 'minor'): void {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as typeof collector;
    } catch {
      collector = null;
    }
  }
  collector?.({ type });
}

/** A result read chunk by chunk; the end of the chunks means the statement really succeeded. */
export interface ChunkedResult {
  deduplicatedColumnNames(): string[];
  columnTypes(): DuckDBType[];
  /** The next chunk, or null at the end. Throws if the statement failed part-way. */
  next(): Promise<DuckDBDataChunk | null>;
  [Symbol.asyncIterator](): AsyncIterator<DuckDBDataChunk>;
}

/** Raised when a streamed statement failed after some of its rows were read. */
export class StatementFailedError extends OpenDuckError {
  constructor(message: string) {
    super('SQL_ERROR', message);
  }
}

/**
 * Decides whether a statement may run, by DuckDB's own classification of it; throws a typed
 * error to refuse it.
 */
export type StatementGate = (type: StatementType) => void;

/**
 * Runs every statement of `sql` (DuckDB runs them in order) and returns the last one's result.
 * SELECTs stream inside a transaction; other statements, whose results are small, are materialized.
 */
export async function runChecked(
  connection: DuckDBConnection,
  sql: string,
  options: {
    inTransaction?: boolean;
    /** Checks each statement before it runs. */
    gate?: StatementGate;
    /**
     * Checks every statement before the first one runs. Only for SQL whose statements cannot
     * depend on each other's effects (the gate admits only reads): each is prepared up front.
     */
    gateAllFirst?: boolean;
  } = {},
): Promise<ChunkedResult> {
  if (!sql.trim()) throw new InvalidArgumentError('no SQL given');
  const nul = sql.indexOf('\0');
  // DuckDB reads SQL as a C string: everything after a NUL would be dropped without a word.
  if (nul !== -1) throw new InvalidArgumentError(`SQL contains a NUL character (at character ${nul}); remove it, or write it as chr(0)`);
  const last = await lastStatement(connection, sql, options.gate, options.gateAllFirst ?? false);
  // A transaction already open (the caller's, or one the SQL manages itself) is left alone: a
  // failed BEGIN would abort it. An error inside it aborts it just the same, which is all the
  // probe needs.
  const inTransaction = (options.inTransaction ?? false) || last.managesTransactions;
  if (last.statement.statementType !== StatementType.SELECT) return chunked(await last.statement.run(), async () => undefined);

  const began = !inTransaction && (await connection.run('BEGIN TRANSACTION').then(() => true));
  let result: DuckDBResult;
  try {
    result = await last.statement.stream();
  } catch (err) {
    if (began) await connection.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  let rowsRead = 0;
  return chunked(
    result,
    async () => {
      const aborted = await probeFor(connection).then((probe) => probe.run()).then(
        () => false,
        () => true,
      );
      if (began) await connection.run(aborted ? 'ROLLBACK' : 'COMMIT').catch(() => undefined);
      if (!aborted) return;
      throw new StatementFailedError(await failureReason(connection, last.statement, rowsRead * result.columnCount));
    },
    (n) => (rowsRead += n),
  );
}

const probes = new WeakMap<DuckDBConnection, Promise<DuckDBPreparedStatement>>();

/**
 * Prepares a connection's probe ahead of its first query, for connections made before they are
 * needed (a pool), so preparing it is off a query's latency.
 */
export async function prepareProbe(connection: DuckDBConnection): Promise<void> {
  await probeFor(connection);
}

/** A prepared `SELECT 1` per connection: the probe runs after every streamed SELECT, so it is kept cheap. */
function probeFor(connection: DuckDBConnection): Promise<DuckDBPreparedStatement> {
  let probe = probes.get(connection);
  if (!probe) {
    probe = connection.prepare('SELECT 1');
    probes.set(connection, probe);
  }
  return probe;
}

/**
 * Runs all statements but the last and prepares the last. A single statement (the common case)
 * is prepared directly, which spares DuckDB's statement splitter on the latency of small queries.
 */
async function lastStatement(
  connection: DuckDBConnection,
  sql: string,
  gate: StatementGate | undefined,
  gateAllFirst: boolean,
): Promise<{ statement: DuckDBPreparedStatement; managesTransactions: boolean }> {
  const check = (statement: DuckDBPreparedStatement) => {
    gate?.(statement.statementType);
    return statement;
  };
  try {
    return { statement: check(await connection.prepare(sql)), managesTransactions: false };
  } catch (err) {
    if (!/multiple statements/i.test(errorMessage(err))) throw err;
  }
  const statements = await connection.extractStatements(sql);
  const prepared: DuckDBPreparedStatement[] = [];
  if (gateAllFirst) for (let i = 0; i < statements.count; i++) prepared.push(check(await statements.prepare(i)));
  let managesTransactions = false;
  // Otherwise each statement is prepared only after the previous ones ran: it may use what they created.
  for (let i = 0; i < statements.count - 1; i++) {
    const statement = prepared[i] ?? check(await statements.prepare(i));
    if (statement.statementType === StatementType.TRANSACTION) managesTransactions = true;
    await statement.run();
  }
  return { statement: prepared[statements.count - 1] ?? check(await statements.prepare(statements.count - 1)), managesTransactions };
}

async function failureReason(connection: DuckDBConnection, statement: { run(): Promise<DuckDBResult> }, valuesRead: number): Promise<string> {
  const generic = 'the query failed part-way through its result';
  if (valuesRead > RERUN_MAX_VALUES) return `${generic} (DuckDB does not report why for streamed results; rerun it with a LIMIT to find the failing row)`;
  // An aborted transaction (ours is already rolled back; the user's is dead anyway) must end first.
  await connection.run('ROLLBACK').catch(() => undefined);
  try {
    await statement.run();
    return `${generic}, and succeeded when run again`;
  } catch (err) {
    return errorMessage(err).split('\n')[0]!;
  }
}

function chunked(result: DuckDBResult, onEnd: () => Promise<void>, onRows: (n: number) => void = () => undefined): ChunkedResult {
  let fetched = 0;
  let ended = false;
  const next = async (): Promise<DuckDBDataChunk | null> => {
    if (ended) return null;
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) {
      ended = true;
      await onEnd();
      return null;
    }
    onRows(chunk.rowCount);
    if (++fetched % CHUNKS_PER_COLLECTION === 0) collectReleasedChunks();
    return chunk;
  };
  return {
    deduplicatedColumnNames: () => result.deduplicatedColumnNames(),
    columnTypes: () => result.columnTypes(),
    next,
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const chunk = await next();
        return chunk ? { value: chunk, done: false } : { value: undefined, done: true };
      },
    }),
  };
}
