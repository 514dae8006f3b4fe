/**
 * Rows as both metadata stores read and write them. The two share one schema (metadata-schema.ts)
 * and so one mapping between columns and row objects; keeping it here keeps them in step.
 */
import type {
  BranchRow,
  DatabaseHistory,
  DatabaseRow,
  ExpiredSnapshotRow,
  LayerRow,
  LeaseGrant,
  SnapshotRow,
  TagRow,
} from './metadata-store.js';

export type Row = Record<string, unknown>;

export function toDatabase(r: Row): DatabaseRow {
  return { name: String(r.name), defaultBranch: String(r.default_branch), createdAt: Number(r.created_at) };
}

export function toBranch(r: Row): BranchRow {
  return { db: String(r.db), name: String(r.name), head: String(r.head), createdAt: Number(r.created_at) };
}

export function toTag(r: Row): TagRow {
  return { db: String(r.db), name: String(r.name), snapshot: String(r.snapshot), createdAt: Number(r.created_at) };
}

export function toSnapshot(r: Row): SnapshotRow {
  const parents = String(r.parents);
  return {
    db: String(r.db),
    id: String(r.id),
    parents: parents ? parents.split(',') : [],
    blockMap: String(r.block_map),
    layer: r.layer === null || r.layer === undefined ? null : String(r.layer),
    message: String(r.message),
    author: String(r.author),
    createdAt: Number(r.created_at),
    sizeBytes: Number(r.size_bytes),
    blocksChanged: Number(r.blocks_changed),
    bytesWritten: Number(r.bytes_written),
  };
}

/** The snapshots table's columns in order, for INSERT. */
export function snapshotValues(s: SnapshotRow): (string | number | null)[] {
  return [s.db, s.id, s.parents.join(','), s.blockMap, s.layer, s.message, s.author, s.createdAt, s.sizeBytes, s.blocksChanged, s.bytesWritten];
}

export function toLayer(r: Row): LayerRow {
  return { id: String(r.id), db: String(r.db), bytes: Number(r.bytes), createdAt: Number(r.created_at) };
}

export function toExpired(r: Row): ExpiredSnapshotRow {
  return { db: String(r.db), id: String(r.id), blockMap: String(r.block_map), expiredAt: Number(r.expired_at) };
}

export function toLease(r: Row): LeaseGrant {
  return {
    db: String(r.db),
    branch: String(r.branch),
    holder: { description: String(r.holder), host: String(r.holder_host), pid: Number(r.holder_pid) },
    token: Number(r.token),
    expiresAt: Number(r.expires_at),
  };
}

/** Splits rows read for several databases into one history per database. */
export function groupHistories(
  databases: DatabaseRow[],
  snapshots: SnapshotRow[],
  branches: BranchRow[],
  tags: TagRow[],
  expired: ExpiredSnapshotRow[],
): DatabaseHistory[] {
  const byName = new Map<string, DatabaseHistory>(databases.map((d) => [d.name, { database: d, snapshots: [], branches: [], tags: [], expired: [] }]));
  for (const s of snapshots) byName.get(s.db)?.snapshots.push(s);
  for (const b of branches) byName.get(b.db)?.branches.push(b);
  for (const t of tags) byName.get(t.db)?.tags.push(t);
  for (const e of expired) byName.get(e.db)?.expired.push(e);
  return [...byName.values()];
}

/** Snapshots a ref points at: never expired, whatever a retention policy says. */
export function protectedRoots(history: Pick<DatabaseHistory, 'branches' | 'tags'>): Set<string> {
  return new Set([...history.branches.map((b) => b.head), ...history.tags.map((t) => t.snapshot)]);
}
