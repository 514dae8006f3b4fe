/**
 * The embedded metadata store: a DuckDB file inside the repository (measured: opens in tens of
 * milliseconds, so a CLI can afford it per operation).
 *
 * DuckDB lets one process open a file read-write at a time, so the store is opened per operation
 * and closed again: a daemon and CLI commands sharing a repository take turns. An open that finds
 * the file locked retries with backoff for a bounded time, then fails with BusyError naming the
 * store. Within one process, operations are serialized so transactions never interleave.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { DuckDBInstance } from '../duckdb-api.js';
import { envInteger } from '../env.js';
import { AlreadyExistsError, BusyError, ConflictError, LeaseHeldError, MissingMetadataError, NotFoundError, errorMessage } from '../errors.js';
import type {
  BranchRow,
  CommitRequest,
  DatabaseHistory,
  DatabaseRow,
  LayerRow,
  LeaseGrant,
  LeaseHolder,
  MetadataStore,
  MetadataView,
  SnapshotRow,
  TagRow,
} from './metadata-store.js';
import { METADATA_TABLES, pendingMigrations } from './metadata-schema.js';
import { groupHistories, protectedRoots, toBranch, toDatabase, toExpired, toLayer, toLease, toSnapshot, toTag, snapshotValues, type Row } from './metadata-rows.js';
import { quoteIdentifier } from '../sql.js';


export interface DuckDBMetadataStoreOptions {
  /** How long to keep retrying when another process holds the file. */
  lockWaitMs?: number;
  /**
   * How long the file stays open after the last operation. Operations in quick succession (one
   * command's worth) share one open; an idle store lets other processes in. Infinity keeps it open
   * until close(): for a short read-only command, whose operations must not pay a reopen each.
   */
  idleCloseMs?: number;
  /** Create the file when it does not exist: only `openduck init` does. */
  create?: boolean;
}

export class DuckDBMetadataStore implements MetadataStore {
  readonly description: string;
  private instance: DuckDBInstance | null = null;
  private connection: DuckDBConnection | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private migrated = false;
  private readonly lockWaitMs: number;
  private readonly idleCloseMs: number;
  private readonly create: boolean;
  private idleTimer: NodeJS.Timeout | null = null;
  private pending = 0;

  constructor(
    readonly path: string,
    options: DuckDBMetadataStoreOptions = {},
  ) {
    this.description = `metadata file ${path}`;
    this.lockWaitMs = options.lockWaitMs ?? envInteger('OPENDUCK_LOCK_WAIT_MS', 15_000, { max: 86_400_000 });
    this.create = options.create ?? false;
    this.idleCloseMs = options.idleCloseMs ?? 25;
  }

