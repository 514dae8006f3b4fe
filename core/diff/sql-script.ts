/**
 * `diff --format sql`: statements that turn the old side into the new one. Applied to the old
 * side, they reproduce the new side's schema and rows. Three transactions, because DuckDB refuses
 * to build an index over updates that are not yet checkpointed:
 *
 * 1. structure: drop the views and indexes that change (and the indexes of tables about to be
 *    restructured: DuckDB cannot alter a table an index depends on), create schemas, then per
 *    table drop, create, rename, or alter (drop and retype columns, add new ones nullable). A
 *    change ALTER cannot make (table constraints, column order) drops and recreates the table;
 * 2. rows: deletes, updates and inserts, streamed;
 * 3. after a CHECKPOINT: NOT NULLs and non-literal defaults the rows needed out of the way,
 *    indexes, views, and dropping schemas that are gone.
 *
 * Values are written as DuckDB's own text of the value cast back to the column's type, which
 * round-trips every type except UNION (refused).
 */
import { InvalidArgumentError } from '../errors.js';
import { quoteIdentifier, quoteLiteral } from '../sql.js';
import type { OpenedDiff, PlannedTable, TableDiffStream } from '../verbs/diff.js';
import { constantDefault, objectKey, type ColumnInfo, type TableInfo } from './catalog.js';
import { hasSchemaChanges } from './schema.js';
import type { RowValues } from './rows.js';

const q = quoteIdentifier;

function qualified(schema: string, name: string): string {
  return `${q(schema)}.${q(name)}`;
}

const BARE_TYPES = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/** A string literal; NUL, which a literal cannot hold, is spliced in with chr(0). */
function stringLiteral(text: string): string {
  return text.split('\0').map(quoteLiteral).join(' || chr(0) || ');
}

/** A value given as DuckDB's VARCHAR text of it, as a literal of `type`. */
export function sqlLiteral(text: unknown, type: string): string {
  if (text === null || text === undefined) return 'NULL';
  const s = String(text);
  if (type === 'VARCHAR') return stringLiteral(s);
  if (BARE_TYPES.test(type)) return s;
  return `CAST(${stringLiteral(s)} AS ${type})`;
}

function typesByName(columns: ColumnInfo[]): Map<string, string> {
  return new Map(columns.map((c) => [c.name, c.type]));
}

function literals(row: RowValues, types: Map<string, string>): string[] {
  return row.names.map((n, i) => sqlLiteral(row.values[i], types.get(n)!));
}

function columnDefinition(c: ColumnInfo, withConstraints: boolean): string {
  let def = `${q(c.name)} ${c.type}`;
  if (withConstraints && !c.nullable) def += ' NOT NULL';
  if (withConstraints && c.default !== null) def += ` DEFAULT ${c.default}`;
  return def;
}

function createTable(to: TableInfo): string {
  const parts = [...to.columns.map((c) => columnDefinition(c, true)), ...to.constraints.map((c) => c.text)];
  return `CREATE TABLE ${qualified(to.schema, to.name)} (${parts.join(', ')});`;
}

