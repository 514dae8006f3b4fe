import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { IncompatibleStoreError } from '../../core/errors.js';
import { join } from 'node:path';
import { DuckDBMetadataStore } from '../../core/store/duckdb-metadata-store.js';
import { LocalObjectStore } from '../../core/store/local-object-store.js';
import { tempDir } from '../helpers.js';
import { objectStoreConformance } from './object-store-conformance.js';
import { metadataStoreConformance } from './metadata-store-conformance.js';

objectStoreConformance('embedded directory', async () => {
  const root = await tempDir();
  return new LocalObjectStore(join(root, 'objects'), join(root, 'tmp'));
});

metadataStoreConformance(
  'embedded DuckDB file',
  async () => new DuckDBMetadataStore(join(await tempDir(), 'metadata.duckdb'), { create: true }),
  // Processes take turns on the file (its lock is tested by the one-writer CLI tests); two
  // instances of one file inside one process would not, so the race runs on one handle here.
  (store) => store,
);

describe('DuckDBMetadataStore schema', () => {
  it('records its migrations and refuses a schema newer than it knows', async () => {
    const path = join(await tempDir(), 'metadata.duckdb');
    const store = new DuckDBMetadataStore(path, { create: true });
    await store.listDatabases();
    await store.close();
    const instance = await DuckDBInstance.create(path);
    const con = await instance.connect();
    expect((await (await con.runAndReadAll('SELECT version FROM schema_migrations ORDER BY version')).getRowObjectsJS()).map((r) => r.version)).toEqual([1, 2]);
    await con.run('INSERT INTO schema_migrations VALUES (99, 0)');
    con.closeSync();
    instance.closeSync();
    const newer = new DuckDBMetadataStore(path);
    const err = await newer.listDatabases().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleStoreError);
    expect((err as Error).message).toBe(`metadata file ${path}: its schema is version 99, newer than this OpenDuck understands (2); upgrade openduck`);
    await newer.close();
  });
});
