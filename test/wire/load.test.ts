import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { DuckDBInstance, INTEGER, SQLNULL, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { AlignedScratch, ArrowIpcDecoder, ArrowIpcEncoder, CorruptPayloadError, type EncodedPayload } from '../../server/wire/arrow-ipc.js';
import { ArrowChunkFiller } from '../../server/wire/duckdb-chunks.js';
import { createTableSql } from '../../server/client-load.js';
import { createDatabase, createSnapshot, loadRemoteResult, query } from '../../index.js';
import { startServe, type RunningServe } from '../../server/serve.js';
import { OpenDuckClient } from '../../server/client.js';
import { tempRepository } from '../helpers.js';

/**
 * Every flat type the raw path copies, with edge values and NULLs (`i % 8 = 2` is NULL in every
 * column), plus nested and rare types that go through the value fallback. 7,000 rows: several
 * Arrow batches whose sizes are not multiples of DuckDB's 2,048-row chunks.
 */
const MIXED_ROWS = 7000;
const MIXED_SQL = `
CREATE TABLE src AS SELECT
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
  CASE i % 8 WHEN 0 THEN -9999999999999999999999999999.9999999999::DECIMAL(38,10) WHEN 1 THEN 9999999999999999999999999999.9999999999::DECIMAL(38,10)
    WHEN 2 THEN NULL ELSE (i * -1234567890.0123456789)::DECIMAL(38,10) END AS d38,
  CASE i % 8 WHEN 0 THEN '-inf' WHEN 1 THEN 'inf' WHEN 2 THEN NULL WHEN 3 THEN '-0.0' ELSE (i / 7)::VARCHAR END::FLOAT AS f,
  CASE i % 8 WHEN 0 THEN '-inf' WHEN 1 THEN 'inf' WHEN 2 THEN NULL WHEN 3 THEN '4.9e-324' ELSE (i / 7)::VARCHAR END::DOUBLE AS dbl,
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
  CASE i % 8 WHEN 0 THEN '00:00:00'::TIME WHEN 1 THEN '24:00:00'::TIME WHEN 2 THEN NULL ELSE TIME '00:00:00' + to_microseconds(i * 17000003) END AS tm,
  CASE i % 8 WHEN 2 THEN NULL ELSE ('12:34:56.' || lpad((i * 7919)::VARCHAR, 9, '0'))::TIME_NS END AS tns,
  CASE i % 8 WHEN 0 THEN '00:00:00+15:59:59'::TIMETZ WHEN 2 THEN NULL ELSE ('12:00:00+0' || (i % 10)::VARCHAR || ':30')::TIMETZ END AS ttz,
  CASE i % 8 WHEN 0 THEN '290309-12-22 (BC) 00:00:00'::TIMESTAMP WHEN 1 THEN 'infinity'::TIMESTAMP WHEN 2 THEN NULL
    ELSE TIMESTAMP '2000-01-01' + to_microseconds(i * 86400123457) END AS ts,
  CASE i % 8 WHEN 2 THEN NULL ELSE (TIMESTAMP '1969-07-20 20:17:40' + to_seconds(i * 86400))::TIMESTAMP_S END AS ts_s,
  CASE i % 8 WHEN 2 THEN NULL ELSE (TIMESTAMP '1900-01-01' + to_microseconds(i * 999999001))::TIMESTAMP_MS END AS ts_ms,
  CASE i % 8 WHEN 2 THEN NULL ELSE ('2024-02-29 12:00:00.' || lpad((i * 104729)::VARCHAR, 9, '0'))::TIMESTAMP_NS END AS ts_ns,
  CASE i % 8 WHEN 2 THEN NULL ELSE TIMESTAMPTZ '2020-03-01 00:00:00+00' + to_microseconds(i * 3600000001) END AS tstz,
  CASE i % 8 WHEN 0 THEN INTERVAL '-1 year -2 days -03:04:05.006007' WHEN 2 THEN NULL
    ELSE to_months(i % 30 - 15) + to_days(i % 40) + to_microseconds(i * -1000003) END AS iv,
  CASE i % 8 WHEN 0 THEN [1, NULL, 3] WHEN 1 THEN [] WHEN 2 THEN NULL ELSE range(i % 7)::INTEGER[] END AS li,
  CASE i % 8 WHEN 0 THEN {'a': NULL, 'b': NULL} WHEN 2 THEN NULL ELSE {'a': i, 'b': 'a string longer than twelve bytes'} END AS st,
  CASE i % 8 WHEN 0 THEN MAP {'k1': 1, 'k2': NULL} WHEN 2 THEN NULL ELSE MAP {'key' || i: i} END AS mp,
  (CASE i % 8 WHEN 2 THEN NULL ELSE [i, i + 1, i + 2] END)::DOUBLE[3] AS arr,
  CASE i % 4 WHEN 0 THEN union_value(n := i::INTEGER)::UNION(n INTEGER, s VARCHAR) WHEN 2 THEN NULL
    ELSE union_value(s := 'text ' || i)::UNION(n INTEGER, s VARCHAR) END AS un,
  -- NULL unions below the top level: inside a struct, a list, an array and a map value.
  CASE i % 4 WHEN 2 THEN NULL ELSE {'u': CASE WHEN i % 3 = 0 THEN NULL ELSE union_value(n := i::INTEGER)::UNION(n INTEGER, s VARCHAR) END} END AS st_un,
  CASE i % 4 WHEN 2 THEN NULL ELSE [NULL, union_value(s := 'x' || i)::UNION(n INTEGER, s VARCHAR), NULL] END AS li_un,
  [CASE WHEN i % 5 = 0 THEN NULL ELSE union_value(n := i::INTEGER)::UNION(n INTEGER, s VARCHAR) END, NULL]::UNION(n INTEGER, s VARCHAR)[2] AS arr_un,
  MAP {'k': CASE WHEN i % 2 = 0 THEN NULL ELSE union_value(n := i::INTEGER)::UNION(n INTEGER, s VARCHAR) END} AS mp_un,
  CASE i % 4 WHEN 2 THEN NULL ELSE ('1' || repeat('01', i % 40))::BIT END AS bt,
  CASE i % 4 WHEN 0 THEN (-1 * pow(10::BIGNUM, 60 + i % 10))::BIGNUM WHEN 2 THEN NULL ELSE (i * 7)::BIGNUM END AS bn,
  NULL AS nul
FROM range(${MIXED_ROWS}) t(i)`;

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
  await connection.run(MIXED_SQL);
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

async function encode(sql: string, targetBatchBytes: number): Promise<{ names: string[]; types: DuckDBType[]; payloads: EncodedPayload[] }> {
  const result = await connection.stream(sql);
  const columns = { names: result.deduplicatedColumnNames(), types: result.columnTypes() };
  const encoder = new ArrowIpcEncoder(columns, { targetBatchBytes });
  const payloads: EncodedPayload[] = [];
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) payloads.push(...encoder.push(chunk));
  payloads.push(...encoder.finish());
  return { ...columns, payloads };
}

