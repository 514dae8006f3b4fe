import { describe, expect, it } from 'vitest';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { cliRepository, expectOneLineError } from '../helpers.js';
import { filesUnder } from '../disk.js';
import { Repository } from '../../core/repository.js';
import { LAYER_TRAILER_SIZE } from '../../core/format/layer.js';

/** Objects whose every byte a read of the snapshot depends on: its record, its map, and layers it uses whole. */
async function objectsReadBy(repoDir: string, id: string): Promise<Set<string>> {
  const repo = await Repository.open({ repo: repoDir });
  try {
    const row = (await repo.metadata.getSnapshot('shop', id))!;
    const map = await repo.blockMap(row.blockMap);
    const used = new Set([`snapshots/${id}`, `blockmaps/${row.blockMap}`]);
    for (const layer of new Set(map.chunks.map((c) => c.layer))) {
      const size = (await repo.objects.head(`layers/${layer}`))!.size;
      const trailer = await repo.objects.getRange(`layers/${layer}`, size - LAYER_TRAILER_SIZE, LAYER_TRAILER_SIZE);
      const blocksInLayer = trailer.readUInt32LE(8);
      const referenced = new Set(map.chunks.filter((c) => c.layer === layer).map((c) => c.offset)).size;
      if (referenced === blocksInLayer) used.add(`layers/${layer}`);
    }
    return used;
  } finally {
    await repo.close();
  }
}

/**
 * Flip one byte in each object in turn: fsck must fail naming that object, and a read of a
 * snapshot that uses it must fail with a clear error, never return rows.
 */
describe('integrity', () => {
  it('fsck names each corrupted object and reads of affected snapshots fail cleanly', async () => {
    const { dir, run } = await cliRepository();
    expect((await run('query', '--db', 'shop', "CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(200000)")).exitCode).toBe(0);
    const s1 = JSON.parse((await run('snapshot', 'create', 'shop', '-m', 'one', '--json')).stdout);
    expect((await run('query', '--db', 'shop', 'UPDATE t SET h = upper(h) WHERE id < 1000')).exitCode).toBe(0);
    const s2 = JSON.parse((await run('snapshot', 'create', 'shop', '-m', 'two', '--json')).stdout);
    expect((await run('fsck')).exitCode).toBe(0);

    const objectsDir = join(dir, '.openduck', 'objects');
    const objects = await filesUnder(objectsDir);
    expect(objects.length).toBeGreaterThanOrEqual(9); // 3 snapshots × (record + block map + layer)
    const expected = async (ref: string) => (await run('query', '--db', ref, 'SELECT count(*) AS n, sum(hash(h)) AS s FROM t', '--format', 'json')).stdout;
    const truth = { [s1.id]: await expected(`shop@${s1.id}`), [s2.id]: await expected(`shop@${s2.id}`) };
    const cache = join(dir, '.openduck', 'cache');
    const readBy = { [s1.id]: await objectsReadBy(join(dir, '.openduck'), s1.id), [s2.id]: await objectsReadBy(join(dir, '.openduck'), s2.id) };
    expect(readBy[s2.id]!.size).toBe(3);
    let refusedReads = 0;

    for (const file of objects) {
      const key = relative(objectsDir, file);
      const original = await readFile(file);
      const damaged = Buffer.from(original);
      const pos = Math.floor(Math.random() * damaged.length);
      damaged[pos] = damaged[pos]! ^ 0x10;
      await chmod(file, 0o644);
      await writeFile(file, damaged);
      try {
        const f = await run('fsck');
        expect(f.exitCode, `fsck after flipping byte ${pos} of ${key}`).not.toBe(0);
        expect(f.stderr).toContain(key);
        // Reads assemble snapshots afresh, so each one passes over the damaged object if it uses it.
        await rm(cache, { recursive: true, force: true });
        for (const id of [s1.id, s2.id]) {
          const r = await run('query', '--db', `shop@${id}`, 'SELECT count(*) AS n, sum(hash(h)) AS s FROM t', '--format', 'json');
          const what = `read of ${id.slice(0, 12)} with byte ${pos} of ${key} flipped`;
          if (readBy[id]!.has(key)) {
            expect(r.exitCode, what).not.toBe(0);
            expect(expectOneLineError(r), what).toContain(key);
            refusedReads++;
          } else if (r.exitCode === 0) expect(r.stdout, what).toBe(truth[id]);
          else expect(expectOneLineError(r), what).toMatch(/corrupt object/);
        }
      } finally {
        await writeFile(file, original);
      }
    }
    expect(refusedReads).toBeGreaterThanOrEqual(5);
    expect((await run('fsck')).exitCode).toBe(0);
  });
});
