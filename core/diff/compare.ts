/**
 * The DuckDB that compares two sides: an in-memory instance with both attached read-only, file
 * access switched off once they are, and spilling to the repository's tmp folder. Plus the test
 * that lets a table be reported unchanged without reading its rows.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb-api.js';
import { changedBetween } from '../blocks.js';
import { instanceOptions, sandbox } from '../duckdb-session.js';
import { removeStaleStagingFiles, stagingPath } from '../fs-util.js';
import { InvalidArgumentError } from '../errors.js';
import { blockMapLayout, type BlockMap } from '../format/block-map.js';
import type { Repository } from '../repository.js';
import { quoteIdentifier } from '../sql.js';
import type { TableInfo } from './catalog.js';
import type { DiffSide } from './sides.js';
import { parenthesized } from './rows.js';
import { liveRowsFingerprint, readTableStorage, sameSegments, sharesAllBlocks, type TableStorage } from './storage.js';
import { TableFactsCache } from './table-facts.js';

export const FROM_ALIAS = 'diff_from';
export const TO_ALIAS = 'diff_to';

export interface ChangedBlocks {
  /** Chunks of the new side whose content differs from the old side's (or that it lacks). */
  chunks: Set<number>;
  /** Chunks that differ, counting the old side's chunks past the new side's end. */
  changed: number;
  total: number;
}

/** Which chunks differ between two files described by block maps; reads neither file. */
export function changedBlocks(from: BlockMap, to: BlockMap): ChangedBlocks {
  const chunks = new Set(changedBetween(from, to).map((c) => c.chunk));
  const fromCount = blockMapLayout(from).chunkCount;
  const toCount = blockMapLayout(to).chunkCount;
  return { chunks, changed: chunks.size + Math.max(0, fromCount - toCount), total: Math.max(fromCount, toCount) };
}

export class ComparisonDatabase {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly con: DuckDBConnection,
    /** A second connection, so both sides' metadata is read in parallel. */
    private readonly other: DuckDBConnection,
    private readonly facts: { from: TableFactsCache; to: TableFactsCache },
    private readonly spillDir: string,
  ) {}

  /** Attaches `from` and `to` (unless told not to: two identical sides need no reading). */
  static async open(repo: Repository, from: DiffSide, to: DiffSide, options: { memoryLimit?: string; attach?: boolean } = {}): Promise<ComparisonDatabase> {
    // Named <pid>-… so that a killed process's spill folder is removed by the next seal.
    const spillDir = stagingPath(repo.tmpDir, '-diff');
    await mkdir(spillDir, { recursive: true });
    // A diff killed mid-output (a closed pipe) leaves its spill folder and working copy copy behind.
    await removeStaleStagingFiles(repo.tmpDir);
    const instance = await DuckDBInstance.create(':memory:', instanceOptions({ tempDirectory: spillDir, memoryLimit: options.memoryLimit }));
    const facts = { from: TableFactsCache.of(repo, from.mapId), to: TableFactsCache.of(repo, to.mapId) };
    const db = new ComparisonDatabase(instance, await instance.connect(), await instance.connect(), facts, spillDir);
    try {
      if (options.attach ?? true) {
        await from.attach(db.con, FROM_ALIAS);
        await to.attach(db.con, TO_ALIAS);
      }
      // Only SQL we generate runs here, but --where is the user's: no files beyond the two sides.
      await sandbox(db.con);
      return db;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  relation(side: 'from' | 'to', table: { schema: string; name: string }): string {
    return [side === 'from' ? FROM_ALIAS : TO_ALIAS, table.schema, table.name].map(quoteIdentifier).join('.');
  }

  private connection(side: 'from' | 'to'): DuckDBConnection {
    return side === 'from' ? this.con : this.other;
  }

  tableStorage(side: 'from' | 'to', table: TableInfo): Promise<TableStorage | null | undefined> {
    const alias = side === 'from' ? FROM_ALIAS : TO_ALIAS;
    return this.facts[side].get(table, 'storage', () => readTableStorage(this.connection(side), alias, table.schema, table.name));
  }

  private liveRows(side: 'from' | 'to', table: TableInfo): Promise<string | undefined> {
    return this.facts[side].get(table, 'live', () => liveRowsFingerprint(this.connection(side), this.relation(side, table)));
  }

  /** Both tables are stored in the same segments (whatever their blocks now hold). */
  async sameSegments(from: TableInfo, to: TableInfo): Promise<boolean> {
    const [a, b] = await Promise.all([this.tableStorage('from', from), this.tableStorage('to', to)]);
    return !!a && !!b && a.segments > 0 && sameSegments(a, b);
  }

  /**
   * True when the two tables' rows are known equal without reading them: same segments, none in a
   * changed block, and the same live rows (see storage.ts). False means "compare the rows".
   */
  async rowsUnchangedByBlocks(from: TableInfo, to: TableInfo, changed: ChangedBlocks): Promise<boolean> {
    const [a, b] = await Promise.all([this.tableStorage('from', from), this.tableStorage('to', to)]);
    if (!a || !b || !sharesAllBlocks(a, b, changed.chunks)) return false;
    const [x, y] = await Promise.all([this.liveRows('from', from), this.liveRows('to', to)]);
    return x === y;
  }

  /**
   * Checks that `where` is one SQL expression and nothing more, so that it cannot turn the
   * statement it is placed in into another one.
   */
  async checkWhere(where: string): Promise<string> {
    const reader = await this.con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [`SELECT ${parenthesized(where)}`]);
    const parsed = JSON.parse(String(reader.getRows()[0]![0])) as {
      error?: boolean;
      error_message?: string;
      statements?: Array<{ node: Record<string, unknown> & { from_table?: { type?: string }; select_list?: unknown[]; modifiers?: unknown[]; group_expressions?: unknown[] } }>;
    };
    if (parsed.error) throw new InvalidArgumentError(`--where ${JSON.stringify(where)} is not an SQL expression: ${parsed.error_message ?? 'syntax error'}`);
    const node = parsed.statements?.length === 1 ? parsed.statements[0]!.node : null;
    const oneExpression =
      node?.type === 'SELECT_NODE' &&
      node.from_table?.type === 'EMPTY' &&
      node.select_list?.length === 1 &&
      !node.where_clause &&
      !node.having &&
      !node.qualify &&
      (node.modifiers?.length ?? 0) === 0 &&
      (node.group_expressions?.length ?? 0) === 0;
    if (!oneExpression) throw new InvalidArgumentError(`--where ${JSON.stringify(where)} must be a single SQL expression, such as "region = 'eu' AND amount > 100"`);
    return where;
  }

  async close(): Promise<void> {
    try {
      this.con.closeSync();
      this.other.closeSync();
      this.instance.closeSync();
      // What was learnt is kept even when the diff failed part-way: it is true of the snapshot.
      await this.facts.from.save();
      await this.facts.to.save();
    } finally {
      await rm(this.spillDir, { recursive: true, force: true });
    }
  }
}
