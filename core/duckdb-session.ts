/**
 * A DuckDB session over one database file, attached under the database's name so that SQL sees
 * `shop.users` whether it reads the working copy or a materialized snapshot.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { errorMessage } from './errors.js';
import { quoteIdentifier, quoteLiteral } from './sql.js';

export interface DuckDBSession {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  alias: string;
  readOnly: boolean;
}

export async function openDuckDBSession(path: string, alias: string, readOnly: boolean): Promise<DuckDBSession> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    await connection.run(`ATTACH ${quoteLiteral(path)} AS ${quoteIdentifier(alias)}${readOnly ? ' (READ_ONLY)' : ''}`);
    await connection.run(`USE ${quoteIdentifier(alias)}`);
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
      await session.connection.run(`CHECKPOINT ${quoteIdentifier(session.alias)}`);
      await session.connection.run(`USE memory`);
      await session.connection.run(`DETACH ${quoteIdentifier(session.alias)}`);
    }
  } finally {
    session.connection.closeSync();
    session.instance.closeSync();
  }
}

export function isReadOnlyViolation(err: unknown): boolean {
  return /read-only mode|read only mode|attached in read-only/i.test(errorMessage(err));
}
