import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { cli, cliRepository, expectOneLineError, type CliResult } from '../helpers.js';
import { startServeIn, stopAllServers, waitFor, type ServerProcess } from './processes.js';
import { execute } from './raw-grpc.js';
import { OpenDuckClient } from '../../server/client.js';
import { errorMessage } from '../../core/errors.js';

/**
 * One client's SQL cannot change what another client reads. Snapshot reads share one DuckDB
 * instance per snapshot, so only reads run there; the scratch database gives each execution a
 * catalog of its own.
 */
let repo: Awaited<ReturnType<typeof cliRepository>>;
let server: ServerProcess;
let token: string;
/** The snapshot the forgery targets: the first one, under main~1. */
let pinned: string;

const READ = 'SELECT count(*) AS n, min(name) AS first FROM users';
let client: OpenDuckClient;

/** How an execution of `sql` ends: its rows as JSON, or its error message. */
async function attempt(sql: string, database: string, through = client): Promise<string> {
  try {
    const rows: unknown[][] = [];
    for await (const batch of (await through.execute(sql, { database })).batches) rows.push(...batch);
    return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
  } catch (err) {
    return errorMessage(err);
  }
}
const remote = (...args: string[]): Promise<CliResult> => cli(args, { cwd: repo.dir, env: { OPENDUCK_ENDPOINT: server.endpoint } });
const json = (r: CliResult) => {
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

beforeAll(async () => {
  repo = await cliRepository();
  await repo.run('query', '--db', 'shop', "CREATE TABLE users AS SELECT range AS id, 'user ' || range AS name FROM range(100000)");
  await repo.run('snapshot', 'create', 'shop', '-m', 'users');
  await repo.run('query', '--db', 'shop', "INSERT INTO users VALUES (100000, 'late user')");
  await repo.run('snapshot', 'create', 'shop', '-m', 'one more');
  pinned = JSON.parse((await repo.run('snapshot', 'show', 'shop@main~1', '--json')).stdout).id;
  // Long enough that the execution a test holds open is never taken for a stalled one.
  ({ server, token } = await startServeIn(repo.dir, ['--stall-timeout', '600000']));
  client = new OpenDuckClient(server.endpoint, token);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await stopAllServers();
});

describe('isolation between clients', () => {
  it('statements that would change a shared snapshot instance are refused, and the pinned read stays true', async () => {
    // The truth, read locally without the server.
    const truth = json(await repo.run('query', '--db', `shop@${pinned}`, READ, '--format', 'json'));
    expect(json(await remote('query', '--db', `shop@${pinned}`, READ, '--format', 'json'))).toEqual(truth);

    // The forgery from the report, as a user would type it.
    const forgery = "USE memory; DETACH shop; ATTACH ':memory:' AS shop; CREATE TABLE shop.main.users AS SELECT 1 AS id, 'FORGED' AS name; SELECT 'done'";
    const refusedByKind = /read-only \(only SELECT and EXPLAIN statements run on a snapshot, and this is an? [A-Za-z, ]+ statement\)/;
    expect(expectOneLineError(await remote('query', '--db', 'shop@main~1', forgery))).toMatch(refusedByKind);
    for (const sql of [
      // Each step of the forgery alone, then other ways to write.
      'DETACH shop',
      "ATTACH ':memory:' AS mm",
      'USE memory',
      'CREATE TABLE leak AS SELECT 1 AS x',
      'CREATE TEMP TABLE leak AS SELECT 1 AS x',
      'CREATE VIEW v AS SELECT 1 AS x',
      'CREATE MACRO m() AS 1',
      "INSERT INTO users VALUES (-1, 'x')",
      "UPDATE users SET name = 'x'",
      'DELETE FROM users',
      'DROP TABLE users',
      'ALTER TABLE users ADD COLUMN z INTEGER',
      'SET VARIABLE v = 1',
      'PREPARE p AS SELECT 1',
      'CHECKPOINT',
      'BEGIN TRANSACTION',
      // A read first does not let a write through: every statement is classified before any runs.
      'SELECT 1; DETACH shop',
    ]) {
      expect(await attempt(sql, 'shop@main~1'), sql).toMatch(refusedByKind);
    }
    // The default `memory` catalog is not there to write to at all.
    expect(await attempt('CREATE TABLE memory.main.leak AS SELECT 1 AS x', 'shop@main~1')).toMatch(/memory does not exist/);

    expect(json(await remote('query', '--db', `shop@${pinned}`, READ, '--format', 'json'))).toEqual(truth);
    expect(json(await remote('query', '--db', 'shop@main~1', 'SELECT database_name AS d FROM duckdb_databases() ORDER BY 1', '--format', 'json'))).toEqual([
      { d: 'shop' },
      { d: 'system' },
      { d: 'temp' },
    ]);
    const tables = 'SELECT table_catalog, table_schema, table_name FROM information_schema.tables ORDER BY ALL';
    expect(json(await remote('query', '--db', `shop@${pinned}`, tables, '--format', 'json'))).toEqual(json(await repo.run('query', '--db', `shop@${pinned}`, tables, '--format', 'json')));
  });

  it('reads of every kind still run on snapshots', async () => {
    const truth = json(await repo.run('query', '--db', `shop@${pinned}`, READ, '--format', 'json')) as Array<{ n: number; first: string }>;
    for (const sql of ['EXPLAIN SELECT * FROM users', 'DESCRIBE users', 'SUMMARIZE users', "PRAGMA table_info('users')", 'SHOW TABLES', 'FROM users LIMIT 1']) {
      expect(await attempt(sql, `shop@${pinned}`), sql).toMatch(/^\[\[/);
    }
    expect(await attempt(`SELECT 1 AS one; ${READ}`, `shop@${pinned}`)).toBe(JSON.stringify([[truth[0]!.n, truth[0]!.first]]));
  });

  it('each scratch execution has a catalog of its own: nobody else can read it or remove it, and nothing outlives the execution', async () => {
    const owner = new OpenDuckClient(server.endpoint, token);
    const other = new OpenDuckClient(server.endpoint, token);
    try {
      // The owner keeps its execution open (it reads one batch, then waits) while the other client tries to reach its catalog.
      const mine = await owner.execute('CREATE TABLE secret AS SELECT 42 AS x; SELECT current_database() AS catalog, x FROM secret, range(3000000)', { database: '' });
      const batches = mine.batches[Symbol.asyncIterator]();
      const first = (await batches.next()).value as unknown[][];
      const catalog = String(first[0]![0]);
      const q = `"${catalog}"`;
      expect(await attempt(`SELECT * FROM ${q}.main.secret`, '', other)).toMatch(/secret does not exist/);
      expect(await attempt(`INSERT INTO ${q}.main.secret VALUES (0)`, '', other)).toMatch(/secret does not exist/);
      // What the other writes there stays in its own transaction: the owner's table is still out of its reach.
      expect(await attempt(`CREATE TABLE ${q}.main.planted AS SELECT 1 AS x; SELECT count(*) FROM ${q}.main.secret`, '', other)).toMatch(/secret does not exist/);
      // There is no catalog the executions share.
      expect(await attempt('CREATE TABLE memory.main.leak AS SELECT 1 AS x', '', other)).toMatch(/memory does not exist/);
      expect(await attempt(`DETACH ${q}`, '', other)).toMatch(/a DETACH statement is not allowed there/);
      expect(await attempt("ATTACH ':memory:' AS mm", '', other)).toMatch(/an ATTACH statement is not allowed there/);
      // The owner reads its own table to the end, untouched.
      let rows = first.length;
      let altered = 0;
      for (let b = await batches.next(); !b.done; b = await batches.next()) {
        const batch = b.value as unknown[][];
        for (const row of batch) if (row[0] !== catalog || row[1] !== 42) altered++;
        rows += batch.length;
      }
      expect({ rows, altered }).toEqual({ rows: 3_000_000, altered: 0 });
      // Nothing was left behind for later executions, in any catalog.
      expect(await attempt('SELECT count(*) AS n FROM duckdb_tables()', '', other)).toBe('[[0]]');
      expect(await attempt('SELECT database_name FROM duckdb_databases()', '', other)).not.toMatch(/mm/);
    } finally {
      owner.close();
      other.close();
    }
  });

  it('a scratch execution cut off mid-stream leaves nothing behind for the executions after it', async () => {
    const owner = new OpenDuckClient(server.endpoint, token);
    try {
      const cut = await owner.execute('CREATE TABLE t AS SELECT 1 AS x; SELECT range FROM range(100000000)', { database: '', executionId: 'cut-off' });
      await cut.batches[Symbol.asyncIterator]().next();
      expect(await owner.cancel('cut-off')).toBe(true);
      await waitFor('the cancelled execution to end', async () => (await client.status()).executions.length === 0);
    } finally {
      owner.close();
    }
    // Catalogs are reused: each of these gets one, the cut-off execution's among them.
    for (let i = 0; i < 20; i++) expect(await attempt(`CREATE TABLE t AS SELECT ${i} AS x; SELECT x FROM t`, '')).toBe(`[[${i}]]`);
  });

  it('refuses SQL that contains a NUL character instead of running what precedes it', async () => {
    for (const database of ['', `shop@${pinned}`]) {
      const r = await execute(server.endpoint, token, { plan: Buffer.from("SELECT 'kept' AS a\u0000; SELECT 'dropped'"), database });
      expect(r).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/NUL character \(at character 18\)/), rows: 0 });
    }
    // Locally too, from a file (the one way a command line can carry one).
    const file = join(repo.dir, 'nul.sql');
    await writeFile(file, "SELECT 'kept' AS a\u0000; SELECT 'dropped'");
    expect(expectOneLineError(await repo.run('query', '--db', `shop@${pinned}`, '--file', file))).toMatch(/NUL character \(at character 18\)/);
  });
});
