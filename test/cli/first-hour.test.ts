/**
 * Issue 13, "a CLI that feels like git in the first hour": each item driven as a user drives it,
 * one subprocess per command. Every test makes its own database, so none depends on another.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, expectOneLineError, tempDir, type CliResult } from '../helpers.js';
import { Repository } from '../../core/repository.js';
import { createDatabase } from '../../core/verbs/database.js';
import { createSnapshot } from '../../core/verbs/snapshot.js';
import { query } from '../../core/verbs/query.js';
import { validateNewName } from '../../core/names.js';

let dir: string;
const run = (...args: string[]) => cli(args, { cwd: dir, env: { OPENDUCK_AUTHOR: 'ada' } });
const ok = async (...args: string[]): Promise<CliResult> => {
  const r = await run(...args);
  expect(r.exitCode, `openduck ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
};
const json = async (...args: string[]) => JSON.parse((await ok(...args, '--json')).stdout);
const count = async (ref: string, table = 't') => JSON.parse((await ok('query', '--db', ref, `SELECT count(*) AS n FROM ${table}`, '--format', 'json')).stdout)[0].n;

/**
 * A database with table t and three snapshots on main after its first: one row, two rows, three
 * rows. Made through the library, since the setup is not what these tests are about.
 */
async function database(name: string): Promise<{ ids: string[] }> {
  const repo = await Repository.open({ repo: join(dir, '.openduck') });
  try {
    await createDatabase(repo, name);
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await query(repo, name, i === 1 ? 'CREATE TABLE t AS SELECT 1 AS x' : `INSERT INTO t VALUES (${i})`);
      ids.push((await createSnapshot(repo, name, { message: `rows ${i}` })).id);
    }
    return { ids };
  } finally {
    await repo.close();
  }
}

beforeAll(async () => {
  dir = await tempDir();
  await ok('init');
});

