/** The OpenDuck library: everything the CLI does, for scripts too. */
export * from './core/errors.js';
export { Repository, REPOSITORY_DIR, type RepositoryConfig, type OpenOptions } from './core/repository.js';
export { parseRef, resolveRef, type ParsedRef, type ResolvedRef } from './core/refs.js';
export { validateName } from './core/names.js';
export { shortId } from './core/hash.js';
export { createDatabase, listDatabases, dropDatabase, DEFAULT_BRANCH } from './core/verbs/database.js';
export { createSnapshot, listSnapshots, showSnapshot, restoreSnapshot } from './core/verbs/snapshot.js';
export type { SnapshotCreateResult, SnapshotInfo, SnapshotDetails, RestoreResult } from './core/verbs/snapshot.js';
export { createBranch, listBranches, deleteBranch, checkout, type BranchInfo, type CheckoutResult } from './core/verbs/branch.js';
export { createTag, listTags, deleteTag } from './core/verbs/tag.js';
export { log, type LogEntry, type LogOptions } from './core/verbs/log.js';
export { QuerySession, query } from './core/verbs/query.js';
export { fsck, type FsckReport, type FsckProblem } from './core/verbs/fsck.js';
export { diff, type DiffResult, type TableDiff } from './core/verbs/diff.js';
export type { MetadataStore, SnapshotRow, BranchRow, TagRow, DatabaseRow, LayerRow } from './core/store/metadata-store.js';
export type { ObjectStore, ObjectInfo } from './core/store/object-store.js';
export { DuckDBMetadataStore } from './core/store/duckdb-metadata-store.js';
export { LocalObjectStore } from './core/store/local-object-store.js';
