/**
 * A repository: the folder that holds databases, their history and their working copies.
 *
 *   .openduck/
 *     config.toml          settings ([user] name, [cache] max_snapshots)
 *     metadata.duckdb      the embedded MetadataStore
 *     objects/             the embedded ObjectStore: layers/, blockmaps/, snapshots/
 *     workdirs/<db>/       each database's working copy and its state
 *     cache/snapshots/     snapshots materialized for read-only queries
 *     tmp/                 staging for objects being written
 *
 * Commands find it as git does: --repo, then OPENDUCK_REPO, then walking up from the current
 * directory looking for `.openduck`.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { AlreadyExistsError, InvalidArgumentError, NotARepositoryError } from './errors.js';
import { decodeBlockMap, type BlockMap } from './format/block-map.js';
import { decodeSnapshotRecord, type SnapshotRecord } from './format/snapshot-record.js';
import { DuckDBMetadataStore } from './store/duckdb-metadata-store.js';
import { LocalObjectStore } from './store/local-object-store.js';
import type { MetadataStore } from './store/metadata-store.js';
import { objectKeys, type ObjectStore } from './store/object-store.js';

export const REPOSITORY_DIR = '.openduck';
const CONFIG_FILE = 'config.toml';
const METADATA_FILE = 'metadata.duckdb';

export interface RepositoryConfig {
  userName: string | null;
  cacheMaxSnapshots: number;
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

  private constructor(
    readonly root: string,
    readonly config: RepositoryConfig,
    readonly metadata: MetadataStore,
    readonly objects: ObjectStore,
  ) {}

  /**
   * Creates a repository at `dir` (default ./.openduck). Refuses to re-initialise, and refuses a
   * folder holding a repository in `.openduck`: discovery accepts that folder as the repository,
   * so a new one there would hide the old one.
   */
  static async init(dir?: string): Promise<Repository> {
    const root = resolve(dir ?? REPOSITORY_DIR);
    if (await isRepository(root)) throw new AlreadyExistsError('repository', root);
    if (await isRepository(join(root, REPOSITORY_DIR))) throw new AlreadyExistsError('repository', join(root, REPOSITORY_DIR));
    for (const sub of ['objects', 'workdirs', 'cache/snapshots', 'tmp']) await mkdir(join(root, sub), { recursive: true });
    await writeFile(join(root, CONFIG_FILE), DEFAULT_CONFIG, { flag: 'wx' }).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('repository', root);
      throw err;
    });
    const repo = await Repository.at(root, { metadata: new DuckDBMetadataStore(join(root, METADATA_FILE), { create: true }) });
    // Creating the schema now makes a fresh repository complete on disk.
    await repo.metadata.listDatabases();
    return repo;
  }

  static async open(options: OpenOptions = {}): Promise<Repository> {
    const root = await findRepository(options);
    return Repository.at(root, options);
  }

  private static async at(root: string, options: OpenOptions = {}): Promise<Repository> {
    const config = await readConfig(join(root, CONFIG_FILE));
    const metadata = options.metadata ?? new DuckDBMetadataStore(join(root, METADATA_FILE), options.holdMetadata ? { idleCloseMs: Infinity } : {});
    const objects = options.objects ?? new LocalObjectStore(join(root, 'objects'), join(root, 'tmp'));
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
  };
}
