import { beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, expectOneLineError, tempDir } from '../helpers.js';
import { Repository } from '../../core/repository.js';

let dir: string;
const run = (...args: string[]) => cli(args, { cwd: dir });
const json = async (...args: string[]) => {
  const r = await run(...args, '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  dir = await tempDir();
  expect((await run('init')).exitCode).toBe(0);
  expect((await run('db', 'create', 'shop')).exitCode).toBe(0);
});

describe('repository discovery', () => {
  it('refuses to re-init, finds the repository from a subfolder, and honours --repo and OPENDUCK_REPO', async () => {
    expect(expectOneLineError(await run('init'))).toContain('already exists');
    const sub = join(dir, 'a', 'b');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
    expect((await cli(['db', 'list', '--json'], { cwd: sub })).exitCode).toBe(0);
    const elsewhere = await tempDir();
    expect(expectOneLineError(await cli(['db', 'list'], { cwd: elsewhere }))).toBe('error: not an openduck repository (run openduck init)');
    expect((await cli(['db', 'list', '--repo', join(dir, '.openduck')], { cwd: elsewhere })).exitCode).toBe(0);
    expect((await cli(['db', 'list'], { cwd: elsewhere, env: { OPENDUCK_REPO: join(dir, '.openduck') } })).exitCode).toBe(0);
    const other = join(await tempDir(), 'custom');
    expect((await cli(['init', '--repo', other])).exitCode).toBe(0);
    expect((await cli(['db', 'create', 'x', '--repo', other])).exitCode).toBe(0);
  });
});

describe('query', () => {
  it('reads SQL from the argument, --file and stdin, in table, json and csv', async () => {
    expect((await run('query', '--db', 'shop', "CREATE TABLE users AS SELECT range AS id, 'user ' || range AS name FROM range(5)")).exitCode).toBe(0);
    const table = await run('query', '--db', 'shop', 'SELECT * FROM users ORDER BY id');
    expect(table.stdout).toContain('│ user 4');
    expect(table.stdout).toContain('(5 rows)');
    const sqlFile = join(dir, 'q.sql');
    await writeFile(sqlFile, 'SELECT count(*) AS n FROM users');
    expect(JSON.parse((await run('query', '--db', 'shop', '--file', sqlFile, '--format', 'json')).stdout)).toEqual([{ n: 5 }]);
    const piped = await cli(['query', '--db', 'shop', '--format', 'csv'], { cwd: dir, input: 'SELECT id, name FROM users WHERE id < 2 ORDER BY id' });
    expect(piped.stdout).toBe('id,name\n0,user 0\n1,user 1\n');
  });

  it('keeps JSON numbers exact and uses strings where a double would round', async () => {
    const r = await run(
      'query',
      '--db',
      'shop',
      `SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 123.45::DECIMAL(10,2) AS dec,
              12345678901234567.89::DECIMAL(38,2) AS bigdec, 'NaN'::DOUBLE AS nan, 1.5::DOUBLE AS d,
              NULL AS n, [1, 2] AS l, {'a': 1} AS s, DATE '2024-02-29' AS dt, TRUE AS b`,
      '--format',
      'json',
    );
    expect(JSON.parse(r.stdout)).toEqual([
      { big: '9007199254740993', small: 42, dec: 123.45, bigdec: '12345678901234567.89', nan: 'NaN', d: 1.5, n: null, l: [1, 2], s: { a: 1 }, dt: '2024-02-29', b: true },
    ]);
  });

  it('refuses writes to a snapshot with a clear error', async () => {
    await run('snapshot', 'create', 'shop', '-m', 'users');
    const line = expectOneLineError(await run('query', '--db', 'shop@main', 'INSERT INTO users VALUES (9, $$x$$)'));
    expect(line).toMatch(/shop@main is a committed snapshot and is read-only/);
  });
});

