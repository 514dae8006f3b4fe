/**
 * Opening a shared repository's stores: PostgreSQL for metadata, an S3 bucket for objects.
 *
 * `config.toml` says where they are and never holds a secret. Secrets come from, in order:
 * - PostgreSQL password: PGPASSWORD; the password in DATABASE_URL when it names the same
 *   server, database and user; `.openduck/credentials`; ~/.pgpass (read by pg itself).
 * - S3 keys: the AWS SDK's usual chain when AWS_ACCESS_KEY_ID is set or no keys are in
 *   `.openduck/credentials`; otherwise those keys. AWS_PROFILE and ~/.aws work as usual.
 *
 * `.openduck/credentials` is TOML with mode 0600; a file others can read is refused, as ssh does.
 * The store modules are imported only here, on demand, so an embedded repository never loads
 * `pg` or the AWS SDK.
 */
import { readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { InvalidArgumentError } from '../errors.js';
import { describeS3, parsePostgresUrl, samePostgres, type PostgresLocation, type S3Location } from './locations.js';
import type { MetadataStore } from './metadata-store.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';

export interface SharedStoresConfig {
  metadata: PostgresLocation;
  objects: S3Location;
  s3Endpoint: string | null;
  s3Region: string | null;
}

export interface StoredCredentials {
  postgresPassword?: string;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
}

export const CREDENTIALS_FILE = 'credentials';

export async function openSharedStores(
  config: SharedStoresConfig,
  credentialsPath: string,
  options: { poolSize?: number } = {},
): Promise<{ metadata: MetadataStore; objects: ObjectStore }> {
  const stored = await readCredentials(credentialsPath);
  const { PgMetadataStore } = await import('./pg-metadata-store.js');
  const metadata = new PgMetadataStore({
    location: config.metadata,
    password: postgresPassword(config.metadata, stored),
    ...(options.poolSize ? { poolSize: options.poolSize } : {}),
  });
  const useStoredKeys = !process.env.AWS_ACCESS_KEY_ID && stored.s3AccessKeyId && stored.s3SecretAccessKey;
  // The AWS SDK takes a few hundred ms to load; commands that touch only metadata (log, branch,
  // tag, db list) never pay for it.
  const objects = new LazyObjectStore(describeS3({ ...config.objects, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) }), async () => {
    const { S3ObjectStore } = await import('./s3-object-store.js');
    return new S3ObjectStore({
      ...config.objects,
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
      ...(config.s3Region ? { region: config.s3Region } : {}),
      ...(useStoredKeys ? { credentials: { accessKeyId: stored.s3AccessKeyId!, secretAccessKey: stored.s3SecretAccessKey! } } : {}),
    });
  });
  return { metadata, objects };
}

/** An object store made on first use. */
class LazyObjectStore implements ObjectStore {
  private store: Promise<ObjectStore> | null = null;

  constructor(
    readonly description: string,
    private readonly make: () => Promise<ObjectStore>,
  ) {}

  private use(): Promise<ObjectStore> {
    return (this.store ??= this.make());
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    return (await this.use()).put(key, data);
  }

  async putFile(key: string, path: string): Promise<void> {
    return (await this.use()).putFile(key, path);
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>, sizeHint?: number): Promise<void> {
    return (await this.use()).putStream(key, source, sizeHint);
  }

  async get(key: string): Promise<Buffer> {
    return (await this.use()).get(key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return (await this.use()).getRange(key, offset, length);
  }

  async *getStream(key: string): AsyncIterable<Buffer> {
    yield* (await this.use()).getStream(key);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    return (await this.use()).head(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.use()).list(prefix);
  }

  async delete(key: string): Promise<void> {
    return (await this.use()).delete(key);
  }

  async close(): Promise<void> {
    if (this.store) await (await this.store).close();
  }
}

/** The password to send, or null to let pg read PGPASSWORD or ~/.pgpass itself. */
export function postgresPassword(location: PostgresLocation, stored: StoredCredentials): string | null {
  if (process.env.PGPASSWORD) return null;
  const fromEnv = process.env.DATABASE_URL ? passwordInUrl(process.env.DATABASE_URL, location) : null;
  return fromEnv ?? stored.postgresPassword ?? null;
}

/** True when the environment supplies a password for this server (so none need be stored). */
export function environmentHasPassword(location: PostgresLocation): boolean {
  return !!process.env.PGPASSWORD || (!!process.env.DATABASE_URL && passwordInUrl(process.env.DATABASE_URL, location) !== null);
}

function passwordInUrl(url: string, location: PostgresLocation): string | null {
  try {
    const parsed = parsePostgresUrl(url);
    return samePostgres(parsed.location, location) ? parsed.password : null;
  } catch {
    return null;
  }
}

export async function readCredentials(path: string): Promise<StoredCredentials> {
  let text: string;
  try {
    const s = await stat(path);
    if (s.mode & 0o077) {
      throw new InvalidArgumentError(`${path} can be read by other users (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let doc: Record<string, Record<string, unknown> | undefined>;
  try {
    doc = parseToml(text) as typeof doc;
  } catch {
    // The parser's message quotes the offending line, which may hold a secret.
    throw new InvalidArgumentError(`${path} is not valid TOML`);
  }
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    postgresPassword: str(doc.postgres?.password),
    s3AccessKeyId: str(doc.s3?.access_key_id),
    s3SecretAccessKey: str(doc.s3?.secret_access_key),
  };
}

/** Writes the credentials file with mode 0600 (set before any secret is written). */
export async function writeCredentials(path: string, credentials: StoredCredentials): Promise<void> {
  const lines = ['# Secrets for the shared stores. Keep this file mode 0600 and out of version control.'];
  if (credentials.postgresPassword) lines.push('[postgres]', `password = ${JSON.stringify(credentials.postgresPassword)}`);
  if (credentials.s3AccessKeyId && credentials.s3SecretAccessKey) {
    lines.push('[s3]', `access_key_id = ${JSON.stringify(credentials.s3AccessKeyId)}`, `secret_access_key = ${JSON.stringify(credentials.s3SecretAccessKey)}`);
  }
  await writeFile(path, '', { mode: 0o600, flag: 'w' });
  await chmod(path, 0o600);
  await writeFile(path, lines.join('\n') + '\n');
}
