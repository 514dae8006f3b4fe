/**
 * Versioned migrations of the metadata schema. The SQL is the common subset of DuckDB and
 * PostgreSQL, so both stores apply the same list and stay in step.
 */
import { IncompatibleStoreError } from '../errors.js';

export interface Migration {
  version: number;
  statements: string[];
}

export const METADATA_MIGRATIONS: Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE databases (
        name VARCHAR PRIMARY KEY,
        default_branch VARCHAR NOT NULL,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE snapshots (
        db VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        parents VARCHAR NOT NULL,
        block_map VARCHAR NOT NULL,
        layer VARCHAR,
        message VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        created_at BIGINT NOT NULL,
        size_bytes BIGINT NOT NULL,
        blocks_changed BIGINT NOT NULL,
        bytes_written BIGINT NOT NULL,
        PRIMARY KEY (db, id))`,
      `CREATE TABLE branches (
        db VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        head VARCHAR NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (db, name))`,
      `CREATE TABLE tags (
        db VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        snapshot VARCHAR NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (db, name))`,
      `CREATE TABLE layers (
        id VARCHAR PRIMARY KEY,
        db VARCHAR NOT NULL,
        bytes BIGINT NOT NULL,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE leases (
        db VARCHAR NOT NULL,
        branch VARCHAR NOT NULL,
        holder VARCHAR NOT NULL,
        holder_host VARCHAR NOT NULL,
        holder_pid BIGINT NOT NULL,
        token BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (db, branch))`,
      `CREATE TABLE lease_tokens (
        db VARCHAR NOT NULL,
        branch VARCHAR NOT NULL,
        last_token BIGINT NOT NULL,
        PRIMARY KEY (db, branch))`,
    ],
  },
  {
    version: 2,
    statements: [
      // gc removes snapshot rows; these keep what is needed to protect their objects for the
      // grace period, and let fsck tell an expired parent from a missing one.
      `CREATE TABLE expired_snapshots (
        db VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        block_map VARCHAR NOT NULL,
        expired_at BIGINT NOT NULL,
        PRIMARY KEY (db, id))`,
      // Repository-wide facts, such as where a shared repository's objects live.
      `CREATE TABLE settings (
        name VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL)`,
    ],
  },
];

/** Every table the migrations create, plus the migrations' own: what an integrity check reads. */
export const METADATA_TABLES: string[] = [
  'schema_migrations',
  ...METADATA_MIGRATIONS.flatMap((m) => m.statements.map((stmt) => /^CREATE TABLE (\w+)/.exec(stmt)?.[1]).filter((t): t is string => !!t)),
];

export const LATEST_SCHEMA_VERSION = Math.max(...METADATA_MIGRATIONS.map((m) => m.version));

/**
 * The migrations still to apply, given the versions a store has recorded. A store that a newer
 * OpenDuck migrated further is refused: this code would misread its rows.
 */
export function pendingMigrations(applied: Iterable<number>, store: string): Migration[] {
  const done = new Set(applied);
  const newest = Math.max(0, ...done);
  if (newest > LATEST_SCHEMA_VERSION) {
    throw new IncompatibleStoreError(
      store,
      `its schema is version ${newest}, newer than this OpenDuck understands (${LATEST_SCHEMA_VERSION}); upgrade openduck`,
    );
  }
  return METADATA_MIGRATIONS.filter((m) => !done.has(m.version));
}
