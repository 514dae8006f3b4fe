import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { cli, cliRepository, expectOneLineError } from '../helpers.js';
import { startServeIn, startServer, stopAllServers, type ServerProcess } from './processes.js';
import { execute, outcome, rawClients } from './raw-grpc.js';
import { bearerMetadata } from '../../server/auth.js';
import { OpenDuckClient } from '../../server/client.js';
import { openduckV1 } from '../../server/proto.js';

/**
 * Clients and workers hold different credentials. A client cannot pose as a worker (and so
 * receive other clients' queries and credentials) nor remove one, and nobody can take over the
 * worker `serve` runs in its own process.
 */
let repo: Awaited<ReturnType<typeof cliRepository>>;
let server: ServerProcess;
let clientToken: string;
let workerToken: string;
const serverDir = () => join(repo.dir, '.openduck', 'server');

/** A gRPC server posing as a worker: it records every execution sent to it. */
async function fakeWorker(): Promise<{ endpoint: string; received: Array<{ sql: string; authorization: unknown }>; stop(): void }> {
  const received: Array<{ sql: string; authorization: unknown }> = [];
  const fake = new grpc.Server();
  fake.addService(openduckV1().ExecutionService.service, {
    ExecuteFragment: (call: grpc.ServerWritableStream<{ plan: Buffer }, unknown>) => {
      received.push({ sql: call.request.plan.toString(), authorization: call.metadata.get('authorization')[0] });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => fake.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { endpoint: `127.0.0.1:${port}`, received, stop: () => fake.forceShutdown() };
}

beforeAll(async () => {
  repo = await cliRepository();
  await repo.run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(10)');
  await repo.run('snapshot', 'create', 'shop', '-m', 'base');
  ({ server, token: clientToken } = await startServeIn(repo.dir));
  workerToken = (await readFile(join(serverDir(), 'worker-token'), 'utf8')).trim();
});

afterAll(async () => {
  await server?.stop();
  await stopAllServers();
});

/** Runs one query as a client and says which worker ran it. */
async function workerOfQuery(): Promise<string> {
  const client = new OpenDuckClient(server.endpoint, clientToken);
  try {
    const result = await client.execute('SELECT count(*) FROM t', { database: 'shop@main' });
    for await (const _ of result.batches) void _;
    return result.summary()!.workerId;
  } finally {
    client.close();
  }
}

describe('roles: clients and workers', () => {
  it('serve generates a client token and a separate worker credential, each mode 0600, and logs neither', async () => {
    for (const file of ['token', 'worker-token']) expect((await stat(join(serverDir(), file))).mode & 0o777, file).toBe(0o600);
    expect(workerToken.length).toBeGreaterThanOrEqual(32);
    expect(workerToken).not.toBe(clientToken);
    expect(server.output()).not.toContain(clientToken);
    expect(server.output()).not.toContain(workerToken);
    // One secret for both roles would let every client pose as a worker.
    const same = await cli(['serve', '--listen', '127.0.0.1:0', '--token', 'one-secret-for-all', '--worker-token', 'one-secret-for-all'], { cwd: repo.dir });
    expect(expectOneLineError(same)).toMatch(/the worker credential must differ from the client token/);
  });

  it('a client token cannot register, heartbeat or deregister workers; queries keep going to the real worker', async () => {
    const fake = await fakeWorker();
    const { execution, control, close } = rawClients(server.endpoint);
    try {
      const md = bearerMetadata(clientToken);
      const denied = [
        await outcome((cb) => execution.RegisterWorker({ workerId: 'local', endpoint: fake.endpoint }, md, cb)),
        await outcome((cb) => execution.RegisterWorker({ workerId: 'aaa-fake', endpoint: fake.endpoint }, md, cb)),
        await outcome((cb) => execution.Heartbeat({ workerId: 'local' }, md, cb)),
        await outcome((cb) => control.DeregisterWorker({ workerId: 'local' }, md, cb)),
      ];
      for (const d of denied) expect(d).toEqual({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/needs the worker credential, not a client token/) });
      // The worker `serve` runs is still the only one, and still gets the queries.
      expect(await workerOfQuery()).toBe('local');
      const status = await new Promise<{ workers: Array<{ workerId: string }> }>((resolve, reject) => control.GetStatus({}, md, (e, r) => (e ? reject(e) : resolve(r!))));
      expect(status.workers.map((w) => w.workerId)).toEqual(['local']);
      expect(fake.received).toEqual([]);
    } finally {
      close();
      fake.stop();
    }
  });

  it('the worker credential cannot replace or remove the in-process worker, nor act as a client', async () => {
    const fake = await fakeWorker();
    const { execution, control, close } = rawClients(server.endpoint);
    try {
      const md = bearerMetadata(workerToken);
      expect(await outcome((cb) => execution.RegisterWorker({ workerId: 'local', endpoint: fake.endpoint }, md, cb))).toEqual({
        code: grpc.status.ALREADY_EXISTS,
        details: expect.stringMatching(/worker already exists: local \(it is live at in-process/),
      });
      expect(await outcome((cb) => control.DeregisterWorker({ workerId: 'local' }, md, cb))).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringMatching(/runs inside the gateway's process and cannot be deregistered/),
      });
      expect(await workerOfQuery()).toBe('local');
      expect(fake.received).toEqual([]);
      // Clients' calls need the client token.
      expect(await outcome((cb) => control.GetStatus({}, md, cb))).toEqual({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/for clients/) });
      expect(await execute(server.endpoint, workerToken, { plan: Buffer.from('SELECT 1'), database: '' })).toMatchObject({ code: grpc.status.PERMISSION_DENIED, rows: 0 });
    } finally {
      close();
      fake.stop();
    }
  });

  it('--insecure-no-auth checks the addresses the listen name resolves to, and binds the one it checked', async () => {
    // A name that merely starts like a loopback address proves nothing.
    expect(expectOneLineError(await cli(['serve', '--listen', '127.evil.example:0', '--insecure-no-auth'], { cwd: repo.dir }))).toMatch(
      /--insecure-no-auth only works on a loopback address, and 127\.evil\.example does not resolve/,
    );
    const open = await startServer(['serve', '--listen', 'localhost:0', '--insecure-no-auth'], { cwd: repo.dir });
    try {
      expect(open.endpoint).toMatch(/^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/);
      expect(await execute(open.endpoint, null, { plan: Buffer.from('SELECT 1'), database: '' })).toMatchObject({ code: grpc.status.OK, rows: 1 });
    } finally {
      await open.stop();
    }
  });
});
