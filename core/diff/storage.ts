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
  /** How many segments, and a digest of their canonical listing; equal digests mean equal layouts. */
  segments: number;
  digest: string;
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
  // Aggregated inside DuckDB: a large table has thousands of segments.
  const reader = await con.runAndReadAll(
    `SELECT count(*)::BIGINT,
            md5(coalesce(string_agg(CAST(row(row_group_id, column_path, segment_id, segment_type, start, count, compression, stats, has_updates,
                                                 persistent, block_id, block_offset, segment_info, additional_block_ids) AS VARCHAR), '\n'
                                    ORDER BY row_group_id, column_id, column_path::VARCHAR, segment_id), '')),
            list_sort(list_distinct(flatten(list(CASE WHEN block_id >= 0 THEN [block_id] ELSE [] END || additional_block_ids)))),
            coalesce(bool_and(persistent AND NOT has_updates), true)
       FROM pragma_storage_info($1)`,
    [[database, schema, table].map(quoteIdentifier).join('.')],
  );
  const [segments, digest, blocks, persistent] = reader.getRows()[0]!;
  return {
    segments: Number(segments),
    digest: String(digest),
    blocks: ((blocks as { items: unknown[] } | null)?.items ?? []).map(Number),
    persistent: persistent === true,
  };
}

/** Same segments, all on disk, none in a block that differs between the two files. */
export function sharesAllBlocks(a: TableStorage, b: TableStorage, changedChunks: ReadonlySet<number>): boolean {
  if (!a.persistent || !b.persistent || !sameSegments(a, b)) return false;
  return a.blocks.every((block) => !changedChunks.has(chunkOfBlock(block)));
}

export function sameSegments(a: TableStorage, b: TableStorage): boolean {
  return a.segments === b.segments && a.digest === b.digest;
}

/**
 * Which rows are live, as a count and an order-independent hash of their rowids. Over equal
 * segments a rowid names the same stored row on both sides, so equal live sets mean equal rows.
 */
export async function liveRowsFingerprint(con: DuckDBConnection, relation: string): Promise<string> {
  const reader = await con.runAndReadAll(`SELECT count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(rowid)), 0)::VARCHAR FROM ${relation}`);
  return String(reader.getRows()[0]![0]);
}