/** Odd-offset copies of every other payload, as gRPC hands them out, to exercise the aligned scratch. */
function atOddOffset(p: EncodedPayload, i: number): EncodedPayload {
  if (i % 2 === 0) return p;
  const host = new Uint8Array(p.bytes.byteLength + 3);
  host.set(p.bytes, 3);
  return { ...p, bytes: host.subarray(3) };
}

async function* arrowBatches(payloads: EncodedPayload[]): AsyncGenerator<RecordBatch> {
  const decoder = new ArrowIpcDecoder();
  const scratch = new AlignedScratch();
  for (const [i, p] of payloads.entries()) yield* decoder.pushArrow(atOddOffset(p, i), { alignedScratch: scratch });
  expect(decoder.complete).toBe(true);
}

async function scalar(sql: string): Promise<unknown> {
  return (await connection.runAndReadAll(sql)).getRows()[0]![0];
}

/** Same multiset of rows both ways: EXCEPT ALL is empty in each direction and the counts agree. */
async function expectSameRows(a: string, b: string, columns = '*'): Promise<void> {
  expect(await scalar(`SELECT count(*) FROM (SELECT ${columns} FROM ${a} EXCEPT ALL SELECT ${columns} FROM ${b})`)).toBe(0n);
  expect(await scalar(`SELECT count(*) FROM (SELECT ${columns} FROM ${b} EXCEPT ALL SELECT ${columns} FROM ${a})`)).toBe(0n);
  expect(await scalar(`SELECT count(*) FROM ${a}`)).toBe(await scalar(`SELECT count(*) FROM ${b}`));
}

