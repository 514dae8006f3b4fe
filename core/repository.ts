/**
 * A repository: the folder that holds databases, their history and their working copies.
 *
 *   .openduck/
 *     config.toml          settings ([stores], [user] name, [cache] max_snapshots)
 *     metadata.duckdb      the embedded MetadataStore
 *     objects/             the embedded ObjectStore: layers/, blockmaps/, snapshots/
 *     workdirs/<db>/       each database's working copy and its state
 *     cache/snapshots/     snapshots materialized for read-only queries
 *     tmp/                 staging for objects being written
 *
 * A shared repository keeps its history in PostgreSQL and an S3 bucket instead (`[stores]` in
 * config.toml; no metadata.duckdb or objects/). Each folder joined to the same stores is one
 * working area: its own working copies and cache, the same databases and history.
 *
 * Commands find it as git does: --repo, then OPENDUCK_REPO, then walking up from the current
 * directory looking for `.openduck`.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotARepositoryError } from './errors.js';
import { decodeBlockMap, type BlockMap } from './format/block-map.js';
import { decodeSnapshotRecord, type SnapshotRecord } from './format/snapshot-record.js';
import { DuckDBMetadataStore } from './store/duckdb-metadata-store.js';
import { LocalObjectStore } from './store/local-object-store.js';
import type { MetadataStore } from './store/metadata-store.js';
import { objectKeys, type ObjectStore } from './store/object-store.js';
import { formatPostgresUrl, formatS3Url, parsePostgresUrl, parseS3Url, validateS3Endpoint } from './store/locations.js';
import { CREDENTIALS_FILE, environmentHasPassword, openSharedStores, writeCredentials, type SharedStoresConfig } from './store/shared.js';

export const REPOSITORY_DIR = '.openduck';
const CONFIG_FILE = 'config.toml';
const METADATA_FILE = 'metadata.duckdb';
/** The metadata setting that ties a metadata database to its bucket. */
const OBJECTS_SETTING = 'objects';

export interface RepositoryConfig {
  userName: string | null;
  cacheMaxSnapshots: number;
  /** Where a shared repository's stores are; null for the embedded stores inside the folder. */
  stores: SharedStoresConfig | null;
}

/** What `init` needs to create or join a shared repository. */
export interface SharedStoresRequest {
  /** postgres://user[:password]@host:port/database; a password is kept out of config.toml. */
  metadata: string;
  /** s3://bucket/prefix */
  objects: string;
  s3Endpoint?: string;
  s3Region?: string;
}

export interface InitOptions {
  stores?: SharedStoresRequest;
}

export interface OpenOptions {
  /** The repository folder itself (the one holding config.toml). */
  repo?: string;
  /** Where discovery starts; defaults to the current directory. */
  cwd?: string;
  metadata?: MetadataStore;
  objects?: ObjectStore;
  /**
   * Keep the embedded metadata file open until close() instead of closing it when idle: for a
   * short read-only command, so it opens the file once however its reads are spaced.
   */
  holdMetadata?: boolean;
}

const DEFAULT_CONFIG = `# OpenDuck repository settings
[repository]
format = 1
{stores}
[user]
# name = "Your Name"   # author of snapshots; OPENDUCK_AUTHOR overrides it

[cache]
max_snapshots = 8     # snapshots kept materialized for read-only queries
`;

export class Repository {
  private readonly blockMaps = new Map<string, BlockMap>();
  /**
   * Where warnings go: things that were repaired on the way (a damaged cache entry rebuilt) and
   * that a user should still hear about. The CLI keeps this default; scripts may replace it.
   */
  warn: (message: string) => void = (message) => process.stderr.write(`openduck: warning: ${message}\n`);
  /** Set by `init` when it joined a shared repository that existed already. */
  joined = false;

  private constructor(
    readonly root: string,
    readonly config: RepositoryConfig,
    readonly metadata: MetadataStore,
    readonly objects: ObjectStore,
  ) {}

