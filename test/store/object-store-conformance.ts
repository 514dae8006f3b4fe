/**
 * The contract every ObjectStore implementation meets. The embedded directory store runs it
 * here; the S3 store runs the same suite against a real S3-compatible server.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../../core/store/object-store.js';
import { NotFoundError, InvalidArgumentError } from '../../core/errors.js';
import { tempDir } from '../helpers.js';

export function objectStoreConformance(name: string, make: () => Promise<ObjectStore>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    it('puts, gets, heads and range-reads', async () => {
      const store = await make();
      const data = randomBytes(100_000);
      await store.put('layers/aa', data);
      expect((await store.get('layers/aa')).equals(data)).toBe(true);
      expect(await store.head('layers/aa')).toEqual({ key: 'layers/aa', size: data.length });
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
      const listed: string[] = [];
      for await (const o of store.list('blockmaps/')) listed.push(o.key);
      expect(listed).toEqual(['blockmaps/a', 'blockmaps/b']);
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
