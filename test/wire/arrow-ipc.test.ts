import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import duckdb from '@duckdb/node-bindings';
import { DECIMAL, DuckDBDataChunk, DuckDBInstance, DuckDBVector, INTEGER, LIST, SQLNULL, listValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { Type, tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { toJsonValue } from '../../core/values.js';
import {
  ArrowIpcDecoder,
  ArrowIpcEncoder,
  CorruptPayloadError,
  DUCKDB_TYPE_METADATA_KEY,
  UnsupportedValueError,
  WireStateError,
  verifyPayload,
  type EncodedPayload,
  type ResultColumns,
} from '../../server/wire/arrow-ipc.js';

/**
 * One column per DuckDB type, each cycling through its edge values: `i % 8 = 0` is the minimum,
 * 1 the maximum, 2 NULL, 3..5 special values, the rest ordinary values derived from i. 5,000 rows
 * span three DuckDB chunks of 2,048.
 */
const ZOO_ROWS = 5000;
const ZOO_SQL = `
SELECT
  i,
  CASE i % 8 WHEN 0 THEN -128 WHEN 1 THEN 127 WHEN 2 THEN NULL ELSE (i % 200 - 100) END::TINYINT AS ti,
  CASE i % 8 WHEN 0 THEN -32768 WHEN 1 THEN 32767 WHEN 2 THEN NULL ELSE i - 2500 END::SMALLINT AS si,
  CASE i % 8 WHEN 0 THEN -2147483648 WHEN 1 THEN 2147483647 WHEN 2 THEN NULL ELSE i * 1000 - 7 END::INTEGER AS ii,
  CASE i % 8 WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 WHEN 2 THEN NULL ELSE i * 123456789012 END::BIGINT AS bi,
  CASE i % 8 WHEN 0 THEN 0 WHEN 1 THEN 255 WHEN 2 THEN NULL ELSE i % 256 END::UTINYINT AS uti,
  CASE i % 8 WHEN 0 THEN 0 WHEN 1 THEN 65535 WHEN 2 THEN NULL ELSE i END::USMALLINT AS usi,
  CASE i % 8 WHEN 0 THEN 0 WHEN 1 THEN 4294967295 WHEN 2 THEN NULL ELSE i * 100000 END::UINTEGER AS uii,
  CASE i % 8 WHEN 0 THEN 0 WHEN 1 THEN 18446744073709551615 WHEN 2 THEN NULL ELSE i * 3000000000000 END::UBIGINT AS ubi,
  CASE i % 8 WHEN 0 THEN '-170141183460469231731687303715884105728'::HUGEINT WHEN 1 THEN 170141183460469231731687303715884105727::HUGEINT
    WHEN 2 THEN NULL ELSE i::HUGEINT * -98765432109876543210 END AS hi,
  CASE i % 8 WHEN 0 THEN 0::UHUGEINT WHEN 1 THEN 340282366920938463463374607431768211455::UHUGEINT
    WHEN 2 THEN NULL ELSE i::UHUGEINT * 98765432109876543210 END AS uhi,
  CASE i % 8 WHEN 0 THEN -999.9 WHEN 1 THEN 999.9 WHEN 2 THEN NULL ELSE (i % 2000 - 1000) / 10 END::DECIMAL(4,1) AS d4,
  CASE i % 8 WHEN 0 THEN -999999.999 WHEN 1 THEN 999999.999 WHEN 2 THEN NULL ELSE i * -1.001 END::DECIMAL(9,3) AS d9,
  CASE i % 8 WHEN 0 THEN -999999999999.999999 WHEN 1 THEN 999999999999.999999 WHEN 2 THEN NULL ELSE i * -12345.678901 END::DECIMAL(18,6) AS d18,
  CASE i % 8 WHEN 0 THEN -9999999999999999999999999999.9999999999::DECIMAL(38,10)
    WHEN 1 THEN 9999999999999999999999999999.9999999999::DECIMAL(38,10)
    WHEN 2 THEN NULL ELSE (i * -1234567890.0123456789)::DECIMAL(38,10) END AS d38,
  CASE i % 8 WHEN 0 THEN '-inf' WHEN 1 THEN 'inf' WHEN 2 THEN NULL WHEN 3 THEN 'nan' WHEN 4 THEN '-0.0' WHEN 5 THEN '3.4028235e38'
    ELSE (i / 7)::VARCHAR END::FLOAT AS f,
  CASE i % 8 WHEN 0 THEN '-inf' WHEN 1 THEN 'inf' WHEN 2 THEN NULL WHEN 3 THEN 'nan' WHEN 4 THEN '-0.0' WHEN 5 THEN '4.9e-324'
    ELSE (i / 7)::VARCHAR END::DOUBLE AS dbl,
  CASE i % 8 WHEN 0 THEN '' WHEN 1 THEN 'Ünïcödé ✓ 🦆 漢字' WHEN 2 THEN NULL WHEN 3 THEN 'exactly12byt' WHEN 4 THEN 'a string longer than twelve bytes #' || i
    ELSE 's' || i END AS vc,
  CASE i % 8 WHEN 0 THEN ''::BLOB WHEN 1 THEN '\\x00\\x00\\xFF\\x00'::BLOB WHEN 2 THEN NULL WHEN 3 THEN '\\x00abcdefghijklmnop\\x00\\x01'::BLOB
    ELSE ('b' || i)::BLOB END AS bl,
  CASE i % 8 WHEN 2 THEN NULL ELSE i % 3 = 0 END AS bo,
  CASE i % 8 WHEN 0 THEN '00000000-0000-0000-0000-000000000000'::UUID WHEN 1 THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID
    WHEN 2 THEN NULL WHEN 3 THEN '7fffffff-ffff-ffff-8000-000000000000'::UUID ELSE md5(i::VARCHAR)::UUID END AS uu,
  CASE i % 8 WHEN 2 THEN NULL ELSE (['sad', 'ok', 'happy'])[i % 3 + 1] END::mood AS en,
  CASE i % 8 WHEN 0 THEN '5877642-06-25 (BC)'::DATE WHEN 1 THEN '5881580-07-10'::DATE WHEN 2 THEN NULL
    WHEN 3 THEN 'infinity'::DATE WHEN 4 THEN '-infinity'::DATE ELSE DATE '1970-01-01' + (i * 37 - 90000)::INTEGER END AS da,
  CASE i % 8 WHEN 0 THEN '00:00:00'::TIME WHEN 1 THEN '24:00:00'::TIME WHEN 2 THEN NULL WHEN 3 THEN '23:59:59.999999'::TIME
    ELSE TIME '00:00:00' + to_microseconds(i * 17000003) END AS tm,
  CASE i % 8 WHEN 0 THEN '00:00:00'::TIME_NS WHEN 1 THEN '23:59:59.999999999'::TIME_NS WHEN 2 THEN NULL
    ELSE ('12:34:56.' || lpad((i * 7919)::VARCHAR, 9, '0'))::TIME_NS END AS tns,
  CASE i % 8 WHEN 0 THEN '00:00:00+15:59:59'::TIMETZ WHEN 1 THEN '24:00:00-15:59:59'::TIMETZ WHEN 2 THEN NULL
    ELSE ('12:00:00+0' || (i % 10)::VARCHAR || ':30')::TIMETZ END AS ttz,
  CASE i % 8 WHEN 0 THEN '290309-12-22 (BC) 00:00:00'::TIMESTAMP WHEN 1 THEN '294247-01-10 04:00:54.775806'::TIMESTAMP WHEN 2 THEN NULL
    WHEN 3 THEN 'infinity'::TIMESTAMP WHEN 4 THEN '-infinity'::TIMESTAMP ELSE TIMESTAMP '2000-01-01' + to_microseconds(i * 86400123457) END AS ts,
  CASE i % 8 WHEN 0 THEN '-290308-12-22 00:00:00'::TIMESTAMP_S WHEN 1 THEN '294247-01-10 04:00:54'::TIMESTAMP_S WHEN 2 THEN NULL
    ELSE (TIMESTAMP '1969-07-20 20:17:40' + to_seconds(i * 86400))::TIMESTAMP_S END AS ts_s,
  CASE i % 8 WHEN 2 THEN NULL ELSE (TIMESTAMP '1900-01-01' + to_microseconds(i * 999999001))::TIMESTAMP_MS END AS ts_ms,
  CASE i % 8 WHEN 0 THEN '1677-09-22 00:00:00'::TIMESTAMP_NS WHEN 1 THEN '2262-04-11 23:47:16.854775'::TIMESTAMP_NS WHEN 2 THEN NULL
    ELSE ('2024-02-29 12:00:00.' || lpad((i * 104729)::VARCHAR, 9, '0'))::TIMESTAMP_NS END AS ts_ns,
  CASE i % 8 WHEN 2 THEN NULL WHEN 3 THEN 'infinity'::TIMESTAMPTZ ELSE TIMESTAMPTZ '2020-03-01 00:00:00+00' + to_microseconds(i * 3600000001) END AS tstz,
  CASE i % 8 WHEN 0 THEN INTERVAL '-1 year -2 days -03:04:05.006007' WHEN 1 THEN INTERVAL '178000000 years 12 days 2562047 hours'
    WHEN 2 THEN NULL WHEN 3 THEN INTERVAL '0 seconds' ELSE to_months(i % 30 - 15) + to_days(i % 40) + to_microseconds(i * -1000003) END AS iv,
  CASE i % 8 WHEN 0 THEN [1, NULL, 3] WHEN 1 THEN [] WHEN 2 THEN NULL WHEN 3 THEN [NULL] ELSE range(i % 7)::INTEGER[] END AS li,
  CASE i % 8 WHEN 0 THEN [[1, 2], [NULL], [], NULL] WHEN 1 THEN [] WHEN 2 THEN NULL ELSE [[i], range(i % 4)] END::BIGINT[][] AS lli,
  CASE i % 8 WHEN 0 THEN ['', NULL, 'a string longer than twelve bytes'] WHEN 2 THEN NULL ELSE ['x' || i] END AS lvc,
  CASE i % 8 WHEN 0 THEN {'a': NULL, 'b': NULL} WHEN 1 THEN {'a': 1, 'b': 'a string longer than twelve bytes'} WHEN 2 THEN NULL
    ELSE {'a': i, 'b': NULL} END AS st,
  CASE i % 8 WHEN 2 THEN NULL ELSE {'tags': ['t' || i, NULL], 'inner': {'x': i::DOUBLE / 3, 'm': 'happy'::mood}} END AS nst,
  CASE i % 8 WHEN 0 THEN MAP {'k1': 1, 'k2': NULL} WHEN 1 THEN MAP {} WHEN 2 THEN NULL ELSE MAP {'key' || i: i, 'other': -i} END AS mp,
  (CASE i % 8 WHEN 0 THEN [1.5, NULL, -0.0] WHEN 2 THEN NULL WHEN 3 THEN [NULL, NULL, NULL] ELSE [i, i + 1, i + 2] END)::DOUBLE[3] AS arr,
  CASE i % 8 WHEN 2 THEN NULL ELSE [{'u': md5(i::VARCHAR)::UUID, 'd': DATE '2000-01-01' + i::INTEGER}, NULL] END AS lst,
  CASE i % 8 WHEN 2 THEN NULL ELSE ['ok'::mood, NULL, 'sad'::mood] END AS len
FROM range(${ZOO_ROWS}) t(i)
ORDER BY i`;

/** Types the node-api has no standard Arrow mapping for; the wire carries them in lossless fallbacks. */
const RARE_SQL = `
SELECT
  CASE i % 4 WHEN 0 THEN union_value(n := i::INTEGER)::UNION(n INTEGER, s VARCHAR) WHEN 1 THEN union_value(s := 'text ' || i)::UNION(n INTEGER, s VARCHAR)
    WHEN 2 THEN NULL ELSE union_value(s := NULL::VARCHAR)::UNION(n INTEGER, s VARCHAR) END AS un,
  CASE i % 4 WHEN 2 THEN NULL ELSE ('1' || repeat('01', i % 40))::BIT END AS bt,
  CASE i % 4 WHEN 0 THEN (-1 * pow(10::BIGNUM, 60 + i % 10))::BIGNUM WHEN 1 THEN 0::BIGNUM WHEN 2 THEN NULL ELSE (i * 7)::BIGNUM END AS bn,
  CASE i % 4 WHEN 2 THEN NULL ELSE ('POINT(' || i || ' ' || -i || ')')::GEOMETRY END AS geo,
  CASE i % 4 WHEN 0 THEN i::VARIANT WHEN 1 THEN ('v' || i)::VARIANT WHEN 2 THEN NULL ELSE [i, NULL]::VARIANT END AS va
FROM range(3000) t(i)
ORDER BY i`;

interface CollectedResult {
  columns: ResultColumns;
  /** Column-major original values, as the node-api read them. */
  values: DuckDBValue[][];
  /** DuckDB chunks the result arrived in. */
  chunks: number;
  payloads: EncodedPayload[];
}

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

/** Runs `sql`, encoding every chunk as it arrives, and keeps the original values for comparison. */
async function encodeQuery(sql: string, options?: { targetBatchBytes?: number }): Promise<CollectedResult> {
  const result = await connection.stream(sql);
  const columns = { names: result.columnNames(), types: result.columnTypes() };
  const encoder = new ArrowIpcEncoder(columns, options);
  const values: DuckDBValue[][] = columns.names.map(() => []);
  const payloads: EncodedPayload[] = [];
  let chunks = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    chunks++;
    chunk.getColumns().forEach((column, c) => appendAll(values[c]!, column));
    payloads.push(...encoder.push(chunk));
  }
  payloads.push(...encoder.finish());
  return { columns, values, chunks, payloads };
}

/** push(...source) overflows the call stack for large batches. */
function appendAll<T>(target: T[], source: readonly T[]): void {
  for (const item of source) target.push(item);
}

function decodeAll(payloads: EncodedPayload[]): { decoder: ArrowIpcDecoder; values: DuckDBValue[][] | null; batches: number } {
  const decoder = new ArrowIpcDecoder();
  let values: DuckDBValue[][] | null = null;
  let batches = 0;
  for (const payload of payloads) {
    for (const batch of decoder.push(payload)) {
      batches++;
      values ??= batch.columns.map(() => []);
      batch.columns.forEach((column, c) => appendAll(values![c]!, column));
    }
  }
  return { decoder, values, batches };
}

function concatenated(payloads: EncodedPayload[]): Uint8Array {
  return Buffer.concat(payloads.map((p) => p.bytes));
}

/**
 * Every value must print and convert to JSON exactly like the original, and numbers must keep -0
 * and NaN. Mismatches are collected first and asserted once: hundreds of thousands of individual
 * expect() calls would dominate the test's run time.
 */
function expectSameValues(original: CollectedResult, decoded: DuckDBValue[][]): void {
  const { names, types } = original.columns;
  expect(decoded.map((column) => column.length)).toEqual(original.values.map((column) => column.length));
  const mismatches: string[] = [];
  for (let c = 0; c < names.length && mismatches.length < 20; c++) {
    const type: DuckDBType = types[c]!;
    const want = original.values[c]!;
    const got = decoded[c]!;
    for (let r = 0; r < want.length && mismatches.length < 20; r++) {
      const where = `${names[c]} row ${r}`;
      if (String(got[r]) !== String(want[r])) mismatches.push(`${where}: ${String(got[r])} instead of ${String(want[r])}`);
      else if (!isDeepStrictEqual(toJsonValue(got[r]!, type), toJsonValue(want[r]!, type))) mismatches.push(`${where}: JSON differs`);
      else if (typeof want[r] === 'number' && !Object.is(got[r], want[r])) mismatches.push(`${where}: ${Object.is(got[r], -0) ? '-0' : got[r]} is not the same number`);
    }
  }
  expect(mismatches).toEqual([]);
}

describe('ArrowIpcEncoder / ArrowIpcDecoder', () => {
  it('round-trips every standard DuckDB type, edge values and NULLs, across chunks and batches', async () => {
    const original = await encodeQuery(ZOO_SQL, { targetBatchBytes: 48 * 1024 });
    expect(original.values[0]!.length).toBe(ZOO_ROWS);
    expect(original.chunks).toBeGreaterThanOrEqual(3);
    // Several batches, so the decoder replays the schema and the ENUM dictionaries for later payloads.
    expect(original.payloads.length).toBeGreaterThan(3);
    expect(original.payloads.reduce((n, p) => n + p.rows, 0)).toBe(ZOO_ROWS);

    const { decoder, values } = decodeAll(original.payloads);
    expect(decoder.complete).toBe(true);
    expect(decoder.columns!.names).toEqual(original.columns.names);
    expect(decoder.columns!.types.map(String)).toEqual(original.columns.types.map(String));
    expectSameValues(original, values!);
  });

  it('round-trips UNION, BIT, BIGNUM, GEOMETRY and VARIANT through their lossless fallbacks', async () => {
    const original = await encodeQuery(RARE_SQL, { targetBatchBytes: 16 * 1024 });
    const { decoder, values } = decodeAll(original.payloads);
    expect(decoder.columns!.types.map(String)).toEqual(original.columns.types.map(String));
    expectSameValues(original, values!);
  });

  it('copies nested children DuckDB shares, reorders or leaves gaps in (filters, constants, list functions)', async () => {
    await connection.run(`CREATE OR REPLACE TABLE nested AS
      SELECT i,
        CASE WHEN i % 7 = 0 THEN NULL ELSE range(i % 5) END AS l,
        [['a string longer than twelve bytes ' || i, NULL]] AS ll,
        CASE WHEN i % 11 = 0 THEN NULL ELSE {'k': range(i % 3), 'v': 'value ' || i} END AS s,
        MAP {i: 'v' || i} AS m,
        [i, NULL, i + 1]::INTEGER[3] AS a
      FROM range(6000) t(i)`);
    const original = await encodeQuery(
      `SELECT l, ll, s, m, a, [1, 2, 3] AS constant, list_reverse(l) AS reversed, l[2:] AS tail, list_filter(l, x -> x % 2 = 0) AS evens
       FROM nested WHERE i % 3 = 0 ORDER BY i DESC`,
      { targetBatchBytes: 16 * 1024 },
    );
    const { values } = decodeAll(original.payloads);
    expectSameValues(original, values!);
  });

  it('copies long strings wherever DuckDB keeps them: table storage, sort buffers, computed values', async () => {
    await connection.run(`CREATE OR REPLACE TABLE strings AS
      SELECT i,
        CASE WHEN i % 13 = 0 THEN NULL WHEN i % 5 = 0 THEN repeat('x', 5000 + i % 100) ELSE 'string number ' || i || repeat('.', i % 40) END AS s,
        md5(i::VARCHAR) AS h
      FROM range(20000) t(i)`);
    for (const sql of [
      `SELECT s, h, s || '!' AS computed, i FROM strings WHERE i % 2 = 1 OR i % 5 = 0`,
      `SELECT s, h FROM strings ORDER BY h`,
    ]) {
      const original = await encodeQuery(sql, { targetBatchBytes: 64 * 1024 });
      const { values } = decodeAll(original.payloads);
      expectSameValues(original, values!);
    }
  });

  it('follows list entries that are out of order, repeated or leave gaps in the child vector', () => {
    // DuckDB's result chunks come compacted, but a list vector may point anywhere in its child.
    const type = LIST(INTEGER);
    const chunk = DuckDBDataChunk.create([type], 5);
    chunk.setColumnValues(0, [listValue([10, 11, 12]), listValue([20, 21]), null, listValue([30]), listValue([40, 41, 42, 43])]);
    const entries = new BigUint64Array([6n, 4n, 0n, 3n, 99n, 99n, 0n, 3n, 4n, 1n]);
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, 0);
    duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, entries.byteLength);
    const want = DuckDBVector.create(vector, 5, type).toArray();
    expect(want.map(String)).toEqual(['[40, 41, 42, 43]', '[10, 11, 12]', 'null', '[10, 11, 12]', '[21]']);

    const encoder = new ArrowIpcEncoder({ names: ['l'], types: [type] });
    const payloads = [...encoder.push(chunk), ...encoder.finish()];
    const { values } = decodeAll(payloads);
    expect(values![0]!.map(String)).toEqual(want.map(String));
  });

  it('with the default target, cuts a large result into payloads of 1-4 MiB', async () => {
    const original = await encodeQuery(`SELECT i AS id, i * 0.5 AS v, (i % 1000)::INTEGER AS k, 'row' || lpad((i % 100000000)::VARCHAR, 8, '0') AS s FROM range(300000) t(i)`);
    const sizes = original.payloads.map((p) => p.bytes.byteLength);
    expect(sizes.length).toBeGreaterThan(2);
    for (const size of sizes.slice(0, -1)) {
      expect(size).toBeGreaterThanOrEqual(1 << 20);
      expect(size).toBeLessThanOrEqual(4 << 20);
    }
    const { values } = decodeAll(original.payloads);
    expectSameValues(original, values!);
  });

  it('produces one Arrow IPC stream that an independent reader (apache-arrow tableFromIPC) reads', async () => {
    const original = await encodeQuery(ZOO_SQL, { targetBatchBytes: 64 * 1024 });
    const table: Table = tableFromIPC(concatenated(original.payloads));
    expect(table.numRows).toBe(ZOO_ROWS);
    expect(table.schema.fields.map((f) => f.name)).toEqual(original.columns.names);

    const column = (name: string) => {
      const index = original.columns.names.indexOf(name);
      return { arrow: table.getChild(name)!, duck: original.values[index]! };
    };
    for (const name of ['ii', 'bi', 'ubi', 'dbl', 'f', 'vc', 'bo']) {
      const { arrow, duck } = column(name);
      for (let r = 0; r < ZOO_ROWS; r++) {
        const got = arrow.get(r);
        if (typeof duck[r] === 'number') expect(Object.is(got, duck[r]), `${name} row ${r}`).toBe(true);
        else expect(got, `${name} row ${r}`).toEqual(duck[r]);
      }
    }
    // ENUM travels as a dictionary that plain Arrow readers resolve to the member strings.
    const en = column('en');
    expect(en.arrow.type.typeId).toBe(Type.Dictionary);
    for (let r = 0; r < ZOO_ROWS; r++) expect(en.arrow.get(r)).toEqual(en.duck[r]);
    // Lists keep their NULL elements.
    const li = column('li');
    for (let r = 0; r < 16; r++) {
      const got = li.arrow.get(r);
      const want = li.duck[r] as { items: DuckDBValue[] } | null;
      expect(got === null ? null : [...got]).toEqual(want === null ? null : want.items);
    }
    // UUIDs are the 16 bytes of the RFC 4122 text, in order.
    const uu = column('uu');
    for (let r = 0; r < 64; r++) {
      const bytes = uu.arrow.get(r) as Uint8Array | null;
      const text = bytes && Buffer.from(bytes).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
      expect(text, `uu row ${r}`).toBe(uu.duck[r] === null ? null : String(uu.duck[r]));
    }
    // Every field names its exact DuckDB type; UUIDs carry the Arrow extension name.
    for (const field of table.schema.fields) expect(field.metadata.get(DUCKDB_TYPE_METADATA_KEY)).toBeTruthy();
    expect(table.schema.fields.find((f) => f.name === 'uu')!.metadata.get('ARROW:extension:name')).toBe('arrow.uuid');
  });

  it('puts the schema at the start of the first payload and only whole messages in each payload', async () => {
    const original = await encodeQuery(ZOO_SQL, { targetBatchBytes: 32 * 1024 });
    // Each prefix of whole payloads is itself a readable stream (minus the end marker), which only
    // holds if no payload splits a message.
    let rows = 0;
    for (let n = 1; n <= original.payloads.length; n++) {
      const prefix = original.payloads.slice(0, n);
      rows += prefix.at(-1)!.rows;
      expect(tableFromIPC(concatenated(prefix)).numRows).toBe(rows);
    }
  });

  it('yields a schema and zero rows for an empty result', async () => {
    const original = await encodeQuery(`${ZOO_SQL.replace('ORDER BY i', '')} LIMIT 0`);
    expect(original.payloads).toHaveLength(1);
    expect(original.payloads[0]!.rows).toBe(0);
    const { decoder, values, batches } = decodeAll(original.payloads);
    expect(batches).toBe(0);
    expect(values).toBeNull();
    expect(decoder.complete).toBe(true);
    expect(decoder.columns!.names).toEqual(original.columns.names);
    expect(decoder.columns!.types.map(String)).toEqual(original.columns.types.map(String));
    const table = tableFromIPC(original.payloads[0]!.bytes);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(original.columns.names);
  });

  it('rejects a payload with a flipped byte as corrupt', async () => {
    const { payloads } = await encodeQuery(`SELECT i, 'v' || i AS s FROM range(10000) t(i)`, { targetBatchBytes: 32 * 1024 });
    for (const index of [0, 1, payloads.length - 1]) {
      const payload = payloads[index]!;
      for (const at of [0, payload.bytes.byteLength >> 1, payload.bytes.byteLength - 1]) {
        const bytes = payload.bytes.slice();
        bytes[at] = bytes[at]! ^ 0x01;
        const flipped = { bytes, crc32: payload.crc32 };
        expect(() => verifyPayload(flipped)).toThrow(CorruptPayloadError);
        const decoder = new ArrowIpcDecoder();
        for (const earlier of payloads.slice(0, index)) decoder.push(earlier);
        expect(() => decoder.push(flipped)).toThrow(CorruptPayloadError);
      }
    }
    expect(() => verifyPayload(payloads[0]!)).not.toThrow();
  });

  it('leaves the decoder usable after a corrupt payload, so the payload can be fetched again', async () => {
    const original = await encodeQuery(`SELECT i, 'v' || i AS s FROM range(10000) t(i)`, { targetBatchBytes: 32 * 1024 });
    const decoder = new ArrowIpcDecoder();
    const values: DuckDBValue[][] = [[], []];
    original.payloads.forEach((payload, index) => {
      const bytes = payload.bytes.slice();
      bytes[index % bytes.byteLength] = bytes[index % bytes.byteLength]! ^ 0xff;
      expect(() => decoder.push({ bytes, crc32: payload.crc32 })).toThrow(CorruptPayloadError);
      for (const batch of decoder.push(payload)) batch.columns.forEach((column, c) => appendAll(values[c]!, column));
    });
    expectSameValues(original, values);
  });

  it('rejects a payload whose checksum matches but whose messages are cut short', async () => {
    const { payloads } = await encodeQuery(`SELECT i FROM range(5000) t(i)`, { targetBatchBytes: 16 * 1024 });
    const first = payloads[0]!.bytes;
    for (const length of [4, 12, first.byteLength - 8]) {
      const bytes = first.slice(0, length);
      expect(() => new ArrowIpcDecoder().push({ bytes, crc32: crc32(bytes) }), `${length} bytes`).toThrow(CorruptPayloadError);
    }
  });

  it('rejects a stream that does not start with the schema, and payloads after the end', async () => {
    const { payloads } = await encodeQuery(`SELECT i FROM range(10000) t(i)`, { targetBatchBytes: 16 * 1024 });
    expect(payloads.length).toBeGreaterThan(2);
    expect(() => new ArrowIpcDecoder().push(payloads[1]!)).toThrow(/does not start with a schema/);
    const decoder = new ArrowIpcDecoder();
    for (const p of payloads) decoder.push(p);
    expect(() => decoder.push(payloads.at(-1)!)).toThrow(/after the end-of-stream/);
  });

  it('refuses an INTERVAL that MonthDayNano cannot hold instead of sending a wrong value', async () => {
    for (const literal of [`INTERVAL '3000000 hours'`, `to_microseconds(-9223372036854775807)`]) {
      await expect(encodeQuery(`SELECT ${literal} AS iv`), literal).rejects.toThrow(UnsupportedValueError);
      await expect(encodeQuery(`SELECT ${literal} AS iv`), literal).rejects.toThrow(/column "iv": INTERVAL/);
    }
  });

  it('keeps batches near the target when single rows are large', async () => {
    const target = 256 * 1024;
    const original = await encodeQuery(`SELECT i, repeat(chr(65 + (i % 26)::INTEGER), 100000 + i) AS big FROM range(200) t(i)`, { targetBatchBytes: target });
    const largestRow = 100000 + 199 + 64;
    for (const p of original.payloads.slice(0, -1)) {
      expect(p.bytes.byteLength).toBeGreaterThanOrEqual(target);
      expect(p.bytes.byteLength).toBeLessThanOrEqual(1.5 * target + largestRow);
    }
    const { values } = decodeAll(original.payloads);
    expectSameValues(original, values!);
  });

  it('decodes payloads whose bytes sit at an odd offset in a larger buffer', async () => {
    const original = await encodeQuery(`SELECT i, i * 2.5 AS d, 0.5::DECIMAL(38,2) * i AS dec, 'v' || i AS s FROM range(5000) t(i)`, { targetBatchBytes: 16 * 1024 });
    const shifted = original.payloads.map((p) => {
      const backing = new Uint8Array(p.bytes.byteLength + 3);
      backing.set(p.bytes, 3);
      return { bytes: backing.subarray(3), crc32: p.crc32 };
    });
    const { values } = decodeAll(shifted as EncodedPayload[]);
    expectSameValues(original, values!);
  });

  it('carries an SQLNULL column as Arrow Null', () => {
    const chunk = DuckDBDataChunk.create([SQLNULL, INTEGER], 3);
    chunk.setColumnValues(1, [1, null, 3]);
    const encoder = new ArrowIpcEncoder({ names: ['nothing', 'x'], types: [SQLNULL, INTEGER] });
    const payloads = [...encoder.push(chunk), ...encoder.finish()];
    const table = tableFromIPC(concatenated(payloads));
    expect(table.schema.fields[0]!.type.typeId).toBe(Type.Null);
    const { decoder, values } = decodeAll(payloads);
    expect(decoder.columns!.types.map(String)).toEqual([SQLNULL, INTEGER].map(String));
    expect(values).toEqual([
      [null, null, null],
      [1, null, 3],
    ]);
  });

  it('rejects an Arrow stream without DuckDB type metadata', () => {
    const bytes = tableToIPC(tableFromArrays({ a: Int32Array.from([1, 2, 3]) }), 'stream');
    expect(() => new ArrowIpcDecoder().push({ bytes, crc32: crc32(bytes) })).toThrow(/duckdb\.type/);
  });

  it('refuses a chunk whose types differ from the declared columns, and stays refused', async () => {
    const result = await connection.stream(`SELECT 1.5::DECIMAL(4,1) AS d`);
    const chunk = (await result.fetchChunk())!;
    const encoder = new ArrowIpcEncoder({ names: ['d'], types: [DECIMAL(18, 3)] });
    expect(() => encoder.push(chunk)).toThrow(/declared DECIMAL\(18,3\) but the chunk holds DECIMAL\(4,1\)/);
    expect(() => encoder.finish()).toThrow(WireStateError);
  });

  it('refuses to be used after finish()', async () => {
    const encoder = new ArrowIpcEncoder({ names: ['x'], types: [INTEGER] });
    encoder.finish();
    expect(() => encoder.finish()).toThrow(WireStateError);
    expect(() => encoder.push(DuckDBDataChunk.create([INTEGER], 1))).toThrow(WireStateError);
  });
});
