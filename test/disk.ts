import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes a folder occupies on disk (allocated blocks, as du counts them). */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(p);
    // A file can vanish between readdir and lstat (DuckDB removes its WAL when it closes the file).
    else total += ((await lstat(p).catch(() => null))?.blocks ?? 0) * 512;
  }
  return total;
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}
