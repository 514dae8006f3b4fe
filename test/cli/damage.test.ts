import { describe, expect, it } from 'vitest';
import { chmod, copyFile, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, cliRepository, expectOneLineError, spawnCli, type CliResult } from '../helpers.js';

/**
 * Damage, one case each. Every case must end in a clear one-line error or a repair, and never in
 * a committed snapshot that differs from what was written.
 */

const FINGERPRINT = 'SELECT count(*) AS n, sum(hash(id, s)) AS h FROM t';

async function setup() {
  const repo = await cliRepository();
  const wc = join(repo.dir, '.openduck', 'workdirs', 'shop', 'shop.duckdb');
  expect((await repo.run('query', '--db', 'shop', "CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS s FROM range(200000)")).exitCode).toBe(0);
  const created = await repo.run('snapshot', 'create', 'shop', '-m', 'base', '--json');
  expect(created.exitCode, created.stderr).toBe(0);
  const head = JSON.parse(created.stdout).id as string;
  const fingerprint = async (ref: string) => {
    const r = await repo.run('query', '--db', ref, FINGERPRINT, '--format', 'json');
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout;
  };
  const expected = await fingerprint('shop@main');
  const headOf = async () => JSON.parse((await repo.run('branch', 'list', 'shop', '--json')).stdout).find((b: { name: string }) => b.name === 'main').head as string;
  return { ...repo, wc, head, fingerprint, expected, headOf };
}

/** Whether process `pid` holds a POSIX write lock on the file at `path` (Linux: /proc/locks). */
async function holdsPosixLock(pid: number, path: string): Promise<boolean> {
  const inode = String((await stat(path)).ino);
  const locks = await readFile('/proc/locks', 'utf8');
  return locks.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] === 'POSIX' && f[3] === 'WRITE' && f[4] === String(pid) && f[5]?.split(':')[2] === inode;
  });
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    await fh.write(Buffer.from([b[0]! ^ 0x5a]), 0, 1, offset);
  } finally {
    await fh.close();
  }
}

