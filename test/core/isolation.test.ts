import { describe, expect, it } from 'vitest';
import { checkout, createBranch, createDatabase, createSnapshot, createTag, query, restoreSnapshot } from '../../index.js';
import { tempRepository } from '../helpers.js';

const count = async (repo: Awaited<ReturnType<typeof tempRepository>>, ref: string, where = 'true') =>
  (await query(repo, ref, `SELECT count(*) AS n FROM t WHERE ${where}`)).rows[0]!.n;

describe('snapshot isolation', () => {
  it('a pinned read sees its snapshot while the working copy and other branches change', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t AS SELECT range AS id, 0 AS v FROM range(100000)');
    const first = await createSnapshot(repo, 'shop', { message: 'load' });
    const pin = `shop@${first.id.slice(0, 12)}`;

    await query(repo, 'shop', 'UPDATE t SET v = 1 WHERE id < 5000');
    // Uncommitted working-copy changes are invisible to pinned reads of the branch and the id.
    expect(await count(repo, pin, 'v = 1')).toBe(0);
    expect(await count(repo, 'shop@main', 'v = 1')).toBe(0);
    expect(await count(repo, 'shop', 'v = 1')).toBe(5000);

    const second = await createSnapshot(repo, 'shop', { message: 'update' });
    await createBranch(repo, 'shop', 'exp', 'main~1');
    await checkout(repo, 'shop', 'exp');
    await query(repo, 'shop', 'DELETE FROM t WHERE id % 2 = 0');
    await createSnapshot(repo, 'shop', { message: 'halve' });

    expect(await count(repo, pin)).toBe(100000);
    expect(await count(repo, pin, 'v = 1')).toBe(0);
    expect(await count(repo, `shop@${second.id}`, 'v = 1')).toBe(5000);
    expect(await count(repo, 'shop@main')).toBe(100000);
    expect(await count(repo, 'shop@exp')).toBe(50000);
    expect(await count(repo, 'shop@exp~1')).toBe(100000);
    expect(await count(repo, 'shop')).toBe(50000);

    await createTag(repo, 'shop', 'v1', `main`);
    await checkout(repo, 'shop', 'main');
    expect(await count(repo, 'shop', 'v = 1')).toBe(5000);
    await repo.close();
  });

  it('restore adds a snapshot with the old content and keeps history', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(1000)');
    const a = await createSnapshot(repo, 'shop', { message: 'a' });
    await query(repo, 'shop', 'INSERT INTO t SELECT range FROM range(1000, 3000)');
    const b = await createSnapshot(repo, 'shop', { message: 'b' });
    const r = await restoreSnapshot(repo, 'shop', a.id.slice(0, 9));
    expect(r.created).toBe(true);
    expect(r.parent).toBe(b.id);
    expect(await count(repo, 'shop')).toBe(1000);
    expect(await count(repo, 'shop@main')).toBe(1000);
    expect(await count(repo, 'shop@main~1')).toBe(3000);
    expect((await restoreSnapshot(repo, 'shop', 'main')).created).toBe(false);
    await repo.close();
  });

  it('reports nothing to snapshot for an unchanged working copy, even after reads', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(1000)');
    const a = await createSnapshot(repo, 'shop');
    await query(repo, 'shop', 'SELECT sum(id) FROM t');
    const again = await createSnapshot(repo, 'shop');
    expect(again).toMatchObject({ created: false, id: a.id, blocksChanged: 0, bytesWritten: 0 });
    await repo.close();
  });
});

describe('working copy cleanliness', () => {
  it('trusts its clean stamp only until the file is written, even when the size stays the same', async () => {
    const { WorkingCopy } = await import('../../core/working-copy.js');
    const { DamagedWorkingCopyError } = await import('../../core/errors.js');
    const { open, stat } = await import('node:fs/promises');
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t AS SELECT range AS id FROM range(1000)');
    const s = await createSnapshot(repo, 'shop');
    const wc = new WorkingCopy(repo, 'shop');
    const state = (await wc.readState())!;
    const base = (await repo.metadata.getSnapshot('shop', s.id))!;
    expect(await wc.matchesStamp(state.stamp)).toBe(true);
    const lock = await wc.lockFile('main');
    expect(await wc.isDirty(base, state.stamp, lock)).toBe(false);
    await lock.release();
    // Flip a byte of the last block in place: same size, new mtime, and a block that now fails
    // DuckDB's checksum.
    const fh = await open(wc.path, 'r+');
    const { size } = await fh.stat();
    const lastBlock = size - 262_144;
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, lastBlock + 100);
    await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, lastBlock + 100);
    await fh.close();
    expect((await stat(wc.path)).size).toBe(size);
    expect(await wc.matchesStamp(state.stamp)).toBe(false);
    const again = await wc.lockFile('main');
    expect(await wc.isDirty(base, state.stamp, again)).toBe(true);
    await again.release();
    // The damaged block is refused, never sealed.
    await expect(createSnapshot(repo, 'shop')).rejects.toThrow(DamagedWorkingCopyError);
    expect((await repo.metadata.getBranch('shop', 'main'))!.head).toBe(s.id);
    await repo.close();
  });
});
