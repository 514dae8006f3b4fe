/**
 * gc on both kinds of store: retention decides which snapshots stay, and only objects no
 * remaining snapshot needs are deleted, once the grace period has passed. Everything that stays
 * must read back and pass fsck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../../core/repository.js';
import { createDatabase } from '../../core/verbs/database.js';
import { createSnapshot, listSnapshots, restoreSnapshot } from '../../core/verbs/snapshot.js';
import { createBranch, checkout } from '../../core/verbs/branch.js';
import { createTag } from '../../core/verbs/tag.js';
import { query } from '../../core/verbs/query.js';
import { fsck } from '../../core/verbs/fsck.js';
import { log } from '../../core/verbs/log.js';
import { gc, parseDuration } from '../../core/verbs/gc.js';
import { decodeBlockMap, layersOf } from '../../core/format/block-map.js';
import { objectKeys } from '../../core/store/object-store.js';
import { WorkingCopy } from '../../core/working-copy.js';
import { materializeSnapshot } from '../../core/snapshot-cache.js';
import { tempDir, tempRepository } from '../helpers.js';
import { exportCredentials, startPostgres, startS3, type PostgresServer, type S3Server } from '../shared-stores.js';

let postgres: PostgresServer;
let s3: S3Server;
let restoreEnv = () => {};

beforeAll(async () => {
  [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  restoreEnv = exportCredentials(postgres, s3);
});

afterAll(async () => {
  restoreEnv();
  await Promise.all([postgres?.close(), s3?.close()]);
});

const kinds: { name: string; make: () => Promise<Repository> }[] = [
  { name: 'the embedded stores', make: () => tempRepository() },
  {
    name: 'PostgreSQL and S3',
    make: async () =>
      Repository.init(join(await tempDir(), '.openduck'), { stores: { metadata: await postgres.createDatabase(), objects: s3.newLocation(), s3Endpoint: s3.endpoint } }),
  },
];

const ROWS = 60_000;

async function storeBytes(repo: Repository): Promise<number> {
  let n = 0;
  for await (const o of repo.objects.list('')) n += o.size;
  return n;
}

/** The keys a snapshot needs: its record, its block map and every layer the map names. */
async function neededKeys(repo: Repository, snapshotId: string, blockMap: string): Promise<string[]> {
  const key = objectKeys.blockMap(blockMap);
  const map = decodeBlockMap(await repo.objects.get(key), key, blockMap);
  return [objectKeys.snapshot(snapshotId), key, ...layersOf(map).map(objectKeys.layer)].sort();
}

/** A repository with database shop, whose table t is in a first snapshot made with `message`. */
async function seeded(kind: { make: () => Promise<Repository> }, message: string): Promise<Repository> {
  const repo = await kind.make();
  await createDatabase(repo, 'shop');
  await query(repo, 'shop', `CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS v FROM range(${ROWS})`);
  await createSnapshot(repo, 'shop', { message });
  return repo;
}

