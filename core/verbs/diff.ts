/**
 * `diff`: what changed between two states of a database (snapshots, or the working copy), table
 * by table and row by row.
 *
 * Cost grows with what changed. The two sides' block maps say which blocks differ without reading
 * either file; a table whose segments all sit in shared blocks, with the same live rows, is reported
 * unchanged without reading its rows (core/diff/storage.ts). The other tables are compared by
 * DuckDB with both sides attached read-only (core/diff/rows.ts), and their rows stream out.
 */
import type { Json } from '@duckdb/node-api';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { shortId } from '../hash.js';
import { mustGetSnapshot, parseRef, resolveRefIn, type ResolvedRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { toJsonValue } from '../values.js';
import { displayName, readCatalogs, rowKey, type ColumnInfo, type IndexInfo, type TableInfo } from '../diff/catalog.js';
import { changedBlocks, ComparisonDatabase, FROM_ALIAS, TO_ALIAS, type ChangedBlocks } from '../diff/compare.js';
import { countRowChanges, streamRowChanges, type RowChange, type RowCounts, type RowPlan, type RowValues } from '../diff/rows.js';
import {
  hasSchemaChanges,
  indexChanges,
  noSchemaChanges,
  pairTables,
  schemaNamespaceChanges,
  tableSchemaChanges,
  type IndexChange,
  type TablePair,
  type TableSchemaChanges,
  type ViewChange,
  viewChanges,
} from '../diff/schema.js';
import { snapshotSide, workingCopySide, type DiffSide, type DiffSideInfo } from '../diff/sides.js';
import { mustHaveDatabase } from './common.js';

export type { DiffSideInfo } from '../diff/sides.js';
export type { RowChange, RowCounts, RowValues } from '../diff/rows.js';
export type { TableSchemaChanges, ViewChange, IndexChange } from '../diff/schema.js';

export interface DiffOptions {
  /** Only these tables (and their indexes and views of that name): `name` in any schema, or `schema.name`. */
  tables?: string[];
  /** Compare schemas only; no row is read. */
  schemaOnly?: boolean;
  /** Count changed rows but do not list them (--stat). */
  countsOnly?: boolean;
  /** A filter rows must pass on both sides, e.g. `region = 'eu'`. */
  where?: string;
  /** At most this many changed rows listed per table; the counts still cover all. */
  limit?: number | null;
  /**
   * Compare as `--format sql` needs to turn the old side into the new: rows are compared after the
   * script's ALTERs, values come as text for SQL literals, and no counts are taken.
   */
  replay?: boolean;
  /**
   * Judge tables from their blocks only (for `status`): a table whose storage changed is reported
   * modified without comparing its rows; only delete markers are read (see core/diff/storage.ts).
   */
  blocksOnly?: boolean;
}

export type TableStatus = 'added' | 'dropped' | 'modified' | 'renamed' | 'unchanged';

export interface TableDiff {
  schema: string;
  name: string;
  status: TableStatus;
  /** The table's old name (same schema), when it was renamed. */
  renamedFrom: string | null;
  /** Columns rows are matched on; null when rows compare as a multiset. */
  key: string[] | null;
  schemaChanges: TableSchemaChanges;
  /** Changed rows; null with schemaOnly or replay. */
  rows: RowCounts | null;
  /** How the rows were judged: `blocks` (unchanged, known from shared blocks; not read), `rows` (compared), `none`. */
  compared: 'blocks' | 'rows' | 'none';
  /** Both sides' definitions (null for the side that lacks the table). */
  definitions: { from: TableInfo | null; to: TableInfo | null };
  /** Replay only: the script must drop and recreate the table (a change ALTER cannot make). */
  rebuild: boolean;
}

export interface TableDiffStream extends TableDiff {
  /** The changed rows, up to the limit. Read them before asking for the next table. */
  changes(): AsyncGenerator<RowChange>;
}

export interface PlannedTable extends TablePair {
  schemaChanges: TableSchemaChanges;
  /** Replay only: the script must drop and recreate the table (a change ALTER cannot make). */
  rebuild: boolean;
}

/** What a diff says before any table's rows: the sides, how many blocks differ, and objects other than tables. */
export interface DiffHeader {
  from: DiffSideInfo;
  to: DiffSideInfo;
  blocks: { changed: number; total: number };
  schemas: { added: string[]; dropped: string[] };
  views: ViewChange[];
  indexes: IndexChange[];
  /** Which tables had their rows read, and which were known unchanged from their blocks. */
  scan: { scanned: string[]; unchangedByBlocks: string[] };
}

export interface OpenedDiff extends DiffHeader {
  /** Tables that differ, one at a time; unchanged tables are skipped (and listed in `scan`, which fills as this runs). */
  tables(): AsyncGenerator<TableDiffStream>;
  /**
   * Every table in scope, paired, with its schema changes, before any row is read: a script that
   * replays the diff makes all its DDL before the first row change (see core/diff/sql-script.ts).
   */
  planned: PlannedTable[];
  /** Every index in scope on each side. */
  allIndexes: { from: IndexInfo[]; to: IndexInfo[] };
  close(): Promise<void>;
}

/** The one place diff resolves a revision within a database: the shared ref grammar. */
async function resolveRevision(repo: Repository, db: string, text: string): Promise<ResolvedRef> {
  return resolveRefIn(repo, db, text);
}

/** One side as written: a revision of a database, its working copy, or the working copy's base. */
type SideSpec = { db: string; rev: string } | { db: string; workingCopy: true } | { db: string; baseOf: true };

/**
 * The argument forms, as the CLI takes them:
 * - none: the only database's working copy against its base;
 * - `DB`: DB's working copy against its base (the unsnapshotted changes);
 * - `DB@REF`, or `DB REF`: that snapshot against the working copy;
 * - `A B`, each `DB@REF` or `DB` (the working copy): A against B;
 * - `DB FROM TO`: two revisions within DB (the original form).
 */
export async function diffSides(repo: Repository, args: string[]): Promise<{ from: SideSpec; to: SideSpec }> {
  const dbOf = (text: string) => parseRef(text).db;
  const side = (text: string): SideSpec => (text.includes('@') ? { db: dbOf(text), rev: text } : { db: dbOf(text), workingCopy: true });
  if (args.length === 0) {
    const dbs = await repo.metadata.listDatabases();
    if (dbs.length !== 1) {
      throw new InvalidArgumentError(dbs.length === 0 ? 'no database to diff (create one with openduck db create NAME)' : `name a database to diff: ${dbs.map((d) => d.name).join(', ')}`);
    }
    return { from: { db: dbs[0]!.name, baseOf: true }, to: { db: dbs[0]!.name, workingCopy: true } };
  }
  if (args.length === 1) {
    const db = dbOf(args[0]!);
    return args[0]!.includes('@') ? { from: side(args[0]!), to: { db, workingCopy: true } } : { from: { db, baseOf: true }, to: { db, workingCopy: true } };
  }
  if (args.length === 2) {
    const [a, b] = args as [string, string];
    if (!a.includes('@') && !b.includes('@')) return { from: { db: dbOf(a), rev: `${dbOf(a)}@${b}` }, to: { db: dbOf(a), workingCopy: true } };
    return { from: side(a), to: side(b) };
  }
  if (args.length === 3) {
    const db = dbOf(args[0]!);
    if (args[0]!.includes('@')) throw new InvalidArgumentError(`diff DB FROM TO takes a database name first, not a ref: ${args[0]}`);
    return { from: { db, rev: args[1]! }, to: { db, rev: args[2]! } };
  }
  throw new InvalidArgumentError(`diff takes at most three arguments (DB FROM TO), got ${args.length}`);
}

/** Opens one side; a working copy's base needs the working copy side, opened first, to agree on which base. */
async function openSide(repo: Repository, spec: SideSpec, workingCopy: DiffSide | null): Promise<DiffSide> {
  await mustHaveDatabase(repo, spec.db);
  if ('rev' in spec) return snapshotSide(repo, await resolveRevision(repo, spec.db, spec.rev));
  if ('workingCopy' in spec) return workingCopySide(repo, spec.db, 'openduck diff (copying the working copy)');
  const base = workingCopy?.info.db === spec.db ? workingCopy.info.base : undefined;
  if (!base) throw new Error(`the base of ${spec.db}'s working copy is read with the working copy`);
  const snapshot = await mustGetSnapshot(repo, spec.db, base);
  return snapshotSide(repo, { db: spec.db, snapshot, kind: 'id', name: snapshot.id, ancestry: 0, text: `${spec.db}@${shortId(snapshot.id)}`, label: `${spec.db}@${shortId(snapshot.id)}` });
}

/** Opens a diff between the states `args` name (see `diffSides`); close it when done. */
export async function openDiff(repo: Repository, args: string[], options: DiffOptions = {}): Promise<OpenedDiff> {
  if (options.replay && options.where !== undefined) throw new InvalidArgumentError('--format sql turns one side into the other, so it cannot take --where');
  if (options.replay && options.limit != null) throw new InvalidArgumentError('--format sql turns one side into the other, so it cannot take --limit');
  const specs = await diffSides(repo, args);
  const opened: DiffSide[] = [];
  try {
    // The working copy first: the base side is the base it was read against.
    const wcFirst = 'workingCopy' in specs.to && !('workingCopy' in specs.from);
    let from: DiffSide;
    let to: DiffSide;
    if (wcFirst) {
      to = await openSide(repo, specs.to, null);
      opened.push(to);
      from = await openSide(repo, specs.from, to);
      opened.push(from);
    } else {
      from = await openSide(repo, specs.from, null);
      opened.push(from);
      to = await openSide(repo, specs.to, from);
      opened.push(to);
    }
    const compared = await compareSides(repo, from, to, options);
    return {
      ...compared,
      close: async () => {
        await compared.close();
        for (const s of opened) await s.release();
      },
    };
  } catch (err) {
    for (const s of opened) await s.release().catch(() => undefined);
    throw err;
  }
}

/** Compares two opened sides (see core/diff/sides.ts); closing it leaves the sides to the caller. */
export async function compareSides(repo: Repository, from: DiffSide, to: DiffSide, options: DiffOptions = {}): Promise<OpenedDiff> {
  const changed = changedBlocks(from.map, to.map);
  // Identical files need neither to be opened (nor assembled from their layers).
  const identical = changed.changed === 0 && from.map.fileSize === to.map.fileSize && !from.hasWal && !to.hasWal;
  const comparison = await ComparisonDatabase.open(repo, from, to, { attach: !identical });
  try {
    return await planDiff(comparison, from, to, changed, identical, options, () => comparison.close());
  } catch (err) {
    await comparison.close();
    throw err;
  }
}

function tableMatcher(names: string[] | undefined): ((t: { schema: string; name: string }) => boolean) | null {
  if (!names?.length) return null;
  return (t) => names.some((n) => n === t.name || n === `${t.schema}.${t.name}`);
}

async function planDiff(
  db: ComparisonDatabase,
  fromSide: DiffSide,
  toSide: DiffSide,
  changed: ChangedBlocks,
  identical: boolean,
  options: DiffOptions,
  close: () => Promise<void>,
): Promise<OpenedDiff> {
  const where = options.where === undefined ? null : await db.checkWhere(options.where);
  const [fromCatalog, toCatalog] = identical ? [null, null] : await readCatalogs(db.con, [FROM_ALIAS, TO_ALIAS]);
  const wanted = tableMatcher(options.tables);
  let pairs: TablePair[] = fromCatalog && toCatalog ? await pairTables(fromCatalog, toCatalog, (a, b) => db.sameSegments(a, b)) : [];
  if (wanted) {
    pairs = pairs.filter((p) => (p.from && wanted(p.from)) || (p.to && wanted(p.to)));
    if (!identical && pairs.length === 0) throw new NotFoundError('table', options.tables!.join(', '), 'on neither side of the diff');
  }
  const views = fromCatalog && toCatalog ? viewChanges(fromCatalog, toCatalog).filter((v) => !wanted || wanted(v)) : [];
  const indexes = fromCatalog && toCatalog ? indexChanges(fromCatalog, toCatalog).filter((i) => !wanted || wanted({ schema: i.schema, name: i.table })) : [];
  const schemas = fromCatalog && toCatalog && !wanted ? schemaNamespaceChanges(fromCatalog, toCatalog) : { added: [], dropped: [] };
  const scan = { scanned: [] as string[], unchangedByBlocks: [] as string[] };
  const planned: PlannedTable[] = pairs.map((p) => {
    const schemaChanges = p.from && p.to ? tableSchemaChanges(p.from, p.to) : noSchemaChanges();
    return { ...p, schemaChanges, rebuild: !!(options.replay && p.from && p.to && needsRebuild(p.from, p.to, schemaChanges)) };
  });
  const inScope = (i: IndexInfo) => !wanted || wanted({ schema: i.schema, name: i.table });
  const allIndexes = { from: (fromCatalog?.indexes ?? []).filter(inScope), to: (toCatalog?.indexes ?? []).filter(inScope) };

  async function judge(pair: PlannedTable): Promise<TableDiff> {
    const { from, to, schemaChanges } = pair;
    const table = (to ?? from)!;
    const label = displayName(table.schema, table.name);
    const key = from && to ? sameKey(from, to) : to ? rowKey(to) : from ? rowKey(from) : null;
    const base: TableDiff = {
      schema: table.schema,
      name: table.name,
      status: !from ? 'added' : !to ? 'dropped' : pair.renamed ? 'renamed' : 'unchanged',
      renamedFrom: pair.renamed ? from!.name : null,
      key,
      schemaChanges,
      rows: null,
      compared: 'none',
      definitions: { from, to },
      rebuild: pair.rebuild,
    };
    if (base.status === 'unchanged' && hasSchemaChanges(schemaChanges)) base.status = 'modified';
    if (options.schemaOnly) return base;
    if (options.blocksOnly) {
      const changedStorage = !from || !to || !(await db.rowsUnchangedByBlocks(from, to, changed));
      return { ...base, status: base.status === 'unchanged' && changedStorage ? 'modified' : base.status };
    }
    // Shared blocks prove equal stored values, not equal rows after a schema change: a script that
    // renames a column or rebuilds the table must still write the rows.
    const prunable = !options.replay || !hasSchemaChanges(schemaChanges);
    if (from && to && prunable && (await db.rowsUnchangedByBlocks(from, to, changed))) {
      scan.unchangedByBlocks.push(label);
      return { ...base, rows: options.replay ? null : { added: 0, removed: 0, modified: 0 }, compared: 'blocks' };
    }
    scan.scanned.push(label);
    if (options.replay) return { ...base, status: base.status === 'unchanged' ? 'modified' : base.status, compared: 'rows' };
    const rows = await countRowChanges(db.con, rowPlan(db, pair, base, options, where));
    const rowsChanged = rows.added + rows.removed + rows.modified > 0;
    return { ...base, rows, compared: 'rows', status: base.status === 'unchanged' && rowsChanged ? 'modified' : base.status };
  }

  async function* tables(): AsyncGenerator<TableDiffStream> {
    for (const pair of planned) {
      const t = await judge(pair);
      if (t.status === 'unchanged') continue;
      const plan = rowPlan(db, pair, t, options, where);
      const listRows = !options.schemaOnly && !options.countsOnly && t.compared === 'rows' && !(options.replay && t.status === 'dropped');
      yield {
        ...t,
        changes: listRows ? () => streamRowChanges(db.con, plan, options.limit ?? null) : async function* () {},
      };
    }
  }

  return {
    from: fromSide.info,
    to: toSide.info,
    blocks: { changed: changed.changed, total: changed.total },
    schemas,
    views,
    indexes,
    tables,
    scan,
    planned,
    allIndexes,
    close,
  };
}

/** The key both sides agree on; rows of a table whose key changed compare as a multiset. */
function sameKey(from: TableInfo, to: TableInfo): string[] | null {
  const a = rowKey(from);
  const b = rowKey(to);
  return a && b && a.join('\0') === b.join('\0') ? a : null;
}

function rowPlan(db: ComparisonDatabase, pair: TablePair, t: TableDiff, options: DiffOptions, where: string | null): RowPlan {
  // A rebuilt table is recreated empty by the script and refilled with every row of the new side.
  const from = pair.from && !t.rebuild ? { relation: db.relation('from', pair.from), columns: pair.from.columns } : null;
  const to = pair.to ? { relation: db.relation('to', pair.to), columns: pair.to.columns } : null;
  return { from, to, key: from && to ? t.key : null, replay: !!options.replay, where, asText: !!options.replay };
}

/**
 * Changes the script cannot make with ALTER TABLE: table constraints (DuckDB cannot add or drop
 * most of them), a new column order, or an altered column a constraint depends on.
 */
function needsRebuild(from: TableInfo, to: TableInfo, changes: TableSchemaChanges): boolean {
  const tableConstraints = (list: string[]) => list.filter((c) => !c.startsWith('NOT NULL('));
  if (tableConstraints(changes.constraintsAdded).length || tableConstraints(changes.constraintsDropped).length) return true;
  const kept = from.columns.filter((c) => to.columns.some((d) => d.name === c.name)).map((c) => c.name);
  const afterAlter = [...kept, ...changes.columnsAdded.map((c) => c.name)];
  if (afterAlter.join('\0') !== to.columns.map((c) => c.name).join('\0')) return true;
  const altered = new Set([...changes.columnsDropped.map((c) => c.name), ...changes.columnsRetyped.map((c) => c.name)]);
  return from.constraints.some((c) => c.columns.some((n) => altered.has(n)));
}

/** A row as JSON: column name to value (exact: big integers and decimals a double cannot hold become strings). */
export function rowJson(row: RowValues): Record<string, Json> {
  const out: Record<string, Json> = {};
  row.names.forEach((n, i) => (out[n] = toJsonValue(row.values[i]!, row.types[i]!)));
  return out;
}

export type RowChangeJson =
  | { op: 'added' | 'removed'; count: number; row: Record<string, Json> }
  | { op: 'modified'; key: Record<string, Json>; changed: string[]; old: Record<string, Json>; new: Record<string, Json> };

/** A row change as JSON, in the shape docs/guides/diff.md documents. */
export function rowChangeJson(change: RowChange, key: string[] | null): RowChangeJson {
  if (change.op !== 'modified') return { op: change.op, count: change.count, row: rowJson(change.row) };
  const newRow = rowJson(change.new);
  const keyValues: Record<string, Json> = {};
  for (const k of key ?? []) keyValues[k] = newRow[k]!;
  return { op: 'modified', key: keyValues, changed: change.changed, old: rowJson(change.old), new: newRow };
}

interface ColumnJson {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface TableDiffJson {
  schema: string;
  name: string;
  status: TableStatus;
  renamedFrom: string | null;
  key: string[] | null;
  schemaChanges: Omit<TableSchemaChanges, 'columnsAdded' | 'columnsDropped'> & { columnsAdded: ColumnJson[]; columnsDropped: ColumnJson[] };
  rows: RowCounts | null;
  compared: TableDiff['compared'];
}

/** A table's diff as JSON, without its rows. */
export function tableDiffJson(t: TableDiff): TableDiffJson {
  const column = (c: ColumnInfo): ColumnJson => ({ name: c.name, type: c.type, nullable: c.nullable, default: c.default });
  const s = t.schemaChanges;
  return {
    schema: t.schema,
    name: t.name,
    status: t.status,
    renamedFrom: t.renamedFrom,
    key: t.key,
    schemaChanges: {
      columnsAdded: s.columnsAdded.map(column),
      columnsDropped: s.columnsDropped.map(column),
      columnsRetyped: s.columnsRetyped,
      constraintsAdded: s.constraintsAdded,
      constraintsDropped: s.constraintsDropped,
      defaultsChanged: s.defaultsChanged,
      columnOrderChanged: s.columnOrderChanged,
    },
    rows: t.rows ? { ...t.rows } : null,
    compared: t.compared,
  };
}

export interface TableReport extends TableDiffJson {
  changes: RowChangeJson[];
}

export interface DiffReport extends DiffHeader {
  tables: TableReport[];
  differences: boolean;
}

/**
 * The whole diff as one JSON-ready object, rows included (up to `limit` per table). For scripts
 * and small diffs; the CLI streams instead.
 */
export async function diff(repo: Repository, args: string[], options: DiffOptions = {}): Promise<DiffReport> {
  const opened = await openDiff(repo, args, options);
  try {
    const tables: TableReport[] = [];
    for await (const t of opened.tables()) {
      const changes: RowChangeJson[] = [];
      for await (const c of t.changes()) changes.push(rowChangeJson(c, t.key));
      tables.push({ ...tableDiffJson(t), changes });
    }
    const differences = tables.length > 0 || opened.views.length > 0 || opened.indexes.length > 0 || opened.schemas.added.length + opened.schemas.dropped.length > 0;
    return { from: opened.from, to: opened.to, blocks: opened.blocks, schemas: opened.schemas, views: opened.views, indexes: opened.indexes, tables, scan: opened.scan, differences };
  } finally {
    await opened.close();
  }
}
