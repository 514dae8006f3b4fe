/**
 * What a database declares: its schemas, tables (columns, constraints), views and indexes, read
 * from DuckDB's catalog functions for one attached database. Reading it touches metadata only.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { listValue } from '../duckdb-api.js';

export interface ColumnInfo {
  name: string;
  /** DuckDB's spelling of the type, e.g. `DECIMAL(12,2)`, `STRUCT(a INTEGER)[]`. */
  type: string;
  nullable: boolean;
  /** The default expression as DuckDB prints it, or null. */
  default: string | null;
}

export interface ConstraintInfo {
  /** `PRIMARY KEY`, `UNIQUE`, `CHECK`, `FOREIGN KEY`; NOT NULL is a column property here. */
  type: string;
  /** DuckDB's text of the constraint, e.g. `PRIMARY KEY(id)`, `CHECK((amount > 0))`. */
  text: string;
  columns: string[];
}

export interface TableInfo {
  schema: string;
  name: string;
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
}

export interface ViewInfo {
  schema: string;
  name: string;
  /** DuckDB's `CREATE VIEW …` statement. */
  sql: string;
}

export interface IndexInfo {
  schema: string;
  table: string;
  name: string;
  /** DuckDB's `CREATE INDEX …` statement. */
  sql: string;
}

export interface Catalog {
  /** Schemas the user created (not `main` or DuckDB's own). */
  schemas: string[];
  tables: Map<string, TableInfo>;
  views: Map<string, ViewInfo>;
  indexes: IndexInfo[];
}

/** A map key for a schema-qualified name; JSON so that no name can collide with another. */
export function objectKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

/** How people read a table name: DuckDB's default schema is implied, as in its own output. */
export function displayName(schema: string, name: string): string {
  return schema === 'main' ? name : `${schema}.${name}`;
}

const SYSTEM_SCHEMAS = new Set(['main', 'information_schema', 'pg_catalog']);

/** The catalogs of several attached databases, read with one query per kind of object. */
export async function readCatalogs(con: DuckDBConnection, databases: string[]): Promise<Catalog[]> {
  const catalogs = new Map<string, Catalog>(databases.map((d) => [d, { schemas: [], tables: new Map(), views: new Map(), indexes: [] }]));
  const rows = async (sql: string) => (await con.runAndReadAll(sql, [listValue(databases)])).getRowObjects();
  const of = (r: Record<string, unknown>) => catalogs.get(String(r.database_name))!;
  const isIn = 'list_contains($1::VARCHAR[], database_name)';

  for (const r of await rows(`SELECT database_name, schema_name FROM duckdb_schemas() WHERE ${isIn} AND NOT internal ORDER BY ALL`)) {
    if (!SYSTEM_SCHEMAS.has(String(r.schema_name))) of(r).schemas.push(String(r.schema_name));
  }
  for (const r of await rows(
    `SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE ${isIn} AND NOT internal AND NOT temporary ORDER BY ALL`,
  )) {
    const schema = String(r.schema_name);
    const name = String(r.table_name);
    of(r).tables.set(objectKey(schema, name), { schema, name, columns: [], constraints: [] });
  }
  for (const r of await rows(
    `SELECT database_name, schema_name, table_name, column_name, data_type, is_nullable, column_default
       FROM duckdb_columns() WHERE ${isIn} AND NOT internal ORDER BY database_name, schema_name, table_name, column_index`,
  )) {
    of(r).tables.get(objectKey(String(r.schema_name), String(r.table_name)))?.columns.push({
      name: String(r.column_name),
      type: String(r.data_type),
      nullable: Boolean(r.is_nullable),
      default: r.column_default === null ? null : String(r.column_default),
    });
  }
  for (const r of await rows(
    `SELECT database_name, schema_name, table_name, constraint_type, constraint_text, constraint_column_names
       FROM duckdb_constraints() WHERE ${isIn} AND constraint_type <> 'NOT NULL'
      ORDER BY database_name, schema_name, table_name, constraint_index`,
  )) {
    const columns = (r.constraint_column_names as { items: unknown[] } | null)?.items.map(String) ?? [];
    of(r).tables.get(objectKey(String(r.schema_name), String(r.table_name)))?.constraints.push({ type: String(r.constraint_type), text: String(r.constraint_text), columns });
  }
  for (const r of await rows(
    `SELECT database_name, schema_name, view_name, sql FROM duckdb_views() WHERE ${isIn} AND NOT internal AND NOT temporary ORDER BY ALL`,
  )) {
    const schema = String(r.schema_name);
    const name = String(r.view_name);
    of(r).views.set(objectKey(schema, name), { schema, name, sql: String(r.sql) });
  }
  for (const r of await rows(`SELECT database_name, schema_name, table_name, index_name, sql FROM duckdb_indexes() WHERE ${isIn} AND sql IS NOT NULL ORDER BY ALL`)) {
    of(r).indexes.push({ schema: String(r.schema_name), table: String(r.table_name), name: String(r.index_name), sql: String(r.sql) });
  }
  return databases.map((d) => catalogs.get(d)!);
}

/**
 * The columns rows are matched on: the primary key, else the first UNIQUE constraint whose
 * columns are all NOT NULL (a nullable unique key does not identify rows whose key is NULL).
 */
export function rowKey(table: TableInfo): string[] | null {
  const pk = table.constraints.find((c) => c.type === 'PRIMARY KEY');
  if (pk) return pk.columns;
  const notNull = new Set(table.columns.filter((c) => !c.nullable).map((c) => c.name));
  const unique = table.constraints.find((c) => c.type === 'UNIQUE' && c.columns.length > 0 && c.columns.every((n) => notNull.has(n)));
  return unique ? unique.columns : null;
}

const LITERAL = String.raw`(?:-?\d+(?:\.\d+)?(?:e-?\d+)?|'(?:[^']|'')*'|true|false|null)`;
const CONSTANT_DEFAULT = new RegExp(String.raw`^(?:${LITERAL}|CAST\(${LITERAL} AS [^()]+(?:\([\d, ]+\))?\))$`, 'i');

/**
 * A column default that is a literal (or a literal cast to a type), so every existing row gets
 * the same value when the column is added. Other defaults (now(), nextval(…)) are evaluated per
 * row, and a script cannot know what they gave.
 */
export function constantDefault(column: ColumnInfo): string | null {
  return column.default !== null && CONSTANT_DEFAULT.test(column.default.trim()) ? column.default.trim() : null;
}
