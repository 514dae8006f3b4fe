/**
 * The contract every MetadataStore implementation meets. The embedded DuckDB store runs it here;
 * the PostgreSQL store runs the same suite against a real server.
 */
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import type { LeaseHolder, MetadataStore, SnapshotRow } from '../../core/store/metadata-store.js';
import { AlreadyExistsError, ConflictError, LeaseHeldError, NotFoundError } from '../../core/errors.js';

const id = (n: number) => n.toString(16).padStart(64, '0');

function snapshot(db: string, n: number, parent?: number): SnapshotRow {
  return {
    db,
    id: id(n),
    parents: parent === undefined ? [] : [id(parent)],
    blockMap: id(1000 + n),
    layer: id(2000 + n),
    message: `snapshot ${n}`,
    author: 'tester',
    createdAt: 1_700_000_000_000 + n,
    sizeBytes: 100 * n,
    blocksChanged: n,
    bytesWritten: 10 * n,
  };
}

const holder = (pid: number, host = hostname()): LeaseHolder => ({ description: `pid ${pid} on ${host} (test)`, host, pid });

async function withDatabase(store: MetadataStore, db: string): Promise<void> {
  await store.createDatabase({ name: db, defaultBranch: 'main', createdAt: 1 }, snapshot(db, 1), { id: id(2001), db, bytes: 10, createdAt: 1 });
}

/**
 * `make` gives a fresh, empty store; `again` a second handle on the same store (as a second
 * process would open it).
 */
