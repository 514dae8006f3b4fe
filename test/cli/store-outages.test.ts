/**
 * Clean failures: PostgreSQL or S3 stops in the middle of `snapshot create` or `gc`. The command
 * fails with one line naming the service it lost, and once the service is back the repository
 * is consistent (fsck passes) and the same command succeeds.
 *
 * "In the middle" is made exact with a relay in front of the S3 server: it holds the first
 * request of the chosen kind (a layer upload, a delete) while the test stops a service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectOneLineError, spawnCli, tempDir, type CliResult } from '../helpers.js';
import { join } from 'node:path';
import { Repository } from '../../core/repository.js';
import { query } from '../../core/verbs/query.js';
import { fsck } from '../../core/verbs/fsck.js';
import { log } from '../../core/verbs/log.js';
import { exportCredentials, startFaultRelay, startPostgres, startS3, type FaultRelay, type PostgresServer, type RequestMatch, type S3Server } from '../shared-stores.js';

let postgres: PostgresServer;
let s3: S3Server;
let relay: FaultRelay;
let dir: string;
let env: Record<string, string>;
let restoreEnv = () => {};

const run = (...args: string[]) => cli(args, { cwd: dir, env });

async function ok(r: CliResult): Promise<CliResult> {
  expect(r.exitCode, r.stderr).toBe(0);
  return r;
}

beforeAll(async () => {
  [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  relay = await startFaultRelay(s3.port);
  env = { ...postgres.env, ...s3.env };
  restoreEnv = exportCredentials(postgres, s3);
  dir = await tempDir();
  await ok(await run('init', '--metadata', await postgres.createDatabase(), '--objects', s3.newLocation(), '--s3-endpoint', relay.endpoint));
  await ok(await run('db', 'create', 'shop'));
});

afterAll(async () => {
  restoreEnv();
  await relay?.close();
  await Promise.all([postgres?.close(), s3?.close()]);
});

/** Runs the command until it makes a request matching `at`, stops a service, then lets it go on. */
async function interrupt(at: RequestMatch, stop: () => Promise<void>, ...args: string[]): Promise<CliResult> {
  const held = relay.hold(at);
  const child = spawnCli(args, { cwd: dir, env });
  const finished = child.then((r) => r);
  const first = await Promise.race([held.arrived.then(() => 'held' as const), finished.then(() => 'finished' as const)]);
  if (first === 'finished') throw new Error(`openduck ${args.join(' ')} finished before reaching the interruption: ${(await finished).stderr}`);
  await stop();
  held.release();
  const r = await finished;
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const LAYER_UPLOAD: RequestMatch = { method: 'PUT', path: /\/layers\// };
const DELETE: RequestMatch = { method: 'DELETE' };

type Service = 'PostgreSQL' | 'S3';
const services: Record<Service, { stop(): Promise<void>; start(): Promise<void>; gone(): RegExp }> = {
  PostgreSQL: {
    stop: () => postgres.stop(),
    start: () => postgres.start(),
    gone: () => new RegExp(`^error: PostgreSQL at 127\\.0\\.0\\.1:${postgres.port}/\\w+ is unreachable: `),
  },
  S3: {
    stop: () => s3.stop(),
    start: () => s3.start(),
    gone: () => new RegExp(`^error: S3 bucket s3://${s3.bucket}/[\\w-]+ at ${relay.endpoint.replace(/\./g, '\\.')} is unreachable: `),
  },
};

/** The command fails naming the service, and once it is back the repository passes fsck. */
async function failsCleanly(service: Service, at: RequestMatch, ...args: string[]): Promise<void> {
  const r = await interrupt(at, () => services[service].stop(), ...args);
  expect(expectOneLineError(r)).toMatch(services[service].gone());
  await services[service].start();
  await fsckPasses();
}

/** Opens the repository in this process, for the steps around the command under test. */
async function withRepository<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open({ repo: join(dir, '.openduck') });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/** Replaces table t with `rows` new rows. */
async function change(rows: number): Promise<void> {
  await withRepository((repo) => query(repo, 'shop', `CREATE OR REPLACE TABLE t AS SELECT range AS id, md5((range * ${rows})::VARCHAR) AS v FROM range(${rows})`));
}

async function count(ref: string): Promise<number> {
  return withRepository(async (repo) => Number((await query(repo, ref, 'SELECT count(*) AS n FROM t')).rows[0]!.n));
}

async function fsckPasses(): Promise<void> {
  expect((await withRepository((repo) => fsck(repo))).problems).toEqual([]);
}

describe('a service that stops mid-command', () => {
  it.each(['PostgreSQL', 'S3'] as const)('snapshot create: %s stops while the layer uploads', async (service) => {
    const rows = service === 'S3' ? 30_000 : 20_000;
    await change(rows);
    await failsCleanly(service, LAYER_UPLOAD, 'snapshot', 'create', 'shop', '-m', 'interrupted');
    await ok(await run('snapshot', 'create', 'shop', '-m', 'after the outage'));
    expect(await count('shop@main')).toBe(rows);
  });

  it('gc: PostgreSQL stops, then S3 stops, while objects are deleted', async () => {
    for (const service of ['PostgreSQL', 'S3'] as const) {
      await change(service === 'S3' ? 40_000 : 50_000);
      await ok(await run('snapshot', 'create', 'shop', '-m', service));
      await failsCleanly(service, DELETE, 'gc', '--keep-last', '1', '--grace', '0');
    }
    // Once both are back, gc finishes the job and what stays reads back.
    await ok(await run('gc', '--keep-last', '1', '--grace', '0'));
    await fsckPasses();
    expect(await count('shop@main')).toBe(40_000);
    expect((await withRepository((repo) => log(repo, 'shop'))).map((e) => e.message)).toEqual(['S3']);
  });
});
