import { describe, expect, it } from 'vitest';
import { cli, cliRepository, tempDir } from '../helpers.js';

describe('demo', () => {
  it('runs the walkthrough and leaves a repository that verifies and answers pinned queries', async () => {
    const parent = await tempDir();
    const r = await cli(['demo', '--dir', parent, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const env = { OPENDUCK_REPO: out.repository };
    expect((await cli(['fsck'], { env })).exitCode).toBe(0);
    const pinned = await cli(['query', '--db', `shop@${out.snapshots.loaded}`, 'SELECT count(*) AS n FROM orders', '--format', 'json'], { env });
    expect(JSON.parse(pinned.stdout)).toEqual([{ n: 200000 }]);
    const graph = await cli(['log', 'shop', '--graph'], { env });
    expect(graph.stdout).toMatch(/^\|\/$/m);
    const human = await cli(['demo', '--dir', await tempDir()]);
    expect(human.stdout).toContain('$ openduck snapshot create shop');
    expect(human.stdout).toContain('export OPENDUCK_REPO=');
  });
});

describe('diff', () => {
  it('reports tables added, dropped and modified, with the changed rows', async () => {
    const { run } = await cliRepository();
    await run('query', '--db', 'shop', 'CREATE TABLE a AS SELECT range AS id, range * 2 AS v FROM range(1000); CREATE TABLE gone AS SELECT 1 AS x');
    await run('snapshot', 'create', 'shop', '-m', 'one');
    await run('query', '--db', 'shop', 'UPDATE a SET v = -1 WHERE id IN (3, 7); DROP TABLE gone; CREATE TABLE fresh AS SELECT range AS y FROM range(5)');
    await run('snapshot', 'create', 'shop', '-m', 'two');
    const r = await run('diff', 'shop', 'main~1', 'main', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    const byName = Object.fromEntries(d.tables.map((t: { table: string }) => [t.table, t]));
    expect(byName.a).toMatchObject({ change: 'modified', rowsAdded: 2, rowsRemoved: 2 });
    expect(byName.a.removed).toEqual([{ id: 3, v: 6 }, { id: 7, v: 14 }]);
    expect(byName.a.added).toEqual([{ id: 3, v: -1 }, { id: 7, v: -1 }]);
    expect(byName.gone).toMatchObject({ change: 'dropped', rowsRemoved: 1 });
    expect(byName.fresh).toMatchObject({ change: 'added', rowsAdded: 5 });
    const same = JSON.parse((await run('diff', 'shop', 'main', 'main', '--json')).stdout);
    expect(same).toMatchObject({ blocksChanged: 0, tables: [] });
    const stat = await run('diff', 'shop', 'main~1', 'main', '--stat');
    expect(stat.stdout).toMatch(/modified\s+a\s+\+2\s+-2/);
  });
});