  /**
   * Creates a repository at `dir` (default ./.openduck). Refuses to re-initialise, and refuses a
   * folder holding a repository in `.openduck`: discovery accepts that folder as the repository,
   * so a new one there would hide the old one. With shared stores, creates the repository in
   * them, or joins the one already there (a new working area with the same databases and history).
   */
  static async init(dir?: string, options: InitOptions = {}): Promise<Repository> {
    const root = resolve(dir ?? REPOSITORY_DIR);
    if (await isRepository(root)) throw new AlreadyExistsError('repository', root);
    if (await isRepository(join(root, REPOSITORY_DIR))) throw new AlreadyExistsError('repository', join(root, REPOSITORY_DIR));
    const shared = options.stores ? parseSharedStores(options.stores) : null;
    const existed = await stat(root).then(
      () => true,
      () => false,
    );
    for (const sub of [...(shared ? [] : ['objects']), 'workdirs', 'cache/snapshots', 'tmp']) await mkdir(join(root, sub), { recursive: true });
    await writeFile(join(root, CONFIG_FILE), DEFAULT_CONFIG.replace('{stores}', shared ? storesSection(shared.config) : ''), { flag: 'wx' }).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('repository', root);
      throw err;
    });
    let repo: Repository | null = null;
    try {
      if (shared?.password && !environmentHasPassword(shared.config.metadata)) {
        await writeCredentials(join(root, CREDENTIALS_FILE), { postgresPassword: shared.password });
      }
      // The embedded metadata file is created here and nowhere else.
      repo = await Repository.at(root, shared ? {} : { metadata: new DuckDBMetadataStore(join(root, METADATA_FILE), { create: true }) });
      // Creating the schema now makes a fresh repository complete; a shared one is checked too.
      await repo.metadata.listDatabases();
      if (shared) repo.joined = await checkSharedStores(repo, shared.config);
      return repo;
    } catch (err) {
      // A failed init (a wrong password, say) leaves nothing behind, so it can simply be rerun.
      await repo?.close().catch(() => undefined);
      await rm(existed ? join(root, CONFIG_FILE) : root, { recursive: true, force: true });
      if (existed) for (const sub of ['objects', 'workdirs', 'cache', 'tmp', CREDENTIALS_FILE]) await rm(join(root, sub), { recursive: true, force: true });
      throw err;
    }
  }

  static async open(options: OpenOptions = {}): Promise<Repository> {
    const root = await findRepository(options);
    return Repository.at(root, options);
  }

  private static async at(root: string, options: OpenOptions = {}): Promise<Repository> {
    const config = await readConfig(join(root, CONFIG_FILE));
    const shared = config.stores && !(options.metadata && options.objects) ? await openSharedStores(config.stores, join(root, CREDENTIALS_FILE)) : null;
    const metadata = options.metadata ?? shared?.metadata ?? new DuckDBMetadataStore(join(root, METADATA_FILE), options.holdMetadata ? { idleCloseMs: Infinity } : {});
    const objects = options.objects ?? shared?.objects ?? new LocalObjectStore(join(root, 'objects'), join(root, 'tmp'));
    return new Repository(root, config, metadata, objects);
  }

  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /** Server state: token, daemon record, log. */
  get serverDir(): string {
    return join(this.root, 'server');
  }

  get cacheDir(): string {
    return join(this.root, 'cache', 'snapshots');
  }

  workdir(db: string): string {
    return join(this.root, 'workdirs', db);
  }

  author(): string {
    return process.env.OPENDUCK_AUTHOR || this.config.userName || `${userInfo().username}@${hostname()}`;
  }

  /** Reads a block map object and verifies it against its id. */
  async blockMap(id: string): Promise<BlockMap> {
    let map = this.blockMaps.get(id);
    if (!map) {
      const key = objectKeys.blockMap(id);
      map = decodeBlockMap(await this.objects.get(key), key, id);
      if (this.blockMaps.size > 64) this.blockMaps.clear();
      this.blockMaps.set(id, map);
    }
    return map;
  }

  /** Reads a snapshot record object and verifies it against its id. */
  async snapshotRecord(id: string): Promise<SnapshotRecord> {
    const key = objectKeys.snapshot(id);
    return decodeSnapshotRecord(await this.objects.get(key), key, id);
  }

  async close(): Promise<void> {
    await this.metadata.close();
    await this.objects.close();
  }
}

