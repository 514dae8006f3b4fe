import { describe, expect, it } from 'vitest';
import { cliRepository, spawnCli } from '../helpers.js';

/**
 * SIGKILL `openduck snapshot create` at random moments, again and again. Whatever was reported
 * created must stay intact, fsck must pass, and no branch may point at a missing snapshot.
 */
describe('crash safety', () => {
  it('survives 30+ SIGKILLs of snapshot create', { timeout: 400_000 }, async () => {
    const { dir, run } = await cliRepository();
    expect((await run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS id, range % 7 AS k FROM range(300000)')).exitCode).toBe(0);

    // How long an uninterrupted run takes here, so kills land across its whole life.
    const started = Date.now();
    expect((await run('snapshot', 'create', 'shop', '-m', 'calibrate')).exitCode).toBe(0);
    // Load on the machine changes how long a run takes, so the estimate follows completed runs.
    let estimateMs = Date.now() - started;

    const reported: Array<{ id: string; rows: number }> = [];
    let rows = 300_000;
    let killed = 0;
    for (let i = 0; killed < 30 && i < 150; i++) {
      const w = await run('query', '--db', 'shop', `INSERT INTO t SELECT range + ${rows}, ${i} FROM range(${1000 + i * 3000}); UPDATE t SET k = k + 1 WHERE id % 50 = ${i}`);
      expect(w.exitCode, w.stderr).toBe(0);
      rows += 1000 + i * 3000;
      const child = spawnCli(['snapshot', 'create', 'shop', '-m', `iteration ${i}`, '--json'], { cwd: dir });
      // Start-up takes most of a run; bias kills towards its later part, where sealing and commit happen.
      const delay = estimateMs * (0.4 + Math.random() * 0.8);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const r = await child;
      clearTimeout(timer);
      if (r.exitCode === 0) {
        estimateMs = 0.7 * estimateMs + 0.3 * r.durationMs;
        const out = JSON.parse(String(r.stdout));
        if (out.created) reported.push({ id: out.id, rows });
      } else {
        expect(r.signal).toBe('SIGKILL');
        killed++;
      }
    }
    expect(killed).toBeGreaterThanOrEqual(30);

    const f = await run('fsck');
    expect(f.exitCode, f.stderr + f.stdout).toBe(0);
    for (const { id, rows: n } of reported) {
      const q = await run('query', '--db', `shop@${id}`, 'SELECT count(*) AS n FROM t', '--format', 'json');
      expect(q.exitCode, q.stderr).toBe(0);
      expect(JSON.parse(q.stdout)[0].n).toBe(n);
    }
    const branches = JSON.parse((await run('branch', 'list', 'shop', '--json')).stdout);
    for (const b of branches) expect((await run('snapshot', 'show', `shop@${b.head}`)).exitCode).toBe(0);

    // The working copy still holds everything, and the next snapshot works.
    const final = await run('snapshot', 'create', 'shop', '-m', 'after the storm', '--json');
    expect(final.exitCode, final.stderr).toBe(0);
    const q = await run('query', '--db', 'shop@main', 'SELECT count(*) AS n FROM t', '--format', 'json');
    expect(JSON.parse(q.stdout)[0].n).toBe(rows);
    console.log(`${killed} kills, ${reported.length} snapshots reported created`);
  });
});