describe('a damaged working copy is never committed', () => {
  it('header damage, truncation and an empty file are refused naming the file; checkout --force repairs', async () => {
    const t = await setup();
    const pristine = `${t.wc}.pristine`;
    await copyFile(t.wc, pristine);
    const damages: Array<[string, () => Promise<void>, RegExp]> = [
      ['byte 100 (main header)', () => flipByte(t.wc, 100), /main header at byte 0 fails DuckDB's checksum/],
      ['byte 12290 (first block)', () => flipByte(t.wc, 12_290), /block 0 fails DuckDB's checksum/],
      ['truncated mid-block', () => truncate(t.wc, 100_000), /not the header plus whole/],
      ['emptied', () => truncate(t.wc, 0), /empty/],
    ];
    for (const [what, damage, detail] of damages) {
      await copyFile(pristine, t.wc);
      await damage();
      const r = await t.run('snapshot', 'create', 'shop', '-m', `after ${what}`);
      const line = expectOneLineError(r);
      expect(line, what).toMatch(/working copy of shop is damaged/);
      expect(line, what).toContain(t.wc);
      expect(line, what).toMatch(detail);
      expect(line, what).toContain('openduck checkout shop main --force');
      expect(await t.headOf(), what).toBe(t.head);
    }
    const repaired = await t.run('checkout', 'shop', 'main', '--force');
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(await t.fingerprint('shop')).toBe(t.expected);
    expect((await t.run('fsck')).exitCode).toBe(0);
  });

  it('payload damage that DuckDB only sees when it reads the block is refused, and restore --force repairs it', async () => {
    const t = await setup();
    const { size } = await stat(t.wc);
    const blocks = (size - 12_288) / 262_144;
    // A data block in the middle: DuckDB reads the metadata blocks (at the end) when it opens the file.
    await flipByte(t.wc, 12_288 + Math.floor(blocks / 2) * 262_144 + 5000);
    const r = await t.run('snapshot', 'create', 'shop', '-m', 'payload');
    expect(expectOneLineError(r)).toMatch(/working copy of shop is damaged .*block \d+ fails DuckDB's checksum/);
    expect(await t.headOf()).toBe(t.head);
    // Without --force the damage counts as a change to keep; with it, the file is reset.
    expectOneLineError(await t.run('snapshot', 'restore', 'shop', 'main'));
    const restored = await t.run('snapshot', 'restore', 'shop', 'main', '--force');
    expect(restored.exitCode, restored.stderr).toBe(0);
    // Only the damaged block is rewritten.
    expect(restored.stdout).toMatch(/\(1 blocks? rewritten\)/);
    expect(await t.fingerprint('shop')).toBe(t.expected);
    const again = await t.run('snapshot', 'create', 'shop', '-m', 'nothing', '--json');
    expect(JSON.parse(again.stdout).created).toBe(false);
  });

  it('a missing working copy is an error for query and snapshot create, never an empty database; checkout --force rebuilds it', async () => {
    const t = await setup();
    await rm(t.wc);
    const q = await t.run('query', '--db', 'shop', 'SHOW TABLES');
    expect(expectOneLineError(q)).toMatch(/working copy not found: shop .*openduck checkout shop main --force/);
    expect(expectOneLineError(await t.run('snapshot', 'create', 'shop', '-m', 'gone'))).toMatch(/working copy not found/);
    expect(await stat(t.wc).catch(() => null)).toBeNull();
    expect(await t.headOf()).toBe(t.head);
    const rebuilt = await t.run('checkout', 'shop', 'main', '--force');
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(await t.fingerprint('shop')).toBe(t.expected);
  });

  it('missing metadata is an error naming the file; db create does not wipe the working copy', async () => {
    const t = await setup();
    expect((await t.run('query', '--db', 'shop', "INSERT INTO t VALUES (-1, 'unsnapshotted')")).exitCode).toBe(0);
    const metadata = join(t.dir, '.openduck', 'metadata.duckdb');
    const saved = `${metadata}.saved`;
    await copyFile(metadata, saved);
    await rm(metadata);
    for (const args of [['db', 'list'], ['log', 'shop'], ['db', 'create', 'shop'], ['fsck']]) {
      const line = expectOneLineError(await t.run(...args));
      expect(line, args.join(' ')).toContain(metadata);
      expect(line, args.join(' ')).toMatch(/metadata .*missing|missing.*metadata/);
    }
    expect(await stat(metadata).catch(() => null)).toBeNull();
    await copyFile(saved, metadata);
    const n = await t.run('query', '--db', 'shop', 'SELECT count(*) AS n FROM t WHERE id = -1', '--format', 'json');
    expect(JSON.parse(n.stdout)[0].n).toBe(1);
  });

  it('a cached snapshot with two words swapped is found, dropped with a warning and rebuilt; fsck reports it and --repair drops it', async () => {
    const t = await setup();
    const cacheDir = join(t.dir, '.openduck', 'cache', 'snapshots');
    const cached = join(cacheDir, `${t.head}.duckdb`);
    const swapWords = async () => {
      await chmod(cached, 0o644);
      const bytes = await readFile(cached);
      // Swap two differing 8-byte words inside one block: DuckDB's checksum cannot see this.
      let at = bytes.length - 262_144 + 1024;
      while (bytes.subarray(at, at + 8).equals(bytes.subarray(at + 8, at + 16))) at += 16;
      const a = Buffer.from(bytes.subarray(at, at + 8));
      bytes.copy(bytes, at, at + 8, at + 16);
      a.copy(bytes, at + 8);
      await writeFile(cached, bytes);
      await chmod(cached, 0o444);
    };
    await swapWords();
    const f = await t.run('fsck');
    expect(f.exitCode).toBe(1);
    expect(f.stderr).toContain(`cache/snapshots/${t.head}.duckdb: chunk`);
    const read = await t.run('query', '--db', 'shop@main', FINGERPRINT, '--format', 'json');
    expect(read.exitCode, read.stderr).toBe(0);
    expect(read.stdout).toBe(t.expected);
    expect(read.stderr).toMatch(/warning: cached snapshot .* was damaged/);
    expect((await t.run('fsck')).exitCode).toBe(0);
    // A child materialized from a damaged ancestor's cache is right too.
    expect((await t.run('query', '--db', 'shop', 'UPDATE t SET s = upper(s) WHERE id < 10')).exitCode).toBe(0);
    const child = JSON.parse((await t.run('snapshot', 'create', 'shop', '-m', 'child', '--json')).stdout).id as string;
    const childTruth = await t.fingerprint('shop');
    await swapWords();
    await rm(join(cacheDir, `${child}.duckdb`), { force: true });
    expect(await t.fingerprint(`shop@${child}`)).toBe(childTruth);
    const repaired = await t.run('fsck', '--repair');
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/repaired cache\/snapshots\/.*dropped/);
    expect((await readdir(cacheDir)).some((n) => n.startsWith(t.head))).toBe(false);
  });

  it('a state file that does not parse is named, for every command including fsck', async () => {
    const t = await setup();
    const statePath = join(t.dir, '.openduck', 'workdirs', 'shop', 'state.json');
    for (const text of ['garbage', '[]']) {
      await writeFile(statePath, text);
      const line = expectOneLineError(await t.run('snapshot', 'create', 'shop'));
      expect(line).toContain(statePath);
      const f = await t.run('fsck');
      expect(f.exitCode).toBe(1);
      expect(f.stderr).toContain(statePath);
    }
    const rebuilt = await t.run('checkout', 'shop', 'main', '--force');
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(await t.fingerprint('shop')).toBe(t.expected);
  });

  it('refuses malformed numbers in the environment', async () => {
    const t = await setup();
    const r = await t.runWith({ OPENDUCK_LEASE_WAIT_MS: 'abc' }, 'snapshot', 'create', 'shop');
    expect(expectOneLineError(r)).toMatch(/OPENDUCK_LEASE_WAIT_MS="abc" must be a whole number/);
  });
});

describe('a writer stopped past its lease cannot write into a file another process owns', () => {
  it('SIGSTOP a long write past the lease: checkout --force is refused while it lives, and its rows are intact after SIGCONT', async () => {
    const t = await setup();
    expect((await t.run('branch', 'create', 'shop', 'other')).exitCode).toBe(0);
    const env = { OPENDUCK_LEASE_TTL_MS: '1500', OPENDUCK_LEASE_WAIT_MS: '500' };
    const writer = spawnCli(['query', '--db', 'shop', 'CREATE TABLE t2 AS SELECT range AS id, md5(range::VARCHAR) AS s FROM range(3000000)'], {
      cwd: t.dir,
      env,
    });
    // Stop it once it holds the working copy (DuckDB's POSIX lock shows in /proc/locks),
    // mid-statement, at a moment it is not inside the embedded metadata store (whose file lock
    // a stopped process would hold too: a limit of the embedded store, not what this tests).
    const metadata = join(t.dir, '.openduck', 'metadata.duckdb');
    let stopped = false;
    for (let i = 0; i < 2000 && !stopped; i++) {
      if (await holdsPosixLock(writer.pid!, t.wc)) {
        writer.kill('SIGSTOP');
        if (!(await holdsPosixLock(writer.pid!, metadata))) stopped = true;
        else writer.kill('SIGCONT');
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 5));
    }
    expect(stopped).toBe(true);
    try {
      // Past the lease's expiry, another process takes the lease but not the file.
      await new Promise((r) => setTimeout(r, 2500));
      const stolen: CliResult = await cli(['checkout', 'shop', 'other', '--force'], { cwd: t.dir, env });
      expect(expectOneLineError(stolen)).toMatch(new RegExp(`working copy of shop is being written by pid ${writer.pid}`));
      const sealed = await cli(['snapshot', 'create', 'shop', '-m', 'while stopped'], { cwd: t.dir, env });
      expectOneLineError(sealed);
    } finally {
      writer.kill('SIGCONT');
    }
    const done = await writer;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const created = await t.run('snapshot', 'create', 'shop', '-m', 'after', '--json');
    expect(created.exitCode, created.stderr).toBe(0);
    const counts = await t.run('query', '--db', 'shop@main', 'SELECT (SELECT count(*) FROM t) AS t, (SELECT count(*) FROM t2) AS t2', '--format', 'json');
    expect(JSON.parse(counts.stdout)[0]).toEqual({ t: 200000, t2: 3000000 });
    expect((await t.run('fsck')).exitCode).toBe(0);
  });
});