describe('help and mistakes', () => {
  it('help, help TOPIC COMMAND and -h work everywhere', async () => {
    const top = await ok('help');
    expect(top.stdout).toMatch(/^COMMANDS$/m);
    expect(top.stdout).toContain('snapshot');
    const helpLog = await ok('help', 'log');
    const dashH = await ok('log', '-h');
    expect(helpLog.stdout).toContain('$ openduck log REF');
    expect(dashH.stdout).toBe(helpLog.stdout);
    expect((await ok('snapshot', 'create', '-h')).stdout).toContain('openduck snapshot create shop -m "load Q3"');
    expect((await ok('help', 'branch', 'create')).stdout).toContain('USAGE');
  });

  it('completion for bash and zsh comes from the autocomplete plugin', async () => {
    const home = await tempDir();
    const env = { HOME: home, XDG_CACHE_HOME: join(home, '.cache') };
    const r = await cli(['autocomplete', 'bash'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('openduck autocomplete script bash');
    const functions = join(home, '.cache', 'openduck', 'autocomplete', 'functions');
    expect(await readFile(join(functions, 'bash', 'openduck.bash'), 'utf8')).toContain('snapshot:create');
    expect(await readFile(join(functions, 'zsh', '_openduck'), 'utf8')).toContain('checkout');
    const script = await cli(['autocomplete', 'script', 'zsh'], { cwd: dir, env });
    expect(script.exitCode, script.stderr).toBe(0);
    expect(script.stdout).toContain('OPENDUCK_AC_ZSH_SETUP_PATH');
  });

  it('a mistyped command gets one line naming the closest command, without the arguments', async () => {
    const line = expectOneLineError(await run('snapshto', 'create', 'sales', '-m', 'x'));
    expect(line).toBe('error: unknown command "snapshto create"; did you mean openduck snapshot create? (openduck help lists every command)');
    expect(expectOneLineError(await run('brnch', 'list', 'sales'))).toContain('did you mean openduck branch list?');
    expect(expectOneLineError(await run('lgo', 'sales'))).toContain('did you mean openduck log?');
    expect(expectOneLineError(await run('frobnicate'))).toBe('error: unknown command "frobnicate" (openduck help lists every command)');
  });

  it('query without --db says what to pass', async () => {
    const line = expectOneLineError(await run('query', 'SELECT 1'));
    expect(line).toContain('--db DB');
    expect(line).toContain("--db ''");
    expect(line).not.toContain('The following error occurred');
    expect(expectOneLineError(await run('query', '--db', '', 'SELECT 1'))).toContain("--db '' is a scratch database on a server: pass --endpoint");
  });
});

describe('refs: one grammar everywhere', () => {
  it('every command that takes a database and a ref accepts DB@REF in one argument, and the separate forms still work', async () => {
    const { ids } = await database('sales');
    await ok('tag', 'create', 'sales', 'v1', 'main~2');
    expect((await json('log', 'sales@v1')).map((e: { id: string }) => e.id)).toEqual([ids[0], expect.any(String)]);
    expect((await json('log', 'sales', '--branch', 'v1'))[0].id).toBe(ids[0]);
    expect((await json('snapshot', 'list', 'sales@main~1'))[0].id).toBe(ids[1]);
    expect((await json('snapshot', 'show', 'sales@v1')).id).toBe(ids[0]);
    expect((await json('snapshot', 'show', 'sales', 'main~1')).id).toBe(ids[1]);
    expect((await json('branch', 'create', 'sales@v1', 'from-tag')).head).toBe(ids[0]);
    expect((await json('branch', 'create', 'sales', 'from-flag', '--from', 'sales@main~1')).head).toBe(ids[1]);
    expect((await json('tag', 'create', 'sales@main~1', 'v2')).snapshot).toBe(ids[1]);
    expect((await json('tag', 'create', 'sales', 'v3', 'sales@main')).snapshot).toBe(ids[2]);
    expect(await json('checkout', 'sales@from-tag')).toMatchObject({ branch: 'from-tag', snapshot: ids[0] });
    expect((await json('checkout', 'sales', 'main')).branch).toBe('main');
    expect((await json('snapshot', 'restore', 'sales@v2')).restoredFrom).toBe(ids[1]);
    expect(expectOneLineError(await run('checkout', 'sales@v1'))).toContain('sales@v1 is a tag');
    expect(expectOneLineError(await run('tag', 'create', 'sales@main', 'v4', 'main~1'))).toContain('give the ref once');
    expect(expectOneLineError(await run('branch', 'create', 'sales', 'b', '--from', 'other@main'))).toContain('ref other@main names database other, not sales');
  });

  it('HEAD is the working copy branch head, and HEAD~N works', async () => {
    const { ids } = await database('heady');
    expect((await json('snapshot', 'show', 'heady@HEAD')).id).toBe(ids[2]);
    expect((await json('snapshot', 'show', 'heady@HEAD~2')).id).toBe(ids[0]);
    expect(await count('heady@HEAD~1')).toBe(2);
    await ok('branch', 'create', 'heady', 'side', '--from', 'HEAD~1');
    await ok('checkout', 'heady', 'side');
    expect((await json('snapshot', 'show', 'heady@HEAD')).id).toBe(ids[1]);
    expect((await ok('log', 'heady', '-n', '1')).stdout).toContain('(HEAD -> side)');
  });

  it('errors name the ref that was given, with its ~N', async () => {
    await database('tilde');
    expect(expectOneLineError(await run('query', '--db', 'tilde@main~1', 'DELETE FROM t'))).toMatch(/^error: tilde@main~1 is a committed snapshot/);
    expect(expectOneLineError(await run('query', '--db', 'tilde@main~5', 'SELECT 1'))).toMatch(/^error: ref not found: tilde@main~5 \(/);
    expect(expectOneLineError(await run('query', '--db', 'tilde@main~1', 'SELECT * FROM nope'))).toMatch(/^error: tilde@main~1: /);
  });

  it('branch and tag names may hold "/" by git rules', async () => {
    await database('slash');
    await ok('branch', 'create', 'slash', 'feature/x', '--from', 'main~1');
    await ok('tag', 'create', 'slash', 'release/v1.2.0', 'feature/x');
    expect(await count('slash@feature/x')).toBe(2);
    expect(await count('slash@release/v1.2.0')).toBe(2);
    await ok('checkout', 'slash', 'feature/x');
    expect((await ok('branch', 'list', 'slash')).stdout).toMatch(/^\* +feature\/x/m);
    expect(expectOneLineError(await run('branch', 'create', 'slash', 'a//b'))).toContain('invalid branch name "a//b"');
    expect(expectOneLineError(await run('tag', 'create', 'slash', 'v1..2'))).toContain('invalid tag name "v1..2"');
    for (const bad of ['/a', 'a/', '.a', 'a/.b', 'x.lock', 'a/-b']) expect(() => validateNewName('branch', bad), bad).toThrow(/invalid branch name/);
  });

  it('database names that differ only in case are refused', async () => {
    await ok('db', 'create', 'cased');
    expect(expectOneLineError(await run('db', 'create', 'CASED'))).toContain('database already exists: cased (database names ignore case');
    await ok('db', 'create', 'Cased-2');
    expect(expectOneLineError(await run('db', 'create', 'cased-2'))).toContain('database already exists: Cased-2');
    expect(expectOneLineError(await run('log', 'CASED'))).toBe('error: database not found: CASED (did you mean cased?)');
  });

  it('branch and tag names that read as an id prefix are refused, and --help states the order', async () => {
    const { ids } = await database('hexy');
    expect(expectOneLineError(await run('branch', 'create', 'hexy', ids[0]!, '--from', 'main'))).toContain('read as a snapshot id prefix');
    expect(expectOneLineError(await run('tag', 'create', 'hexy', ids[0]!.slice(0, 8), 'hexy@main'))).toContain('read as a snapshot id prefix');
    expect(expectOneLineError(await run('tag', 'create', 'hexy', 'DEADBEEF'))).toContain('read as a snapshot id prefix');
    expect(expectOneLineError(await run('branch', 'create', 'hexy', 'HEAD'))).toContain('invalid branch name "HEAD"');
    // Names that are short or not all hex stay allowed, and the id still reads its own snapshot.
    await ok('tag', 'create', 'hexy', 'cafe', 'main~1');
    await ok('branch', 'create', 'hexy', 'deadbeef-fix');
    expect(await count(`hexy@${ids[0]!.slice(0, 8)}`)).toBe(1);
    for (const id of ['branch:create', 'tag:create', 'log', 'snapshot:show']) {
      const help = (await ok('help', ...id.split(':'))).stdout.replace(/\s+/g, ' ');
      expect(help, id).toContain('a branch, a tag or a snapshot id prefix of 7+ hex characters, looked up in that order');
    }
  });
});

describe('safety', () => {
  it('init --repo on a folder that holds a repository is refused, and the repository stays visible', async () => {
    const holder = await tempDir();
    expect((await cli(['init'], { cwd: holder })).exitCode).toBe(0);
    expect((await cli(['db', 'create', 'kept'], { cwd: holder })).exitCode).toBe(0);
    expect(expectOneLineError(await cli(['init', '--repo', holder]))).toBe(`error: repository already exists: ${join(holder, '.openduck')}`);
    expect(expectOneLineError(await cli(['init'], { cwd: holder, env: { OPENDUCK_REPO: holder } }))).toContain('repository already exists');
    const list = JSON.parse((await cli(['db', 'list', '--json', '--repo', holder])).stdout);
    expect(list.map((d: { name: string }) => d.name)).toEqual(['kept']);
  });

  it('branch delete refuses to strand snapshots unless --force, and says how many', async () => {
    await database('strand');
    await ok('branch', 'create', 'strand', 'work');
    await ok('checkout', 'strand', 'work');
    for (const i of [10, 11]) {
      await ok('query', '--db', 'strand', `INSERT INTO t VALUES (${i})`);
      await ok('snapshot', 'create', 'strand', '-m', `work ${i}`);
    }
    await ok('checkout', 'strand', 'main');
    expect(expectOneLineError(await run('branch', 'delete', 'strand', 'work'))).toContain('would leave 2 snapshots that no other branch or tag reaches; pass --force');
    expect((await json('branch', 'list', 'strand')).map((b: { name: string }) => b.name)).toContain('work');
    await ok('tag', 'create', 'strand', 'keep', 'work~1');
    expect(expectOneLineError(await run('branch', 'delete', 'strand', 'work'))).toContain('would leave 1 snapshot that');
    expect((await ok('branch', 'delete', 'strand', 'work', '--force')).stdout).toContain('1 snapshot no longer reachable');
    await ok('branch', 'create', 'strand', 'merged');
    expect((await ok('branch', 'delete', 'strand', 'merged')).stdout).toMatch(/^Deleted branch strand@merged \(was [0-9a-f]{12}\)$/m);
  });

  it('db drop of a database that does not exist says so, with or without --force', async () => {
    expect(expectOneLineError(await run('db', 'drop', 'nope'))).toBe('error: database not found: nope');
    expect(expectOneLineError(await run('db', 'drop', 'nope', '--force'))).toBe('error: database not found: nope');
  });

  it('checkout of the branch the working copy is on is a no-op that keeps changes', async () => {
    await database('stay');
    await ok('query', '--db', 'stay', 'INSERT INTO t VALUES (99)');
    expect((await ok('checkout', 'stay', 'main')).stdout).toBe('Already on stay@main\n');
    expect((await ok('checkout', 'stay', 'HEAD')).stdout).toBe('Already on stay@main\n');
    expect(await count('stay')).toBe(4);
    await ok('branch', 'create', 'stay', 'other');
    expect(expectOneLineError(await run('checkout', 'stay', 'other'))).toContain('unsnapshotted changes');
  });

  it('snapshot create without -m records a message that says what it was, and log shows it', async () => {
    await ok('db', 'create', 'quiet');
    await ok('query', '--db', 'quiet', 'CREATE TABLE t AS SELECT 1 AS x');
    const r = await ok('snapshot', 'create', 'quiet');
    expect(r.stdout).toMatch(/^\[main [0-9a-f]{12}\] snapshot of quiet@main \(no message given\) \(/);
    expect((await ok('log', 'quiet', '-n', '1')).stdout).toMatch(/\(HEAD -> main\) snapshot of quiet@main \(no message given\)$/m);
    expect((await json('snapshot', 'show', 'quiet')).message).toBe('snapshot of quiet@main (no message given)');
  });
});

describe('the repository is found from a subfolder for every new form', () => {
  it('log DB@REF from a nested folder', async () => {
    await database('nested');
    const sub = join(dir, 'a', 'b');
    await mkdir(sub, { recursive: true });
    const r = await cli(['log', 'nested@main~1', '-n', '1'], { cwd: sub });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('rows 2');
  });
});
