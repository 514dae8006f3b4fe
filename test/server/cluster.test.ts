import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliRepository, expectOneLineError } from '../helpers.js';
import { startServer, stopAllServers, waitFor, type ServerProcess } from './processes.js';
import { OpenDuckClient, type RemoteResult } from '../../server/client.js';

/**
 * A gateway and workers as separate processes on loopback, sharing one repository (the embedded
 * stores are opened per operation, so processes take turns). Heartbeats are fast so eviction is
 * quick to observe.
 */
const TOKEN = 'cluster-test-token-0123456789abcdef';
const WORKER_TOKEN = 'cluster-test-worker-credential-0123456789';
const HEARTBEAT_MS = 300;
/** The gateway reads both; workers only the worker credential. */
const env = { OPENDUCK_TOKEN: TOKEN, OPENDUCK_WORKER_TOKEN: WORKER_TOKEN };

let repo: Awaited<ReturnType<typeof cliRepository>>;
let gateway: ServerProcess;
const workers: ServerProcess[] = [];

async function startWorker(id: string, extra: string[] = []): Promise<ServerProcess> {
  const w = await startServer(['worker', '--gateway', gateway.endpoint, '--id', id, ...extra], { cwd: repo.dir, env });
  workers.push(w);
  return w;
}

async function drain(result: RemoteResult): Promise<number> {
  let rows = 0;
  for await (const b of result.batches) rows += b.length;
  return rows;
}

async function workerOf(client: OpenDuckClient, sql: string, database: string, computeContext = ''): Promise<string> {
  const r = await client.execute(sql, { database, computeContext });
  await drain(r);
  return r.summary()!.workerId;
}

let client: OpenDuckClient;

beforeAll(async () => {
  repo = await cliRepository('alpha');
  await repo.run('db', 'create', 'beta');
  for (const db of ['alpha', 'beta']) {
    await repo.run('query', '--db', db, 'CREATE TABLE t AS SELECT range AS id FROM range(1000)');
    await repo.run('snapshot', 'create', db, '-m', 'base');
  }
  gateway = await startServer(['gateway', '--listen', '127.0.0.1:0', '--heartbeat-interval', String(HEARTBEAT_MS), '--max-queue', '2'], { cwd: repo.dir, env });
  await startWorker('wa', ['--db', 'alpha', '--compute-context', 'region=eu', '--max-concurrency', '1']);
  await startWorker('wb', ['--db', 'beta', '--compute-context', 'region=us', '--max-concurrency', '1']);
  client = new OpenDuckClient(gateway.endpoint, TOKEN);
  await waitFor('two workers', async () => (await client.status()).workers.length === 2);
});

afterAll(async () => {
  client?.close();
  for (const w of workers) await w.stop(5000);
  await gateway?.stop(5000);
  await stopAllServers();
});

