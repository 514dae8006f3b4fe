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

metadataStoreConformance('embedded DuckDB file', async () => new DuckDBMetadataStore(join(await tempDir(), 'metadata.duckdb'), { create: true }));
