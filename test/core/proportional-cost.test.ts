import { describe, expect, it } from 'vitest';
import { stat } from 'node:fs/promises';
import { createBranch, createDatabase, createSnapshot, query } from '../../index.js';
import { WorkingCopy } from '../../core/working-copy.js';
import { tempRepository } from '../helpers.js';
import { diskUsage } from '../disk.js';

describe('costs grow with what changed', () => {
  it('a 1% clustered update of a 2M-row table grows the repository by <5% of the file; a branch by <1 MB', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    // An orders table with realistic, not trivially compressible, columns.
    await query(
      repo,
      'shop',
      `CREATE TABLE orders AS SELECT
         i AS id,
         hash(i) % 100000 AS customer_id,
         round((hash(i * 7) % 100000) / 100.0, 2)::DECIMAL(12,2) AS amount,
         ['pending','paid','shipped','cancelled'][1 + (hash(i * 13) % 4)::INT] AS status,
         TIMESTAMP '2024-01-01' + to_seconds(i) AS created_at,
         'note ' || (hash(i * 17) % 5000) AS note
       FROM range(2000000) r(i)`,
    );
    await createSnapshot(repo, 'shop', { message: 'load' });
    const fileSize = (await stat(new WorkingCopy(repo, 'shop').path)).size;

    await query(repo, 'shop', `UPDATE orders SET status = 'delivered', amount = amount + 1 WHERE id < 20000`);
    const before = await diskUsage(repo.root);
    const snap = await createSnapshot(repo, 'shop', { message: '1% update' });
    const growth = (await diskUsage(repo.root)) - before;
    expect(snap.created).toBe(true);
    expect(snap.blocksChanged).toBeGreaterThan(0);
    expect(growth).toBeLessThan(0.05 * fileSize);

    const beforeBranch = await diskUsage(repo.root);
    await createBranch(repo, 'shop', 'experiment');
    expect((await diskUsage(repo.root)) - beforeBranch).toBeLessThan(1 << 20);
    console.log(`file ${fileSize} B; snapshot grew repo by ${growth} B (${((100 * growth) / fileSize).toFixed(2)}%), ${snap.blocksChanged} blocks changed`);
    await repo.close();
  });
});