function refuseUnions(t: TableDiffStream): void {
  for (const c of [...(t.definitions.from?.columns ?? []), ...(t.definitions.to?.columns ?? [])]) {
    if (/\bUNION\s*\(/i.test(c.type)) throw new InvalidArgumentError(`--format sql cannot write values of UNION type (column ${c.name} of ${t.schema}.${t.name})`);
  }
}

const notNullColumn = (constraint: string) => /^NOT NULL\((.*)\)$/s.exec(constraint)?.[1] ?? null;

/**
 * A table's DDL: what must happen before any row changes (drop, create, rename, drop and retype
 * columns, add new ones nullable), and what must wait until the rows are in (NOT NULL, defaults
 * that are not literals).
 */
function tableDdl(t: PlannedTable): { before: string[]; after: string[] } {
  if (!t.to) return { before: [`DROP TABLE ${qualified(t.from!.schema, t.from!.name)};`], after: [] };
  if (!t.from) return { before: [createTable(t.to)], after: [] };
  const table = qualified(t.to.schema, t.to.name);
  const before: string[] = [];
  const after: string[] = [];
  if (t.renamed) before.push(`ALTER TABLE ${qualified(t.from.schema, t.from.name)} RENAME TO ${q(t.to.name)};`);
  if (t.rebuild) return { before: [...before, `DROP TABLE ${table};`, createTable(t.to)], after };
  const s = t.schemaChanges;
  for (const c of s.columnsDropped) before.push(`ALTER TABLE ${table} DROP COLUMN ${q(c.name)};`);
  for (const c of s.constraintsDropped) {
    const column = notNullColumn(c);
    if (column !== null) before.push(`ALTER TABLE ${table} ALTER COLUMN ${q(column)} DROP NOT NULL;`);
  }
  for (const c of s.columnsRetyped) before.push(`ALTER TABLE ${table} ALTER COLUMN ${q(c.name)} SET DATA TYPE ${c.to} USING TRY_CAST(${q(c.name)} AS ${c.to});`);
  for (const c of s.defaultsChanged) {
    if (c.to === null) before.push(`ALTER TABLE ${table} ALTER COLUMN ${q(c.name)} DROP DEFAULT;`);
    else after.push(`ALTER TABLE ${table} ALTER COLUMN ${q(c.name)} SET DEFAULT ${c.to};`);
  }
  for (const c of s.columnsAdded) {
    // A literal default fills existing rows as it did on the new side; another default is set after the rows.
    const literal = constantDefault(c);
    before.push(`ALTER TABLE ${table} ADD COLUMN ${columnDefinition(c, false)}${literal === null ? '' : ` DEFAULT ${literal}`};`);
    if (!c.nullable) after.push(`ALTER TABLE ${table} ALTER COLUMN ${q(c.name)} SET NOT NULL;`);
    if (c.default !== null && literal === null) after.push(`ALTER TABLE ${table} ALTER COLUMN ${q(c.name)} SET DEFAULT ${c.default};`);
  }
  for (const c of s.constraintsAdded) {
    const column = notNullColumn(c);
    if (column !== null) after.push(`ALTER TABLE ${table} ALTER COLUMN ${q(column)} SET NOT NULL;`);
  }
  return { before, after };
}

async function* rowStatements(t: TableDiffStream): AsyncGenerator<string> {
  const table = qualified(t.schema, t.name);
  const fromTypes = typesByName(t.definitions.from?.columns ?? []);
  const toTypes = typesByName(t.definitions.to?.columns ?? []);
  const keyed = t.key !== null && !t.rebuild && t.status !== 'added';
  const match = (row: RowValues, types: Map<string, string>, columns: string[], op: string) =>
    columns
      .map((n) => {
        const i = row.names.indexOf(n);
        return `${q(n)} ${op} ${sqlLiteral(row.values[i], types.get(n)!)}`;
      })
      .join(' AND ');
  for await (const change of t.changes()) {
    if (change.op === 'modified') {
      const sets = change.changed.map((n) => `${q(n)} = ${sqlLiteral(change.new.values[change.new.names.indexOf(n)], toTypes.get(n)!)}`);
      yield `UPDATE ${table} SET ${sets.join(', ')} WHERE ${match(change.new, toTypes, t.key!, '=')};`;
    } else if (change.op === 'removed') {
      if (keyed) yield `DELETE FROM ${table} WHERE ${match(change.row, fromTypes, t.key!, '=')};`;
      else {
        // Multiset rows are given in the new side's columns and types (the old side after the ALTERs).
        const where = change.row.names.length ? match(change.row, toTypes, change.row.names, 'IS NOT DISTINCT FROM') : 'true';
        yield `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${change.count});`;
      }
    } else {
      const columns = change.row.names.map(q).join(', ');
      const values = literals(change.row, toTypes).join(', ');
      yield change.count === 1
        ? `INSERT INTO ${table} (${columns}) VALUES (${values});`
        : `INSERT INTO ${table} (${columns}) SELECT ${values} FROM range(${change.count});`;
    }
  }
}

/** A table whose indexes the script drops before its DDL and creates again after. */
function restructured(t: PlannedTable): boolean {
  return !t.from || !t.to || t.renamed || t.rebuild || hasSchemaChanges(t.schemaChanges);
}

/** The script, statement by statement (each ends with a newline), streaming the row changes. */
export async function* sqlScript(diff: OpenedDiff): AsyncGenerator<string> {
  const line = (s: string) => `${s}\n`;
  const changedFrom = new Set(diff.indexes.filter((i) => i.status !== 'added').map((i) => objectKey(i.schema, i.name)));
  const changedTo = new Set(diff.indexes.filter((i) => i.status !== 'dropped').map((i) => objectKey(i.schema, i.name)));
  const touchedFrom = new Set(diff.planned.filter((t) => t.from && restructured(t)).map((t) => objectKey(t.from!.schema, t.from!.name)));
  const touchedTo = new Set(diff.planned.filter((t) => t.to && restructured(t)).map((t) => objectKey(t.to!.schema, t.to!.name)));
  const ddl = diff.planned.map(tableDdl);

  yield line(`-- openduck diff: turns ${diff.from.ref} into ${diff.to.ref}`);
  const structure: string[] = [];
  for (const v of diff.views) if (v.status !== 'added') structure.push(`DROP VIEW IF EXISTS ${qualified(v.schema, v.renamedFrom ?? v.name)};`);
  for (const i of diff.allIndexes.from) {
    if (changedFrom.has(objectKey(i.schema, i.name)) || touchedFrom.has(objectKey(i.schema, i.table))) structure.push(`DROP INDEX IF EXISTS ${qualified(i.schema, i.name)};`);
  }
  for (const s of diff.schemas.added) structure.push(`CREATE SCHEMA ${q(s)};`);
  for (const d of ddl) structure.push(...d.before);
  if (structure.length) {
    yield line('-- 1. structure: every table is in its new shape before any row changes');
    yield* transaction(structure);
  }

  let rows = false;
  for await (const t of diff.tables()) {
    if (t.status === 'dropped') continue;
    refuseUnions(t);
    for await (const s of rowStatements(t)) {
      if (!rows) {
        rows = true;
        yield line('-- 2. rows');
        yield line('BEGIN TRANSACTION;');
      }
      yield line(s);
    }
  }
  if (rows) yield line('COMMIT;');

  const finishing = ddl.flatMap((d) => d.after);
  for (const i of diff.allIndexes.to) {
    if (changedTo.has(objectKey(i.schema, i.name)) || touchedTo.has(objectKey(i.schema, i.table))) finishing.push(i.sql.trim().replace(/;?$/, ';'));
  }
  for (const v of diff.views) if (v.status !== 'dropped') finishing.push(v.toSql!.trim().replace(/;?$/, ';'));
  for (const s of diff.schemas.dropped) finishing.push(`DROP SCHEMA ${q(s)};`);
  if (finishing.length) {
    // DuckDB refuses to build an index (CREATE INDEX, or SET NOT NULL on an indexed table) over pending updates.
    yield line('-- 3. constraints, indexes and views, once the rows are in');
    yield line('CHECKPOINT;');
    yield* transaction(finishing);
  }
}

function* transaction(statements: string[]): Generator<string> {
  yield 'BEGIN TRANSACTION;\n';
  for (const s of statements) yield `${s}\n`;
  yield 'COMMIT;\n';
}
