/**
 * The shared metadata store: PostgreSQL through a `pg` connection pool, so processes on several
 * machines serve one repository.
 *
 * - The schema is the embedded store's (metadata-schema.ts), applied by versioned migrations on
 *   first use under an advisory lock, so two processes opening a fresh database do not race. A
 *   schema newer than this code knows is refused.
 * - Every multi-row change is one transaction. Branch heads move only by compare-and-swap
 *   (`UPDATE … WHERE head = expected`).
 * - Changes that point a ref at an existing snapshot take a shared lock on the database's row,
 *   and gc's expiry takes it exclusively, so no ref can be pointed at a snapshot being expired.
 * - Lease expiry is judged by the server's clock, so machines with skewed clocks agree on it.
 * - A connection that cannot be made or breaks is a StoreUnavailableError naming the server
 *   (never the password); making a connection is retried briefly, a statement never is (it may
 *   have committed).
 */
import pg from 'pg';
import { AlreadyExistsError, ConflictError, LeaseHeldError, NotFoundError, OpenDuckError, StoreUnavailableError, errorMessage } from '../errors.js';
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
import { quoteIdentifier } from '../sql.js';
import {
  groupHistories,
  protectedRoots,
  snapshotValues,
  toBranch,
  toDatabase,
  toExpired,
  toLayer,
  toLease,
  toSnapshot,
  toTag,
  type Row,
} from './metadata-rows.js';
import { describePostgres, type PostgresLocation } from './locations.js';

export interface PgMetadataStoreOptions {
  location: PostgresLocation;
  /** Default: PGPASSWORD, else ~/.pgpass (as libpq does). */
  password?: string | null;
  /** Connections kept at most; a CLI command uses one or two, a server more. */
  poolSize?: number;
  connectTimeoutMs?: number;
  /** A statement that gets no answer for this long fails (the server is hung or gone). */
  queryTimeoutMs?: number;
}

/** Any constant: the key of the advisory lock that serializes migrations. */
const MIGRATION_LOCK = 7_351_244_190_317;
const CONNECT_ATTEMPTS = 3;
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
/** The server's clock in epoch ms: one clock for every machine sharing the store. */
const NOW_MS = 'floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

type Client = pg.PoolClient;

const REF_TABLES = { branch: 'branches', tag: 'tags' } as const;

export class PgMetadataStore implements MetadataStore {
  readonly description: string;
  private pool: pg.Pool | null = null;
  private schemaReady: Promise<void> | null = null;

  constructor(private readonly options: PgMetadataStoreOptions) {
    this.description = describePostgres(options.location);
  }

