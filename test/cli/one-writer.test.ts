import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Repository } from '../../core/repository.js';
import { cliRepository, expectOneLineError, spawnCli } from '../helpers.js';

describe('one writer per branch', () => {
  it('a second writer waits briefly then names the holder; readers are not blocked; nothing is lost', async () => {
    const { dir, runWith } = await cliRepository();
    const run = (args: string[], env: Record<string, string> = {}) => runWith(env, ...args);
    expect((await run(['query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(1000)'])).exitCode).toBe(0);
    expect((await run(['snapshot', 'create', 'shop', '-m', 'base'])).exitCode).toBe(0);

    const writer = spawnCli(['query', '--db', 'shop', 'CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(12000000)'], { cwd: dir });
    let writerDone = false;
    void writer.then(() => (writerDone = true));

    // Wait until the writer holds the lease.
    const repo = await Repository.open({ repo: join(dir, '.openduck') });
    for (let i = 0; i < 200; i++) {
      const lease = await repo.metadata.getLease('shop', 'main');
      if (lease?.holder.pid === writer.pid) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await repo.metadata.getLease('shop', 'main'))?.holder.pid).toBe(writer.pid);
    await repo.close();

    const reader = await run(['query', '--db', 'shop@main', 'SELECT count(*) AS n FROM t', '--format', 'json']);
    expect(reader.exitCode, reader.stderr).toBe(0);
    expect(JSON.parse(reader.stdout)[0].n).toBe(1000);

    const started = Date.now();
    const second = await run(['query', '--db', 'shop', 'INSERT INTO t VALUES (-1)'], { OPENDUCK_LEASE_WAIT_MS: '700' });
    const waited = Date.now() - started;
    const line = expectOneLineError(second);
    expect(line).toContain(`pid ${writer.pid}`);
    expect(line).toContain('shop@main');
    expect(waited).toBeGreaterThanOrEqual(700);
    // The reader and the refused writer both finished while the first writer was still at work.
    expect(writerDone).toBe(false);

    const w = await writer;
    expect(w.exitCode, String(w.stderr)).toBe(0);
    expect((await run(['query', '--db', 'shop', 'INSERT INTO t VALUES (-1)'])).exitCode).toBe(0);
    const check = await run(['query', '--db', 'shop', 'SELECT (SELECT count(*) FROM big) AS big, (SELECT count(*) FROM t) AS t', '--format', 'json']);
    expect(JSON.parse(check.stdout)[0]).toEqual({ big: 12000000, t: 1001 });
  });
});
