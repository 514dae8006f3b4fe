import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers.js';

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
