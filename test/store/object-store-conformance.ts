/**
 * The contract every ObjectStore implementation meets. The embedded directory store runs it
 * here; the S3 store runs the same suite against a real S3-compatible server.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectInfo, ObjectStore } from '../../core/store/object-store.js';
import { NotFoundError, InvalidArgumentError } from '../../core/errors.js';
import { tempDir } from '../helpers.js';

export function objectStoreConformance(name: string, make: () => Promise<ObjectStore>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    it('puts, gets, heads and range-reads', async () => {
      const store = await make();
      const data = randomBytes(100_000);
      const before = Date.now();
      await store.put('layers/aa', data);
      expect((await store.get('layers/aa')).equals(data)).toBe(true);
      const info = await store.head('layers/aa');
      expect(info).toMatchObject({ key: 'layers/aa', size: data.length });
      // gc's grace period counts from here; S3 reports whole seconds.
      expect(info!.modifiedAt).toBeGreaterThan(before - 2_000);
      expect(info!.modifiedAt).toBeLessThan(Date.now() + 2_000);
      expect((await store.getRange('layers/aa', 1000, 5000)).equals(data.subarray(1000, 6000))).toBe(true);
      const pieces: Buffer[] = [];
      for await (const p of store.getStream('layers/aa')) pieces.push(p);
      expect(Buffer.concat(pieces).equals(data)).toBe(true);
      await store.close();
    });

    it('stores a file without buffering it in the caller', async () => {
      const store = await make();
      const file = join(await tempDir(), 'f');
      const data = randomBytes(3 << 20);
      await writeFile(file, data);
      await store.putFile('layers/big', file);
      expect((await store.get('layers/big')).equals(data)).toBe(true);
      await store.close();
    });

    it('stores a stream whole, or not at all when the source fails', async () => {
      const store = await make();
      // 6 MB: more than one part for a store that uploads in 5 MiB parts.
      const pieces = Array.from({ length: 12 }, () => randomBytes(500_000));
      async function* source() {
        yield* pieces;
      }
      await store.putStream('layers/streamed', source());
      expect((await store.get('layers/streamed')).equals(Buffer.concat(pieces))).toBe(true);
      // A size hint is only a hint: more bytes than it says are stored all the same.
      await store.putStream('layers/hinted', source(), 1000);
      expect((await store.get('layers/hinted')).equals(Buffer.concat(pieces))).toBe(true);
      async function* failing() {
        yield pieces[0]!;
        throw new Error('source broke');
      }
      await expect(store.putStream('layers/broken', failing())).rejects.toThrow(/source broke/);
      expect(await store.head('layers/broken')).toBeNull();
      await store.putStream('blockmaps/empty', (async function* () {})());
      expect((await store.get('blockmaps/empty')).length).toBe(0);
      await store.close();
    });

    it('treats objects as immutable: a second put of the same key keeps the first', async () => {
      const store = await make();
      await store.put('snapshots/s1', Buffer.from('first'));
      await store.put('snapshots/s1', Buffer.from('second'));
      expect((await store.get('snapshots/s1')).toString()).toBe('first');
      await store.close();
    });

    it('reports missing objects as NotFoundError naming the key', async () => {
      const store = await make();
      await expect(store.get('layers/missing')).rejects.toThrow(NotFoundError);
      await expect(store.get('layers/missing')).rejects.toThrow(/layers\/missing/);
      await expect(store.getRange('layers/missing', 0, 1)).rejects.toThrow(NotFoundError);
      expect(await store.head('layers/missing')).toBeNull();
      await store.close();
    });

    it('lists by prefix in key order and deletes', async () => {
      const store = await make();
      for (const k of ['blockmaps/b', 'blockmaps/a', 'layers/c']) await store.put(k, Buffer.from(k));
      const listed: ObjectInfo[] = [];
      for await (const o of store.list('blockmaps/')) listed.push(o);
      expect(listed.map((o) => o.key)).toEqual(['blockmaps/a', 'blockmaps/b']);
      expect(listed.map((o) => o.size)).toEqual([11, 11]);
      for (const o of listed) expect(o.modifiedAt).toBeGreaterThan(0);
      await store.delete('blockmaps/a');
      expect(await store.head('blockmaps/a')).toBeNull();
      await store.delete('blockmaps/a'); // deleting twice is fine
      await store.close();
    });

    it('refuses keys that could escape the store', async () => {
      const store = await make();
      for (const bad of ['../x', 'layers/../../etc/passwd', '/abs/key', 'layers/', 'layers//x', 'Layers/x', 'layers/a\0b']) {
        await expect(store.put(bad, Buffer.from('x')), bad).rejects.toThrow(InvalidArgumentError);
        await expect(store.get(bad), bad).rejects.toThrow(InvalidArgumentError);
      }
      await store.close();
    });
  });
}