  /** Runs fn with an open connection, one operation at a time. */
  private use<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.pending++;
    const run = async (): Promise<T> => {
      try {
        return await fn(await this.openConnection());
      } finally {
        if (--this.pending === 0) this.scheduleIdleClose();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private scheduleIdleClose(): void {
    if (this.idleCloseMs <= 0) return this.closeNow();
    if (this.idleCloseMs === Infinity) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending === 0) this.closeNow();
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  private async openConnection(): Promise<DuckDBConnection> {
    if (this.connection) return this.connection;
    // DuckDB would create a missing file: an empty repository in place of the lost one.
    if (!this.create && !existsSync(this.path)) throw new MissingMetadataError(this.path);
    const deadline = Date.now() + this.lockWaitMs;
    let delay = 5;
    for (;;) {
      try {
        // Small blocks: this file holds kilobytes of rows, and with 256 KiB blocks each checkpoint
        // moved its size by up to ~0.8 MB (measured); with 16 KiB blocks by tens of kilobytes.
        this.instance = await DuckDBInstance.create(this.path, { default_block_size: '16384', threads: '1' });
        break;
      } catch (err) {
        const msg = (err as Error).message ?? '';
        if (!/Could not set lock on file/i.test(msg)) throw err;
        if (Date.now() >= deadline) {
          const holder = /PID (\d+)/.exec(msg)?.[1];
          throw new BusyError(this.description, `locked by another process${holder ? ` (pid ${holder})` : ''} for ${this.lockWaitMs} ms`);
        }
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 100);
      }
    }
    this.connection = await this.instance.connect();
    if (!this.migrated) {
      await migrate(this.connection, this.description);
      this.migrated = true;
    }
    return this.connection;
  }

  private closeNow(): void {
    this.connection?.closeSync();
    this.instance?.closeSync();
    this.connection = null;
    this.instance = null;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.closeNow();
  }

  verifyIntegrity(): Promise<string[]> {
    return this.use(async (con) => {
      const problems: string[] = [];
      for (const table of METADATA_TABLES) {
        try {
          await con.runAndReadAll(`SELECT * FROM ${quoteIdentifier(table)}`);
        } catch (err) {
          problems.push(`table ${table}: ${errorMessage(err).split('\n')[0]}`);
        }
      }
      return problems;
    });
  }

  createDatabase(db: DatabaseRow, initial: SnapshotRow, layer: LayerRow | null): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if ((await rows(con, 'SELECT 1 FROM databases WHERE name = ?', [db.name])).length) {
          throw new AlreadyExistsError('database', db.name);
        }
        await con.run('INSERT INTO databases VALUES (?, ?, ?)', [db.name, db.defaultBranch, db.createdAt]);
        await insertSnapshot(con, initial);
        if (layer) await insertLayer(con, layer);
        await con.run('INSERT INTO branches VALUES (?, ?, ?, ?)', [db.name, db.defaultBranch, initial.id, db.createdAt]);
      }),
    );
  }

  getDatabase(name: string): Promise<DatabaseRow | null> {
    return this.use(async (con) => {
      const r = await rows(con, 'SELECT * FROM databases WHERE name = ?', [name]);
      return r[0] ? toDatabase(r[0]) : null;
    });
  }

  listDatabases(): Promise<DatabaseRow[]> {
    return this.use(async (con) => (await rows(con, 'SELECT * FROM databases ORDER BY name')).map(toDatabase));
  }

  dropDatabase(name: string): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if (!(await rows(con, 'SELECT 1 FROM databases WHERE name = ?', [name])).length) throw new NotFoundError('database', name);
        await con.run('INSERT INTO expired_snapshots SELECT db, id, block_map, ? FROM snapshots WHERE db = ? ON CONFLICT DO NOTHING', [Date.now(), name]);
        // Layer rows stay until gc deletes their objects, so it can say whose bytes it reclaims.
        for (const table of ['branches', 'tags', 'snapshots', 'leases', 'lease_tokens']) {
          await con.run(`DELETE FROM ${table} WHERE db = ?`, [name]);
        }
        await con.run('DELETE FROM databases WHERE name = ?', [name]);
      }),
    );
  }

  getSnapshot(db: string, id: string): Promise<SnapshotRow | null> {
    return this.use(async (con) => {
      const r = await rows(con, 'SELECT * FROM snapshots WHERE db = ? AND id = ?', [db, id]);
      return r[0] ? toSnapshot(r[0]) : null;
    });
  }

  findSnapshotIds(db: string, prefix: string, limit: number): Promise<string[]> {
    return this.use(async (con) =>
      (await rows(con, 'SELECT id FROM snapshots WHERE db = ? AND starts_with(id, ?) ORDER BY id LIMIT ?', [db, prefix, limit])).map(
        (r) => String(r.id),
      ),
    );
  }

  listSnapshots(db: string): Promise<SnapshotRow[]> {
    return this.use(async (con) =>
      (await rows(con, 'SELECT * FROM snapshots WHERE db = ? ORDER BY created_at DESC, id', [db])).map(toSnapshot),
    );
  }

  putSnapshot(row: SnapshotRow): Promise<void> {
    return this.use(async (con) => {
      if (!(await rows(con, 'SELECT 1 FROM snapshots WHERE db = ? AND id = ?', [row.db, row.id])).length) await insertSnapshot(con, row);
    });
  }

  getBranch(db: string, name: string): Promise<BranchRow | null> {
    return this.use(async (con) => {
      const r = await rows(con, 'SELECT * FROM branches WHERE db = ? AND name = ?', [db, name]);
      return r[0] ? toBranch(r[0]) : null;
    });
  }

  listBranches(db: string): Promise<BranchRow[]> {
    return this.use(async (con) => (await rows(con, 'SELECT * FROM branches WHERE db = ? ORDER BY name', [db])).map(toBranch));
  }

  createBranch(row: BranchRow): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if ((await rows(con, 'SELECT 1 FROM branches WHERE db = ? AND name = ?', [row.db, row.name])).length) {
          throw new AlreadyExistsError('branch', `${row.db}@${row.name}`);
        }
        if (!(await rows(con, 'SELECT 1 FROM snapshots WHERE db = ? AND id = ?', [row.db, row.head])).length) {
          throw new NotFoundError('snapshot', `${row.db}@${row.head}`);
        }
        await con.run('INSERT INTO branches VALUES (?, ?, ?, ?)', [row.db, row.name, row.head, row.createdAt]);
      }),
    );
  }

  deleteBranch(db: string, name: string): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if (!(await rows(con, 'SELECT 1 FROM branches WHERE db = ? AND name = ?', [db, name])).length) {
          throw new NotFoundError('branch', `${db}@${name}`);
        }
        await con.run('DELETE FROM branches WHERE db = ? AND name = ?', [db, name]);
      }),
    );
  }

  casBranchHead(db: string, name: string, expected: string, next: string, leaseToken?: number): Promise<boolean> {
    return this.use((con) =>
      transaction(con, async () => {
        if (leaseToken !== undefined) await checkLeaseToken(con, db, name, leaseToken);
        return (await casHead(con, db, name, expected, next)) === 1;
      }),
    );
  }

  getTag(db: string, name: string): Promise<TagRow | null> {
    return this.use(async (con) => {
      const r = await rows(con, 'SELECT * FROM tags WHERE db = ? AND name = ?', [db, name]);
      return r[0] ? toTag(r[0]) : null;
    });
  }

  listTags(db: string): Promise<TagRow[]> {
    return this.use(async (con) => (await rows(con, 'SELECT * FROM tags WHERE db = ? ORDER BY name', [db])).map(toTag));
  }

  createTag(row: TagRow): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if ((await rows(con, 'SELECT 1 FROM tags WHERE db = ? AND name = ?', [row.db, row.name])).length) {
          throw new AlreadyExistsError('tag', `${row.db}@${row.name}`);
        }
        if (!(await rows(con, 'SELECT 1 FROM snapshots WHERE db = ? AND id = ?', [row.db, row.snapshot])).length) {
          throw new NotFoundError('snapshot', `${row.db}@${row.snapshot}`);
        }
        await con.run('INSERT INTO tags VALUES (?, ?, ?, ?)', [row.db, row.name, row.snapshot, row.createdAt]);
      }),
    );
  }

  deleteTag(db: string, name: string): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        if (!(await rows(con, 'SELECT 1 FROM tags WHERE db = ? AND name = ?', [db, name])).length) throw new NotFoundError('tag', `${db}@${name}`);
        await con.run('DELETE FROM tags WHERE db = ? AND name = ?', [db, name]);
      }),
    );
  }

  commitSnapshot(req: CommitRequest): Promise<void> {
    const { snapshot: s } = req;
    return this.use((con) =>
      transaction(con, async () => {
        if (req.leaseToken !== undefined) await checkLeaseToken(con, s.db, req.branch, req.leaseToken);
        if (!(await rows(con, 'SELECT 1 FROM snapshots WHERE db = ? AND id = ?', [s.db, s.id])).length) await insertSnapshot(con, s);
        if (req.layer) await insertLayer(con, req.layer);
        if ((await casHead(con, s.db, req.branch, req.expectedHead, s.id)) !== 1) {
          throw new ConflictError(`${s.db}@${req.branch}`, `branch ${s.db}@${req.branch} moved while the snapshot was being made; nothing was committed`);
        }
      }),
    );
  }

  listLayers(): Promise<LayerRow[]> {
    return this.use(async (con) => (await rows(con, 'SELECT * FROM layers ORDER BY id')).map(toLayer));
  }

  forgetLayers(ids: string[]): Promise<void> {
    return this.use((con) =>
      transaction(con, async () => {
        for (const id of ids) await con.run('DELETE FROM layers WHERE id = ?', [id]);
      }),
    );
  }

  readView(db?: string): Promise<MetadataView> {
    // One transaction: DuckDB gives it a snapshot of the file, and no other process can have the
    // file open meanwhile anyway.
    return this.use((con) =>
      transaction(con, async () => {
        const only = db === undefined ? '' : ' WHERE db = ?';
        const params = db === undefined ? [] : [db];
        const databases = (await rows(con, `SELECT * FROM databases${db === undefined ? '' : ' WHERE name = ?'} ORDER BY name`, params)).map(toDatabase);
        const snapshots = (await rows(con, `SELECT * FROM snapshots${only} ORDER BY created_at DESC, id`, params)).map(toSnapshot);
        const branches = (await rows(con, `SELECT * FROM branches${only} ORDER BY name`, params)).map(toBranch);
        const tags = (await rows(con, `SELECT * FROM tags${only} ORDER BY name`, params)).map(toTag);
        const expired = (await rows(con, `SELECT * FROM expired_snapshots${only} ORDER BY db, id`, params)).map(toExpired);
        const layers = (await rows(con, `SELECT * FROM layers${only} ORDER BY id`, params)).map(toLayer);
        return { databases: groupHistories(databases, snapshots, branches, tags, expired), expired, layers };
      }),
    );
  }

  expireSnapshots(db: string, choose: (history: DatabaseHistory) => Iterable<string>, expiredAt: number): Promise<SnapshotRow[]> {
    return this.use((con) =>
      transaction(con, async () => {
        const database = (await rows(con, 'SELECT * FROM databases WHERE name = ?', [db]))[0];
        if (!database) throw new NotFoundError('database', db);
        const history: DatabaseHistory = {
          database: toDatabase(database),
          snapshots: (await rows(con, 'SELECT * FROM snapshots WHERE db = ? ORDER BY created_at DESC, id', [db])).map(toSnapshot),
          branches: (await rows(con, 'SELECT * FROM branches WHERE db = ? ORDER BY name', [db])).map(toBranch),
          tags: (await rows(con, 'SELECT * FROM tags WHERE db = ? ORDER BY name', [db])).map(toTag),
          expired: (await rows(con, 'SELECT * FROM expired_snapshots WHERE db = ? ORDER BY id', [db])).map(toExpired),
        };
        const keep = protectedRoots(history);
        const chosen = new Set([...choose(history)].filter((id) => !keep.has(id)));
        const expired = history.snapshots.filter((s) => chosen.has(s.id));
        for (const s of expired) {
          await con.run('DELETE FROM snapshots WHERE db = ? AND id = ?', [db, s.id]);
          await con.run('INSERT INTO expired_snapshots VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [db, s.id, s.blockMap, expiredAt]);
        }
        return expired;
      }),
    );
  }

  getSetting(name: string): Promise<string | null> {
    return this.use(async (con) => {
      const r = (await rows(con, 'SELECT value FROM settings WHERE name = ?', [name]))[0];
      return r ? String(r.value) : null;
    });
  }

  initSetting(name: string, value: string): Promise<string> {
    return this.use((con) =>
      transaction(con, async () => {
        await con.run('INSERT INTO settings VALUES (?, ?) ON CONFLICT DO NOTHING', [name, value]);
        return String((await rows(con, 'SELECT value FROM settings WHERE name = ?', [name]))[0]!.value);
      }),
    );
  }

  acquireLease(db: string, branch: string, holder: LeaseHolder, ttlMs: number, isDead: (h: LeaseHolder) => boolean): Promise<LeaseGrant> {
    return this.use((con) =>
      transaction(con, async () => {
        const now = Date.now();
        const existing = (await rows(con, 'SELECT * FROM leases WHERE db = ? AND branch = ?', [db, branch]))[0];
        if (existing) {
          const current = toLease(existing);
          if (current.expiresAt > now && !isDead(current.holder)) throw new LeaseHeldError(`${db}@${branch}`, current.holder.description);
        }
        const token = await nextToken(con, db, branch);
        const grant: LeaseGrant = { db, branch, holder, token, expiresAt: now + ttlMs };
        const values = [holder.description, holder.host, holder.pid, token, grant.expiresAt, db, branch];
        if (existing) {
          await con.run('UPDATE leases SET holder = ?, holder_host = ?, holder_pid = ?, token = ?, expires_at = ? WHERE db = ? AND branch = ?', values);
        } else {
          await con.run('INSERT INTO leases (holder, holder_host, holder_pid, token, expires_at, db, branch) VALUES (?, ?, ?, ?, ?, ?, ?)', values);
        }
        return grant;
      }),
    );
  }

  renewLease(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant> {
    return this.use((con) =>
      transaction(con, async () => {
        await checkLeaseToken(con, grant.db, grant.branch, grant.token);
        const expiresAt = Date.now() + ttlMs;
        await con.run('UPDATE leases SET expires_at = ? WHERE db = ? AND branch = ? AND token = ?', [expiresAt, grant.db, grant.branch, grant.token]);
        return { ...grant, expiresAt };
      }),
    );
  }

  releaseLease(grant: LeaseGrant): Promise<void> {
    return this.use(async (con) => {
      await con.run('DELETE FROM leases WHERE db = ? AND branch = ? AND token = ?', [grant.db, grant.branch, grant.token]);
    });
  }

  getLease(db: string, branch: string): Promise<LeaseGrant | null> {
    return this.use(async (con) => {
      const r = (await rows(con, 'SELECT * FROM leases WHERE db = ? AND branch = ?', [db, branch]))[0];
      return r ? toLease(r) : null;
    });
  }
}

async function migrate(con: DuckDBConnection, description: string): Promise<void> {
  await con.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const applied = (await rows(con, 'SELECT version FROM schema_migrations')).map((r) => Number(r.version));
  for (const m of pendingMigrations(applied, description)) {
    await transaction(con, async () => {
      for (const stmt of m.statements) await con.run(stmt);
      await con.run('INSERT INTO schema_migrations VALUES (?, ?)', [m.version, Date.now()]);
    });
  }
}

async function transaction<T>(con: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await con.run('BEGIN TRANSACTION');
  try {
    const result = await fn();
    await con.run('COMMIT');
    return result;
  } catch (err) {
    await con.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function rows(con: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  const reader = await con.runAndReadAll(sql, params);
  return reader.getRowObjectsJS() as Row[];
}

async function casHead(con: DuckDBConnection, db: string, name: string, expected: string, next: string): Promise<number> {
  const r = await con.run('UPDATE branches SET head = ? WHERE db = ? AND name = ? AND head = ?', [next, db, name, expected]);
  return r.rowsChanged;
}

async function checkLeaseToken(con: DuckDBConnection, db: string, branch: string, token: number): Promise<void> {
  const r = (await rows(con, 'SELECT token FROM leases WHERE db = ? AND branch = ?', [db, branch]))[0];
  if (!r || Number(r.token) !== token) {
    throw new ConflictError(`${db}@${branch}`, `write lease on ${db}@${branch} was lost (it expired and was taken over); nothing was committed`);
  }
}

async function nextToken(con: DuckDBConnection, db: string, branch: string): Promise<number> {
  const r = (await rows(con, 'SELECT last_token FROM lease_tokens WHERE db = ? AND branch = ?', [db, branch]))[0];
  const token = r ? Number(r.last_token) + 1 : 1;
  if (r) await con.run('UPDATE lease_tokens SET last_token = ? WHERE db = ? AND branch = ?', [token, db, branch]);
  else await con.run('INSERT INTO lease_tokens VALUES (?, ?, ?)', [db, branch, token]);
  return token;
}

async function insertSnapshot(con: DuckDBConnection, s: SnapshotRow): Promise<void> {
  await con.run('INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', snapshotValues(s));
}

async function insertLayer(con: DuckDBConnection, l: LayerRow): Promise<void> {
  await con.run('INSERT INTO layers VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [l.id, l.db, l.bytes, l.createdAt]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
