import { describe, expect, it } from 'vitest';
import { cliRepository } from '../helpers.js';

/**
 * Rewrites that keep a block's words but move them. DuckDB's block checksum XOR-folds the words,
 * so it is blind to these; a snapshot must still equal its working copy row for row.
 */
/** A fresh repository's CLI, where every command must succeed; returns its stdout. */
async function succeeding(): Promise<(...args: string[]) => Promise<string>> {
  const { run } = await cliRepository();
  return async (...args: string[]) => {
    const r = await run(...args);
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
}

describe('permutations reach the snapshot', () => {
  it('the reported reproduction: rows 0 and 1 swapped through freed blocks, on main and after checkout', async () => {
    const ok = await succeeding();
    const rowsOf = async (ref: string, table = 't') =>
      JSON.parse(await ok('query', '--db', ref, `SELECT id, u::VARCHAR AS u FROM ${table} ORDER BY id`, '--format', 'json')) as Array<{ id: number; u: string }>;

    await ok('query', '--db', 'shop', 'CREATE TABLE t AS SELECT i AS id, uuid() AS u FROM range(2000) r(i)');
    await ok('snapshot', 'create', 'shop', '-m', 's0');
    await ok('query', '--db', 'shop', 'CREATE TABLE keep AS SELECT * FROM t; DROP TABLE t; CREATE TABLE t2 AS SELECT i AS id, uuid() AS u FROM range(2000) r(i)');
    await ok('snapshot', 'create', 'shop', '-m', 's1');
    await ok(
      'query',
      '--db',
      'shop',
      'DROP TABLE t2; CREATE TABLE t AS SELECT id, CASE WHEN id=0 THEN (SELECT u FROM keep WHERE id=1) WHEN id=1 THEN (SELECT u FROM keep WHERE id=0) ELSE u END AS u FROM keep ORDER BY id; DROP TABLE keep',
    );
    const working = await rowsOf('shop');
    await ok('snapshot', 'create', 'shop', '-m', 's2');
    expect(await rowsOf('shop@main')).toEqual(working);
    const s1 = await rowsOf('shop@main~1', 'keep');
    // The swap really happened: the snapshot must not hold s1's order.
    expect(working[0]!.u).toBe(s1[1]!.u);
    expect(working[1]!.u).toBe(s1[0]!.u);

    // It spreads no further: a branch from s1 checked out, then main again, each equal to its snapshot.
    await ok('branch', 'create', 'shop', 'other', '--from', 'main~1');
    await ok('checkout', 'shop', 'other');
    expect(await rowsOf('shop', 'keep')).toEqual(await rowsOf('shop@other', 'keep'));
    await ok('checkout', 'shop', 'main');
    expect(await rowsOf('shop')).toEqual(working);
    expect(await ok('fsck')).toMatch(/^ok:/);
  });

  it('uncompressed BIGINT values swapped within a block, and a column rotated by one row', async () => {
    const ok = await succeeding();
    const fingerprint = async (ref: string) => ok('query', '--db', ref, 'SELECT list(v ORDER BY id) AS v FROM t', '--format', 'json');
    await ok('query', '--db', 'shop', "PRAGMA force_compression='uncompressed'; CREATE TABLE t AS SELECT i AS id, (i * 2654435761) % 1000003 AS v FROM range(30000) r(i)");
    await ok('snapshot', 'create', 'shop', '-m', 'base');
    // Swap the values of two rows: the same words, in other places.
    await ok('query', '--db', 'shop', "PRAGMA force_compression='uncompressed'; UPDATE t SET v = CASE id WHEN 10 THEN (SELECT v FROM t WHERE id = 20) ELSE (SELECT v FROM t WHERE id = 10) END WHERE id IN (10, 20)");
    let working = await fingerprint('shop');
    await ok('snapshot', 'create', 'shop', '-m', 'swapped');
    expect(await fingerprint('shop@main')).toBe(working);
    expect(await fingerprint('shop@main')).not.toBe(await fingerprint('shop@main~1'));
    // Rotate the whole column by one row.
    await ok('query', '--db', 'shop', "PRAGMA force_compression='uncompressed'; CREATE OR REPLACE TABLE t AS SELECT id, coalesce(lead(v) OVER (ORDER BY id), first(v) OVER (ORDER BY id)) AS v FROM t");
    working = await fingerprint('shop');
    await ok('snapshot', 'create', 'shop', '-m', 'rotated');
    expect(await fingerprint('shop@main')).toBe(working);
    // And back through checkout of an older state.
    await ok('branch', 'create', 'shop', 'old', '--from', 'main~2');
    await ok('checkout', 'shop', 'old');
    expect(await fingerprint('shop')).toBe(await fingerprint('shop@old'));
  });
});
