/**
 * Schema diff: which tables, views, indexes and schemas were added, dropped or renamed, and how a
 * table's columns and constraints changed. Pure functions over two `Catalog`s.
 */
import { objectKey, type Catalog, type ColumnInfo, type IndexInfo, type TableInfo, type ViewInfo } from './catalog.js';

export interface TableSchemaChanges {
  columnsAdded: ColumnInfo[];
  columnsDropped: ColumnInfo[];
  columnsRetyped: Array<{ name: string; from: string; to: string }>;
  /** NOT NULL of a column both sides have, as `NOT NULL(col)`, and table constraints, as DuckDB prints them. */
  constraintsAdded: string[];
  constraintsDropped: string[];
  defaultsChanged: Array<{ name: string; from: string | null; to: string | null }>;
  /** The columns both sides keep are in a different order (ALTER cannot reorder). */
  columnOrderChanged: boolean;
}

export function noSchemaChanges(): TableSchemaChanges {
  return { columnsAdded: [], columnsDropped: [], columnsRetyped: [], constraintsAdded: [], constraintsDropped: [], defaultsChanged: [], columnOrderChanged: false };
}

export function hasSchemaChanges(c: TableSchemaChanges): boolean {
  return (
    c.columnsAdded.length + c.columnsDropped.length + c.columnsRetyped.length + c.constraintsAdded.length + c.constraintsDropped.length + c.defaultsChanged.length > 0 ||
    c.columnOrderChanged
  );
}

const notNull = (column: string) => `NOT NULL(${column})`;

export function tableSchemaChanges(from: TableInfo, to: TableInfo): TableSchemaChanges {
  const before = new Map(from.columns.map((c) => [c.name, c]));
  const after = new Map(to.columns.map((c) => [c.name, c]));
  const changes = noSchemaChanges();
  changes.columnsAdded = to.columns.filter((c) => !before.has(c.name));
  changes.columnsDropped = from.columns.filter((c) => !after.has(c.name));
  for (const b of to.columns) {
    const a = before.get(b.name);
    if (!a) continue;
    if (a.type !== b.type) changes.columnsRetyped.push({ name: b.name, from: a.type, to: b.type });
    if (a.nullable && !b.nullable) changes.constraintsAdded.push(notNull(b.name));
    if (!a.nullable && b.nullable) changes.constraintsDropped.push(notNull(b.name));
    if (a.default !== b.default) changes.defaultsChanged.push({ name: b.name, from: a.default, to: b.default });
  }
  const fromTexts = new Set(from.constraints.map((c) => c.text));
  const toTexts = new Set(to.constraints.map((c) => c.text));
  changes.constraintsAdded.push(...to.constraints.filter((c) => !fromTexts.has(c.text)).map((c) => c.text));
  changes.constraintsDropped.push(...from.constraints.filter((c) => !toTexts.has(c.text)).map((c) => c.text));
  const keptInOrder = (columns: ColumnInfo[], other: Map<string, ColumnInfo>) => columns.filter((c) => other.has(c.name)).map((c) => c.name);
  changes.columnOrderChanged = keptInOrder(from.columns, after).join('\0') !== keptInOrder(to.columns, before).join('\0');
  return changes;
}

export interface TablePair {
  from: TableInfo | null;
  to: TableInfo | null;
  /** from and to are the same table under a new name. */
  renamed: boolean;
}

function sameColumns(a: TableInfo, b: TableInfo): boolean {
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c.name === b.columns[i]!.name && c.type === b.columns[i]!.type);
}

/**
 * Pairs each table with its counterpart by name. A table dropped and one added in the same schema
 * with the same columns are a rename when `sameStorage` says they are stored in the same segments
 * (ALTER TABLE … RENAME keeps the data where it is; a copy writes new blocks). Sorted by name.
 */
