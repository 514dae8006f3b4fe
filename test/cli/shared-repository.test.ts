/**
 * A shared repository driven through the CLI: history in a real PostgreSQL and a real S3 server,
 * every earlier command unchanged, a second folder joined to the same stores seeing the same
 * history, and secrets kept out of config, output and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, expectOneLineError, tempDir, type CliResult } from '../helpers.js';
import { startPostgres, startS3, type PostgresServer, type S3Server } from '../shared-stores.js';

let postgres: PostgresServer;
let s3: S3Server;
let env: Record<string, string>;

beforeAll(async () => {
  [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  env = { ...postgres.env, ...s3.env };
});

afterAll(async () => {
  await Promise.all([postgres?.close(), s3?.close()]);
});

function runner(dir: string, extraEnv: Record<string, string> = env) {
  return async (...args: string[]): Promise<CliResult> => cli(args, { cwd: dir, env: extraEnv });
}

async function ok(r: CliResult): Promise<CliResult> {
  expect(r.exitCode, r.stderr).toBe(0);
  return r;
}

const json = async (r: Promise<CliResult>) => JSON.parse((await ok(await r)).stdout);

describe('a shared repository on PostgreSQL and S3', () => {
  it('runs every command unchanged, and a second folder joined to the same stores sees the same history', async () => {
    const url = await postgres.createDatabase();
    const objects = s3.newLocation();
    const stores = ['--metadata', url, '--objects', objects, '--s3-endpoint', s3.endpoint];
    const a = await tempDir();
    const runA = runner(a);

    expect((await ok(await runA('init', ...stores))).stdout).toBe(
      `Initialized shared OpenDuck repository in ${url} and ${objects} at ${s3.endpoint}; working area ${join(a, '.openduck')}\n`,
    );
    const config = await readFile(join(a, '.openduck', 'config.toml'), 'utf8');
    expect(config).toContain(`metadata = "${url}"`);
    expect(config).toContain(`objects = "${objects}"`);
    expect(config).toContain(`s3_endpoint = "${s3.endpoint}"`);
    // The history is in the stores, not in the folder.
    await expect(stat(join(a, '.openduck', 'metadata.duckdb'))).rejects.toThrow();
    await expect(stat(join(a, '.openduck', 'objects'))).rejects.toThrow();

    await ok(await runA('db', 'create', 'shop'));
    await ok(await runA('query', '--db', 'shop', 'CREATE TABLE users AS SELECT range AS id FROM range(1000)'));
    const one = await json(runA('snapshot', 'create', 'shop', '-m', 'users', '--json'));
    await ok(await runA('branch', 'create', 'shop', 'dev'));
    await ok(await runA('checkout', 'shop', 'dev'));
    await ok(await runA('query', '--db', 'shop', 'INSERT INTO users SELECT range FROM range(1000, 1500)'));
    const two = await json(runA('snapshot', 'create', 'shop', '-m', 'more users', '--json'));
    expect(two.parent).toBe(one.id);
    await ok(await runA('tag', 'create', 'shop', 'v1'));
    const logA = await json(runA('log', 'shop', '--graph', '--json'));
    expect(logA.map((e: { message: string }) => e.message)).toEqual(['more users', 'users', 'create database shop']);
    expect((await json(runA('fsck', '--json'))).ok).toBe(true);

    const b = await tempDir();
    const runB = runner(b);
    expect((await ok(await runB('init', ...stores))).stdout).toBe(
      `Joined the shared repository in ${url} and ${objects} at ${s3.endpoint} (1 database); working area ${join(b, '.openduck')}\n`,
    );
    // The same history; HEAD is each folder's own (A's working copy is on dev, B's on main).
    const withoutHead = (entries: Array<Record<string, unknown>>) => entries.map(({ currentBranch: _, ...e }) => e);
    const logB = await json(runB('log', 'shop', '--graph', '--json'));
    expect(withoutHead(logB)).toEqual(withoutHead(logA));
    expect(logB.find((e: { currentBranch?: string }) => e.currentBranch)?.currentBranch).toBe('main');
    expect(await json(runB('query', '--db', 'shop@v1', 'SELECT count(*) AS n FROM users', '--format', 'json'))).toEqual([{ n: 1500 }]);
    // B's own working copy starts on the default branch's head.
    expect(await json(runB('query', '--db', 'shop', 'SELECT count(*) AS n FROM users', '--format', 'json'))).toEqual([{ n: 1000 }]);
    expect((await json(runB('fsck', '--json'))).ok).toBe(true);

    // gc from one folder trims the history every folder sees.
    const dry = await json(runB('gc', '--keep-last', '1', '--dry-run', '--json'));
    expect(dry.databases.map((d: { name: string; expired: { message: string }[] }) => [d.name, d.expired.map((e) => e.message)])).toEqual([
      ['shop', ['create database shop']],
    ]);
    await ok(await runB('gc', '--keep-last', '1', '--grace', '0'));
    expect((await json(runA('log', 'shop', '--graph', '--json'))).map((e: { message: string }) => e.message)).toEqual(['more users', 'users']);
    expect((await json(runA('fsck', '--json'))).problems).toEqual([]);
  });

  it('keeps a password given in the URL in a 0600 file, never in config, output or errors', async () => {
    const url = await postgres.createDatabase();
    const withPassword = url.replace('postgres@', `postgres:${postgres.password}@`);
    const objects = s3.newLocation();
    const noPassword = { ...s3.env };
    const c = await tempDir();
    const init = await runner(c, noPassword)('init', '--metadata', withPassword, '--objects', objects, '--s3-endpoint', s3.endpoint);
    await ok(init);
    expect(init.stdout + init.stderr).not.toContain(postgres.password);
    const credentials = join(c, '.openduck', 'credentials');
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);
    expect(await readFile(join(c, '.openduck', 'config.toml'), 'utf8')).not.toContain(postgres.password);
    const created = await runner(c, noPassword)('db', 'create', 'shop');
    await ok(created);

    // Joining with the wrong bucket is refused, and leaves no half-made repository behind.
    const d = await tempDir();
    const wrongBucket = expectOneLineError(await runner(d)('init', '--metadata', url, '--objects', s3.newLocation(), '--s3-endpoint', s3.endpoint));
    expect(wrongBucket).toMatch(new RegExp(`^error: PostgreSQL at 127\\.0\\.0\\.1:${postgres.port}/\\w+ belongs to a repository whose objects are in ${objects}, not s3://`));
    await expect(stat(join(d, '.openduck'))).rejects.toThrow();

    // A wrong password is named as a refused login, without the password.
    const e = await tempDir();
    const wrong = await runner(e, { ...s3.env, PGPASSWORD: 'not-the-password' })('init', '--metadata', url, '--objects', objects, '--s3-endpoint', s3.endpoint);
    expect(expectOneLineError(wrong)).toMatch(new RegExp(`^error: PostgreSQL at 127\\.0\\.0\\.1:${postgres.port}/\\w+: login refused`));
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password');
    await expect(stat(join(e, '.openduck'))).rejects.toThrow();

    // Half a shared configuration is a usage error.
    expect(expectOneLineError(await runner(e)('init', '--objects', objects))).toBe(
      'error: a shared repository needs both --metadata postgres://… and --objects s3://… (--s3-endpoint and --s3-region go with them)',
    );
  });
});
