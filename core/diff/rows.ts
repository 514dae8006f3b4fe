/**
 * Row diffs, computed by DuckDB over the two attached sides.
 *
 * - A table with a key (see `rowKey`) is matched on it with a full outer join: a key on one side
 *   only is an added or removed row, a key on both whose compared columns differ is a modified
 *   row. The compared columns are the ones both sides have; a retyped column's old value is cast
 *   to the new type first.
 * - A table without one is compared as a multiset: rows are grouped on every compared column and
 *   each side counts +1 or -1, so a row present twice on one side and once on the other is one
 *   added (or removed) row with a count.
 *
 * Rows stream out of DuckDB chunk by chunk; nothing holds a whole table in memory here.
 *
 * `replay` compares the way the SQL script (`sql-script.ts`) needs: the old side as it is after the
 * script's ALTERs (dropped columns gone, retyped ones cast, added ones NULL or their literal default), against all of the new
 * side's columns. Without it, added columns are reported but do not make a row modified.
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { VARCHAR } from '../duckdb-api.js';
import { runChecked } from '../checked-result.js';
import { quoteIdentifier } from '../sql.js';
import { constantDefault, type ColumnInfo } from './catalog.js';

export interface RowValues {
  names: string[];
  types: DuckDBType[];
  values: DuckDBValue[];
}

export type RowChange =
  | { op: 'added' | 'removed'; row: RowValues; count: number }
  | { op: 'modified'; old: RowValues; new: RowValues; changed: string[] };

export interface RowCounts {
  added: number;
  removed: number;
  modified: number;
}

/** One table's two sides, as the row diff sees them; either relation may be missing. */
export interface RowPlan {
  /** Quoted relations, e.g. `"diff_from"."main"."orders"`. */
  from: { relation: string; columns: ColumnInfo[] } | null;
  to: { relation: string; columns: ColumnInfo[] } | null;
  /** Columns rows are matched on (present on both sides), or null for a multiset comparison. */
  key: string[] | null;
  replay: boolean;
  /** A filter both sides' rows must pass (already checked to be one expression). */
  where: string | null;
  /** Values as DuckDB's VARCHAR text (for SQL literals) instead of typed values. */
  asText: boolean;
}

const q = quoteIdentifier;

interface SharedColumn {
  name: string;
  fromType: string;
  toType: string;
}

function sharedColumns(plan: RowPlan): SharedColumn[] {
  const from = new Map(plan.from!.columns.map((c) => [c.name, c]));
  return plan.to!.columns.filter((c) => from.has(c.name)).map((c) => ({ name: c.name, fromType: from.get(c.name)!.type, toType: c.type }));
}

/** The old side's value of a shared column, in the new side's type. */
function oldValue(alias: string, c: SharedColumn): string {
  const ref = `${alias}.${q(c.name)}`;
  return c.fromType === c.toType ? ref : `TRY_CAST(${ref} AS ${c.toType})`;
}

/** An expression in parentheses; the newline keeps a trailing `--` comment from eating the closing one. */
export function parenthesized(expression: string): string {
  return `(${expression}\n)`;
}

/** What the script's ADD COLUMN leaves in existing rows: the default when it is a literal, else NULL. */
function addedValue(c: ColumnInfo): string {
  return `CAST(${constantDefault(c) ?? 'NULL'} AS ${c.type})`;
}

function filtered(relation: string, where: string | null): string {
  return where === null ? relation : `(SELECT * FROM ${relation} WHERE ${parenthesized(where)})`;
}

/** A column name no side uses, for the presence markers of the outer join. */
function markerName(plan: RowPlan): string {
  const used = new Set([...(plan.from?.columns ?? []), ...(plan.to?.columns ?? [])].map((c) => c.name));
  let name = '__openduck_present';
  while (used.has(name)) name += '_';
  return name;
}

function output(expr: string, asText: boolean): string {
  return asText ? `CAST(${expr} AS VARCHAR)` : expr;
}

/** For one side only (an added or dropped table): every row. */
function oneSideSql(relation: string, columns: ColumnInfo[], plan: RowPlan): string {
  return `SELECT ${columns.map((c) => output(q(c.name), plan.asText)).join(', ')} FROM ${filtered(relation, plan.where)}`;
}