export async function pairTables(from: Catalog, to: Catalog, sameStorage: (a: TableInfo, b: TableInfo) => Promise<boolean>): Promise<TablePair[]> {
  const pairs: TablePair[] = [];
  const added = [...to.tables.values()].filter((t) => !from.tables.has(objectKey(t.schema, t.name)));
  const dropped = [...from.tables.values()].filter((t) => !to.tables.has(objectKey(t.schema, t.name)));
  const renamedTo = new Set<TableInfo>();
  for (const old of dropped) {
    let match: TableInfo | null = null;
    for (const candidate of added) {
      if (renamedTo.has(candidate) || candidate.schema !== old.schema || !sameColumns(old, candidate)) continue;
      if (await sameStorage(old, candidate)) {
        match = candidate;
        break;
      }
    }
    if (match) renamedTo.add(match);
    pairs.push({ from: old, to: match, renamed: !!match });
  }
  for (const t of to.tables.values()) {
    const old = from.tables.get(objectKey(t.schema, t.name));
    if (old) pairs.push({ from: old, to: t, renamed: false });
    else if (!renamedTo.has(t)) pairs.push({ from: null, to: t, renamed: false });
  }
  const nameOf = (p: TablePair) => (p.to ?? p.from)!;
  return pairs.sort((x, y) => compareNames(nameOf(x), nameOf(y)));
}

function compareNames(a: { schema: string; name: string }, b: { schema: string; name: string }): number {
  return a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export type ObjectStatus = 'added' | 'dropped' | 'modified' | 'renamed';

export interface ViewChange {
  schema: string;
  name: string;
  status: ObjectStatus;
  renamedFrom?: string;
  /** The `CREATE VIEW` statements on each side. */
  fromSql: string | null;
  toSql: string | null;
}

/** A view's definition without its own name, so a renamed view compares equal to the original. */
function viewBody(sql: string): string {
  return sql.replace(/^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:(?:"(?:[^"]|"")*"|[^\s."(]+)\.)*(?:"(?:[^"]|"")*"|[^\s."(]+)/i, 'CREATE VIEW');
}

export function viewChanges(from: Catalog, to: Catalog): ViewChange[] {
  const out: ViewChange[] = [];
  const dropped = [...from.views.values()].filter((v) => !to.views.has(objectKey(v.schema, v.name)));
  const renamedFrom = new Map<ViewInfo, ViewInfo>();
  for (const v of to.views.values()) {
    const old = from.views.get(objectKey(v.schema, v.name));
    if (old) {
      if (old.sql !== v.sql) out.push({ schema: v.schema, name: v.name, status: 'modified', fromSql: old.sql, toSql: v.sql });
      continue;
    }
    const original = dropped.find((d) => d.schema === v.schema && ![...renamedFrom.values()].includes(d) && viewBody(d.sql) === viewBody(v.sql));
    if (original) {
      renamedFrom.set(v, original);
      out.push({ schema: v.schema, name: v.name, status: 'renamed', renamedFrom: original.name, fromSql: original.sql, toSql: v.sql });
    } else {
      out.push({ schema: v.schema, name: v.name, status: 'added', fromSql: null, toSql: v.sql });
    }
  }
  const gone = new Set(renamedFrom.values());
  for (const d of dropped) if (!gone.has(d)) out.push({ schema: d.schema, name: d.name, status: 'dropped', fromSql: d.sql, toSql: null });
  return out.sort(compareNames);
}

export interface IndexChange {
  schema: string;
  table: string;
  name: string;
  status: Exclude<ObjectStatus, 'renamed'>;
  fromSql: string | null;
  toSql: string | null;
}

export function indexChanges(from: Catalog, to: Catalog): IndexChange[] {
  const key = (i: IndexInfo) => objectKey(i.schema, i.name);
  const before = new Map(from.indexes.map((i) => [key(i), i]));
  const after = new Map(to.indexes.map((i) => [key(i), i]));
  const out: IndexChange[] = [];
  for (const [k, i] of after) {
    const old = before.get(k);
    if (!old) out.push({ schema: i.schema, table: i.table, name: i.name, status: 'added', fromSql: null, toSql: i.sql });
    else if (old.sql !== i.sql) out.push({ schema: i.schema, table: i.table, name: i.name, status: 'modified', fromSql: old.sql, toSql: i.sql });
  }
  for (const [k, i] of before) if (!after.has(k)) out.push({ schema: i.schema, table: i.table, name: i.name, status: 'dropped', fromSql: i.sql, toSql: null });
  return out.sort(compareNames);
}

export function schemaNamespaceChanges(from: Catalog, to: Catalog): { added: string[]; dropped: string[] } {
  return { added: to.schemas.filter((s) => !from.schemas.includes(s)), dropped: from.schemas.filter((s) => !to.schemas.includes(s)) };
}
