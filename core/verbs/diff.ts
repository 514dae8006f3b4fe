import type { DuckDBConnection, Json } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb-api.js';
import { blockMapLayout } from '../format/block-map.js';
import { resolveRefIn } from '../refs.js';
import type { Repository } from '../repository.js';
import { materializeSnapshot } from '../snapshot-cache.js';
import { quoteIdentifier, quoteLiteral } from '../sql.js';
import { toJsonValue } from '../values.js';
import { mustHaveDatabase } from './common.js';

export type TableChange = 'added' | 'dropped' | 'modified' | 'schema' | 'unchanged';

export interface TableDiff {
  schema: string;
  table: string;
  change: TableChange;
  rowsAdded: number;
  rowsRemoved: number;
  /** Up to `sampleRows` rows on each side, when asked for. */
  added?: Record<string, Json>[];
  removed?: Record<string, Json>[];
}

export interface DiffResult {
  db: string;
  from: string;
  to: string;
  /** Chunks (header region + blocks) whose content differs between the two snapshots. */
  blocksChanged: number;
  blocksTotal: number;
  tables: TableDiff[];
}

export interface DiffOptions {
  /** Rows to show per side and table; 0 for counts only (--stat). */
  sampleRows?: number;
}

interface Column {
  name: string;
  type: string;
}

/**
 * What changed between two snapshots of one database, table by table and row by row. Identical
 * block maps short-circuit to "no changes" without opening either snapshot; otherwise both are
 * attached read-only in one DuckDB and compared with EXCEPT ALL, so duplicates count correctly.
 */
export async function diff(repo: Repository, db: string, fromRev: string, toRev: string, options: DiffOptions = {}): Promise<DiffResult> {
  await mustHaveDatabase(repo, db);
  const [from, to] = [await resolveRefIn(repo, db, fromRev), await resolveRefIn(repo, db, toRev)];
  const [fromMap, toMap] = [await repo.blockMap(from.snapshot.blockMap), await repo.blockMap(to.snapshot.blockMap)];
  const total = Math.max(blockMapLayout(fromMap).chunkCount, blockMapLayout(toMap).chunkCount);
  let blocksChanged = 0;
  for (let i = 0; i < total; i++) {
    const a = fromMap.chunks[i];
    const b = toMap.chunks[i];
    if (!a || !b || !a.sha256.equals(b.sha256)) blocksChanged++;
  }
  const result: DiffResult = { db, from: from.snapshot.id, to: to.snapshot.id, blocksChanged, blocksTotal: total, tables: [] };
  if (blocksChanged === 0) return result;

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run(`ATTACH ${quoteLiteral(await materializeSnapshot(repo, from.snapshot))} AS "from" (READ_ONLY)`);
    await con.run(`ATTACH ${quoteLiteral(await materializeSnapshot(repo, to.snapshot))} AS "to" (READ_ONLY)`);
    const before = await tablesOf(con, 'from');
    const after = await tablesOf(con, 'to');
    const names = [...new Set([...before.keys(), ...after.keys()])].sort();
    for (const key of names) {
      const [schema, table] = JSON.parse(key) as [string, string];
      const a = before.get(key);
      const b = after.get(key);
      const fromRel = `"from".${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
      const toRel = `"to".${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
      const entry: TableDiff = { schema, table, change: 'unchanged', rowsAdded: 0, rowsRemoved: 0 };
      if (!a) {
        entry.change = 'added';
        entry.rowsAdded = await count(con, `SELECT * FROM ${toRel}`);
      } else if (!b) {
        entry.change = 'dropped';
        entry.rowsRemoved = await count(con, `SELECT * FROM ${fromRel}`);
      } else if (!sameColumns(a, b)) {
        entry.change = 'schema';
        entry.rowsRemoved = await count(con, `SELECT * FROM ${fromRel}`);
        entry.rowsAdded = await count(con, `SELECT * FROM ${toRel}`);
      } else {
        const added = `SELECT * FROM ${toRel} EXCEPT ALL SELECT * FROM ${fromRel}`;
        const removed = `SELECT * FROM ${fromRel} EXCEPT ALL SELECT * FROM ${toRel}`;
        entry.rowsAdded = await count(con, added);
        entry.rowsRemoved = await count(con, removed);
        if (entry.rowsAdded || entry.rowsRemoved) entry.change = 'modified';
        const sample = options.sampleRows ?? 0;
        if (sample > 0 && entry.change === 'modified') {
          entry.added = await rows(con, `SELECT * FROM (${added}) ORDER BY ALL LIMIT ${sample}`);
          entry.removed = await rows(con, `SELECT * FROM (${removed}) ORDER BY ALL LIMIT ${sample}`);
        }
      }
      result.tables.push(entry);
    }
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  return result;
}

async function tablesOf(con: DuckDBConnection, catalog: string): Promise<Map<string, Column[]>> {
  const reader = await con.runAndReadAll(
    `SELECT c.schema_name, c.table_name, c.column_name, c.data_type
       FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
      WHERE c.database_name = ? ORDER BY c.schema_name, c.table_name, c.column_index`,
    [catalog],
  );
  const tables = new Map<string, Column[]>();
  for (const [schema, table, name, type] of reader.getRows() as string[][]) {
    const key = JSON.stringify([schema, table]);
    if (!tables.has(key)) tables.set(key, []);
    tables.get(key)!.push({ name: name!, type: type! });
  }
  return tables;
}

function sameColumns(a: Column[], b: Column[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.type === b[i]!.type);
}

async function count(con: DuckDBConnection, sql: string): Promise<number> {
  const reader = await con.runAndReadAll(`SELECT count(*) FROM (${sql})`);
  return Number(reader.getRows()[0]![0]);
}

async function rows(con: DuckDBConnection, sql: string): Promise<Record<string, Json>[]> {
  const reader = await con.runAndReadAll(sql);
  const names = reader.deduplicatedColumnNames();
  const types = reader.columnTypes();
  return reader.getRows().map((r) => Object.fromEntries(r.map((v, i) => [names[i]!, toJsonValue(v, types[i]!)])));
}
