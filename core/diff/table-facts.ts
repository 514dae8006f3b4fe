/**
 * What diff learns about a snapshot's table without reading its rows (its storage layout, and the
 * fingerprint of its live rowids) depends only on the snapshot's content, which its block map id
 * names exactly. Learning it costs a pass over DuckDB's segment list and the table's delete
 * markers, so it is kept in `.openduck/cache/diff/<block-map-id>.json` and the next diff of the
 * same snapshot skips that work. Like a materialized snapshot, the file is trusted once written
 * (written whole: temp file and rename); an unreadable one is ignored and written again. The
 * newest MAX_FILES are kept.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-util.js';
import type { Repository } from '../repository.js';
import { objectKey } from './catalog.js';
import type { TableStorage } from './storage.js';

const FORMAT = 1;
const MAX_FILES = 64;

interface Facts {
  storage?: TableStorage | null;
  live?: string;
}

export class TableFactsCache {
  private entries: Map<string, Facts> | null = null;
  private changed = false;

  private constructor(
    private readonly dir: string,
    /** Null: a side that is no snapshot (a working copy being changed); nothing is kept. */
    private readonly path: string | null,
  ) {}

  static of(repo: Repository, blockMapId: string | null): TableFactsCache {
    const dir = join(repo.root, 'cache', 'diff');
    return new TableFactsCache(dir, blockMapId ? join(dir, `${blockMapId}.json`) : null);
  }

  private async load(): Promise<Map<string, Facts>> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    if (!this.path) return this.entries;
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as { format?: number; tables?: Record<string, Facts> };
      if (parsed.format === FORMAT && parsed.tables) this.entries = new Map(Object.entries(parsed.tables));
    } catch {
      // Missing or unreadable: learnt again.
    }
    return this.entries;
  }

  async get<K extends keyof Facts>(table: { schema: string; name: string }, kind: K, learn: () => Promise<NonNullable<Facts[K]> | null>): Promise<Facts[K]> {
    const entries = await this.load();
    const key = objectKey(table.schema, table.name);
    const facts = entries.get(key) ?? {};
    if (kind in facts) return facts[kind];
    const value = (await learn()) as Facts[K];
    entries.set(key, { ...facts, [kind]: value });
    this.changed = true;
    return value;
  }

  async save(): Promise<void> {
    if (!this.path || !this.changed || !this.entries) return;
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.path, JSON.stringify({ format: FORMAT, tables: Object.fromEntries(this.entries) }));
    this.changed = false;
    await this.evict();
  }

  private async evict(): Promise<void> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    if (names.length <= MAX_FILES) return;
    const files = await Promise.all(names.map(async (n) => ({ path: join(this.dir, n), mtime: (await stat(join(this.dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
    files.sort((a, b) => a.mtime - b.mtime);
    for (const f of files.slice(0, files.length - MAX_FILES)) if (f.path !== this.path) await rm(f.path, { force: true });
  }
}
