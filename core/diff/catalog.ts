/**
 * What a database declares: its schemas, tables (columns, constraints), views and indexes, read
 * from DuckDB's catalog functions for one attached database. Reading it touches metadata only.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

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

export async function readCatalog(con: DuckDBConnection, database: string): Promise<Catalog> {
  const rows = async (sql: string) => (await con.runAndReadAll(sql, [database])).getRowObjects();
  const schemas = (await rows(`SELECT schema_name FROM duckdb_schemas() WHERE database_name = $1 AND NOT internal ORDER BY 1`))
    .map((r) => String(r.schema_name))
    .filter((s) => !SYSTEM_SCHEMAS.has(s));

  const tables = new Map<string, TableInfo>();
  for (const r of await rows(
    `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = $1 AND NOT internal AND NOT temporary ORDER BY schema_name, table_name`,
  )) {
    const schema = String(r.schema_name);
    const name = String(r.table_name);
    tables.set(objectKey(schema, name), { schema, name, columns: [], constraints: [] });
  }
  for (const r of await rows(
    `SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default
       FROM duckdb_columns() WHERE database_name = $1 AND NOT internal ORDER BY schema_name, table_name, column_index`,
  )) {
    const table = tables.get(objectKey(String(r.schema_name), String(r.table_name)));
    table?.columns.push({
      name: String(r.column_name),
      type: String(r.data_type),
      nullable: Boolean(r.is_nullable),
      default: r.column_default === null ? null : String(r.column_default),
    });
  }
  for (const r of await rows(
    `SELECT schema_name, table_name, constraint_type, constraint_text, constraint_column_names
       FROM duckdb_constraints() WHERE database_name = $1 AND constraint_type <> 'NOT NULL'
      ORDER BY schema_name, table_name, constraint_index`,
  )) {
    const table = tables.get(objectKey(String(r.schema_name), String(r.table_name)));
    const columns = (r.constraint_column_names as { items: unknown[] } | null)?.items.map(String) ?? [];
    table?.constraints.push({ type: String(r.constraint_type), text: String(r.constraint_text), columns });
  }

  const views = new Map<string, ViewInfo>();
  for (const r of await rows(
    `SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = $1 AND NOT internal AND NOT temporary ORDER BY schema_name, view_name`,
  )) {
    const schema = String(r.schema_name);
    const name = String(r.view_name);
    views.set(objectKey(schema, name), { schema, name, sql: String(r.sql) });
  }

  const indexes = (
    await rows(`SELECT schema_name, table_name, index_name, sql FROM duckdb_indexes() WHERE database_name = $1 AND sql IS NOT NULL ORDER BY ALL`)
  ).map((r) => ({ schema: String(r.schema_name), table: String(r.table_name), name: String(r.index_name), sql: String(r.sql) }));

  return { schemas, tables, views, indexes };
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