function parseSharedStores(request: SharedStoresRequest): { config: SharedStoresConfig; password: string | null } {
  const { location, password } = parsePostgresUrl(request.metadata);
  return {
    config: {
      metadata: location,
      objects: parseS3Url(request.objects),
      s3Endpoint: request.s3Endpoint ? validateS3Endpoint(request.s3Endpoint) : null,
      s3Region: request.s3Region || null,
    },
    password,
  };
}

function storesSection(c: SharedStoresConfig): string {
  const lines = [
    '',
    '[stores]',
    '# A shared repository: history lives in these stores; this folder is one working area.',
    '# Secrets are never kept here: see PGPASSWORD, DATABASE_URL, AWS_* and .openduck/credentials.',
    `metadata = ${JSON.stringify(formatPostgresUrl(c.metadata))}`,
    `objects = ${JSON.stringify(formatS3Url(c.objects))}`,
  ];
  if (c.s3Endpoint) lines.push(`s3_endpoint = ${JSON.stringify(c.s3Endpoint)}`);
  if (c.s3Region) lines.push(`s3_region = ${JSON.stringify(c.s3Region)}`);
  return lines.join('\n') + '\n';
}

/**
 * The metadata database records which bucket holds its objects: a second folder joining with
 * another bucket would see history whose objects are elsewhere. The bucket must answer too.
 */
async function checkSharedStores(repo: Repository, c: SharedStoresConfig): Promise<boolean> {
  const objects = formatS3Url(c.objects);
  const existing = await repo.metadata.getSetting(OBJECTS_SETTING);
  const recorded = existing ?? (await repo.metadata.initSetting(OBJECTS_SETTING, objects));
  if (recorded !== objects) {
    throw new ConflictError(repo.metadata.description, `${repo.metadata.description} belongs to a repository whose objects are in ${recorded}, not ${objects}`);
  }
  for await (const _ of repo.objects.list('snapshots/')) break;
  return existing !== null;
}

async function isRepository(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, CONFIG_FILE))).isFile();
  } catch {
    return false;
  }
}

async function findRepository(options: OpenOptions): Promise<string> {
  const explicit = options.repo || process.env.OPENDUCK_REPO;
  if (explicit) {
    const root = resolve(options.cwd ?? process.cwd(), explicit);
    if (await isRepository(root)) return root;
    // Accept the folder that contains .openduck, as git accepts a work tree.
    if (await isRepository(join(root, REPOSITORY_DIR))) return join(root, REPOSITORY_DIR);
    throw new NotARepositoryError(root);
  }
  let dir = resolve(options.cwd ?? process.cwd());
  for (;;) {
    const candidate = join(dir, REPOSITORY_DIR);
    if (await isRepository(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new NotARepositoryError(resolve(options.cwd ?? process.cwd()));
    dir = parent;
  }
}

async function readConfig(path: string): Promise<RepositoryConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new NotARepositoryError(dirname(path));
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const user = (doc.user ?? {}) as Record<string, unknown>;
  const cache = (doc.cache ?? {}) as Record<string, unknown>;
  const max = cache.max_snapshots;
  return {
    userName: typeof user.name === 'string' ? user.name : null,
    cacheMaxSnapshots: typeof max === 'number' && max >= 1 ? Math.floor(max) : 8,
    stores: doc.stores === undefined ? null : readStores(path, doc.stores as Record<string, unknown>),
  };
}

function readStores(path: string, stores: Record<string, unknown>): SharedStoresConfig {
  const text = (key: string) => (typeof stores[key] === 'string' && stores[key] ? (stores[key] as string) : undefined);
  const metadata = text('metadata');
  const objects = text('objects');
  if (!metadata || !objects) throw new InvalidArgumentError(`${path}: [stores] needs both metadata (postgres://…) and objects (s3://…)`);
  const parsed = parseSharedStores({ metadata, objects, s3Endpoint: text('s3_endpoint'), s3Region: text('s3_region') });
  if (parsed.password) throw new InvalidArgumentError(`${path}: [stores] metadata must not contain a password; use PGPASSWORD, DATABASE_URL or .openduck/credentials`);
  return parsed.config;
}