describe('snapshots, branches, tags and log', () => {
  it('prints 12-character ids for humans and full ids in --json; any unique 7+ prefix resolves', async () => {
    await run('query', '--db', 'shop', 'INSERT INTO users VALUES (5, $$five$$)');
    const created = await json('snapshot', 'create', 'shop', '-m', 'five');
    expect(created).toMatchObject({ created: true, branch: 'main', blocksChanged: expect.any(Number), bytesWritten: expect.any(Number) });
    expect(created.id).toMatch(/^[0-9a-f]{64}$/);
    expect(created.parent).toMatch(/^[0-9a-f]{64}$/);
    const human = await run('snapshot', 'list', 'shop');
    expect(human.stdout).toContain(created.id.slice(0, 12));
    expect(human.stdout).not.toContain(created.id.slice(0, 13));
    const shown = await json('snapshot', 'show', `shop@${created.id.slice(0, 7)}`);
    expect(shown.id).toBe(created.id);
    expect(shown.message).toBe('five');
    const nothing = await json('snapshot', 'create', 'shop');
    expect(nothing).toMatchObject({ created: false, id: created.id });
    expect((await run('snapshot', 'create', 'shop')).stdout).toContain('nothing to snapshot');
  });

  it('branches copy nothing, list marks the current one, and the current one cannot be deleted', async () => {
    const b = await json('branch', 'create', 'shop', 'exp', '--from', 'main~1');
    const main = await json('snapshot', 'show', 'shop@main~1');
    expect(b.head).toBe(main.id);
    const list = await run('branch', 'list', 'shop');
    expect(list.stdout).toMatch(/^\* +main/m);
    expect(list.stdout).toMatch(/^ +exp/m);
    expect(expectOneLineError(await run('branch', 'delete', 'shop', 'main'))).toContain('current branch');
    expect(expectOneLineError(await run('branch', 'create', 'shop', 'exp'))).toContain('already exists');
  });

  it('checkout refuses to discard changes unless forced, and switches content', async () => {
    await run('query', '--db', 'shop', 'DELETE FROM users');
    expect(expectOneLineError(await run('checkout', 'shop', 'exp'))).toContain('unsnapshotted changes');
    const r = await json('checkout', 'shop', 'exp', '--force');
    expect(r.branch).toBe('exp');
    expect(JSON.parse((await run('query', '--db', 'shop', 'SELECT count(*) AS n FROM users', '--format', 'json')).stdout)).toEqual([{ n: 5 }]);
    await run('query', '--db', 'shop', 'INSERT INTO users VALUES (100, $$exp$$)');
    await run('snapshot', 'create', 'shop', '-m', 'on exp');
    const graph = await run('log', 'shop', '--graph');
    expect(graph.stdout).toMatch(/^\* [0-9a-f]{12} .*\(HEAD -> exp\) on exp$/m);
    expect(graph.stdout).toMatch(/^\| \* [0-9a-f]{12} .*\(main\) five$/m);
    expect(graph.stdout).toMatch(/^\|\/$/m);
    expect((await run('checkout', 'shop', 'main')).exitCode).toBe(0);
  });

  it('tags are immutable names that refs resolve', async () => {
    const t = await json('tag', 'create', 'shop', 'v1', 'main~1');
    expect(expectOneLineError(await run('tag', 'create', 'shop', 'v1'))).toContain('already exists');
    expect((await json('snapshot', 'show', 'shop@v1')).id).toBe(t.snapshot);
    expect((await json('tag', 'list', 'shop')).map((x: { name: string }) => x.name)).toEqual(['v1']);
    expect(JSON.parse((await run('query', '--db', 'shop@v1', 'SELECT count(*) AS n FROM users', '--format', 'json')).stdout)).toEqual([{ n: 5 }]);
    await run('tag', 'delete', 'shop', 'v1');
    expect(expectOneLineError(await run('snapshot', 'show', 'shop@v1'))).toContain('shop@v1');
  });

  it('log lists first-parent history newest first', async () => {
    const entries = await json('log', 'shop');
    expect(entries.map((e: { message: string }) => e.message)).toEqual(['five', 'users', 'create database shop']);
  });

  it('every command has --help with an example', async () => {
    const manifest = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(join(import.meta.dirname, '../../oclif.manifest.json'), 'utf8')));
    for (const [id, command] of Object.entries(manifest.commands) as [string, { examples?: string[] }][]) {
      expect(command.examples?.length, id).toBeGreaterThan(0);
    }
    const help = await run('snapshot', 'create', '--help');
    expect(help.stdout).toContain('EXAMPLES');
    expect(help.stdout).toContain('openduck snapshot create shop -m "load Q3"');
  });
});

