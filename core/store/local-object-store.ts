/**
 * The embedded object store: one file per object under a directory. Writes go to a staging file
 * that is fsynced and then renamed into place, and the directory is fsynced, so an object either
 * exists whole or not at all, whatever moment the process dies.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mkdir, open, readdir, rename, rm, stat, chmod, copyFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { NotFoundError } from '../errors.js';
import { validateObjectKey, type ObjectInfo, type ObjectStore } from './object-store.js';
import { fsyncDir, readFully, stagingPath } from '../fs-util.js';

export class LocalObjectStore implements ObjectStore {
  readonly description: string;

  /** `root` holds the objects; `stagingDir` must be on the same filesystem so renames are atomic. */
  constructor(
    readonly root: string,
    readonly stagingDir: string,
  ) {
    this.description = `directory ${root}`;
  }

  private pathOf(key: string): string {
    validateObjectKey(key);
    const p = resolve(this.root, key);
    if (!p.startsWith(resolve(this.root) + sep)) throw new NotFoundError('object', key);
    return p;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const dest = this.pathOf(key);
    if (await exists(dest)) return;
    await mkdir(this.stagingDir, { recursive: true });
    const tmp = stagingPath(this.stagingDir, '.obj');
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.install(tmp, dest);
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const dest = this.pathOf(key);
    if (await exists(dest)) return;
    await mkdir(this.stagingDir, { recursive: true });
    const tmp = stagingPath(this.stagingDir, '.obj');
    try {
      await pipeline(Readable.from(source), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.install(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async putFile(key: string, path: string): Promise<void> {
    const dest = this.pathOf(key);
    if (await exists(dest)) {
      await rm(path, { force: true });
      return;
    }
    try {
      await this.install(path, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Another filesystem: copy into staging first so the final step is still a rename.
      await mkdir(this.stagingDir, { recursive: true });
      const tmp = stagingPath(this.stagingDir, '.obj');
      await copyFile(path, tmp);
      const fh = await open(tmp, 'r+');
      await fh.sync();
      await fh.close();
      await this.install(tmp, dest);
      await rm(path, { force: true });
    }
  }

  private async install(tmp: string, dest: string): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    // Read-only on disk: objects are immutable, and this stops accidental in-place edits.
    await chmod(tmp, 0o444);
    await rename(tmp, dest);
    await fsyncDir(dirname(dest));
  }

  async get(key: string): Promise<Buffer> {
    const p = this.pathOf(key);
    try {
      const fh = await open(p, 'r');
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw notFound(err, key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    const p = this.pathOf(key);
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (err) {
      throw notFound(err, key);
    }
    try {
      const buf = Buffer.alloc(length);
      await readFully(fh, buf, offset, key);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async *getStream(key: string): AsyncIterable<Buffer> {
    const p = this.pathOf(key);
    try {
      await stat(p);
    } catch (err) {
      throw notFound(err, key);
    }
    yield* createReadStream(p, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return { key, size: s.size, modifiedAt: s.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const found: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) {
          const key = relative(this.root, full).split(sep).join('/');
          // A file deleted since readdir (by a concurrent gc) is simply not listed.
          const s = key.startsWith(prefix) ? await stat(full).catch(() => null) : null;
          if (s) found.push({ key, size: s.size, modifiedAt: s.mtimeMs });
        }
      }
    };
    await walk(this.root);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* found;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function notFound(err: unknown, key: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFoundError('object', key) : err;
}