describe('gateway and workers', () => {
  it('routes by database affinity, then compute context, then any worker', async () => {
    expect(await workerOf(client, 'SELECT count(*) FROM t', 'alpha@main')).toBe('wa');
    expect(await workerOf(client, 'SELECT count(*) FROM t', 'beta@main')).toBe('wb');
    // Affinity wins over a context that points elsewhere.
    expect(await workerOf(client, 'SELECT count(*) FROM t', 'alpha@main', 'region=us')).toBe('wa');
    // No affinity: the compute context decides.
    expect(await workerOf(client, 'SELECT 1', '', 'region=us')).toBe('wb');
    expect(await workerOf(client, 'SELECT 1', '', 'region=eu')).toBe('wa');
  });

  it('query --compute-context asks the gateway for a worker with those labels', async () => {
    for (const [context, expected] of [
      ['region=us', 'wb'],
      ['region=eu', 'wa'],
    ] as const) {
      const id = `ctx-${expected}`;
      const running = repo.runWith(env, 'query', '--endpoint', gateway.endpoint, '--db', '', '--compute-context', context, '--execution-id', id, 'SELECT count(*) FROM range(20000000000)');
      const seen = await waitFor(`execution ${id}`, async () => (await client.status()).executions.find((e) => e.executionId === id && e.state === 'running'));
      expect(seen.workerId).toBe(expected);
      expect(await client.cancel(id)).toBe(true);
      expect(expectOneLineError(await running)).toBe('error: cancelled');
    }
    expect(expectOneLineError(await repo.runWith(env, 'query', '--endpoint', gateway.endpoint, '--db', '', '--compute-context', 'region', 'SELECT 1'))).toMatch(/malformed --compute-context/);
  });

  it('honours max_concurrency, queues up to --max-queue and refuses the rest with RESOURCE_EXHAUSTED', async () => {
    const slow = 'SELECT count(*) FROM range(1500000000)';
    // Two workers with one slot each, a queue of two: the fifth concurrent request is refused.
    const started = await Promise.allSettled(Array.from({ length: 5 }, () => client.execute(slow, { database: '' }).then(drain)));
    const refused = started.filter((s) => s.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason.message)).toMatch(/busy/);
    expect(started.filter((s) => s.status === 'fulfilled')).toHaveLength(4);
    expect((await client.status()).executions).toEqual([]);
  });

  it('sends writes to one writer per database, and snapshot create through the server seals there', async () => {
    const owners = new Set<string>();
    for (let i = 0; i < 3; i++) owners.add(await workerOf(client, `INSERT INTO t VALUES (${10_000 + i})`, 'beta'));
    expect(owners.size).toBe(1);
    const sealed = await client.createSnapshot('beta', 'three rows');
    expect(sealed.created).toBe(true);
    const r = await client.execute('SELECT count(*) AS n FROM t', { database: `beta@${sealed.id}` });
    const rows: unknown[][] = [];
    for await (const b of r.batches) rows.push(...b);
    expect(String(rows[0]![0])).toBe('1003');
  });

  it('a worker killed mid-stream fails the stream within 5 s, is evicted, and the next query goes to a live worker', async () => {
    await repo.run('db', 'create', 'gamma');
    const victim = await startWorker('wc', ['--db', 'gamma']);
    await waitFor('worker wc', async () => (await client.status()).workers.some((w) => w.workerId === 'wc'));
    const r = await client.execute('SELECT range AS x, md5(range::VARCHAR) AS h FROM range(200000000)', { database: 'gamma@main' });
    let killedAt = 0;
    const reading = (async () => {
      for await (const b of r.batches) {
        if (b.length > 0 && !killedAt) {
          killedAt = Date.now();
          workers.splice(workers.indexOf(victim), 1);
          await victim.kill();
        }
      }
    })();
    await expect(reading).rejects.toThrow(/wc failed|unreachable|unavailable|connection|closed/i);
    expect(killedAt).toBeGreaterThan(0);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    await waitFor('eviction of wc', async () => !(await client.status()).workers.some((w) => w.workerId === 'wc'), 3 * HEARTBEAT_MS + 2000);
    expect(await workerOf(client, 'SELECT 1', 'gamma@main')).toMatch(/^w[ab]$/);
    expect((await client.status()).executions).toEqual([]);
  });

  it('evicts a worker whose heartbeats stop within three intervals', async () => {
    const silent = await startWorker('wd');
    await waitFor('worker wd', async () => (await client.status()).workers.some((w) => w.workerId === 'wd'));
    process.kill(silent.pid, 'SIGSTOP');
    try {
      const stoppedAt = Date.now();
      await waitFor('eviction of wd', async () => !(await client.status()).workers.some((w) => w.workerId === 'wd'), 10_000);
      expect(Date.now() - stoppedAt).toBeLessThan(3 * HEARTBEAT_MS + 1000);
    } finally {
      process.kill(silent.pid, 'SIGCONT');
    }
    // Once it wakes up, it registers again by itself.
    await waitFor('wd back', async () => (await client.status()).workers.some((w) => w.workerId === 'wd'), 10_000);
    workers.splice(workers.indexOf(silent), 1);
    await silent.stop(5000);
    await waitFor('wd gone', async () => !(await client.status()).workers.some((w) => w.workerId === 'wd'), 10_000);
  });

  it('workers re-register by themselves after the gateway restarts', async () => {
    const port = gateway.port;
    await gateway.stop(5000);
    const down = await client.status().catch((e: Error) => e);
    expect(down).toBeInstanceOf(Error);
    gateway = await startServer(['gateway', '--listen', `127.0.0.1:${port}`, '--heartbeat-interval', String(HEARTBEAT_MS), '--max-queue', '2'], { cwd: repo.dir, env });
    client.close();
    client = new OpenDuckClient(gateway.endpoint, TOKEN);
    const ids = await waitFor('re-registration', async () => {
      const s = await client.status();
      return s.workers.length >= 2 ? s.workers.map((w) => w.workerId).sort() : null;
    }, 15_000);
    expect(ids).toEqual(expect.arrayContaining(['wa', 'wb']));
    expect(await drain(await client.execute('SELECT count(*) FROM t', { database: 'alpha@main' }))).toBe(1);
  });

  it('a worker stopped with SIGTERM leaves the gateway at once; its queries go elsewhere', async () => {
    await repo.run('db', 'create', 'delta');
    const leaving = await startWorker('we', ['--db', 'delta']);
    await waitFor('worker we', async () => (await client.status()).workers.some((w) => w.workerId === 'we'));
    expect(await workerOf(client, 'SELECT 1', 'delta@main')).toBe('we');
    workers.splice(workers.indexOf(leaving), 1);
    await leaving.stop(5000);
    // No heartbeat interval needs to pass: the worker deregistered itself.
    expect((await client.status()).workers.some((w) => w.workerId === 'we')).toBe(false);
    expect(await workerOf(client, 'SELECT 1', 'delta@main')).toMatch(/^w[ab]$/);
  });

  it('a query routed to a worker that just died goes to a live worker instead of failing', async () => {
    await repo.run('db', 'create', 'epsilon');
    const doomed = await startWorker('wf', ['--db', 'epsilon']);
    await waitFor('worker wf', async () => (await client.status()).workers.some((w) => w.workerId === 'wf'));
    workers.splice(workers.indexOf(doomed), 1);
    await doomed.kill();
    // Still registered (no heartbeat has been missed yet), so affinity picks wf; the gateway finds
    // it gone before any row was sent and runs the query elsewhere.
    expect((await client.status()).workers.some((w) => w.workerId === 'wf')).toBe(true);
    expect(await workerOf(client, 'SELECT 1', 'epsilon@main')).toMatch(/^w[ab]$/);
    expect((await client.status()).workers.some((w) => w.workerId === 'wf')).toBe(false);
  });

  it('a worker with a wrong credential, or with the client token, is refused, never registers, and says why once', async () => {
    for (const [id, credential] of [
      ['impostor', 'not-the-worker-credential'],
      ['client-posing', TOKEN],
    ]) {
      const impostor = await startServer(['worker', '--gateway', gateway.endpoint, '--id', id!], { cwd: repo.dir, env: { OPENDUCK_WORKER_TOKEN: credential! } });
      try {
        await waitFor('the refusal in its log', async () => /refused this worker's credential/.test(impostor.output()));
        // Retries keep failing: still not registered a few heartbeat intervals later, and logged once.
        await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_MS));
        expect((await client.status()).workers.map((w) => w.workerId)).not.toContain(id);
        expect(impostor.output().match(/refused this worker's credential/g)).toHaveLength(1);
        expect(impostor.output()).not.toContain(TOKEN);
      } finally {
        await impostor.stop(5000);
      }
    }
  });

  it("a worker cannot take a live worker's id; the live one keeps its queries", async () => {
    const before = (await client.status()).workers.find((w) => w.workerId === 'wa')!;
    // Its credential is right (read from a file, as a mounted secret would be); only the id is taken.
    const credential = join(repo.dir, 'worker.credential');
    await writeFile(credential, WORKER_TOKEN + '\n', { mode: 0o600 });
    const twin = await startServer(['worker', '--gateway', gateway.endpoint, '--id', 'wa', '--worker-token-file', credential], { cwd: repo.dir });
    try {
      await waitFor('the refusal in its log', async () => /refused the registration: worker already exists: wa/.test(twin.output()));
      const after = (await client.status()).workers.find((w) => w.workerId === 'wa')!;
      expect(after.endpoint).toBe(before.endpoint);
      expect(await workerOf(client, 'SELECT 1', 'alpha@main')).toBe('wa');
    } finally {
      await twin.stop(5000);
    }
  });

  it('a gateway without workers is UNAVAILABLE to status', async () => {
    const lonely = await startServer(['gateway', '--listen', '127.0.0.1:0'], { cwd: repo.dir, env });
    try {
      const r = await repo.runWith(env, 'status', '--endpoint', lonely.endpoint);
      expect(r.exitCode).toBe(1);
      expect(r.stdout.trim()).toBe(`UNAVAILABLE ${lonely.endpoint}: no workers are registered with the gateway`);
    } finally {
      await lonely.stop(5000);
    }
  });

  it('a client with a bad token is refused', async () => {
    const r = await repo.runWith({ OPENDUCK_TOKEN: 'wrong' }, 'status', '--endpoint', gateway.endpoint);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/authentication failed/);
    expect(expectOneLineError(await repo.runWith({ OPENDUCK_TOKEN: 'wrong' }, 'query', '--db', 'alpha@main', 'SELECT 1', '--endpoint', gateway.endpoint))).toMatch(
      /authentication failed/,
    );
  });
});
