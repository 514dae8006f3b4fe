import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../../core/repository.js';
import { checkout, createBranch } from '../../core/verbs/branch.js';
import { query, QuerySession } from '../../core/verbs/query.js';
import { createSnapshot } from '../../core/verbs/snapshot.js';
import { resolveRef } from '../../core/refs.js';
import { materializeSnapshot } from '../../core/snapshot-cache.js';
import { quoteIdentifier, quoteLiteral } from '../../core/sql.js';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { BIN, PROJECT_ROOT, cliRepository, expectOneLineError } from '../helpers.js';

type Run = Awaited<ReturnType<typeof cliRepository>>['run'];

/**
 * A repository with database shop, driven by the CLI for what is under test and by the library
 * (in this process, without a node start per step) to set up the states it compares.
 */
async function repository() {
  const cliRepo = await cliRepository();
  const repo = await Repository.open({ repo: join(cliRepo.dir, '.openduck') });
  opened.push(repo);
  const lib = {
    repo,
    sql: (text: string) => query(repo, 'shop', text),
    snapshot: async (message: string) => {
      const r = await createSnapshot(repo, 'shop', { message });
      expect(r.created, `snapshot ${message}`).toBe(true);
    },
  };
  return { ...cliRepo, lib };
}

const opened: Repository[] = [];
afterAll(async () => {
  for (const r of opened.splice(0)) await r.close();
});

