/**
 * Query results on stdout. JSON and CSV stream chunk by chunk, so memory stays bounded whatever
 * the result size; the table view needs column widths, so it shows at most TABLE_ROW_LIMIT rows
 * and says how many it left out.
 */
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { ChunkedResult } from '../../core/checked-result.js';
import { DuckDBTypeId } from '../../core/duckdb-api.js';
import { toDisplayText, toJsonValue } from '../../core/values.js';

export type ResultFormat = 'table' | 'json' | 'csv';
export const TABLE_ROW_LIMIT = 10_000;

type Write = (text: string) => Promise<void>;

/** Rows to print, from a local DuckDB result or decoded from a server's Arrow stream. */
export interface RowSource {
  names: string[];
  types: DuckDBType[];
  /** Row-major batches. */
  batches: AsyncIterable<DuckDBValue[][]>;
}

export function localRows(result: ChunkedResult, onError: (err: unknown) => Error): RowSource {
  return {
    names: result.deduplicatedColumnNames(),
    types: result.columnTypes(),
    batches: (async function* () {
      try {
        for await (const chunk of result) yield chunk.getRows();
      } catch (err) {
        throw onError(err);
      }
    })(),
  };
}

export async function renderResult(source: RowSource, format: ResultFormat, write: Write): Promise<number> {
  const { names, types } = source;
  let rows = 0;

  if (format === 'json') {
    await write('[');
    for await (const chunk of source.batches) {
      let text = '';
      for (const row of chunk) {
        const obj: Record<string, unknown> = {};
        row.forEach((v, i) => (obj[names[i]!] = toJsonValue(v, types[i]!)));
        text += (rows++ ? ',\n' : '\n') + JSON.stringify(obj);
      }
      await write(text);
    }
    await write(rows ? '\n]\n' : ']\n');
    return rows;
  }

  if (format === 'csv') {
    await write(names.map(csvField).join(',') + '\n');
    for await (const chunk of source.batches) {
      let text = '';
      for (const row of chunk) {
        text += row.map((v) => (v === null ? '' : csvField(toDisplayText(v)))).join(',') + '\n';
        rows++;
      }
      await write(text);
    }
    return rows;
  }

  const cells: string[][] = [];
  let omitted = 0;
  for await (const chunk of source.batches) {
    for (const row of chunk) {
      rows++;
      if (cells.length < TABLE_ROW_LIMIT) cells.push(row.map((v) => oneLineText(toDisplayText(v))));
      else omitted++;
    }
  }
  await write(boxTable(names, types.map(typeLabel), cells, types.map(isNumeric)));
  if (omitted) await write(`… ${omitted} more rows not shown (use --format csv or json for all ${rows})\n`);
  else await write(`(${rows} row${rows === 1 ? '' : 's'})\n`);
  return rows;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

function oneLineText(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

function typeLabel(t: DuckDBType): string {
  return t.toString().toLowerCase();
}

function isNumeric(t: DuckDBType): boolean {
  return [
    DuckDBTypeId.TINYINT,
    DuckDBTypeId.SMALLINT,
    DuckDBTypeId.INTEGER,
    DuckDBTypeId.BIGINT,
    DuckDBTypeId.HUGEINT,
    DuckDBTypeId.UTINYINT,
    DuckDBTypeId.USMALLINT,
    DuckDBTypeId.UINTEGER,
    DuckDBTypeId.UBIGINT,
    DuckDBTypeId.UHUGEINT,
    DuckDBTypeId.FLOAT,
    DuckDBTypeId.DOUBLE,
    DuckDBTypeId.DECIMAL,
  ].includes(t.typeId);
}

function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

/** DuckDB's CLI look: a box with the column names and types on top. */
export function boxTable(names: string[], typeNames: string[] | null, rows: string[][], numeric: boolean[]): string {
  const widths = names.map((n, i) => Math.max(width(n), width(typeNames?.[i] ?? ''), ...rows.map((r) => width(r[i]!)), 1));
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r + '\n';
  const line = (cells: string[], right: (i: number) => boolean) => '│' + cells.map((c, i) => ` ${pad(c, widths[i]!, right(i))} `).join('│') + '│\n';
  let out = rule('┌', '┬', '┐');
  out += line(names, () => false);
  if (typeNames) out += line(typeNames, () => false);
  out += rule('├', '┼', '┤');
  for (const r of rows) out += line(r, (i) => numeric[i]!);
  out += rule('└', '┴', '┘');
  return out;
}
