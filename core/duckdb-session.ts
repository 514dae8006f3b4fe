/**
 * A DuckDB session over one database file, attached under the database's name so that SQL sees
 * `shop.users` whether it reads the working copy or a materialized snapshot.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from './duckdb-api.js';
import { InvalidArgumentError, errorMessage } from './errors.js';
import { quoteIdentifier, quoteLiteral } from './sql.js';

export interface DuckDBSession {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  alias: string;
  readOnly: boolean;
}

export interface SessionOptions {
  /**
   * For SQL from the network: after attaching, DuckDB may no longer touch the file system
   * (no read_csv, COPY TO, ATTACH of other files) and the setting is locked.
   */
  sandboxed?: boolean;
  /** DuckDB's memory_limit for the instance, e.g. "256MB"; beyond it DuckDB spills. */
  memoryLimit?: string;
  /** Where DuckDB spills (results larger than the memory limit, big sorts and joins). */
  tempDirectory?: string;
}

/** DuckDBInstance.create options for a session: a bounded memory footprint when asked for. */
export function instanceOptions(options: SessionOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (options.memoryLimit) out.memory_limit = options.memoryLimit;
  if (options.tempDirectory) out.temp_directory = options.tempDirectory;
  return out;
}

/** Refuses a memory limit DuckDB would not take, at start rather than on every later query. */
export async function checkMemoryLimit(limit: string | undefined, what = 'memory limit'): Promise<void> {
  if (!limit) return;
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', { memory_limit: limit });
  } catch {
    // DuckDB says only "Failed to set config".
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(limit)}: use a size such as 512MB or 2GB`);
  }
  instance.closeSync();
}

export async function openDuckDBSession(path: string, alias: string, readOnly: boolean, options: SessionOptions = {}): Promise<DuckDBSession> {
  const instance = await DuckDBInstance.create(':memory:', instanceOptions(options));
  try {
    const connection = await instance.connect();
    await connection.run(`ATTACH ${quoteLiteral(path)} AS ${quoteIdentifier(alias)}${readOnly ? ' (READ_ONLY)' : ''}`);
    await connection.run(`USE ${quoteIdentifier(alias)}`);
    if (options.sandboxed) await sandbox(connection);
    return { instance, connection, alias, readOnly };
  } catch (err) {
    instance.closeSync();
    throw err;
  }
}

/** Checkpoints a writable session so the file holds everything and no WAL is left behind. */
export async function closeDuckDBSession(session: DuckDBSession, checkpoint: boolean): Promise<void> {
  try {
    if (checkpoint && !session.readOnly) {
      // A transaction the SQL left open is rolled back, as a database client's is on disconnect.
      await session.connection.run('ROLLBACK').catch(() => undefined);
      await session.connection.run(`CHECKPOINT ${quoteIdentifier(session.alias)}`);
      await session.connection.run(`USE memory`);
      await session.connection.run(`DETACH ${quoteIdentifier(session.alias)}`);
    }
  } finally {
    session.connection.closeSync();
    session.instance.closeSync();
  }
}

/** Turns off file-system access for the rest of the instance's life; it cannot be turned back on. */
export async function sandbox(connection: DuckDBConnection): Promise<void> {
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}

export function isReadOnlyViolation(err: unknown): boolean {
  return /read-only mode|read only mode|attached in read-only/i.test(errorMessage(err));
}
