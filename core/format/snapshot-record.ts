/**
 * The snapshot record: the immutable, content-addressed description of one snapshot. Its id is
 * the sha256 (hex) of its canonical encoding, so the same snapshot has the same id in every
 * repository, which is what makes pinning in CI and push/pull exact.
 *
 * Canonical encoding: UTF-8 JSON, keys sorted, no whitespace. The record holds what identifies
 * content and history (parents, block map, message, author, time, size); bookkeeping such as
 * branch names or bytes written lives only in the metadata store.
 */
import { CorruptObjectError } from '../errors.js';
import { isFullId, sha256Hex } from '../hash.js';

export const SNAPSHOT_RECORD_FORMAT = 1;

export interface SnapshotRecord {
  format: number;
  parents: string[];
  blockMap: string;
  message: string;
  author: string;
  /** ISO 8601 with milliseconds, UTC. */
  time: string;
  /** Size in bytes of the database file this snapshot describes. */
  size: number;
}

export function encodeSnapshotRecord(r: SnapshotRecord): Buffer {
  const ordered = {
    author: r.author,
    blockMap: r.blockMap,
    format: r.format,
    message: r.message,
    parents: r.parents,
    size: r.size,
    time: r.time,
  };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

export function snapshotIdOf(r: SnapshotRecord): string {
  return sha256Hex(encodeSnapshotRecord(r));
}

function invalid(object: string, what: string): never {
  throw new CorruptObjectError(object, `snapshot record ${what}`);
}

/** Decodes and verifies: id, types, and canonical form. */
export function decodeSnapshotRecord(buf: Buffer, object: string, expectedId?: string): SnapshotRecord {
  if (expectedId !== undefined && sha256Hex(buf) !== expectedId) invalid(object, 'content does not match its id');
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch {
    invalid(object, 'is not JSON');
  }
  const r = parsed as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) invalid(object, 'is not an object');
  if (r.format !== SNAPSHOT_RECORD_FORMAT) invalid(object, `has unsupported format ${String(r.format)}`);
  if (!Array.isArray(r.parents) || !r.parents.every((p) => typeof p === 'string' && isFullId(p))) invalid(object, 'has bad parents');
  if (typeof r.blockMap !== 'string' || !isFullId(r.blockMap)) invalid(object, 'has a bad block map id');
  if (typeof r.message !== 'string' || typeof r.author !== 'string' || typeof r.time !== 'string') invalid(object, 'has bad text fields');
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0) invalid(object, 'has a bad size');
  const record: SnapshotRecord = {
    format: r.format,
    parents: r.parents as string[],
    blockMap: r.blockMap,
    message: r.message,
    author: r.author,
    time: r.time,
    size: r.size,
  };
  if (!encodeSnapshotRecord(record).equals(buf)) invalid(object, 'is not in canonical form');
  return record;
}