describe('loadRemoteResult', () => {
  it('loads a mixed-type result from Arrow batches into a new table that equals the source', async () => {
    const { names, types, payloads } = await encode('SELECT * FROM src', 64 * 1024);
    expect(payloads.length).toBeGreaterThan(4);
    const filler = new ArrowChunkFiller(types);
    // The common flat types take the raw path; nested and rare ones the value fallback.
    const raw = Object.fromEntries(names.map((n, i) => [n, filler.rawColumns[i]]));
    expect(raw).toMatchObject({ i: true, bi: true, dbl: true, vc: true, bl: true, bo: true, uu: true, en: true, ts: true, iv: true, d9: true, uhi: true, li: false, st: false, bn: false });

    const rows = await loadRemoteResult({ names, types, batches: arrowBatches(payloads) }, connection, 'dst one');
    expect(rows).toBe(MIXED_ROWS);
    const described = (await connection.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'dst one' ORDER BY column_index`)).getRows();
    expect(described.map((r) => r[0])).toEqual(names);
    // The ENUM keeps its members (as an anonymous ENUM), NULL becomes INTEGER as in CREATE TABLE AS.
    expect(described.find((r) => r[0] === 'en')![1]).toBe(`ENUM('sad', 'ok', 'happy')`);
    await expectSameRows('src', '"dst one"');
  });

  it('reads sliced batches (Arrow offsets that are not byte-aligned) for the flat types', async () => {
    const flat = 'i, ti, si, ii, bi, uti, usi, uii, ubi, hi, uhi, d4, d9, d18, d38, f, dbl, vc, bl, bo, uu, en, da, tm, tns, ttz, ts, ts_s, ts_ms, ts_ns, tstz, iv';
    const { names, types, payloads } = await encode(`SELECT ${flat} FROM src ORDER BY i`, 64 * 1024);
    const batches: RecordBatch[] = [];
    const decoder = new ArrowIpcDecoder();
    for (const p of payloads) for (const b of decoder.pushArrow(p)) batches.push(b);
    expect(new ArrowChunkFiller(types).rawColumns.every(Boolean)).toBe(true);
    // Skip 5 rows of the first batch, and cut the second at row 3 into two slices.
    const sliced = [batches[0]!.slice(5), batches[1]!.slice(0, 3), batches[1]!.slice(3), ...batches.slice(2)];
    expect(await loadRemoteResult({ names, types, batches: sliced }, connection, 'dst_sliced')).toBe(MIXED_ROWS - 5);
    await expectSameRows(`(SELECT ${flat} FROM src WHERE i >= 5)`, 'dst_sliced');

    // The value fallback reads IPC data (offset 0) only, and says so instead of misreading a slice.
    const nested = await encode('SELECT li FROM src', 1 << 20);
    const first = new ArrowIpcDecoder().pushArrow(nested.payloads[0]!)[0]!;
    await expect(loadRemoteResult({ ...nested, batches: [first.slice(1)] }, connection, 'dst_sliced_nested')).rejects.toThrow(/only supported for flat types/);
  });

  it('loads the same result from rows of values (a RemoteResult) just as well', async () => {
    const { names, types, payloads } = await encode('SELECT * FROM src', 256 * 1024);
    const decoder = new ArrowIpcDecoder();
    async function* rows() {
      for (const p of payloads) for (const b of decoder.push(p)) yield b.rows();
    }
    expect(await loadRemoteResult({ names, types, batches: rows() }, connection, 'dst_values')).toBe(MIXED_ROWS);
    await expectSameRows('src', 'dst_values');
  });

  it('keeps long strings, invalid UTF-8 replaced as the value decoder does, and an empty result', async () => {
    await connection.run(`CREATE TABLE strs AS SELECT i, CASE WHEN i % 3 = 0 THEN repeat('long string ', i % 50) ELSE 'x' || i END AS s FROM range(10000) t(i)`);
    const { names, types, payloads } = await encode('SELECT * FROM strs', 1 << 20);
    await loadRemoteResult({ names, types, batches: arrowBatches(payloads) }, connection, 'strs_copy');
    await expectSameRows('strs', 'strs_copy');

    // Bytes that are not UTF-8 (a checksum-valid payload from a faulty peer) load as the value
    // decoder reads them: each bad byte replaced with U+FFFD.
    const bad = await encode(`SELECT 'h' || chr(233) || 'llo' AS s`, 1 << 20);
    const payload = bad.payloads[0]!;
    const at = Buffer.from(payload.bytes).indexOf(Buffer.from('h\u00e9llo'));
    expect(at).toBeGreaterThan(0);
    payload.bytes[at + 1] = 0xff;
    payload.crc32 = crc32(payload.bytes);
    await loadRemoteResult({ ...bad, batches: arrowBatches(bad.payloads) }, connection, 'bad_utf8');
    expect(await scalar('SELECT s FROM bad_utf8')).toBe('h\ufffd\ufffdllo');

    const empty = await encode('SELECT * FROM src WHERE false', 1 << 20);
    expect(await loadRemoteResult({ ...empty, batches: arrowBatches(empty.payloads) }, connection, 'empty_copy')).toBe(0);
    expect(await scalar('SELECT count(*) FROM empty_copy')).toBe(0n);
  });

  it('rolls back the table when the stream fails part-way, and can append or replace', async () => {
    const { names, types, payloads } = await encode('SELECT i, vc FROM src', 16 * 1024);
    async function* failing() {
      let n = 0;
      for await (const b of arrowBatches(payloads)) {
        if (++n === 3) throw new CorruptPayloadError('simulated');
        yield b;
      }
    }
    await expect(loadRemoteResult({ names, types, batches: failing() }, connection, 'broken')).rejects.toThrow(/simulated/);
    expect(await scalar(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'broken'`)).toBe(0n);

    await loadRemoteResult({ names, types, batches: arrowBatches(payloads) }, connection, 'twice');
    await loadRemoteResult({ names, types, batches: arrowBatches(payloads) }, connection, 'twice', { mode: 'append' });
    expect(await scalar('SELECT count(*) FROM twice')).toBe(BigInt(2 * MIXED_ROWS));
    await loadRemoteResult({ names, types, batches: arrowBatches(payloads) }, connection, 'twice', { mode: 'replace' });
    await expectSameRows('(SELECT i, vc FROM src)', 'twice');

    // A load that fails before reading anything (the table exists) still stops the remote stream.
    let cancelled = 0;
    const source = { names, types, batches: arrowBatches(payloads), cancel: () => cancelled++ };
    await expect(loadRemoteResult(source, connection, 'twice')).rejects.toThrow(/already exists/);
    expect(cancelled).toBe(1);
  });

  it('quotes identifiers in the CREATE TABLE it generates', () => {
    const sql = createTableSql({ names: [`a"b`, `select`, `n`], types: [VARCHAR, INTEGER, SQLNULL] }, `my "table"`, { schema: `s` });
    expect(sql).toBe(`CREATE TABLE "s"."my ""table""" ("a""b" VARCHAR, "select" INTEGER, "n" INTEGER)`);
  });
});

