import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliRepository, expectOneLineError, spawnCli } from '../helpers.js';
import { waitFor } from './processes.js';
import { isProcessAlive } from '../../core/fs-util.js';

let stopDaemon: (() => Promise<unknown>) | null = null;
afterAll(async () => {
  await stopDaemon?.();
});

describe('openduck daemon', () => {
  it('starts in the background, reports status, shares the repository with local commands, logs, and stops gracefully', async () => {
    const repo = await cliRepository();
    const { run } = repo;
    await run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(100)');
    await run('snapshot', 'create', 'shop', '-m', 'base');

    const started = await run('daemon', 'start', '--listen', '127.0.0.1:0', '--json');
    expect(started.exitCode, started.stderr).toBe(0);
    const record = JSON.parse(started.stdout);
    stopDaemon = () => run('daemon', 'stop');
    expect(record).toMatchObject({ pid: expect.any(Number), endpoint: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(isProcessAlive(record.pid)).toBe(true);
    const onDisk = JSON.parse(await readFile(join(repo.dir, '.openduck', 'server', 'daemon.json'), 'utf8'));
    expect(onDisk).toMatchObject({ pid: record.pid, endpoint: record.endpoint, tokenFile: expect.stringContaining('token'), logFile: expect.stringContaining('serve.log') });
    expect(expectOneLineError(await run('daemon', 'start', '--listen', '127.0.0.1:0'))).toMatch(/already exists.*pid/);

    // Local clients find the daemon's endpoint and token by themselves.
    const ok = await run('server', 'status');
    expect(ok.stdout).toMatch(/^OK /);

    // A long write through the daemon; a local writer meanwhile is refused, naming the daemon.
    const env = { OPENDUCK_ENDPOINT: record.endpoint };
    const slowWrite = spawnCli(['query', '--db', 'shop', 'CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(15000000)', '--execution-id', 'big-load'], {
      cwd: repo.dir,
      env,
    });
    const status = await waitFor('the execution in daemon status', async () => {
      const s = await run('daemon', 'status', '--json');
      const parsed = JSON.parse(s.stdout);
      return parsed.executions?.some((e: { executionId: string }) => e.executionId === 'big-load') ? parsed : null;
    });
    expect(status).toMatchObject({ pid: record.pid, endpoint: record.endpoint, workers: [expect.objectContaining({ workerId: 'local' })] });
    expect(status.executions[0]).toMatchObject({ executionId: 'big-load', database: 'shop', state: 'running' });
    const human = await run('daemon', 'status');
    expect(human.stdout).toMatch(new RegExp(`pid ${record.pid}\\s+uptime \\d+`));
    expect(human.stdout).toContain('big-load');
    expect(human.stdout).toMatch(/^\s+local\s+in-process\s+1\/8\s+in this process$/m);

    const local = await repo.runWith({ OPENDUCK_LEASE_WAIT_MS: '300' }, 'query', '--db', 'shop', 'INSERT INTO t VALUES (1)');
    expect(expectOneLineError(local)).toContain(`pid ${record.pid}`);
    // Readers of committed snapshots are not blocked.
    expect((await run('query', '--db', 'shop@main', 'SELECT count(*) FROM t')).exitCode).toBe(0);

    const w = await slowWrite;
    expect(w.exitCode, String(w.stderr)).toBe(0);
    expect((await run('query', '--db', 'shop', 'INSERT INTO t VALUES (1)')).exitCode).toBe(0);

    const logs = await run('daemon', 'logs');
    expect(logs.stdout).toMatch(/listening on/);
    expect(logs.stdout).toMatch(/worker local runs in this process/);
    const token = (await readFile(join(repo.dir, '.openduck', 'server', 'token'), 'utf8')).trim();
    expect(logs.stdout).not.toContain(token);

    const stopped = await run('daemon', 'stop');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    stopDaemon = null;
    expect(isProcessAlive(record.pid)).toBe(false);
    expect((await run('daemon', 'logs')).stdout).toMatch(/SIGTERM: draining/);
    expect(expectOneLineError(await run('daemon', 'status'))).toMatch(/none is running/);
    const down = await run('status', '--endpoint', record.endpoint);
    expect(down.exitCode).toBe(1);
  });
});
