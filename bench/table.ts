/** The human-readable report printed to stdout: plain aligned columns, readable in any terminal or log. */
import type { BenchResults } from './results.js';
import type { Unit, Value } from './types.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(2)} ${units[unit]}`;
}

export function rowsLabel(rows: number): string {
  return rows % 1_000_000 === 0 ? `${rows / 1_000_000}M rows` : `${rows.toLocaleString('en-US')} rows`;
}

export function formatQuantity(value: number, unit: Unit): string {
  switch (unit) {
    case 's':
      return `${value.toFixed(3)} s`;
    case 'ms':
      return `${value.toFixed(1)} ms`;
    case 'bytes':
      return formatBytes(value);
    case 'count':
      return value.toLocaleString('en-US');
    case 'ratio':
      return `${value.toPrecision(3)}×`;
    case 'MB/s':
      return `${value.toFixed(1)} MB/s`;
  }
}

function formatValue(v: Value): string {
  return `${v.name} ${formatQuantity(v.value, v.unit)}`;
}

/** Left-aligned columns separated by two spaces, with a rule under the header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(results: BenchResults): string {
  const m = results.machine;
  const title = `OpenDuck benchmark (${results.mode} run, ${results.date}): ${m.cpus} × ${m.cpuModel}, Node ${m.nodeVersion}, DuckDB ${m.duckdbVersion}, ${results.durationSeconds.toFixed(0)} s in all`;

  const databases = formatTable(
    ['Database', 'Rows', 'File size', 'Build', 'Base snapshot', 'Base snapshot / cp', 'Base written', 'cp (median)'],
    results.databases.map((d) => [
      d.label,
      formatQuantity(d.rows, 'count'),
      formatBytes(d.fileBytes),
      formatQuantity(d.buildSeconds, 's'),
      formatQuantity(d.baseSnapshot.seconds, 's'),
      formatQuantity(d.baseSnapshot.seconds / d.copy.medianSeconds, 'ratio'),
      formatBytes(d.baseSnapshot.bytesWritten),
      formatQuantity(d.copy.medianSeconds, 's'),
    ]),
  );

  const remote = results.remote
    ? formatTable(
        ['Remote database', 'Rows', 'Snapshot file', 'Build'],
        [[results.remote.label, formatQuantity(results.remote.rows, 'count'), formatBytes(results.remote.fileBytes), formatQuantity(results.remote.buildSeconds, 's')]],
      )
    : null;

  const measurements = formatTable(
    ['Scenario', 'Database', 'Case', 'Results'],
    results.measurements.map((x) => [x.scenario, x.database, x.case, x.values.map(formatValue).join(' · ')]),
  );

  const checks = formatTable(
    ['Target', 'Database', 'Case', 'Actual', 'Result'],
    results.checks.map((c) => [c.target, c.database, c.case, formatQuantity(c.actual, c.unit), c.passed ? 'pass' : 'FAIL']),
  );

  const { passed, failed } = results.summary;
  return [title, '', databases, '', ...(remote ? [remote, ''] : []), measurements, '', checks, '', `${passed} of ${passed + failed} targets met.`, ''].join('\n');
}