describe('loadRemoteResult through a gateway and worker', () => {
  let server: RunningServe;
  let client: OpenDuckClient;

  beforeAll(async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', `CREATE TABLE t AS SELECT i AS id, i * 0.5 AS v, (i % 1000)::INTEGER AS k, substr(md5(i::VARCHAR), 1, 11) AS s FROM range(200000) r(i)`);
    await createSnapshot(repo, 'shop', { message: 'base' });
    server = await startServe({ repo, listen: '127.0.0.1:0' });
    client = new OpenDuckClient(server.endpoint, (await readFile(server.tokenFile!, 'utf8')).trim());
  });

  afterAll(async () => {
    client?.close();
    await server?.stop(1000);
  });

  it('streams a snapshot table into a local table with executeArrow', async () => {
    {
      const result = await client.executeArrow('SELECT * FROM t', { database: 'shop@main' });
      expect(result.names).toEqual(['id', 'v', 'k', 's']);
      const rows = await loadRemoteResult(result, connection, 'remote_t');
      expect(rows).toBe(200000);
      expect(result.summary()?.rows).toBe(200000);
      expect(result.stats().bytes).toBe(result.summary()?.bytes);
      expect(await scalar(`SELECT count(*) FROM (SELECT * FROM remote_t EXCEPT ALL SELECT i, i * 0.5, (i % 1000)::INTEGER, substr(md5(i::VARCHAR), 1, 11) FROM range(200000) r(i))`)).toBe(0n);
    }
  });
});