describe('bad input fails with one line, non-zero, no stack trace', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['bad database name', ['db', 'create', 'no spaces'], /invalid database name/],
    ['too long name', ['db', 'create', 'x'.repeat(65)], /invalid database name/],
    ['path-like name', ['db', 'create', '../etc'], /invalid database name/],
    ['bad branch name', ['branch', 'create', 'shop', 'a//b'], /invalid branch name/],
    ['bad tag name', ['tag', 'create', 'shop', 'v 1'], /invalid tag name/],
    ['unknown database', ['query', '--db', 'nope', 'SELECT 1'], /database not found: nope/],
    ['unknown ref', ['query', '--db', 'shop@nosuch', 'SELECT 1'], /ref not found: shop@nosuch/],
    ['short id prefix', ['snapshot', 'show', 'shop@abc'], /at least 7/],
    ['malformed ref', ['query', '--db', 'shop@@x', 'SELECT 1'], /malformed ref/],
    ['too far back', ['snapshot', 'show', 'shop@main~99'], /has only/],
    ['SQL error', ['query', '--db', 'shop', 'SELEC 1'], /Parser Error/],
    // A runtime error millions of rows in must fail the query, not cut the result short.
    ['error mid-result', ['query', '--db', 'shop@main', "SELECT CASE WHEN range = 3000000 THEN error('boom') ELSE range END AS x FROM range(5000000)", '--format', 'csv'], /boom/],
    ['missing table', ['query', '--db', 'shop@main', 'SELECT * FROM nope'], /nope/],
    ['no SQL', ['query', '--db', 'shop'], /no SQL given/],
    ['missing argument', ['db', 'create'], /Missing 1 required arg/],
    ['unknown flag', ['db', 'list', '--bogus'], /Nonexistent flag/],
    ['drop without force', ['db', 'drop', 'shop'], /--force/],
    ['unknown branch checkout', ['checkout', 'shop', 'ghost'], /ref not found: shop@ghost/],
    ['compute context without a server', ['query', '--db', 'shop', '--compute-context', 'region=eu', 'SELECT 1'], /needs a server/],
    ['bad memory limit', ['serve', '--listen', '127.0.0.1:0', '--memory-limit', 'lots'], /invalid --memory-limit "lots"/],
    ['bad daemon memory limit', ['daemon', 'start', '--listen', '127.0.0.1:0', '--memory-limit', 'lots'], /invalid --memory-limit "lots"/],
    ['advertise with a random listen port', ['worker', '--gateway', '127.0.0.1:1', '--listen', '127.0.0.1:0', '--advertise', '127.0.0.1:7901'], /needs --listen with a fixed port/],
    ['malformed worker compute context', ['worker', '--gateway', '127.0.0.1:1', '--compute-context', 'a=b,,c'], /malformed --compute-context/],
  ];
  for (const [label, args, pattern] of cases) {
    it(label, async () => {
      expect(expectOneLineError(await run(...args))).toMatch(pattern);
    });
  }

  it('ambiguous id prefix lists the candidates', async () => {
    // A repository of its own: the colliding rows below have no objects behind them.
    const own = await tempDir();
    await cli(['init'], { cwd: own });
    await cli(['db', 'create', 'shop'], { cwd: own });
    const repo = await Repository.open({ repo: join(own, '.openduck') });
    const head = (await repo.metadata.getBranch('shop', 'main'))!.head;
    const row = (await repo.metadata.getSnapshot('shop', head))!;
    for (const id of ['deadbee1', 'deadbee2'].map((p) => p + '0'.repeat(56))) await repo.metadata.putSnapshot({ ...row, id });
    await repo.close();
    const line = expectOneLineError(await cli(['snapshot', 'show', 'shop@deadbee'], { cwd: own }));
    expect(line).toMatch(/ambiguous ref shop@deadbee: matches deadbee10000.*deadbee20000/);
  });

  it('a missing repository, with --json, still prints one line on stderr and a JSON error on stdout', async () => {
    const r = await cli(['db', 'list', '--json'], { cwd: await tempDir() });
    expect(expectOneLineError(r)).toContain('not an openduck repository');
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'NOT_A_REPOSITORY', message: 'not an openduck repository (run openduck init)' } });
  });
});

describe('db drop', () => {
  it('drops with --force', async () => {
    expect((await run('db', 'create', 'scratch')).exitCode).toBe(0);
    expect((await run('db', 'drop', 'scratch', '--force')).exitCode).toBe(0);
    expect((await json('db', 'list')).map((d: { name: string }) => d.name)).toEqual(['shop']);
    expect((await run('fsck')).exitCode).toBe(0);
  });
});
