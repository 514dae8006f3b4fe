/**
 * Open, read-only DuckDB instances over materialized snapshots, shared by concurrent readers.
 * Opening a database costs tens of milliseconds; a pinned read through the pool costs a new
 * connection (microseconds). Instances are sandboxed: SQL from the network cannot reach the
 * worker's files. The least recently used instance is closed once nobody uses it.
 *
 * Because readers share an instance, none may change what another sees. The instance has no
 * writable catalog: the snapshot is attached read-only and the default `memory` catalog is
 * detached. Each lease is a connection of its own (session state dies with it) whose transaction
 * is begun here and rolled back on release. The engine admits only read statements on it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { closeDuckDBSession, type DuckDBSession, type SessionOptions } from '../../core/duckdb-session.js';
import { quoteIdentifier } from '../../core/sql.js';
import { openSnapshotSession } from '../../core/verbs/query.js';
import type { Repository } from '../../core/repository.js';
import type { SnapshotRow } from '../../core/store/metadata-store.js';

interface PooledSnapshot {
  session: Promise<DuckDBSession>;
  users: number;
  lastUsed: number;
  evicted: boolean;
}

export interface Lease {
  connection: DuckDBConnection;
  /**
   * Closes the connection. Not `clean` when a result may still be pending: DuckDB keeps the
   * transaction (and the query) alive past closing until a statement ends it, so one runs first.
   */
  release(clean: boolean): Promise<void>;
}

export class SnapshotPool {
  private readonly entries = new Map<string, PooledSnapshot>();

  constructor(
    private readonly repo: Repository,
    private readonly session: SessionOptions,
    private readonly capacity = 8,
  ) {}

  /** A fresh connection on the snapshot's instance, its default catalog set to the database. */
  async connect(snapshot: SnapshotRow): Promise<Lease> {
    const key = `${snapshot.db}@${snapshot.id}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { session: openShared(this.repo, snapshot, this.session), users: 0, lastUsed: 0, evicted: false };
      this.entries.set(key, entry);
      entry.session.catch(() => this.entries.delete(key));
      this.evictIdle();
    }
    entry.users++;
    entry.lastUsed = Date.now();
    try {
      const session = await entry.session;
      const connection = await session.instance.connect();
      await connection.run(`USE ${quoteIdentifier(snapshot.db)}`);
      await connection.run('BEGIN TRANSACTION');
      const held = entry;
      let released = false;
      return {
        connection,
        release: async (clean) => {
          if (released) return;
          released = true;
          if (!clean) await connection.run('ROLLBACK').catch(() => undefined);
          connection.closeSync();
          held.users--;
          if (held.evicted && held.users === 0) void close(held);
        },
      };
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  private evictIdle(): void {
    if (this.entries.size <= this.capacity) return;
    const oldest = [...this.entries.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of oldest.slice(0, this.entries.size - this.capacity)) {
      this.entries.delete(key);
      entry.evicted = true;
      if (entry.users === 0) void close(entry);
    }
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(close));
  }
}

/** A snapshot's instance with nothing writable left in it. */
async function openShared(repo: Repository, snapshot: SnapshotRow, options: SessionOptions): Promise<DuckDBSession> {
  const session = await openSnapshotSession(repo, snapshot, snapshot.db, { session: options });
  try {
    await session.connection.run('DETACH memory');
  } catch (err) {
    await closeDuckDBSession(session, false);
    throw err;
  }
  return session;
}

async function close(entry: PooledSnapshot): Promise<void> {
  try {
    await closeDuckDBSession(await entry.session, false);
  } catch {
    // An instance that never opened has nothing to close.
  }
}
