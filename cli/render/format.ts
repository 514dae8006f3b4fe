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

/**
 * Text from the repository or the network (messages, authors, ids) as it is safe to print to a
 * terminal: control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a
 * reader sees are written as escapes (`\n`, `\x1b`, `\u202e`), so no stored text can move the
 * cursor, recolour the screen or disguise what follows it.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** UTC, to the second: stable across machines, which matters when CI logs are compared. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function decorations(branches: string[], tags: string[], current?: string): string {
  const parts = [...branches.map((b) => (b === current ? `HEAD -> ${b}` : b)), ...tags.map((t) => `tag: ${t}`)].map(printable);
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** Plain aligned columns, like `git branch -v` or `docker ps`. Cells are made printable. */
export function columns(rows: string[][], header?: string[]): string {
  const all = (header ? [header, ...rows] : rows).map((r) => r.map(printable));
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd()).join('\n');
}

export { shortId };
