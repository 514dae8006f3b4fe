/**
 * The values of @duckdb/node-api, loaded with `require`. The package is CommonJS and re-exports
 * its ~90 files with `export *`; an ESM `import` of it makes Node scan every one of them for
 * export names before loading them. Measured here: 194 ms of CPU for the import against 69 ms for
 * require, paid by every command that touches DuckDB (the metadata store is a DuckDB file).
 *
 * Import DuckDB's classes and enums from this module; types can still come from
 * '@duckdb/node-api' with `import type`, which costs nothing at run time.
 */
import { createRequire } from 'node:module';
import type * as NodeApi from '@duckdb/node-api';

const api = createRequire(import.meta.url)('@duckdb/node-api') as typeof NodeApi;

export const DuckDBInstance = api.DuckDBInstance;
export type DuckDBInstance = NodeApi.DuckDBInstance;
export const DuckDBTypeId = api.DuckDBTypeId;
export type DuckDBTypeId = NodeApi.DuckDBTypeId;
export const StatementType = api.StatementType;
export type StatementType = NodeApi.StatementType;
export const JsonDuckDBValueConverter = api.JsonDuckDBValueConverter;
export const listValue = api.listValue;
export const VARCHAR = api.VARCHAR;
