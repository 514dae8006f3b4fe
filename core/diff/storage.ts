/**
 * Telling, without reading a table's rows, that it is the same on both sides.
 *
 * `pragma_storage_info` lists every column segment of a table: its row group, position, count,
 * compression, statistics and the blocks that hold it. When both sides list the same segments, and
 * none of those blocks differs between the two files, every stored value is the same. What the
 * listing does not show is which rows are deleted: DuckDB keeps delete markers in metadata blocks
 * that all tables share, so a `DELETE` changes no block of the table itself (measured: deleting two
 * rows of a 2M-row table changed only the metadata block). Those are compared with a pass over
 * `rowid` alone, which reads delete markers and no column data.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier } from '../sql.js';

export interface TableStorage {
  /** One canonical line per segment; equal lists mean equal layouts. */
  segments: string[];
  /** DuckDB block ids the segments use. */
  blocks: number[];
  /** False when some data lives only in memory (a replayed WAL) or has pending updates. */
  persistent: boolean;
}

/** Chunk 0 of our block maps is the 12 KiB header region, so DuckDB block b is chunk b + 1. */
export function chunkOfBlock(block: number): number {
  return block + 1;
}

/**
 * The table's storage layout, or null when DuckDB cannot name the table in `pragma_storage_info`
 * (a name containing a double quote); such a table is compared row by row.
 */
export async function readTableStorage(con: DuckDBConnection, database: string, schema: string, table: string): Promise<TableStorage | null> {
  if ([database, schema, table].some((n) => n.includes('"'))) return null;
  const reader = await con.runAndReadAll(
    `SELECT row_group_id, column_path::VARCHAR, segment_id, segment_type, start, count, compression, stats, has_updates, persistent,
            block_id, block_offset, segment_info, additional_block_ids
       FROM pragma_storage_info($1) ORDER BY row_group_id, column_id, column_path::VARCHAR, segment_id`,
    [[database, schema, table].map(quoteIdentifier).join('.')],
  );
  const segments: string[] = [];
  const blocks = new Set<number>();
  let persistent = true;
  for (const row of reader.getRows()) {
    segments.push(JSON.stringify(row.map((v) => (v === null ? null : String(v)))));
    const [hasUpdates, isPersistent, block, , , additional] = row.slice(8);
    if (hasUpdates === true || isPersistent !== true) persistent = false;
    if (block !== null && Number(block) >= 0) blocks.add(Number(block));
    for (const extra of (additional as { items: unknown[] } | null)?.items ?? []) blocks.add(Number(extra));
  }
  return { segments, blocks: [...blocks].sort((a, b) => a - b), persistent };
}

/** Same segments, all on disk, none in a block that differs between the two files. */
export function sharesAllBlocks(a: TableStorage, b: TableStorage, changedChunks: ReadonlySet<number>): boolean {
  if (!a.persistent || !b.persistent || a.segments.length !== b.segments.length) return false;
  if (!a.segments.every((s, i) => s === b.segments[i])) return false;
  return a.blocks.every((block) => !changedChunks.has(chunkOfBlock(block)));
}

/**
 * Which rows are live, as a count and an order-independent hash of their rowids. Over equal
 * segments a rowid names the same stored row on both sides, so equal live sets mean equal rows.
 */
export async function liveRowsFingerprint(con: DuckDBConnection, relation: string): Promise<string> {
  const reader = await con.runAndReadAll(`SELECT count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(rowid)), 0)::VARCHAR FROM ${relation}`);
  return String(reader.getRows()[0]![0]);
}
