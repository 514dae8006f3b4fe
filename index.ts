/** The OpenDuck library: everything the CLI does, for scripts too. */
export * from './core/errors.js';
export { Repository, REPOSITORY_DIR, type RepositoryConfig, type OpenOptions, type InitOptions, type SharedStoresRequest } from './core/repository.js';
export { parseRef, parseRefIn, resolveRef, resolveRefIn, type ParsedRef, type ResolvedRef, type RefKind } from './core/refs.js';
export { validateName, validateNewName, HEAD } from './core/names.js';
export { shortId } from './core/hash.js';
export { createDatabase, listDatabases, dropDatabase, DEFAULT_BRANCH } from './core/verbs/database.js';
export { createSnapshot, listSnapshots, showSnapshot, restoreSnapshot, defaultSnapshotMessage } from './core/verbs/snapshot.js';
export type { SnapshotCreateResult, SnapshotInfo, SnapshotDetails, RestoreResult, HistoryOptions } from './core/verbs/snapshot.js';
export { createBranch, listBranches, deleteBranch, checkout, type BranchInfo, type CheckoutResult, type DeletedBranch } from './core/verbs/branch.js';
export { createTag, listTags, deleteTag } from './core/verbs/tag.js';
export { log, type LogEntry, type LogOptions } from './core/verbs/log.js';
export { QuerySession, query } from './core/verbs/query.js';
export { fsck, type FsckReport, type FsckProblem } from './core/verbs/fsck.js';
export { gc, parseDuration, retainedSnapshots, DEFAULT_GRACE_MS, type GcOptions, type GcReport, type GcDatabaseReport, type RetentionPolicy } from './core/verbs/gc.js';
export { initRepository, type InitResult } from './core/verbs/init.js';
export { diff, openDiff, compareSides, rowChangeJson, tableDiffJson, type DiffOptions, type DiffReport, type OpenedDiff, type TableDiff, type TableDiffStream, type TableReport, type RowChangeJson, type TableDiffJson } from './core/verbs/diff.js';
export { sqlScript } from './core/diff/sql-script.js';
export { status, upstreamStatus, type DatabaseStatus, type UpstreamStatus } from './core/verbs/status.js';
export type {
  MetadataStore,
  MetadataView,
  DatabaseHistory,
  ExpiredSnapshotRow,
  SnapshotRow,
  BranchRow,
  TagRow,
  DatabaseRow,
  LayerRow,
} from './core/store/metadata-store.js';
export type { ObjectStore, ObjectInfo } from './core/store/object-store.js';
export { DuckDBMetadataStore } from './core/store/duckdb-metadata-store.js';
export { LocalObjectStore } from './core/store/local-object-store.js';
export { PgMetadataStore, type PgMetadataStoreOptions } from './core/store/pg-metadata-store.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './core/store/s3-object-store.js';
export { parsePostgresUrl, parseS3Url, type PostgresLocation, type S3Location } from './core/store/locations.js';
export { OpenDuckClient, type RemoteResult, type RemoteArrowResult, type ExecuteOptions, type RemoteSummary } from './server/client.js';
export { loadRemoteResult, emptyTimings, type LoadOptions, type LoadTimings, type ArrowBatchSource, type ValueRowSource } from './server/client-load.js';
export { startServe, type ServeOptions, type RunningServe } from './server/serve.js';
export { startGateway, type GatewayOptions, type RunningGateway } from './server/gateway/gateway-server.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './server/worker/worker-server.js';