interface KeyedQuery {
  sql: string;
  marker: string;
  shared: SharedColumn[];
  /** Columns whose difference makes a row modified (shared ones, and in replay the added ones). */
  compared: string[];
}

function keyedQuery(plan: RowPlan): KeyedQuery {
  const marker = markerName(plan);
  const shared = sharedColumns(plan);
  const key = new Set(plan.key!);
  const fromNames = new Set(plan.from!.columns.map((c) => c.name));
  const differs: Array<{ name: string; expr: string }> = shared
    .filter((c) => !key.has(c.name))
    .map((c) => ({ name: c.name, expr: `(${oldValue('a', c)} IS DISTINCT FROM b.${q(c.name)})` }));
  if (plan.replay) {
    for (const c of plan.to!.columns) if (!fromNames.has(c.name)) differs.push({ name: c.name, expr: `(b.${q(c.name)} IS DISTINCT FROM ${addedValue(c)})` });
  }
  const on = plan.key!.map((k) => `a.${q(k)} = b.${q(k)}`).join(' AND ');
  const select = [
    `(a.${q(marker)} IS NOT NULL) AS in_from`,
    `(b.${q(marker)} IS NOT NULL) AS in_to`,
    ...plan.key!.map((k, i) => `coalesce(b.${q(k)}, a.${q(k)}) AS k${i}`),
    ...differs.map((d, i) => `${d.expr} AS d${i}`),
    ...plan.from!.columns.map((c) => output(`a.${q(c.name)}`, plan.asText)),
    ...plan.to!.columns.map((c) => output(`b.${q(c.name)}`, plan.asText)),
  ];
  const anyDiffers = differs.length ? differs.map((_, i) => `d${i}`).join(' OR ') : 'false';
  const sql = `SELECT * FROM (
    SELECT ${select.join(', ')}
      FROM (SELECT true AS ${q(marker)}, * FROM ${filtered(plan.from!.relation, plan.where)}) a
      FULL OUTER JOIN (SELECT true AS ${q(marker)}, * FROM ${filtered(plan.to!.relation, plan.where)}) b ON ${on}
  ) WHERE NOT in_from OR NOT in_to OR ${anyDiffers}`;
  return { sql, marker, shared, compared: differs.map((d) => d.name) };
}

/** The columns a multiset comparison groups on, as (old-side expression, new-side expression, name). */
function multisetColumns(plan: RowPlan): Array<{ name: string; from: string; to: string; type: string }> {
  const shared = new Map(sharedColumns(plan).map((c) => [c.name, c]));
  const columns = plan.replay ? plan.to!.columns : plan.to!.columns.filter((c) => shared.has(c.name));
  return columns.map((c) => {
    const s = shared.get(c.name);
    return { name: c.name, from: s ? oldValue('a', s) : addedValue(c), to: `b.${q(c.name)}`, type: c.type };
  });
}

function multisetSql(plan: RowPlan): { sql: string; names: string[] } {
  const cols = multisetColumns(plan);
  const names = cols.map((c) => c.name);
  // Positional names inside, so no user column can clash with the side counter.
  const inner = (side: number, alias: 'a' | 'b', relation: string) =>
    `SELECT ${side} AS s${cols.map((c, i) => `, ${alias === 'a' ? c.from : c.to} AS v${i}`).join('')} FROM ${filtered(relation, plan.where)} ${alias}`;
  const grouped = cols.map((_, i) => `v${i}`);
  const sql = `SELECT sum(s)::BIGINT AS n${grouped.map((v, i) => `, ${output(v, plan.asText)} AS c${i}`).join('')}
    FROM (${inner(-1, 'a', plan.from!.relation)} UNION ALL ${inner(1, 'b', plan.to!.relation)})
    ${grouped.length ? `GROUP BY ${grouped.join(', ')}` : ''} HAVING sum(s) <> 0`;
  return { sql, names };
}

async function single(con: DuckDBConnection, sql: string): Promise<DuckDBValue[]> {
  return (await con.runAndReadAll(sql)).getRows()[0]!;
}