export function metadataStoreConformance(name: string, make: () => Promise<MetadataStore>, again: (store: MetadataStore) => MetadataStore): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    it('creates a database with its first snapshot and main branch, once', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      expect(await store.getDatabase('shop')).toMatchObject({ name: 'shop', defaultBranch: 'main' });
      expect(await store.getBranch('shop', 'main')).toMatchObject({ head: id(1) });
      expect(await store.getSnapshot('shop', id(1))).toEqual(snapshot('shop', 1));
      await expect(withDatabase(store, 'shop')).rejects.toThrow(AlreadyExistsError);
      expect((await store.listDatabases()).map((d) => d.name)).toEqual(['shop']);
      expect(await store.listLayers()).toEqual([{ id: id(2001), db: 'shop', bytes: 10, createdAt: 1 }]);
      await store.close();
    });

    it('commits by compare-and-swap on the branch head', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await store.commitSnapshot({ snapshot: snapshot('shop', 2, 1), layer: null, branch: 'main', expectedHead: id(1) });
      expect((await store.getBranch('shop', 'main'))!.head).toBe(id(2));
      // A second writer that built on the old head loses, and leaves nothing behind.
      await expect(store.commitSnapshot({ snapshot: snapshot('shop', 3, 1), layer: null, branch: 'main', expectedHead: id(1) })).rejects.toThrow(
        ConflictError,
      );
      expect(await store.getSnapshot('shop', id(3))).toBeNull();
      expect(await store.casBranchHead('shop', 'main', id(1), id(1))).toBe(false);
      expect(await store.casBranchHead('shop', 'main', id(2), id(1))).toBe(true);
      await store.close();
    });

    it('finds snapshots by id prefix and lists them newest first', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await store.commitSnapshot({ snapshot: snapshot('shop', 2, 1), layer: null, branch: 'main', expectedHead: id(1) });
      await store.putSnapshot({ ...snapshot('shop', 3, 1), id: 'abcdef0' + '1'.repeat(57) });
      await store.putSnapshot({ ...snapshot('shop', 4, 1), id: 'abcdef0' + '2'.repeat(57) });
      expect(await store.findSnapshotIds('shop', 'abcdef0', 10)).toHaveLength(2);
      expect(await store.findSnapshotIds('shop', 'abcdef01', 10)).toEqual(['abcdef0' + '1'.repeat(57)]);
      expect(await store.findSnapshotIds('other', 'abcdef0', 10)).toEqual([]);
      expect((await store.listSnapshots('shop')).map((s) => s.createdAt)).toEqual([...(await store.listSnapshots('shop')).map((s) => s.createdAt)].sort((a, b) => b - a));
      await store.close();
    });

    it('manages branches and tags with clear errors', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await store.createBranch({ db: 'shop', name: 'dev', head: id(1), createdAt: 2 });
      await expect(store.createBranch({ db: 'shop', name: 'dev', head: id(1), createdAt: 2 })).rejects.toThrow(AlreadyExistsError);
      await expect(store.createBranch({ db: 'shop', name: 'x', head: id(99), createdAt: 2 })).rejects.toThrow(NotFoundError);
      expect((await store.listBranches('shop')).map((b) => b.name)).toEqual(['dev', 'main']);
      await store.deleteBranch('shop', 'dev');
      await expect(store.deleteBranch('shop', 'dev')).rejects.toThrow(NotFoundError);
      await store.createTag({ db: 'shop', name: 'v1', snapshot: id(1), createdAt: 3 });
      await expect(store.createTag({ db: 'shop', name: 'v1', snapshot: id(1), createdAt: 3 })).rejects.toThrow(AlreadyExistsError);
      expect(await store.getTag('shop', 'v1')).toMatchObject({ snapshot: id(1) });
      await store.deleteTag('shop', 'v1');
      expect(await store.listTags('shop')).toEqual([]);
      await store.close();
    });

    it('drops a database and everything hanging off it', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await withDatabase(store, 'other');
      await store.createTag({ db: 'shop', name: 'v1', snapshot: id(1), createdAt: 3 });
      await store.dropDatabase('shop');
      expect(await store.getDatabase('shop')).toBeNull();
      expect(await store.listBranches('shop')).toEqual([]);
      expect(await store.listSnapshots('shop')).toEqual([]);
      expect(await store.listTags('shop')).toEqual([]);
      expect(await store.getBranch('other', 'main')).not.toBeNull();
      await expect(store.dropDatabase('shop')).rejects.toThrow(NotFoundError);
      await store.close();
    });

    it('grants one write lease per branch with increasing fencing tokens', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      const alive = () => false;
      const a = await store.acquireLease('shop', 'main', holder(111), 60_000, alive);
      await expect(store.acquireLease('shop', 'main', holder(222), 60_000, alive)).rejects.toThrow(/pid 111/);
      await expect(store.acquireLease('shop', 'main', holder(222), 60_000, alive)).rejects.toBeInstanceOf(LeaseHeldError);
      // Another branch is independent.
      await store.acquireLease('shop', 'dev', holder(222), 60_000, alive);
      // A commit with a stale token is refused.
      await store.releaseLease(a);
      const b = await store.acquireLease('shop', 'main', holder(333), 60_000, alive);
      expect(b.token).toBeGreaterThan(a.token);
      await expect(
        store.commitSnapshot({ snapshot: snapshot('shop', 2, 1), layer: null, branch: 'main', expectedHead: id(1), leaseToken: a.token }),
      ).rejects.toThrow(/lease/);
      await store.commitSnapshot({ snapshot: snapshot('shop', 2, 1), layer: null, branch: 'main', expectedHead: id(1), leaseToken: b.token });
      expect((await store.renewLease(b, 60_000)).expiresAt).toBeGreaterThanOrEqual(b.expiresAt);
      await store.close();
    });

    it('lets an expired lease, or one whose holder is dead, be taken over', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      const old = await store.acquireLease('shop', 'main', holder(111), 1, () => false);
      await new Promise((r) => setTimeout(r, 10));
      const next = await store.acquireLease('shop', 'main', holder(222), 60_000, () => false);
      expect(next.token).toBeGreaterThan(old.token);
      await expect(store.renewLease(old, 60_000)).rejects.toThrow(ConflictError);
      const taken = await store.acquireLease('shop', 'main', holder(333), 60_000, (h) => h.pid === 222);
      expect((await store.getLease('shop', 'main'))!.holder.pid).toBe(333);
      expect(taken.token).toBeGreaterThan(next.token);
      await store.close();
    });
  
    it('reads every database, or one, in one view', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await withDatabase(store, 'other');
      await store.commitSnapshot({ snapshot: snapshot('shop', 2, 1), layer: { id: id(2002), db: 'shop', bytes: 20, createdAt: 2 }, branch: 'main', expectedHead: id(1) });
      await store.createTag({ db: 'shop', name: 'v1', snapshot: id(1), createdAt: 3 });
      const all = await store.readView();
      expect(all.databases.map((d) => d.database.name)).toEqual(['other', 'shop']);
      const shop = all.databases.find((d) => d.database.name === 'shop')!;
      expect(shop.snapshots.map((s) => s.id)).toEqual([id(2), id(1)]);
      expect(shop.branches).toEqual([{ db: 'shop', name: 'main', head: id(2), createdAt: 1 }]);
      expect(shop.tags.map((t) => t.name)).toEqual(['v1']);
      expect(all.layers.map((l) => l.id).sort()).toEqual([id(2001), id(2002)]);
      const one = await store.readView('other');
      expect(one.databases.map((d) => d.database.name)).toEqual(['other']);
      expect(one.layers.every((l) => l.db === 'other')).toBe(true);
      expect((await store.readView('missing')).databases).toEqual([]);
      await store.close();
    });

    it('expires what gc chooses, never a branch head or a tagged snapshot, and remembers what it expired', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      for (let n = 2; n <= 5; n++) await store.commitSnapshot({ snapshot: snapshot('shop', n, n - 1), layer: null, branch: 'main', expectedHead: id(n - 1) });
      await store.createTag({ db: 'shop', name: 'v2', snapshot: id(2), createdAt: 3 });
      let seen: string[] = [];
      const expired = await store.expireSnapshots(
        'shop',
        (history) => {
          seen = history.snapshots.map((s) => s.id);
          return seen; // everything: the store must still keep the head and the tag
        },
        42,
      );
      expect(seen.sort()).toEqual([1, 2, 3, 4, 5].map(id).sort());
      expect(expired.map((s) => s.id).sort()).toEqual([id(1), id(3), id(4)].sort());
      expect(await store.getSnapshot('shop', id(3))).toBeNull();
      expect(await store.getSnapshot('shop', id(2))).not.toBeNull();
      const view = await store.readView('shop');
      expect(view.databases[0]!.snapshots.map((s) => s.id).sort()).toEqual([id(2), id(5)].sort());
      expect(view.expired.map((e) => [e.id, e.blockMap, e.expiredAt]).sort()).toEqual(
        [1, 3, 4].map((n) => [id(n), id(1000 + n), 42]).sort(),
      );
      expect(view.databases[0]!.expired).toHaveLength(3);
      // A branch cannot be created at an expired snapshot.
      await expect(store.createBranch({ db: 'shop', name: 'old', head: id(3), createdAt: 5 })).rejects.toThrow(NotFoundError);
      await store.close();
    });

    it('keeps the snapshots of a dropped database as expired, and its layer rows until gc forgets them', async () => {
      const store = await make();
      await withDatabase(store, 'shop');
      await store.dropDatabase('shop');
      const view = await store.readView();
      expect(view.expired.map((e) => e.id)).toEqual([id(1)]);
      expect(view.layers.map((l) => l.id)).toEqual([id(2001)]);
      await store.forgetLayers([id(2001)]);
      expect(await store.listLayers()).toEqual([]);
      await store.close();
    });

    it('sets a setting once', async () => {
      const store = await make();
      expect(await store.getSetting('objects')).toBeNull();
      expect(await store.initSetting('objects', 's3://a/b')).toBe('s3://a/b');
      expect(await store.initSetting('objects', 's3://c/d')).toBe('s3://a/b');
      expect(await store.getSetting('objects')).toBe('s3://a/b');
      await store.close();
    });

    it('reads one consistent view while another handle commits', async () => {
      const reader = await make();
      await withDatabase(reader, 'shop');
      const writer = again(reader);
      let done = false;
      const commits = (async () => {
        for (let n = 2; n < 60; n++) {
          await writer.commitSnapshot({ snapshot: snapshot('shop', n, n - 1), layer: null, branch: 'main', expectedHead: id(n - 1) });
        }
        done = true;
      })();
      let views = 0;
      while (!done || views === 0) {
        const [history] = (await reader.readView('shop')).databases;
        const ids = new Set(history!.snapshots.map((s) => s.id));
        // The branch and the snapshot it points at are seen together, or neither is.
        for (const b of history!.branches) expect(ids.has(b.head), `view ${views}: ${b.name} -> ${b.head}`).toBe(true);
        views++;
      }
      await commits;
      if (writer !== reader) await writer.close();
      await reader.close();
    });

    it('loses no commit when two handles race on one branch', async () => {
      const first = await make();
      await withDatabase(first, 'shop');
      const second = again(first);
      const outcomes = { committed: 0, refused: 0 };
      let next = 100;
      const writer = async (store: MetadataStore) => {
        for (let i = 0; i < 15; i++) {
          const head = (await store.getBranch('shop', 'main'))!.head;
          const n = next++;
          const s = { ...snapshot('shop', n), parents: [head] };
          try {
            await store.commitSnapshot({ snapshot: s, layer: null, branch: 'main', expectedHead: head });
            outcomes.committed++;
          } catch (err) {
            expect(err).toBeInstanceOf(ConflictError);
            expect(await store.getSnapshot('shop', s.id)).toBeNull();
            outcomes.refused++;
          }
        }
      };
      await Promise.all([writer(first), writer(second)]);
      expect(outcomes.committed + outcomes.refused).toBe(30);
      // Every commit that was reported is on the branch's first-parent chain.
      const byId = new Map((await first.listSnapshots('shop')).map((s) => [s.id, s]));
      let chain = 0;
      for (let at: string | undefined = (await first.getBranch('shop', 'main'))!.head; at; at = byId.get(at)?.parents[0]) chain++;
      expect(chain).toBe(1 + outcomes.committed);
      expect(byId.size).toBe(1 + outcomes.committed);
      await second.close();
      await first.close();
    });
  });
}
