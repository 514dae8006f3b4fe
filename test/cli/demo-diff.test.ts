import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers.js';

/** The demo's transcript as steps: the command it shows (as argv) and what it printed after it. */
function transcript(stdout: string): { argv: string[]; output: string }[] {
  return stdout
    .split(/\n\n(?=\$ openduck |The repository is yours)/)
    .filter((chunk) => chunk.startsWith('$ openduck '))
    .map((chunk) => {
      const [command, ...output] = chunk.split('\n');
      const words = [...command!.slice('$ openduck '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      expect(words.some((w) => w.startsWith("'")), command).toBe(false);
      return { argv: words, output: output.join('\n') };
    });
}

const SHORT_ID = /\b[0-9a-f]{12}\b/g;

/** What may differ between two runs of the same steps: where the repository is, and when. */
function comparable(text: string, root: string): string {
  return text.replaceAll(root, '<repo>').replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/g, '<time>');
}

describe('demo', () => {
  it('prints exactly what the commands print: its transcript, replayed through the CLI, gives the same output', async () => {
    const env = { OPENDUCK_AUTHOR: 'ada' };
    const parent = await tempDir();
    const demo = await cli(['demo', '--dir', parent], { env });
    expect(demo.exitCode, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`export OPENDUCK_REPO=${join(parent, '.openduck')}\n`);
    const steps = transcript(demo.stdout);
    expect(steps.map((s) => s.argv.slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['init', 'tag create', 'diff shop', 'log shop']));

    const replay = await tempDir();
    // Snapshot ids hash their time, so each run has its own: learn the pairs as they are printed.
    const idFor = new Map<string, string>();
    for (const step of steps) {
      const argv = step.argv.map((w) => w.replace(SHORT_ID, (id) => idFor.get(id) ?? id));
      const r = await cli(argv, { cwd: replay, env });
      // diff exits 1 when the sides differ, as git diff --exit-code does.
      expect(r.exitCode, `openduck ${argv.join(' ')}: ${r.stderr}`).toBe(argv[0] === 'diff' ? 1 : 0);
      const theirs = step.output.match(SHORT_ID) ?? [];
      const ours = r.stdout.match(SHORT_ID) ?? [];
      theirs.forEach((id, i) => ours[i] && !idFor.has(id) && idFor.set(id, ours[i]));
      const expected = comparable(step.output.replace(SHORT_ID, (id) => idFor.get(id) ?? id), join(parent, '.openduck'));
      expect(comparable(r.stdout.trimEnd(), join(replay, '.openduck')), `openduck ${argv.join(' ')}`).toBe(expected);
    }
  });

  it('with --json, leaves a repository that verifies and answers pinned queries', async () => {
    const parent = await tempDir();
    const r = await cli(['demo', '--dir', parent, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.repository).toBe(join(parent, '.openduck'));
    const env = { OPENDUCK_REPO: out.repository };
    expect((await cli(['fsck'], { env })).exitCode).toBe(0);
    const pinned = await cli(['query', '--db', `shop@${out.snapshots.loaded}`, 'SELECT count(*) AS n FROM orders', '--format', 'json'], { env });
    expect(JSON.parse(pinned.stdout)).toEqual([{ n: 200000 }]);
  });
});