async function ok(run: Run, ...args: string[]): Promise<string> {
  const r = await run(...args);
  expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A diff that finds differences exits 1 (like git diff --exit-code); its JSON is on stdout. */
async function diffJson(run: Run, ...args: string[]) {
  const r = await run('diff', ...args, '--format', 'json');
  expect([0, 1], r.stderr).toContain(r.exitCode);
  const parsed = JSON.parse(r.stdout);
  expect(r.exitCode).toBe(parsed.differences ? 1 : 0);
  return parsed;
}

const byName = (d: { tables: Array<{ name: string }> }) => Object.fromEntries(d.tables.map((t) => [t.name, t])) as Record<string, any>;

describe('diff between snapshots', () => {
  it('counts inserts, deletes and updates by key, multiset changes, added and dropped tables and an added column', async () => {
    const { run, lib } = await repository();
    await lib.sql(`CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER, status VARCHAR);
       INSERT INTO orders SELECT range, range % 97, 'open' FROM range(1000);
       CREATE TABLE events (kind VARCHAR, n INTEGER);
       INSERT INTO events SELECT 'k' || (range % 4), range % 2 FROM range(40);
       CREATE TABLE gone AS SELECT range AS x FROM range(7);`);
    await lib.snapshot('A');
    await lib.sql(`INSERT INTO orders SELECT range, 1, 'new' FROM range(1000, 1100);
       DELETE FROM orders WHERE id < 50;
       UPDATE orders SET amount = amount + 1000 WHERE id BETWEEN 500 AND 524;
       ALTER TABLE orders ADD COLUMN note VARCHAR;
       DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE kind = 'k0' LIMIT 3);
       INSERT INTO events VALUES ('k1', 1), ('k1', 1), ('k9', 5);
       DROP TABLE gone;
       CREATE TABLE fresh AS SELECT range AS y FROM range(5);`);
    await lib.snapshot('B');

    const stat = await run('diff', 'shop@main~1', 'shop@main', '--stat');
    expect(stat.exitCode, stat.stderr).toBe(1);
    expect(stat.stdout).toMatch(/^\s+orders\s+modified\s+\+100\s+-50\s+~25\s+\+column note VARCHAR$/m);
    expect(stat.stdout).toMatch(/^\s+events\s+modified\s+\+3\s+-3\s+~0$/m);
    expect(stat.stdout).toMatch(/^\s+gone\s+dropped\s+-7$/m);
    expect(stat.stdout).toMatch(/^\s+fresh\s+added\s+\+5$/m);

    const d = await diffJson(run, 'shop@main~1', 'shop@main');
    expect(d.differences).toBe(true);
    const t = byName(d);
    expect(Object.keys(t).sort()).toEqual(['events', 'fresh', 'gone', 'orders']);
    expect(t.orders).toMatchObject({ status: 'modified', key: ['id'], rows: { added: 100, removed: 50, modified: 25 } });
    expect(t.orders.schemaChanges.columnsAdded).toEqual([{ name: 'note', type: 'VARCHAR', nullable: true, default: null }]);
    expect(t.orders.changes.filter((c: { op: string }) => c.op === 'modified')).toHaveLength(25);
    expect(t.orders.changes.find((c: { key?: { id: number } }) => c.key?.id === 500)).toEqual({
      op: 'modified',
      key: { id: 500 },
      changed: ['amount'],
      old: { id: 500, amount: 500 % 97, status: 'open' },
      new: { id: 500, amount: (500 % 97) + 1000, status: 'open', note: null },
    });
    expect(t.events).toMatchObject({ status: 'modified', key: null, rows: { added: 3, removed: 3, modified: 0 } });
    expect(t.events.changes).toEqual([
      { op: 'removed', count: 3, row: { kind: 'k0', n: 0 } },
      { op: 'added', count: 2, row: { kind: 'k1', n: 1 } },
      { op: 'added', count: 1, row: { kind: 'k9', n: 5 } },
    ]);
    expect(t.gone).toMatchObject({ status: 'dropped', rows: { added: 0, removed: 7, modified: 0 } });
    expect(t.fresh).toMatchObject({ status: 'added', rows: { added: 5, removed: 0, modified: 0 } });

    // The original form DB FROM TO gives the same answer.
    const old = await diffJson(run, 'shop', 'main~1', 'main');
    expect(old.tables).toEqual(d.tables);

    // --limit cuts the listing, not the counts, and says how many more there are.
    const limited = await run('diff', 'shop@main~1', 'shop@main', '--table', 'orders', '--limit', '2');
    expect(limited.stdout).toMatch(/^- id=0 {2}amount=0 {2}status="open"$/m);
    expect(limited.stdout).toContain('… 100 more added, 48 more removed, 25 more modified');
    // --skinny shows the key and the changed columns of a modified row.
    const skinny = await run('diff', 'shop@main~1', 'shop@main', '--table', 'orders', '--where', 'id = 500', '--skinny');
    expect(skinny.stdout).toMatch(/^< id=500 {2}amount=15$/m);
    expect(skinny.stdout).toMatch(/^> id=500 {2}amount=1015$/m);
    // --color (the default on a terminal) highlights the changed values of a modified row.
    const colored = await run('diff', 'shop@main~1', 'shop@main', '--table', 'orders', '--where', 'id = 500', '--color');
    expect(colored.stdout).toMatch(/^< id=500 {2}\x1b\[[\d;]+m(\x1b\[[\d;]+m)?amount=15\x1b\[[\d;]+m(\x1b\[[\d;]+m)? {2}status="open"$/m);
    // --where filters both sides.
    const some = byName(await diffJson(run, 'shop@main~1', 'shop@main', '--table', 'orders', '--where', 'id BETWEEN 500 AND 509 OR id >= 1095'));
    expect(some.orders.rows).toEqual({ added: 5, removed: 0, modified: 10 });
    // --schema-only reads no rows.
    const schema = await diffJson(run, 'shop@main~1', 'shop@main', '--schema-only');
    expect(byName(schema).orders).toMatchObject({ rows: null, compared: 'none' });
    expect(schema.scan.scanned).toEqual([]);

    // Exit codes: 0 same, 1 different, 2 errors (one line).
    expect((await run('diff', 'shop@main', 'shop@main')).exitCode).toBe(0);
    const bad = await run('diff', 'shop@nope', 'shop@main');
    expect(bad.exitCode).toBe(2);
    expect(expectOneLineError(bad)).toMatch(/ref not found: shop@nope/);
    expect(expectOneLineError(await run('diff', 'shop@main~1', 'shop@main', '--where', '1) FROM orders; --'))).toMatch(/--where/);
    expect((await run('diff', 'shop@main~1', 'shop@main', '--format', 'sql', '--limit', '3')).exitCode).toBe(2);
    expect((await run('diff', '--help')).stdout).toMatch(/^\s+0\s+no differences\n\s+1\s+differences\n\s+2\s+a bad ref, or another error$/m);
  });

  it('applying --format sql to the first side reproduces the second, table for table', async () => {
    const { dir, run, lib } = await repository();
    await lib.sql(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
       CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR, price DECIMAL(10,2), tags VARCHAR[], meta STRUCT(a INTEGER, b VARCHAR),
                           m MAP(VARCHAR, INTEGER), data BLOB, ts TIMESTAMP, d DATE, f FLOAT, x DOUBLE, e mood, legacy INTEGER, code VARCHAR);
       INSERT INTO items SELECT range, 'item ''' || range || '"', range * 1.25, ['a,b', NULL, 'c''d'], {'a': range, 'b': 'x' || range},
                                MAP {'k': range::INT}, '\\x00\\xFF'::BLOB, TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND,
                                DATE '2024-01-01' + range::INT, range / 3, range / 7, 'ok', range, range::VARCHAR FROM range(200);
       CREATE TABLE oldname AS SELECT range AS v, 'w' || range AS w FROM range(5000);
       CREATE TABLE dups (a INTEGER, b VARCHAR);
       INSERT INTO dups VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, NULL), (2, NULL), (5, 'y');
       CREATE TABLE uniq (code VARCHAR NOT NULL UNIQUE, qty INTEGER);
       INSERT INTO uniq SELECT 'c' || range, range FROM range(30);
       CREATE TABLE doomed AS SELECT 1 AS one;
       CREATE TABLE relabelled AS SELECT range AS a, range * 2 AS b FROM range(10);
       CREATE TABLE keyed_later (id INTEGER NOT NULL, v INTEGER);
       INSERT INTO keyed_later SELECT range, range FROM range(10);
       CREATE INDEX items_name ON items(name);
       CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10;`);
    await lib.snapshot('A');
    await lib.sql(`DROP INDEX items_name;
       UPDATE items SET name = 'renamed ' || id, tags = ['new' || chr(10) || 'line', ''] WHERE id % 10 = 0;
       UPDATE items SET meta = NULL, m = MAP {'z=1': -1}, f = 'inf'::FLOAT WHERE id = 7;
       DELETE FROM items WHERE id > 190;
       INSERT INTO items (id, name, price, e, code) VALUES (500, NULL, 9.99, 'happy', 'z'), (501, 'nul' || chr(0) || 'byte', 0, 'sad', '42');
       ALTER TABLE items DROP COLUMN legacy;
       ALTER TABLE items ALTER COLUMN code SET DATA TYPE INTEGER USING TRY_CAST(code AS INTEGER);
       ALTER TABLE items ADD COLUMN extra BIGINT DEFAULT 7;
       ALTER TABLE items ADD COLUMN added_at TIMESTAMP DEFAULT now();
       CREATE INDEX items_name ON items(name, price);
       ALTER TABLE oldname RENAME TO newname;
       DELETE FROM newname WHERE v % 1000 = 3;
       DELETE FROM dups WHERE rowid IN (SELECT rowid FROM dups WHERE a = 1 LIMIT 2);
       INSERT INTO dups VALUES (2, NULL), (3, 'q'), (3, 'q');
       UPDATE uniq SET qty = -qty WHERE qty % 7 = 0;
       ALTER TABLE uniq ALTER COLUMN qty SET NOT NULL;
       DROP TABLE doomed;
       ALTER TABLE relabelled RENAME COLUMN b TO c;
       ALTER TABLE keyed_later ADD PRIMARY KEY (id);
       CREATE SCHEMA sales;
       CREATE TABLE sales.t (k INTEGER PRIMARY KEY, label VARCHAR DEFAULT 'none', CHECK (k > 0));
       INSERT INTO sales.t (k) VALUES (1), (2);
       CREATE VIEW sales.v AS SELECT k FROM sales.t;
       CREATE OR REPLACE VIEW cheap AS SELECT id FROM items WHERE price < 5;`);
    await lib.snapshot('B');

    const renamed = byName(await diffJson(run, 'shop@main~1', 'shop@main'));
    expect(renamed.newname).toMatchObject({ status: 'renamed', renamedFrom: 'oldname', rows: { removed: 5, added: 0 } });

    const sql = await run('diff', 'shop@main~1', 'shop@main', '--format', 'sql');
    expect(sql.exitCode, sql.stderr).toBe(1);
    const script = join(dir, 'a-to-b.sql');
    await writeFile(script, sql.stdout);
    await createBranch(lib.repo, 'shop', 'replay', 'main~1');
    await checkout(lib.repo, 'shop', 'replay');
    await ok(run, 'query', '--db', 'shop', '--file', script);
    await lib.snapshot('replayed');

    // Every table of B, row for row (EXCEPT ALL both ways), with the same columns and types.
    const repo = lib.repo;
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    try {
      for (const [alias, ref] of [['replayed', 'shop@replay'], ['wanted', 'shop@main']]) {
        const path = await materializeSnapshot(repo, (await resolveRef(repo, ref)).snapshot);
        await con.run(`ATTACH ${quoteLiteral(path)} AS ${alias} (READ_ONLY)`);
      }
      const shape = async (db: string) =>
        (
          await con.runAndReadAll(
            `SELECT schema_name, table_name, list(column_name || ' ' || data_type || CASE WHEN is_nullable THEN '' ELSE ' NOT NULL' END ORDER BY column_index)::VARCHAR
               FROM duckdb_columns() WHERE database_name = ? GROUP BY ALL ORDER BY ALL`,
            [db],
          )
        ).getRows();
      // Tables and views, column by column.
      expect(await shape('replayed')).toEqual(await shape('wanted'));
      const tables = (await con.runAndReadAll(`SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'wanted' ORDER BY ALL`)).getRows() as string[][];
      expect(tables.map((r) => `${r[0]}.${r[1]}`)).toEqual(['main.dups', 'main.items', 'main.keyed_later', 'main.newname', 'main.relabelled', 'main.uniq', 'sales.t']);
      for (const [schema, table] of tables) {
        const name = `${quoteIdentifier(schema!)}.${quoteIdentifier(table!)}`;
        for (const [a, b] of [['replayed', 'wanted'], ['wanted', 'replayed']]) {
          const left = (await con.runAndReadAll(`SELECT count(*) FROM (SELECT * FROM ${a}.${name} EXCEPT ALL SELECT * FROM ${b}.${name})`)).getRows()[0]![0];
          expect(Number(left), `${a}.${name} EXCEPT ALL ${b}.${name}`).toBe(0);
        }
      }
      const views = async (db: string) => (await con.runAndReadAll(`SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = ? AND NOT internal ORDER BY ALL`, [db])).getRows();
      expect(await views('replayed')).toEqual(await views('wanted'));
      const indexes = async (db: string) => (await con.runAndReadAll(`SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = ? ORDER BY ALL`, [db])).getRows();
      expect(await indexes('replayed')).toEqual(await indexes('wanted'));
    } finally {
      con.closeSync();
      instance.closeSync();
    }
    // And diff itself finds nothing left.
    expect((await diffJson(run, 'shop@replay', 'shop@main')).differences).toBe(false);
  });

  it('does not read tables whose blocks are all shared, and still sees deletes and renames', async () => {
    const { dir, run, lib } = await repository();
    await lib.sql(`CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(400000);
       CREATE TABLE small (id INTEGER PRIMARY KEY, v VARCHAR);
       INSERT INTO small SELECT range, 'v' || range FROM range(100);`);
    await lib.snapshot('A');
    await lib.sql(`UPDATE small SET v = 'changed' WHERE id = 5`);
    await lib.snapshot('B');
    const d = await diffJson(run, 'shop@main~1', 'shop@main', '--stat');
    expect(d.scan).toEqual({ scanned: ['small'], unchangedByBlocks: ['big'] });
    expect(byName(d).small.rows).toEqual({ added: 0, removed: 0, modified: 1 });
    expect(d.tables).toHaveLength(1);
    // What was learnt about each snapshot's tables is kept; a damaged record is learnt again.
    const factsDir = join(dir, '.openduck', 'cache', 'diff');
    const facts = await readdir(factsDir);
    expect(facts).toHaveLength(2);
    for (const f of facts) await writeFile(join(factsDir, f), '{"format":1,"tables":');
    expect(await diffJson(run, 'shop@main~1', 'shop@main', '--stat')).toEqual(d);

    // A DELETE changes only DuckDB's delete markers, in shared metadata blocks: still found.
    await lib.sql('DELETE FROM big WHERE id = 123456');
    await lib.snapshot('C');
    const deleted = await diffJson(run, 'shop@main~1', 'shop@main');
    expect(deleted.scan).toEqual({ scanned: ['big'], unchangedByBlocks: ['small'] });
    expect(byName(deleted).big.changes).toEqual([{ op: 'removed', count: 1, row: { id: 123456, h: createHash('md5').update('123456').digest('hex') } }]);

    // A rename keeps the data where it was.
    await lib.sql('ALTER TABLE big RENAME TO huge');
    await lib.snapshot('D');
    const moved = await diffJson(run, 'shop@main~1', 'shop@main');
    expect(moved.tables).toEqual([expect.objectContaining({ name: 'huge', status: 'renamed', renamedFrom: 'big', rows: { added: 0, removed: 0, modified: 0 }, compared: 'blocks' })]);
    expect(moved.scan.scanned).toEqual([]);
  });
});

describe('status and diff of the working copy', () => {
  it('report unsnapshotted changes before snapshot create, and nothing after it, without touching the working copy', async () => {
    const { dir, run, runWith, lib } = await repository();
    const statusOf = async () => JSON.parse(await ok(run, 'status', 'shop', '--json')).databases[0];
    expect(await statusOf()).toMatchObject({ db: 'shop', branch: 'main', workingCopy: 'clean', changes: [], upstream: null });

    await lib.sql(`CREATE TABLE t (id INTEGER PRIMARY KEY, v BIGINT); INSERT INTO t SELECT range, range * 2 FROM range(20000); CREATE TABLE keep AS SELECT 1 AS k`);
    await lib.snapshot('base');
    const head = JSON.parse(await ok(run, 'snapshot', 'show', 'shop', '--json')).id;
    expect(await statusOf()).toMatchObject({ head, base: head, workingCopy: 'clean' });
    expect((await run('diff', 'shop')).exitCode).toBe(0);

    await lib.sql('UPDATE t SET v = -1 WHERE id < 3; CREATE TABLE extra AS SELECT 42 AS answer; DROP TABLE keep');
    const wcFile = join(dir, '.openduck', 'workdirs', 'shop', 'shop.duckdb');
    const fingerprint = async () => {
      const [bytes, st, state] = await Promise.all([readFile(wcFile), stat(wcFile), readFile(join(dir, '.openduck', 'workdirs', 'shop', 'state.json'), 'utf8')]);
      return { sha: createHash('sha256').update(bytes).digest('hex'), mtime: st.mtimeMs, state };
    };
    const before = await fingerprint();

    const dirty = await statusOf();
    expect(dirty).toMatchObject({ workingCopy: 'dirty', head, base: head });
    expect(dirty.blocksChanged).toBeGreaterThan(0);
    expect(dirty.changes).toEqual([
      { kind: 'table', schema: 'main', name: 'extra', change: 'added' },
      { kind: 'table', schema: 'main', name: 'keep', change: 'dropped' },
      { kind: 'table', schema: 'main', name: 't', change: 'modified' },
    ]);
    expect(await ok(run, 'status')).toMatch(/shop: on branch main, head \w{12}\n {2}unsnapshotted changes/);

    const wc = await diffJson(run, 'shop');
    expect(wc.from).toMatchObject({ workingCopy: false, snapshot: head });
    expect(wc.to).toMatchObject({ ref: 'shop', workingCopy: true, snapshot: null, branch: 'main', base: head });
    expect(byName(wc).t).toMatchObject({ rows: { added: 0, removed: 0, modified: 3 } });
    expect(byName(wc).extra).toMatchObject({ status: 'added', rows: { added: 1 } });
    expect(byName(wc).keep).toMatchObject({ status: 'dropped' });
    // A ref against the working copy: the same changes.
    expect((await diffJson(run, 'shop@main')).tables).toEqual(wc.tables);
    expect(await fingerprint()).toEqual(before);
    // While a writer holds the working copy, status says who, and does not wait for it to finish.
    const writing = await QuerySession.open(lib.repo, 'shop', { purpose: 'openduck query' });
    try {
      expect(await statusOf()).toMatchObject({ workingCopy: 'busy', writer: expect.stringContaining(`pid ${process.pid} `) });
    } finally {
      await writing.close();
    }

    // A diff stalled on its output (megabytes of JSON nobody reads yet) holds neither the lease nor
    // the file: a writer goes ahead, and the diff shows the working copy as it was when it started.
    await lib.sql('UPDATE t SET v = -2 WHERE id >= 100');
    const stalled = spawn('node', [BIN, 'diff', 'shop', '--format', 'json'], { cwd: dir, env: { ...process.env, OPENDUCK_REPO: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => stalled.once('exit', resolve));
    await new Promise((resolve) => stalled.stdout.once('readable', resolve));
    const writer = await runWith({ OPENDUCK_LEASE_WAIT_MS: '200' }, 'query', '--db', 'shop', 'INSERT INTO extra VALUES (43)');
    expect(writer.exitCode, writer.stderr).toBe(0);
    let output = '';
    for await (const part of stalled.stdout) output += String(part);
    expect(await exited).toBe(1);
    const seen = byName(JSON.parse(output));
    expect(seen.t.rows).toEqual({ added: 0, removed: 0, modified: 20000 - 100 + 3 });
    expect(seen.extra.rows).toEqual({ added: 1, removed: 0, modified: 0 });

    await lib.snapshot('recorded');
    expect(await statusOf()).toMatchObject({ workingCopy: 'clean', changes: [], blocksChanged: 0 });
    const after = await run('diff', 'shop', '--format', 'json');
    expect(after.exitCode).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ differences: false, tables: [] });

    // A write killed before its checkpoint leaves a WAL and an unchanged file: still a change.
    const killedWriter = `
      const { DuckDBInstance } = await import(${JSON.stringify(join(PROJECT_ROOT, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js'))});
      const con = await (await DuckDBInstance.create(':memory:')).connect();
      await con.run(${JSON.stringify(`ATTACH ${quoteLiteral(wcFile)} AS shop`)});
      await con.run("SET checkpoint_threshold = '1GB'");
      await con.run('INSERT INTO shop.extra VALUES (44)');
      process.exit(0);`;
    const killed = await execa('node', ['--input-type=module', '-e', killedWriter], { reject: false });
    expect(killed.exitCode, String(killed.stderr)).toBe(0);
    const withWal = await fingerprint();
    expect(await statusOf()).toMatchObject({ workingCopy: 'dirty', walPending: true, changes: [{ kind: 'table', name: 'extra', change: 'modified' }] });
    expect(byName(await diffJson(run, 'shop')).extra.changes).toEqual([{ op: 'added', count: 1, row: { answer: 44 } }]);
    expect(await fingerprint()).toEqual(withWal);
  });
});
