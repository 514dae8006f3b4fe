/**
 * Issue 13, scripts, pipes and install: what a shell script, the docs' promises about --json, and
 * another project see. Each runs real processes: bash pipelines, npm, the installed command.
 */
import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, PROJECT_ROOT, cliRepository, tempDir } from '../helpers.js';

describe('pipes', () => {
  it('a closed stdout ends the command quietly with exit 0, so pipefail scripts pass', async () => {
    const { dir, run } = await cliRepository();
    expect((await run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT range AS x FROM range(10)')).exitCode).toBe(0);
    const pipe = (command: string) =>
      execa('bash', ['-o', 'pipefail', '-c', `node ${JSON.stringify(BIN)} ${command} | head -1`], { cwd: dir, reject: false, env: { OPENDUCK_REPO: '' } });
    const big = await pipe(`query --db shop "SELECT * FROM range(3000000)" --format csv`);
    expect({ exitCode: big.exitCode, stdout: big.stdout, stderr: big.stderr }).toEqual({ exitCode: 0, stdout: 'range', stderr: '' });
    const json = await pipe(`query --db shop "SELECT * FROM range(3000000)" --format json`);
    expect({ exitCode: json.exitCode, stdout: json.stdout, stderr: json.stderr }).toEqual({ exitCode: 0, stdout: '[', stderr: '' });
    const help = await pipe('help');
    expect(help.exitCode, help.stderr).toBe(0);
  });
});

describe('--json', () => {
  it('the guide names exactly the commands that take no --json', async () => {
    const guide = await readFile(join(PROJECT_ROOT, 'docs', 'guides', 'getting-started.md'), 'utf8');
    const sentence = /^Commands without `--json`: (.*)$/m.exec(guide);
    expect(sentence, 'the guide lists the commands without --json').not.toBeNull();
    const documented = [...sentence![1]!.matchAll(/`([a-z ]+)`/g)].map((m) => m[1]!).sort();
    const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { enableJsonFlag?: boolean }> };
    const without = Object.entries(manifest.commands)
      .filter(([, c]) => !c.enableJsonFlag)
      .map(([id]) => id.replaceAll(':', ' '))
      .sort();
    expect(documented).toEqual(without);
    const { dir } = await cliRepository();
    for (const command of without) {
      const r = await execa('node', [BIN, ...command.split(' '), '--json'], { cwd: dir, reject: false, env: { OPENDUCK_REPO: '' } });
      expect(r.stderr, command).toContain('Nonexistent flag: --json');
    }
  });
});

describe('install', () => {
  it('the README puts openduck on PATH and lets another project import it, and both work', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm link');
    expect(readme).toContain('npm install -g .');
    expect(readme).toMatch(/npm install \.\.\/openduck/);

    // npm install -g ., into a prefix of the test's own instead of the machine's. No scripts: the
    // clone is built already, and a rebuild would rewrite dist/ under the tests running beside this one.
    const prefix = await tempDir();
    const npmEnv = { npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_ignore_scripts: 'true' };
    const global = await execa('npm', ['install', '-g', '.'], { cwd: PROJECT_ROOT, env: npmEnv, reject: false });
    expect(global.exitCode, global.stderr).toBe(0);
    const onPath = await execa('openduck', ['--version'], { cwd: prefix, env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}` }, reject: false });
    expect(onPath.exitCode, onPath.stderr).toBe(0);
    expect(onPath.stdout).toMatch(/^openduck\/\d+\.\d+\.\d+ /);

    // Another project depends on this folder by path.
    const project = await tempDir();
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-openduck', version: '1.0.0', type: 'module', private: true }));
    const dependency = await execa('npm', ['install', PROJECT_ROOT], { cwd: project, env: npmEnv, reject: false });
    expect(dependency.exitCode, dependency.stderr).toBe(0);
    await writeFile(join(project, 'main.js'), "import { Repository, resolveRefIn } from 'openduck';\nconsole.log(typeof Repository.init, typeof resolveRefIn);\n");
    const imported = await execa('node', ['main.js'], { cwd: project, reject: false });
    expect(imported.stdout, imported.stderr).toBe('function function');
    const npx = await execa('npx', ['--no-install', 'openduck', 'help'], { cwd: project, env: npmEnv, reject: false });
    expect(npx.exitCode, npx.stderr).toBe(0);
    expect(npx.stdout).toContain('COMMANDS');
  });
});
