import { shortId } from '../../core/hash.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** UTC, to the second: stable across machines, which matters when CI logs are compared. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function decorations(branches: string[], tags: string[], current?: string): string {
  const parts = [...branches.map((b) => (b === current ? `HEAD -> ${b}` : b)), ...tags.map((t) => `tag: ${t}`)];
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** Plain aligned columns, like `git branch -v` or `docker ps`. */
export function columns(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd()).join('\n');
}

export { shortId };