  private getPool(): pg.Pool {
    if (!this.pool) {
      const l = this.options.location;
      const sslmode = l.sslmode ?? process.env.PGSSLMODE;
      this.pool = new pg.Pool({
        host: l.host,
        port: l.port,
        database: l.database,
        ...(l.user ? { user: l.user } : {}),
        ...(this.options.password ? { password: this.options.password } : {}),
        ssl: sslmode === 'require' ? { rejectUnauthorized: false } : sslmode === 'verify-ca' || sslmode === 'verify-full' ? { rejectUnauthorized: true } : false,
        max: this.options.poolSize ?? 10,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
        query_timeout: this.options.queryTimeoutMs ?? 30_000,
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
        keepAlive: true,
        application_name: 'openduck',
      });
      // An idle connection the server dropped: the pool discards it and the next use reconnects.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  private async connect(): Promise<Client> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.getPool().connect();
      } catch (err) {
        if (!isConnectionError(err) || attempt >= CONNECT_ATTEMPTS) throw this.translate(err);
        await new Promise((r) => setTimeout(r, 150 * attempt));
      }
    }
  }

  /** Runs fn on one pooled connection; a connection that broke is not returned to the pool. */
  private async withClient<T>(fn: (c: Client) => Promise<T>, migrate = true): Promise<T> {
    if (migrate) await this.ensureSchema();
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      throw this.translate(err);
    } finally {
      client.release(broken);
    }
  }

  private transaction<T>(fn: (c: Client) => Promise<T>, begin = 'BEGIN', migrate = true): Promise<T> {
    return this.withClient(async (c) => {
      await c.query(begin);
      try {
        const result = await fn(c);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }, migrate);
  }

  private ensureSchema(): Promise<void> {
    this.schemaReady ??= this.transaction(
      async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const exists = (await c.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t")).rows[0]!.t;
        if (!exists) await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
        const applied = (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version));
        for (const m of pendingMigrations(applied, this.description)) {
          for (const stmt of m.statements) await c.query(stmt);
          await c.query('INSERT INTO schema_migrations VALUES ($1, $2)', [m.version, Date.now()]);
        }
      },
      'BEGIN',
      false,
    ).catch((err) => {
      this.schemaReady = null;
      throw err;
    });
    return this.schemaReady;
  }

  /** The schema versions recorded, newest last (for `init` and tests). */
  async schemaVersions(): Promise<number[]> {
    return this.withClient(async (c) => (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version)));
  }

  /** Reads every table in full, as the embedded store does; a table that cannot be read is a problem. */
  async verifyIntegrity(): Promise<string[]> {
    const problems: string[] = [];
    for (const table of METADATA_TABLES) {
      try {
        await this.withClient((c) => c.query(`SELECT * FROM ${quoteIdentifier(table)}`));
      } catch (err) {
        // An unreachable server is not damage to report table by table.
        if (err instanceof StoreUnavailableError) throw err;
        problems.push(`table ${table}: ${errorMessage(err).split('\n')[0]}`);
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.schemaReady = null;
    await pool?.end();
  }

  createDatabase(db: DatabaseRow, initial: SnapshotRow, layer: LayerRow | null): Promise<void> {
    return this.transaction(async (c) => {
      const inserted = await c.query('INSERT INTO databases VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [db.name, db.defaultBranch, db.createdAt]);
      if (inserted.rowCount !== 1) throw new AlreadyExistsError('database', db.name);
      await insertSnapshot(c, initial);
      if (layer) await insertLayer(c, layer);
      await c.query('INSERT INTO branches VALUES ($1, $2, $3, $4)', [db.name, db.defaultBranch, initial.id, db.createdAt]);
    });
  }

  async getDatabase(name: string): Promise<DatabaseRow | null> {
    const r = await this.rows('SELECT * FROM databases WHERE name = $1', [name]);
    return r[0] ? toDatabase(r[0]) : null;
  }

  async listDatabases(): Promise<DatabaseRow[]> {
    return (await this.rows('SELECT * FROM databases ORDER BY name')).map(toDatabase);
  }

  dropDatabase(name: string): Promise<void> {
    return this.transaction(async (c) => {
      if (!(await c.query('SELECT 1 FROM databases WHERE name = $1 FOR UPDATE', [name])).rowCount) throw new NotFoundError('database', name);
      await c.query(
        'INSERT INTO expired_snapshots SELECT db, id, block_map, $2 FROM snapshots WHERE db = $1 ON CONFLICT DO NOTHING',
        [name, Date.now()],
      );
      // Layer rows stay until gc deletes their objects, so it can say whose bytes it reclaims.
      for (const table of ['branches', 'tags', 'snapshots', 'leases', 'lease_tokens']) await c.query(`DELETE FROM ${table} WHERE db = $1`, [name]);
      await c.query('DELETE FROM databases WHERE name = $1', [name]);
    });
  }

  async getSnapshot(db: string, id: string): Promise<SnapshotRow | null> {
    const r = await this.rows('SELECT * FROM snapshots WHERE db = $1 AND id = $2', [db, id]);
    return r[0] ? toSnapshot(r[0]) : null;
  }

  async findSnapshotIds(db: string, prefix: string, limit: number): Promise<string[]> {
    return (await this.rows('SELECT id FROM snapshots WHERE db = $1 AND starts_with(id, $2) ORDER BY id LIMIT $3', [db, prefix, limit])).map((r) => String(r.id));
  }

  async listSnapshots(db: string): Promise<SnapshotRow[]> {
    return (await this.rows('SELECT * FROM snapshots WHERE db = $1 ORDER BY created_at DESC, id', [db])).map(toSnapshot);
  }

  async putSnapshot(row: SnapshotRow): Promise<void> {
    await this.withClient((c) => insertSnapshot(c, row, true));
  }

  async getBranch(db: string, name: string): Promise<BranchRow | null> {
    return (await this.refRows('branch', db, name)).map(toBranch)[0] ?? null;
  }

  async listBranches(db: string): Promise<BranchRow[]> {
    return (await this.refRows('branch', db)).map(toBranch);
  }

  createBranch(row: BranchRow): Promise<void> {
    return this.createRef('branch', row.db, row.name, row.head, row.createdAt);
  }

  deleteBranch(db: string, name: string): Promise<void> {
    return this.deleteRef('branch', db, name);
  }

  casBranchHead(db: string, name: string, expected: string, next: string, leaseToken?: number): Promise<boolean> {
    return this.transaction(async (c) => {
      await lockDatabaseShared(c, db);
      if (leaseToken !== undefined) await checkLeaseToken(c, db, name, leaseToken);
      if (next !== expected) await mustHaveSnapshot(c, db, next);
      return (await casHead(c, db, name, expected, next)) === 1;
    });
  }

  async getTag(db: string, name: string): Promise<TagRow | null> {
    return (await this.refRows('tag', db, name)).map(toTag)[0] ?? null;
  }

  async listTags(db: string): Promise<TagRow[]> {
    return (await this.refRows('tag', db)).map(toTag);
  }

  /** A database's branches or tags, in name order; only `name` when it is given. */
  private refRows(kind: 'branch' | 'tag', db: string, name?: string): Promise<Row[]> {
    const table = REF_TABLES[kind];
    return name === undefined
      ? this.rows(`SELECT * FROM ${table} WHERE db = $1 ORDER BY name`, [db])
      : this.rows(`SELECT * FROM ${table} WHERE db = $1 AND name = $2`, [db, name]);
  }

  createTag(row: TagRow): Promise<void> {
    return this.createRef('tag', row.db, row.name, row.snapshot, row.createdAt);
  }

  deleteTag(db: string, name: string): Promise<void> {
    return this.deleteRef('tag', db, name);
  }

  /** Branches and tags are made alike: a new name at a snapshot that exists (and is not being expired). */
  private createRef(kind: 'branch' | 'tag', db: string, name: string, snapshot: string, createdAt: number): Promise<void> {
    const table = REF_TABLES[kind];
    return this.transaction(async (c) => {
      await lockDatabaseShared(c, db);
      if ((await c.query(`SELECT 1 FROM ${table} WHERE db = $1 AND name = $2`, [db, name])).rowCount) throw new AlreadyExistsError(kind, `${db}@${name}`);
      await mustHaveSnapshot(c, db, snapshot);
      const inserted = await c.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [db, name, snapshot, createdAt]);
      if (inserted.rowCount !== 1) throw new AlreadyExistsError(kind, `${db}@${name}`);
    });
  }

  private deleteRef(kind: 'branch' | 'tag', db: string, name: string): Promise<void> {
    return this.transaction(async (c) => {
      if (!(await c.query(`DELETE FROM ${REF_TABLES[kind]} WHERE db = $1 AND name = $2`, [db, name])).rowCount) throw new NotFoundError(kind, `${db}@${name}`);
    });
  }

  commitSnapshot(req: CommitRequest): Promise<void> {
    const { snapshot: s } = req;
    return this.transaction(async (c) => {
      await lockDatabaseShared(c, s.db);
      if (req.leaseToken !== undefined) await checkLeaseToken(c, s.db, req.branch, req.leaseToken);
      await insertSnapshot(c, s, true);
      if (req.layer) await insertLayer(c, req.layer);
      if ((await casHead(c, s.db, req.branch, req.expectedHead, s.id)) !== 1) {
        throw new ConflictError(`${s.db}@${req.branch}`, `branch ${s.db}@${req.branch} moved while the snapshot was being made; nothing was committed`);
      }
    });
  }

  async listLayers(): Promise<LayerRow[]> {
    return (await this.rows('SELECT * FROM layers ORDER BY id')).map(toLayer);
  }

  async forgetLayers(ids: string[]): Promise<void> {
    if (ids.length) await this.withClient((c) => c.query('DELETE FROM layers WHERE id = ANY($1)', [ids]));
  }

  readView(db?: string): Promise<MetadataView> {
    // REPEATABLE READ: every statement sees the same snapshot of the database.
    return this.transaction(
      async (c) => {
        const only = db === undefined ? '' : ' WHERE db = $1';
        const params = db === undefined ? [] : [db];
        const read = async (sql: string) => (await c.query<Row>(sql, params)).rows;
        const databases = (await read(`SELECT * FROM databases${db === undefined ? '' : ' WHERE name = $1'} ORDER BY name`)).map(toDatabase);
        const snapshots = (await read(`SELECT * FROM snapshots${only} ORDER BY created_at DESC, id`)).map(toSnapshot);
        const branches = (await read(`SELECT * FROM branches${only} ORDER BY name`)).map(toBranch);
        const tags = (await read(`SELECT * FROM tags${only} ORDER BY name`)).map(toTag);
        const expired = (await read(`SELECT * FROM expired_snapshots${only} ORDER BY db, id`)).map(toExpired);
        const layers = (await read(`SELECT * FROM layers${only} ORDER BY id`)).map(toLayer);
        return { databases: groupHistories(databases, snapshots, branches, tags, expired), expired, layers };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  expireSnapshots(db: string, choose: (history: DatabaseHistory) => Iterable<string>, expiredAt: number): Promise<SnapshotRow[]> {
    return this.transaction(async (c) => {
      // Exclusive: no ref can be pointed at a snapshot between reading the refs and expiring.
      const database = (await c.query<Row>('SELECT * FROM databases WHERE name = $1 FOR UPDATE', [db])).rows[0];
      if (!database) throw new NotFoundError('database', db);
      const read = async (sql: string) => (await c.query<Row>(sql, [db])).rows;
      const history: DatabaseHistory = {
        database: toDatabase(database),
        snapshots: (await read('SELECT * FROM snapshots WHERE db = $1 ORDER BY created_at DESC, id')).map(toSnapshot),
        branches: (await read('SELECT * FROM branches WHERE db = $1 ORDER BY name')).map(toBranch),
        tags: (await read('SELECT * FROM tags WHERE db = $1 ORDER BY name')).map(toTag),
        expired: (await read('SELECT * FROM expired_snapshots WHERE db = $1 ORDER BY id')).map(toExpired),
      };
      const keep = protectedRoots(history);
      const chosen = new Set([...choose(history)].filter((id) => !keep.has(id)));
      const expired = history.snapshots.filter((s) => chosen.has(s.id));
      if (expired.length) {
        const ids = expired.map((s) => s.id);
        await c.query('INSERT INTO expired_snapshots SELECT db, id, block_map, $3 FROM snapshots WHERE db = $1 AND id = ANY($2) ON CONFLICT DO NOTHING', [db, ids, expiredAt]);
        await c.query('DELETE FROM snapshots WHERE db = $1 AND id = ANY($2)', [db, ids]);
      }
      return expired;
    });
  }

  async getSetting(name: string): Promise<string | null> {
    const r = await this.rows('SELECT value FROM settings WHERE name = $1', [name]);
    return r[0] ? String(r[0].value) : null;
  }

  initSetting(name: string, value: string): Promise<string> {
    return this.transaction(async (c) => {
      await c.query('INSERT INTO settings VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, value]);
      return String((await c.query<Row>('SELECT value FROM settings WHERE name = $1', [name])).rows[0]!.value);
    });
  }

  acquireLease(db: string, branch: string, holder: LeaseHolder, ttlMs: number, isDead: (h: LeaseHolder) => boolean): Promise<LeaseGrant> {
    return this.transaction(async (c) => {
      const now = await serverNow(c);
      const existing = (await c.query<Row>('SELECT * FROM leases WHERE db = $1 AND branch = $2 FOR UPDATE', [db, branch])).rows[0];
      if (existing) {
        const current = toLease(existing);
        if (current.expiresAt > now && !isDead(current.holder)) throw new LeaseHeldError(`${db}@${branch}`, current.holder.description);
      }
      const token = Number(
        (
          await c.query<Row>(
            `INSERT INTO lease_tokens VALUES ($1, $2, 1)
             ON CONFLICT (db, branch) DO UPDATE SET last_token = lease_tokens.last_token + 1 RETURNING last_token`,
            [db, branch],
          )
        ).rows[0]!.last_token,
      );
      const grant: LeaseGrant = { db, branch, holder, token, expiresAt: now + ttlMs };
      const values = [holder.description, holder.host, holder.pid, token, grant.expiresAt, db, branch];
      if (existing) {
        await c.query('UPDATE leases SET holder = $1, holder_host = $2, holder_pid = $3, token = $4, expires_at = $5 WHERE db = $6 AND branch = $7', values);
      } else {
        const inserted = await c.query(
          'INSERT INTO leases (holder, holder_host, holder_pid, token, expires_at, db, branch) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
          values,
        );
        if (inserted.rowCount !== 1) {
          // Another writer inserted the lease since we looked (a row lock cannot cover a row that does not exist yet).
          const winner = (await c.query<Row>('SELECT * FROM leases WHERE db = $1 AND branch = $2', [db, branch])).rows[0];
          throw new LeaseHeldError(`${db}@${branch}`, winner ? toLease(winner).holder.description : 'another process');
        }
      }
      return grant;
    });
  }

  renewLease(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant> {
    return this.transaction(async (c) => {
      await checkLeaseToken(c, grant.db, grant.branch, grant.token, 'FOR UPDATE');
      const expiresAt = (await serverNow(c)) + ttlMs;
      await c.query('UPDATE leases SET expires_at = $1 WHERE db = $2 AND branch = $3 AND token = $4', [expiresAt, grant.db, grant.branch, grant.token]);
      return { ...grant, expiresAt };
    });
  }

  async releaseLease(grant: LeaseGrant): Promise<void> {
    await this.withClient((c) => c.query('DELETE FROM leases WHERE db = $1 AND branch = $2 AND token = $3', [grant.db, grant.branch, grant.token]));
  }

  async getLease(db: string, branch: string): Promise<LeaseGrant | null> {
    const r = (await this.rows('SELECT * FROM leases WHERE db = $1 AND branch = $2', [db, branch]))[0];
    return r ? toLease(r) : null;
  }

  private rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.withClient(async (c) => (await c.query<Row>(sql, params)).rows);
  }

  /** A typed error naming the server; the password is never part of it. */
  private translate(err: unknown): Error {
    if (err instanceof OpenDuckError) return err;
    const e = err as { code?: string };
    const message = this.redact(errorMessage(err).split('\n')[0]!);
    if (isConnectionError(err)) return new StoreUnavailableError(this.description, connectionReason(err, message), { cause: err });
    const l = this.options.location;
    switch (e.code) {
      case '28P01':
      case '28000':
        return new StoreUnavailableError(this.description, `login refused (${message}); set PGPASSWORD or DATABASE_URL, or put the password in ~/.pgpass or .openduck/credentials`, {
          reachable: true,
        });
      case '3D000':
        return new StoreUnavailableError(this.description, `database ${l.database} does not exist; create it first (CREATE DATABASE ${l.database})`, { reachable: true });
      case '42501':
        return new StoreUnavailableError(this.description, `permission denied (${message})`, { reachable: true });
      default:
        return new OpenDuckError('INTERNAL', `${this.description}: ${message}`, { cause: err });
    }
  }

  private redact(text: string): string {
    const secret = this.options.password;
    return secret && secret.length >= 4 ? text.split(secret).join('***') : text;
  }
}

/** Connection-level failures: the server is down, unreachable, restarting or out of slots. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code && (NETWORK_ERROR_CODES.has(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300')) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Connection ended|Client has encountered a connection error|connection is closed/i.test(
    errorMessage(err),
  );
}

function connectionReason(err: unknown, message: string): string {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === '57P01' || code === '57P02') return 'the server shut down';
  if (code === '57P03') return 'the server is starting up or shutting down';
  if (/timeout/i.test(message)) return 'timed out';
  if (/Connection terminated|Connection ended/i.test(message)) return 'the connection was closed';
  return message;
}

async function serverNow(c: Client): Promise<number> {
  return Number((await c.query<Row>(`SELECT ${NOW_MS} AS now`)).rows[0]!.now);
}

async function lockDatabaseShared(c: Client, db: string): Promise<void> {
  await c.query('SELECT 1 FROM databases WHERE name = $1 FOR SHARE', [db]);
}

async function mustHaveSnapshot(c: Client, db: string, id: string): Promise<void> {
  if (!(await c.query('SELECT 1 FROM snapshots WHERE db = $1 AND id = $2', [db, id])).rowCount) throw new NotFoundError('snapshot', `${db}@${id}`);
}

async function casHead(c: Client, db: string, name: string, expected: string, next: string): Promise<number> {
  return (await c.query('UPDATE branches SET head = $1 WHERE db = $2 AND name = $3 AND head = $4', [next, db, name, expected])).rowCount ?? 0;
}

async function checkLeaseToken(c: Client, db: string, branch: string, token: number, lock = 'FOR SHARE'): Promise<void> {
  // Locked, so the lease cannot be taken over between this check and the commit.
  const r = (await c.query<Row>(`SELECT token FROM leases WHERE db = $1 AND branch = $2 ${lock}`, [db, branch])).rows[0];
  if (!r || Number(r.token) !== token) {
    throw new ConflictError(`${db}@${branch}`, `write lease on ${db}@${branch} was lost (it expired and was taken over); nothing was committed`);
  }
}

async function insertSnapshot(c: Client, s: SnapshotRow, ifAbsent = false): Promise<void> {
  await c.query(`INSERT INTO snapshots VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)${ifAbsent ? ' ON CONFLICT DO NOTHING' : ''}`, snapshotValues(s));
}

async function insertLayer(c: Client, l: LayerRow): Promise<void> {
  await c.query('INSERT INTO layers VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [l.id, l.db, l.bytes, l.createdAt]);
}
