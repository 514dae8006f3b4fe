import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { DuckDBInstance } from '@duckdb/node-api';
import { cliRepository, expectOneLineError } from '../helpers.js';
import { startServeIn, stopAllServers, waitFor, type ServerProcess } from './processes.js';
import { execute, stalledStream } from './raw-grpc.js';
import { OpenDuckClient } from '../../server/client.js';
import { DEFAULT_MAX_MEMORY, MAX_MESSAGE_BYTES, MAX_VALUE_BYTES, parseByteSize } from '../../server/limits.js';

/**
 * What a server keeps bounded whatever it is sent: memory (DuckDB's limit on every instance, a
 * cap on one value and one message, a cap on the process), and slots (a client that stops
 * reading loses its execution).
 */
const MEMORY_LIMIT = '300MB';
/** Long enough to see every slot held by a stalled stream, short enough for a quick test. */
const STALL_MS = 3000;
let repo: Awaited<ReturnType<typeof cliRepository>>;
let server: ServerProcess;
let client: OpenDuckClient;
let token: string;

beforeAll(async () => {
  repo = await cliRepository();
  await repo.run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(1000)');
  await repo.run('snapshot', 'create', 'shop', '-m', 'base');
  ({ server, token } = await startServeIn(repo.dir, ['--memory-limit', MEMORY_LIMIT, '--stall-timeout', String(STALL_MS)]));
  client = new OpenDuckClient(server.endpoint, token);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await stopAllServers();
});

/** Memory of a process, in bytes, from /proc: resident now, resident at its peak, data mapped. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number; data: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM'), data: kib('VmData') };
}

async function rowsOf(sql: string, database: string): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const batch of (await client.execute(sql, { database })).batches) rows.push(...batch);
  return rows;
}

describe('bounds', () => {
  it("every DuckDB instance that runs a client's SQL has the memory limit, the scratch one included", async () => {
    const local = await DuckDBInstance.create(':memory:', { memory_limit: MEMORY_LIMIT });
    const expected = (await (await local.connect()).runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]![0];
    local.closeSync();
    for (const database of ['', 'shop@main', 'shop']) {
      expect(await rowsOf("SELECT current_setting('memory_limit')", database), database).toEqual([[expected]]);
    }
  });

  it('a huge value fails with RESOURCE_EXHAUSTED naming the cap, the server never grows to gigabytes, and its memory comes back', async () => {
    const cap = parseByteSize(DEFAULT_MAX_MEMORY, 'max memory');
    const before = await memoryOf(server.pid);
    const r = await execute(server.endpoint, token, { plan: Buffer.from("SELECT repeat('x', 2000000000) AS s"), database: '' });
    expect(r).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, rows: 0, details: expect.stringMatching(new RegExp(`Out of Memory.*--max-memory ${DEFAULT_MAX_MEMORY} for the process`)) });
    const after = await memoryOf(server.pid);
    // The peak since the server started, so this includes the query: it stayed under the cap.
    expect(after.peak).toBeLessThan(cap);
    expect(after.data).toBeLessThan(cap);
    expect(after.rss).toBeLessThan(before.rss + 256 * 2 ** 20);
    expect(await rowsOf('SELECT 1 AS still_serving', '')).toEqual([[1]]);
  });

  it('a value or a row above its cap fails with RESOURCE_EXHAUSTED before it is copied; smaller ones pass', async () => {
    const under = Math.floor(MAX_VALUE_BYTES * 0.9);
    expect(await rowsOf(`SELECT length(s) FROM (SELECT repeat('x', ${under}) AS s)`, '')).toEqual([[BigInt(under)]]);
    expect((await rowsOf(`SELECT repeat('x', ${under}) AS s`, ''))[0]![0]).toHaveLength(under);
    const value = await execute(server.endpoint, token, { plan: Buffer.from(`SELECT repeat('x', ${MAX_VALUE_BYTES + 1}) AS s`), database: '' });
    expect(value).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, rows: 0, details: expect.stringMatching(/value of column "s" is \d+ bytes, over the 16 MiB limit for a single value/) });
    // Three values under the value cap, together over the message cap.
    const each = Math.ceil(MAX_MESSAGE_BYTES / 3) + 1;
    const row = await repo.runWith({ OPENDUCK_ENDPOINT: server.endpoint }, 'query', '--db', '', `SELECT repeat('a', ${each}) AS a, repeat('b', ${each}) AS b, repeat('c', ${each}) AS c`);
    expect(expectOneLineError(row)).toMatch(/a result row is \d+ bytes, over the 32 MiB limit for a single result message/);
  });

  it('ten clients that stop reading lose their executions; status answers meanwhile and a SELECT 1 gets through', async () => {
    const stalled = Array.from({ length: 10 }, (_, i) =>
      stalledStream(server.endpoint, token, { plan: Buffer.from("SELECT range, repeat('x', 200) AS pad FROM range(1000000000)"), database: '', executionId: `stalled-${i}` }),
    );
    try {
      // Unary calls do not queue behind executions: status answers while the stalled ones hold every slot.
      await waitFor('stalled executions in every slot', async () => (await client.status()).executions.filter((e) => e.state === 'running').length === 8);
      expect((await client.listTables('shop@main')).tables.map((t) => t.name)).toEqual(['t']);
      // Queued behind all ten, it runs once stalled executions are cancelled and their slots freed.
      expect(await rowsOf('SELECT 1 AS one', '')).toEqual([[1]]);
      await waitFor('every stalled execution to be cancelled', async () => (await client.status()).executions.length === 0, 30_000);
      for (const s of stalled) {
        expect(await s.readToEnd()).toEqual({ code: grpc.status.CANCELLED, message: `cancelled: the client read nothing for ${STALL_MS / 1000} s, so the execution was stopped to free its slot` });
      }
      expect(server.output()).toMatch(/execution stalled-\d cancelled: its client read nothing/);
    } finally {
      for (const s of stalled) s.close();
    }
  });
});
