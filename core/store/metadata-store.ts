/**
 * Databases, branches, snapshots, tags, layers and write leases. Two implementations share one
 * conformance suite: a DuckDB file inside the repository (the embedded default) and PostgreSQL.
 *
 * Times are epoch milliseconds. Branch heads move only by compare-and-swap, so no commit is ever
 * lost, even between machines sharing one store.
 */

export interface DatabaseRow {
  name: string;
  defaultBranch: string;
  createdAt: number;
}

export interface BranchRow {
  db: string;
  name: string;
  head: string;
  createdAt: number;
}

export interface TagRow {
  db: string;
  name: string;
  snapshot: string;
  createdAt: number;
}

export interface SnapshotRow {
  db: string;
  id: string;
  parents: string[];
  blockMap: string;
  /** The layer this snapshot added; null when it added no blocks (a restore, say). */
  layer: string | null;
  message: string;
  author: string;
  /** The record's time, as epoch ms. */
  createdAt: number;
  sizeBytes: number;
  blocksChanged: number;
  bytesWritten: number;
}

export interface LayerRow {
  id: string;
  db: string;
  bytes: number;
  createdAt: number;
}

export interface LeaseHolder {
  /** Human description, shown in errors: "pid 1234 on host-a (openduck query)". */
  description: string;
  host: string;
  pid: number;
}

export interface LeaseGrant {
  db: string;
  branch: string;
  holder: LeaseHolder;
  /** Fencing token: strictly increasing per branch, so a stale holder's commit can be refused. */
  token: number;
  expiresAt: number;
}

export interface CommitRequest {
  snapshot: SnapshotRow;
  layer: LayerRow | null;
  branch: string;
  /** The head the commit was built on; the commit fails with ConflictError if the head moved. */
  expectedHead: string;
  /** When given, the commit fails with ConflictError unless this lease token is still current. */
  leaseToken?: number;
}

/** What remains of a snapshot gc expired: enough to protect its objects for the grace period. */
export interface ExpiredSnapshotRow {
  db: string;
  id: string;
  blockMap: string;
  expiredAt: number;
}

/** One database's rows, as read together in one consistent view. */
export interface DatabaseHistory {
  database: DatabaseRow;
  snapshots: SnapshotRow[];
  branches: BranchRow[];
  tags: TagRow[];
  /** Snapshots removed from this database's history by gc (their ids may still be parents). */
  expired: ExpiredSnapshotRow[];
}

/**
 * The metadata read in one transaction, so no commit lands between two of its parts: a branch
 * and the snapshot it points at are either both seen or neither.
 */
export interface MetadataView {
  databases: DatabaseHistory[];
  /** Every expired snapshot, including those of dropped databases (for gc's grace period). */
  expired: ExpiredSnapshotRow[];
  layers: LayerRow[];
}

export interface MetadataStore {
  readonly description: string;

  /** Creates the database with its first snapshot and its default branch at it. AlreadyExistsError if taken. */
  createDatabase(db: DatabaseRow, initial: SnapshotRow, layer: LayerRow | null): Promise<void>;
  getDatabase(name: string): Promise<DatabaseRow | null>;
  listDatabases(): Promise<DatabaseRow[]>;
  /**
   * Removes the database's rows: branches, tags, snapshots, leases. Its snapshots become expired
   * rows (so gc keeps their objects for the grace period); its objects are left for gc.
   */
  dropDatabase(name: string): Promise<void>;

  getSnapshot(db: string, id: string): Promise<SnapshotRow | null>;
  /** Ids in db starting with prefix (lowercase hex), at most `limit` of them. */
  findSnapshotIds(db: string, prefix: string, limit: number): Promise<string[]>;
  listSnapshots(db: string): Promise<SnapshotRow[]>;
  /** Inserts a snapshot row if absent (sync brings snapshots that no branch has reached yet). */
  putSnapshot(row: SnapshotRow): Promise<void>;

  getBranch(db: string, name: string): Promise<BranchRow | null>;
  listBranches(db: string): Promise<BranchRow[]>;
  /** AlreadyExistsError if taken; NotFoundError if head is not a snapshot of db. */
  createBranch(row: BranchRow): Promise<void>;
  deleteBranch(db: string, name: string): Promise<void>;
  /** Moves a branch head from expected to next; returns false if the head was not expected. */
  casBranchHead(db: string, name: string, expected: string, next: string, leaseToken?: number): Promise<boolean>;

  getTag(db: string, name: string): Promise<TagRow | null>;
  listTags(db: string): Promise<TagRow[]>;
  createTag(row: TagRow): Promise<void>;
  deleteTag(db: string, name: string): Promise<void>;

  /** Atomically records the snapshot and its layer and moves the branch head (compare-and-swap). */
  commitSnapshot(req: CommitRequest): Promise<void>;

  listLayers(): Promise<LayerRow[]>;
  /** Forgets layer rows whose objects gc deleted. */
  forgetLayers(ids: string[]): Promise<void>;

  /** Everything about `db` (or every database), read in one consistent view. */
  readView(db?: string): Promise<MetadataView>;
  /**
   * In one transaction: reads db's history, asks `choose` which snapshots to expire, and
   * replaces those snapshot rows by expired rows. Branch heads and tagged snapshots are never
   * expired, whatever `choose` returns, and nothing can point a ref at a snapshot while it is
   * being expired. Returns the expired rows.
   */
  expireSnapshots(db: string, choose: (history: DatabaseHistory) => Iterable<string>, expiredAt: number): Promise<SnapshotRow[]>;

  /** A repository-wide setting (such as where the objects live); null when never set. */
  getSetting(name: string): Promise<string | null>;
  /** Sets the setting unless it is already set; returns the value that holds afterwards. */
  initSetting(name: string, value: string): Promise<string>;

  /**
   * Takes the write lease on a branch. If another holder has it and it is neither expired nor
   * `isDead(holder)`, throws LeaseHeldError naming the holder. Waiting is the caller's business.
   */
  acquireLease(db: string, branch: string, holder: LeaseHolder, ttlMs: number, isDead: (h: LeaseHolder) => boolean): Promise<LeaseGrant>;
  /** Extends the lease; ConflictError if it was lost (expired and taken by someone else). */
  renewLease(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant>;
  releaseLease(grant: LeaseGrant): Promise<void>;
  getLease(db: string, branch: string): Promise<LeaseGrant | null>;

  /**
   * Reads every table in full and returns what could not be read ("table snapshots: …"); an
   * empty list means every row is readable. fsck calls it: damage inside the store's files
   * shows up only when the damaged rows are read.
   */
  verifyIntegrity(): Promise<string[]>;

  close(): Promise<void>;
}
