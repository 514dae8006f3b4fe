import { open, rename, writeFile, rm, readdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TruncatedFileError } from './errors.js';

/**
 * A fresh name for a staging file in `dir`: `<pid>-<random><suffix>`. The pid prefix is what
 * lets `removeStaleStagingFiles` tell a dead writer's leftovers from a live one's work.
 */
export function stagingPath(dir: string, suffix: string): string {
  return join(dir, `${process.pid}-${randomBytes(6).toString('hex')}${suffix}`);
}

/** Reads exactly `into.length` bytes at `position`; a short file is a TruncatedFileError naming `file`. */
export async function readFully(handle: FileHandle, into: Buffer, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new TruncatedFileError(file, position + done);
    done += bytesRead;
  }
}

export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Makes a rename or create in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces a small file atomically: write a sibling, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  // Beside its target, so the rename stays on one file system.
  const tmp = stagingPath(dirname(path), `-${basename(path)}.tmp`);
  await writeFile(tmp, data, { mode });
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging files named `<pid>-…` whose process is gone: leftovers of a killed writer. */
export async function removeStaleStagingFiles(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isProcessAlive(pid)) {
      await rm(join(dir, name), { force: true, recursive: true });
      removed++;
    }
  }
  return removed;
}
