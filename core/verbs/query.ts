import type { DuckDBConnection } from '@duckdb/node-api';
import { runChecked, StatementFailedError, type ChunkedResult } from '../checked-result.js';
import { closeDuckDBSession, isReadOnlyViolation, openDuckDBSession, type DuckDBSession, type SessionOptions } from '../duckdb-session.js';
import { errorMessage, MissingWorkingCopyError, OpenDuckError, ReadOnlyError, SqlError } from '../errors.js';
import { parseRef, resolveRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { materializeSnapshot } from '../snapshot-cache.js';
import { toJsonValue } from '../values.js';
import { lockWorkingCopy, type LockedWorkingCopy } from '../working-copy.js';
import type { Json } from '@duckdb/node-api';
import type { ProgressSink } from '../progress.js';
import type { SnapshotRow } from '../store/metadata-store.js';

/**
 * SQL against one database. `--db DB` opens the current branch's working copy read-write (taking
 * the branch's write lease); any `DB@…` ref opens that committed snapshot read-only, without a
 * lease, so readers never wait for writers.
 */
export class QuerySession {
  private constructor(
    readonly db: string,
    /** What the session reads, for messages: "shop (working copy of main)" or "shop@3f2a9c1e07aa". */
    readonly label: string,
    /** The snapshot a read-only session reads; null for the working copy. */
    readonly snapshot: string | null,
    private readonly session: DuckDBSession,
    private readonly locked: LockedWorkingCopy | null,
  ) {}

  static async open(repo: Repository, ref: string, options: { purpose?: string; onProgress?: ProgressSink; session?: SessionOptions } = {}): Promise<QuerySession> {
    const purpose = options.purpose ?? 'openduck query';
    const parsed = parseRef(ref);
    if (parsed.rev === null && parsed.ancestry === 0) {
      const locked = await lockWorkingCopy(repo, parsed.db, purpose, { mode: 'query' });
      try {
        // DuckDB would create a missing file: an empty database in place of the lost one.
        if (!(await locked.wc.exists())) throw new MissingWorkingCopyError(parsed.db, locked.wc.path, locked.state.branch);
        const session = await openDuckDBSession(locked.wc.path, parsed.db, false, options.session);
        return new QuerySession(parsed.db, `${parsed.db} (working copy of ${locked.state.branch})`, null, session, locked);
      } catch (err) {
        await locked.release();
        throw err;
      }
    }
    const resolved = await resolveRef(repo, parsed);
    const session = await openSnapshotSession(repo, resolved.snapshot, parsed.db, options);
    return new QuerySession(parsed.db, resolved.label, resolved.snapshot.id, session, null);
  }

  get connection(): DuckDBConnection {
    return this.session.connection;
  }

  get readOnly(): boolean {
    return this.locked === null;
  }

  /** Runs every statement in `sql` and returns the last one's result, chunk by chunk. */
  async run(sql: string): Promise<ChunkedResult> {
    try {
      return await runChecked(this.session.connection, sql);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Runs SQL and returns all rows as JSON-ready objects; for scripts and small results. */
  async all(sql: string): Promise<{ columns: string[]; rows: Record<string, Json>[] }> {
    const result = await this.run(sql);
    const columns = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    const rows: Record<string, Json>[] = [];
    try {
      for await (const chunk of result) {
        for (const row of chunk.getRows()) {
          const obj: Record<string, Json> = {};
          row.forEach((v, i) => (obj[columns[i]!] = toJsonValue(v, types[i]!)));
          rows.push(obj);
        }
      }
    } catch (err) {
      throw this.translate(err);
    }
    return { columns, rows };
  }

  translate(err: unknown): Error {
    return translateSqlError(err, this.label, this.readOnly);
  }

  interrupt(): void {
    this.session.connection.interrupt();
  }

  /** Checkpoints the working copy (so no WAL is left) and releases the write lease. */
  async close(): Promise<void> {
    try {
      await closeDuckDBSession(this.session, !this.readOnly);
    } finally {
      await this.locked?.release();
    }
  }
}

/** DuckDB's errors as typed errors naming what was queried (`label`). */
export function translateSqlError(err: unknown, label: string, readOnly: boolean): Error {
  if (err instanceof StatementFailedError) return new SqlError(label, err.message);
  if (err instanceof OpenDuckError) return err;
  const message = errorMessage(err).split('\n')[0]!.replace(/^Failed to extract statements: /, '');
  if (readOnly && isReadOnlyViolation(err)) return new ReadOnlyError(label, 'writes are refused');
  return new SqlError(label, message);
}

/**
 * Opens a materialized snapshot read-only. Another process may evict the cached file between
 * materializing and attaching; materializing again is the cure.
 */
export async function openSnapshotSession(
  repo: Repository,
  snapshot: SnapshotRow,
  alias: string,
  options: { onProgress?: ProgressSink; session?: SessionOptions } = {},
): Promise<DuckDBSession> {
  for (let attempt = 0; ; attempt++) {
    const path = await materializeSnapshot(repo, snapshot, options.onProgress);
    try {
      return await openDuckDBSession(path, alias, true, options.session);
    } catch (err) {
      if (attempt > 0 || !/No such file|does not exist/i.test(errorMessage(err))) throw err;
    }
  }
}

/** One-shot convenience: open, run, close. */
export async function query(repo: Repository, ref: string, sql: string): Promise<{ columns: string[]; rows: Record<string, Json>[] }> {
  const session = await QuerySession.open(repo, ref);
  try {
    return await session.all(sql);
  } finally {
    await session.close();
  }
}
