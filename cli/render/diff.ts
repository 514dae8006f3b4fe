/**
 * Printing a diff: a human view (per table: its schema changes, then rows as `+` added, `-`
 * removed, `<`/`>` old and new of a modified row), `--stat` (one line per table), streaming JSON
 * (the shape docs/guides/diff.md documents), or the SQL script that turns one side into the other.
 * Rows are written as they arrive; only per-table summaries are held.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { sqlScript } from '../../core/diff/sql-script.js';
import { toDisplayText } from '../../core/values.js';
import {
  rowChangeJson,
  tableDiffJson,
  type OpenedDiff,
  type RowChange,
  type RowCounts,
  type RowValues,
  type TableDiff,
  type TableDiffStream,
} from '../../core/verbs/diff.js';
import { columns } from './format.js';

export type DiffFormat = 'table' | 'json' | 'sql' | 'stat';

export interface RenderOptions {
  format: DiffFormat;
  /** Modified rows show only the key and the columns that changed. */
  skinny: boolean;
  /** Highlight with colour (a terminal). */
  color: boolean;
  limit: number | null;
}

type Write = (text: string) => Promise<void>;

/** Writes the diff; returns whether there were differences (for the exit code). */
export async function renderDiff(diff: OpenedDiff, options: RenderOptions, write: Write): Promise<boolean> {
  switch (options.format) {
    case 'json':
      return renderJson(diff, write);
    case 'sql': {
      let tables = 0;
      const counted: OpenedDiff = {
        ...diff,
        tables: async function* () {
          for await (const t of diff.tables()) {
            tables++;
            yield t;
          }
        },
      };
      for await (const statement of sqlScript(counted)) await write(statement);
      return tables > 0 || objectsDiffer(diff);
    }
    case 'stat':
      return renderStat(diff, write);
    default:
      return renderHuman(diff, options, write);
  }
}

function tableLabel(t: { schema: string; name: string }): string {
  return t.schema === 'main' ? t.name : `${t.schema}.${t.name}`;
}

function objectsDiffer(diff: OpenedDiff): boolean {
  return diff.views.length + diff.indexes.length + diff.schemas.added.length + diff.schemas.dropped.length > 0;
}