/** Row count and a hash of table t's contents at `ref` ("no table" before it was created). */
async function fingerprint(repo: Repository, ref: string): Promise<string> {
  const tables = await query(repo, ref, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 't'");
  if (Number(tables.rows[0]!.n) === 0) return 'no table';
  const r = await query(repo, ref, "SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(id, v)), 0)::VARCHAR AS f FROM t");
  return String(r.rows[0]!.f);
}

for (const kind of kinds) {
  describe(`gc on ${kind.name}`, () => {
    it('after --keep-last 1 on ten snapshots, keeps only what the head needs: within 1.2x of one snapshot stored alone', async () => {
      const repo = await kind.make();
      await createDatabase(repo, 'shop');
      // Each snapshot replaces all the data (a daily full load): gc deletes whole layers, so this
      // is the case where everything older can go. (Scattered updates leave older layers partly
      // in use; those stay whole. See docs/guides/snapshots-and-gc.md.)
      for (let i = 0; i < 10; i++) {
        await query(repo, 'shop', `CREATE OR REPLACE TABLE t AS SELECT range + ${i * ROWS} AS id, md5((range * ${i + 7})::VARCHAR) AS v FROM range(${ROWS})`);
        await createSnapshot(repo, 'shop', { message: `load ${i}` });
      }
      const head = (await repo.metadata.getBranch('shop', 'main'))!.head;
      const expected = await fingerprint(repo, `shop@${head}`);
      const before = await storeBytes(repo);

      const r = await gc(repo, { keepLast: 1, graceMs: 0 });
      expect(r.databases.map((d) => [d.name, d.expired.length])).toEqual([['shop', 10]]);
      expect(r.reclaimed.bytes).toBe(before - (await storeBytes(repo)));

      // Nothing is left but what the head needs, and the head reads back the same.
      const headRow = (await repo.metadata.getSnapshot('shop', head))!;
      const left: string[] = [];
      for await (const o of repo.objects.list('')) left.push(o.key);
      expect(left.sort()).toEqual(await neededKeys(repo, head, headRow.blockMap));
      expect((await fsck(repo)).problems).toEqual([]);
      expect(await fingerprint(repo, `shop@${head}`)).toBe(expected);
      expect((await log(repo, 'shop', { graph: true })).map((e) => e.id)).toEqual([head]);

      // "One snapshot's data": the same file stored as the only snapshot of a fresh repository.
      const alone = await tempRepository();
      await createDatabase(alone, 'x');
      await copyFile(await materializeSnapshot(repo, headRow), new WorkingCopy(alone, 'x').path);
      await createSnapshot(alone, 'x');
      const ratio = (await storeBytes(repo)) / (await storeBytes(alone));
      expect(ratio).toBeLessThanOrEqual(1.2);
      await alone.close();
      await repo.close();
    });

    it('keeps the newest N per branch, tagged snapshots, the --keep-within window and what a restore reuses; a dry run deletes nothing', async () => {
      const repo = await seeded(kind, 'load');
      for (let i = 1; i <= 4; i++) {
        await query(repo, 'shop', `UPDATE t SET v = md5(v) WHERE id % 5 = ${i}`);
        await createSnapshot(repo, 'shop', { message: `main ${i}` });
      }
      const main = (await listSnapshots(repo, 'shop', { branch: 'main' })).map((s) => s.id); // newest first: 6 snapshots
      await createTag(repo, 'shop', 'v0', main[4]); // "load"
      await createBranch(repo, 'shop', 'dev', main[2]);
      await checkout(repo, 'shop', 'dev');
      for (let i = 1; i <= 2; i++) {
        await query(repo, 'shop', `DELETE FROM t WHERE id % 7 = ${i}`);
        await createSnapshot(repo, 'shop', { message: `dev ${i}` });
      }
      const dev = (await listSnapshots(repo, 'shop', { branch: 'dev' })).map((s) => s.id);
      await checkout(repo, 'shop', 'main');
      // main's head restores "main 1": the new head reuses that snapshot's block map and layers.
      await restoreSnapshot(repo, 'shop', main[3]!);
      const head = (await repo.metadata.getBranch('shop', 'main'))!.head;
      const fingerprints = new Map<string, string>();
      for (const id of new Set([...main, ...dev, head])) fingerprints.set(id, await fingerprint(repo, `shop@${id}`));

      // keep-last 2: main's head and its parent (main[0]); dev's two; the tag; and nothing else.
      const retained = new Set([head, main[0]!, dev[0]!, dev[1]!, main[4]!]);
      const expiring = [...new Set([...main, ...dev])].filter((id) => !retained.has(id));
      const bytesBefore = await storeBytes(repo);
      const dry = await gc(repo, { keepLast: 2, graceMs: 0, dryRun: true });
      expect(dry.databases[0]!.expired.map((s) => s.id).sort()).toEqual(expiring.sort());
      expect(dry.reclaimed.objects).toBeGreaterThan(0);
      expect(await storeBytes(repo)).toBe(bytesBefore);
      expect((await repo.metadata.listSnapshots('shop')).length).toBe(fingerprints.size);

      // The window keeps "main 3" (made after "main 2") although keep-last would expire it.
      const rows = new Map((await repo.metadata.listSnapshots('shop')).map((s) => [s.id, s]));
      const now = rows.get(main[1]!)!.createdAt + 1;
      const withWindow = await gc(repo, { keepLast: 2, keepWithinMs: now - rows.get(main[1]!)!.createdAt, graceMs: 0, now });
      expect(withWindow.databases[0]!.expired.map((s) => s.id).sort()).toEqual(expiring.filter((id) => id !== main[1]).sort());
      expect(withWindow.reclaimed.bytes).toBeGreaterThan(0);

      // Every snapshot that stayed reads back exactly; the restored content survived its snapshot.
      const left = [...retained, main[1]!];
      expect((await repo.metadata.listSnapshots('shop')).map((s) => s.id).sort()).toEqual(left.sort());
      for (const id of left) expect(await fingerprint(repo, `shop@${id}`), id).toBe(fingerprints.get(id));
      expect(await fingerprint(repo, `shop@${head}`)).toBe(fingerprints.get(main[3]!));
      expect((await fsck(repo)).problems).toEqual([]);
      expect((await log(repo, 'shop', { graph: true })).length).toBe(left.length);
      await repo.close();
    });

    it('waits out the grace period: young leftovers of interrupted writes and just-expired snapshots stay until it passes', async () => {
      const repo = await seeded(kind, 'one');
      const first = (await repo.metadata.getBranch('shop', 'main'))!.head;
      const firstRow = (await repo.metadata.getSnapshot('shop', first))!;
      await query(repo, 'shop', `CREATE OR REPLACE TABLE t AS SELECT range AS id, md5((range * 3)::VARCHAR) AS v FROM range(${ROWS})`);
      await createSnapshot(repo, 'shop', { message: 'two' });
      // What a writer killed before its commit leaves: an object nothing names.
      const leftover = objectKeys.layer('ab'.repeat(32));
      await repo.objects.put(leftover, Buffer.from('partial layer'));

      const r = await gc(repo, { keepLast: 1 });
      // "one" and the database's first (empty) snapshot go; "two" is the head.
      expect(r.databases[0]!.expired.map((s) => s.id)).toEqual([first, firstRow.parents[0]!]);
      expect(r.reclaimed.objects).toBe(0);
      expect(r.unattributed.waiting).toEqual({ objects: 1, bytes: 'partial layer'.length });
      // The expired snapshots' own objects wait too: "one" had a record, a map and a layer of its own.
      expect(r.databases[0]!.waiting.objects).toBeGreaterThanOrEqual(3);
      // A reader that resolved the expired snapshot before gc can still read all of it.
      for (const key of await neededKeys(repo, first, firstRow.blockMap)) expect(await repo.objects.head(key), key).not.toBeNull();

      const later = await gc(repo, { now: Date.now() + parseDuration('1h1m') });
      expect(later.unattributed.reclaimed).toEqual({ objects: 1, bytes: 'partial layer'.length });
      expect(later.databases.find((d) => d.name === 'shop')!.reclaimed.objects).toBeGreaterThan(0);
      expect(await repo.objects.head(leftover)).toBeNull();
      expect(await repo.objects.head(objectKeys.snapshot(first))).toBeNull();
      expect((await fsck(repo)).problems).toEqual([]);
      await repo.close();
    });
  });
}

describe('gc on a shared repository', () => {
  it('expires the base of another folder\'s working copy, which follows its branch when clean', async () => {
    const stores = { metadata: await postgres.createDatabase(), objects: s3.newLocation(), s3Endpoint: s3.endpoint };
    const a = await Repository.init(join(await tempDir(), '.openduck'), { stores });
    await createDatabase(a, 'shop');
    await query(a, 'shop', `CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS v FROM range(${ROWS})`);
    await createSnapshot(a, 'shop', { message: 'one' });
    const b = await Repository.init(join(await tempDir(), '.openduck'), { stores });
    expect(b.joined).toBe(true);
    // A joined folder has no working copies until it checks one out (initRepository does that for each database).
    await checkout(b, 'shop', 'main');
    const baseOfB = (await b.metadata.getBranch('shop', 'main'))!.head;
    expect(await fingerprint(b, 'shop')).toBe(await fingerprint(a, 'shop@main'));

    // A moves main on and trims history: gc in A knows nothing of B's working copy.
    await query(a, 'shop', 'DELETE FROM t WHERE id % 2 = 0');
    await createSnapshot(a, 'shop', { message: 'two' });
    await gc(a, { keepLast: 1, graceMs: 0 });
    expect(await b.metadata.getSnapshot('shop', baseOfB)).toBeNull();

    // B's working copy, untouched since it was made, follows main to A's snapshot.
    expect(await fingerprint(b, 'shop')).toBe(await fingerprint(a, 'shop@main'));
    await query(b, 'shop', 'INSERT INTO t VALUES (-1, $$from b$$)');
    expect((await createSnapshot(b, 'shop', { message: 'three' })).created).toBe(true);
    expect((await log(a, 'shop')).map((e) => e.message)).toEqual(['three', 'two']);
    expect((await fsck(a)).problems).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('gc arguments', () => {
  it('parses durations and refuses nonsense', async () => {
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('7 days')).toThrow(/invalid duration "7 days"/);
    const repo = await tempRepository();
    await expect(gc(repo, { keepLast: 0 })).rejects.toThrow(/--keep-last must be a whole number of at least 1/);
    await expect(gc(repo, { db: 'nope' })).rejects.toThrow(/database not found: nope/);
    await repo.close();
  });
});