export async function countRowChanges(con: DuckDBConnection, plan: RowPlan): Promise<RowCounts> {
  if (!plan.from || !plan.to) {
    const [n] = await single(con, `SELECT count(*) FROM ${filtered((plan.from ?? plan.to)!.relation, plan.where)}`);
    return plan.from ? { added: 0, removed: Number(n), modified: 0 } : { added: Number(n), removed: 0, modified: 0 };
  }
  if (plan.key) {
    const { sql } = keyedQuery(plan);
    const [added, removed, modified] = await single(
      con,
      `SELECT count(*) FILTER (WHERE NOT in_from), count(*) FILTER (WHERE NOT in_to), count(*) FILTER (WHERE in_from AND in_to) FROM (${sql})`,
    );
    return { added: Number(added), removed: Number(removed), modified: Number(modified) };
  }
  const { sql } = multisetSql(plan);
  const [added, removed] = await single(con, `SELECT coalesce(sum(n) FILTER (WHERE n > 0), 0), coalesce(-sum(n) FILTER (WHERE n < 0), 0) FROM (${sql})`);
  return { added: Number(added), removed: Number(removed), modified: 0 };
}

/**
 * The changed rows, at most `limit` of them, by key (or by value for multisets). In replay,
 * removed rows come first, then modified, then added, so a script never inserts a value before
 * deleting the row that held it.
 */
export async function* streamRowChanges(con: DuckDBConnection, plan: RowPlan, limit: number | null): AsyncGenerator<RowChange> {
  const limitSql = limit === null ? '' : ` LIMIT ${Math.max(0, Math.floor(limit))}`;
  const typesOf = (columns: ColumnInfo[], result: DuckDBType[]) => (plan.asText ? columns.map(() => VARCHAR) : result);

  if (!plan.from || !plan.to) {
    const side = (plan.from ?? plan.to)!;
    const op = plan.from ? 'removed' : 'added';
    const result = await runChecked(con, oneSideSql(side.relation, side.columns, plan) + limitSql);
    const names = side.columns.map((c) => c.name);
    const types = typesOf(side.columns, result.columnTypes());
    for await (const chunk of result) for (const values of chunk.getRows()) yield { op, count: 1, row: { names, types, values } };
    return;
  }

  if (plan.key) {
    const { sql, compared } = keyedQuery(plan);
    const order = (plan.replay ? ['(CASE WHEN NOT in_to THEN 0 WHEN in_from THEN 1 ELSE 2 END)'] : []).concat(plan.key.map((_, i) => `k${i}`));
    const result = await runChecked(con, `${sql} ORDER BY ${order.join(', ')}${limitSql}`);
    const types = result.columnTypes();
    const flags = 2 + plan.key.length;
    const first = flags + compared.length;
    const fromCount = plan.from.columns.length;
    const fromNames = plan.from.columns.map((c) => c.name);
    const toNames = plan.to.columns.map((c) => c.name);
    const fromTypes = typesOf(plan.from.columns, types.slice(first, first + fromCount));
    const toTypes = typesOf(plan.to.columns, types.slice(first + fromCount));
    for await (const chunk of result) {
      for (const row of chunk.getRows()) {
        const oldRow = { names: fromNames, types: fromTypes, values: row.slice(first, first + fromCount) };
        const newRow = { names: toNames, types: toTypes, values: row.slice(first + fromCount) };
        if (!row[0]) yield { op: 'added', count: 1, row: newRow };
        else if (!row[1]) yield { op: 'removed', count: 1, row: oldRow };
        else yield { op: 'modified', old: oldRow, new: newRow, changed: compared.filter((_, i) => row[flags + i] === true) };
      }
    }
    return;
  }

  const { sql, names } = multisetSql(plan);
  // Shown by value, so an old row and its new version sit together; a script removes first (a
  // nullable UNIQUE column leaves a table keyless, and an insert must not meet the value it replaces).
  const byValue = names.map((_, i) => `c${i}`);
  const order = plan.replay ? ['n > 0', ...byValue] : [...byValue, 'n > 0'];
  const result = await runChecked(con, `${sql} ORDER BY ${order.join(', ')}${limitSql}`);
  const resultTypes = result.columnTypes().slice(1);
  const types = plan.asText ? names.map(() => VARCHAR) : resultTypes;
  for await (const chunk of result) {
    for (const row of chunk.getRows()) {
      const n = Number(row[0]);
      yield { op: n > 0 ? 'added' : 'removed', count: Math.abs(n), row: { names, types, values: row.slice(1) } };
    }
  }
}