function header(diff: OpenedDiff): string {
  const side = (s: OpenedDiff['from']) => (s.workingCopy ? `${s.ref} (working copy${s.snapshot ? ', clean' : ''})` : s.ref);
  return `diff ${side(diff.from)} ${side(diff.to)}: ${diff.blocks.changed} of ${diff.blocks.total} blocks differ`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function scanLine(diff: OpenedDiff): string {
  const { scanned, unchangedByBlocks } = diff.scan;
  return `rows read in ${plural(scanned.length, 'table')}; ${unchangedByBlocks.length} unchanged by blocks`;
}

/** `+added -removed ~modified`; a table on one side only has rows of one kind. */
function counts(t: TableDiff): string[] {
  const rows = t.rows;
  if (!rows) return ['', '', ''];
  if (t.status === 'added') return [`+${rows.added}`, '', ''];
  if (t.status === 'dropped') return ['', `-${rows.removed}`, ''];
  return [`+${rows.added}`, `-${rows.removed}`, `~${rows.modified}`];
}

function schemaSummary(t: TableDiff): string {
  const s = t.schemaChanges;
  const parts = [
    ...(t.renamedFrom !== null ? [`renamed from ${t.renamedFrom}`] : []),
    ...s.columnsAdded.map((c) => `+column ${c.name} ${c.type}`),
    ...s.columnsDropped.map((c) => `-column ${c.name} ${c.type}`),
    ...s.columnsRetyped.map((c) => `${c.name} ${c.from} → ${c.to}`),
    ...s.constraintsAdded.map((c) => `+${c}`),
    ...s.constraintsDropped.map((c) => `-${c}`),
    ...s.defaultsChanged.map((c) => `${c.name} default ${c.from ?? 'none'} → ${c.to ?? 'none'}`),
    ...(s.columnOrderChanged ? ['column order changed'] : []),
  ];
  return parts.join(', ');
}

function objectLines(diff: OpenedDiff): string[][] {
  return [
    ...diff.schemas.added.map((s) => ['  schema', s, 'added']),
    ...diff.schemas.dropped.map((s) => ['  schema', s, 'dropped']),
    ...diff.views.map((v) => ['  view', tableLabel(v), v.status === 'renamed' ? `renamed from ${v.renamedFrom}` : v.status]),
    ...diff.indexes.map((i) => ['  index', tableLabel(i), `${i.status} (on ${i.table})`]),
  ];
}

async function renderStat(diff: OpenedDiff, write: Write): Promise<boolean> {
  await write(header(diff) + '\n');
  const lines: string[][] = [];
  const total: RowCounts = { added: 0, removed: 0, modified: 0 };
  for await (const t of diff.tables()) {
    lines.push([`  ${tableLabel(t)}`, t.status, ...counts(t), schemaSummary(t)]);
    if (t.rows) for (const k of ['added', 'removed', 'modified'] as const) total[k] += t.rows[k];
  }
  const all = [...lines, ...objectLines(diff)];
  if (all.length) await write(columns(all) + '\n');
  const differs = lines.length > 0 || objectsDiffer(diff);
  await write(
    differs
      ? `${plural(lines.length, 'table')} changed, ${plural(total.added, 'row')} added, ${total.removed} removed, ${total.modified} modified (${scanLine(diff)})\n`
      : `no differences (${scanLine(diff)})\n`,
  );
  return differs;
}

/** Strings quoted (so spaces and empty strings show), everything else as DuckDB prints it. */
function cell(value: DuckDBValue): string {
  if (value === null) return 'NULL';
  return typeof value === 'string' ? JSON.stringify(value) : toDisplayText(value).replace(/\r?\n/g, '\\n');
}

function rowText(row: RowValues, only: Set<string> | null, highlight: Set<string>, paint: (s: string) => string): string {
  return row.names
    .map((n, i) => [n, i] as const)
    .filter(([n]) => !only || only.has(n))
    .map(([n, i]) => {
      const text = `${n}=${cell(row.values[i]!)}`;
      return highlight.has(n) ? paint(text) : text;
    })
    .join('  ');
}

/** SGR escapes, written out: util.styleText drops them when stdout is not a terminal, even with --color. */
const sgr = (on: number, off: number) => (s: string) => `\x1b[${on}m${s}\x1b[${off}m`;
const [RED, GREEN, BOLD] = [sgr(31, 39), sgr(32, 39), sgr(1, 22)];

function changeLines(change: RowChange, t: TableDiffStream, options: RenderOptions): string {
  const red = (s: string) => (options.color ? RED(s) : s);
  const green = (s: string) => (options.color ? GREEN(s) : s);
  const none = new Set<string>();
  if (change.op === 'modified') {
    const changed = new Set(change.changed);
    const only = options.skinny ? new Set([...(t.key ?? []), ...change.changed]) : null;
    const bold = (paint: (s: string) => string) => (s: string) => (options.color ? BOLD(paint(s)) : s);
    return `< ${rowText(change.old, only, changed, bold(red))}\n> ${rowText(change.new, only, changed, bold(green))}\n`;
  }
  const times = change.count > 1 ? `(×${change.count}) ` : '';
  const line = `${change.op === 'added' ? '+' : '-'} ${times}${rowText(change.row, null, none, (s) => s)}`;
  return (change.op === 'added' ? green(line) : red(line)) + '\n';
}

function moreLine(t: TableDiff, shown: RowCounts): string | null {
  if (!t.rows) return null;
  const parts = (['added', 'removed', 'modified'] as const).filter((k) => t.rows![k] > shown[k]).map((k) => `${t.rows![k] - shown[k]} more ${k}`);
  return parts.length ? `… ${parts.join(', ')} (raise --limit to see more)` : null;
}

function addShown(shown: RowCounts, change: RowChange): void {
  if (change.op === 'modified') shown.modified++;
  else shown[change.op] += change.count;
}

async function renderHuman(diff: OpenedDiff, options: RenderOptions, write: Write): Promise<boolean> {
  await write(header(diff) + '\n');
  let tables = 0;
  for await (const t of diff.tables()) {
    tables++;
    const bothSides = t.status !== 'added' && t.status !== 'dropped';
    const keyNote = t.rows && bothSides ? (t.key ? `  key (${t.key.join(', ')})` : '  no key: rows compare as a multiset') : '';
    await write(`\ntable ${tableLabel(t)}  ${t.status}  ${counts(t).filter(Boolean).join(' ')}${keyNote}\n`);
    const schema = schemaSummary(t);
    if (schema) await write(`  ${schema}\n`);
    const shown: RowCounts = { added: 0, removed: 0, modified: 0 };
    for await (const change of t.changes()) {
      addShown(shown, change);
      await write(changeLines(change, t, options));
    }
    const more = moreLine(t, shown);
    if (more && t.compared === 'rows') await write(more + '\n');
  }
  const objects = objectLines(diff);
  if (objects.length) await write('\n' + columns(objects) + '\n');
  const differs = tables > 0 || objectsDiffer(diff);
  await write(`\n${differs ? '' : 'no differences; '}${scanLine(diff)}\n`);
  return differs;
}

async function renderJson(diff: OpenedDiff, write: Write): Promise<boolean> {
  const head = { from: diff.from, to: diff.to, blocks: diff.blocks, schemas: diff.schemas, views: diff.views, indexes: diff.indexes };
  await write(JSON.stringify(head).slice(0, -1) + ',"tables":[');
  let tables = 0;
  for await (const t of diff.tables()) {
    const entry = JSON.stringify(tableDiffJson(t));
    await write(`${tables++ ? ',' : ''}\n${entry.slice(0, -1)},"changes":[`);
    const shown: RowCounts = { added: 0, removed: 0, modified: 0 };
    let n = 0;
    for await (const change of t.changes()) {
      addShown(shown, change);
      await write(`${n++ ? ',' : ''}\n${JSON.stringify(rowChangeJson(change, t.key))}`);
    }
    const more = t.rows ? { added: t.rows.added - shown.added, removed: t.rows.removed - shown.removed, modified: t.rows.modified - shown.modified } : null;
    await write(`${n ? '\n' : ''}],"more":${JSON.stringify(more)}}`);
  }
  const differences = tables > 0 || objectsDiffer(diff);
  await write(`${tables ? '\n' : ''}],"scan":${JSON.stringify(diff.scan)},"differences":${differences}}\n`);
  return differences;
}
