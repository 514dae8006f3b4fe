/**
 * Fencing that reaches the working copy file. The branch lease (lease.ts) orders writers in the
 * metadata store, but DuckDB writes the file directly: a writer stopped past its lease's expiry
 * (SIGSTOP, a paused VM) would resume and write into a file that another process has since
 * rewritten. What stops it is DuckDB's own lock: DuckDB takes a POSIX write lock on a file it
 * opens read-write and holds it while the process lives, stopped or not.
 *
 * So every operation that reads a working copy to seal it or writes blocks into it first takes
 * that same lock, by attaching the file read-write in a DuckDB instance of its own, and keeps it
 * until done. The attach also folds a leftover WAL into the file (CHECKPOINT), so the file alone
 * is the content. Measured: attaching, checkpointing and detaching an unmodified file writes
 * nothing, so a clean working copy stays byte-for-byte (and mtime-for-mtime) clean.
 *
 * POSIX locks belong to the process and are dropped when the process closes ANY descriptor of
 * the file. So while the lock is held, every read and write of the file goes through `handle`,
 * and nothing else in the process may open and close the file.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from './duckdb-api.js';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { DamagedFileError, DamagedWorkingCopyError, LeaseHeldError, MissingWorkingCopyError, errorMessage } from './errors.js';
import { checkDuckDBChunk, chunkExtent, readDuckDBLayout, type FileLayout } from './format/duckdb-file.js';
import { readFully } from './fs-util.js';
import { quoteLiteral } from './sql.js';

export interface FileLockTarget {
  database: string;
  path: string;
  /** The branch the working copy is on, for the recovery hint in errors. */
  branch: string;
}

export class WorkingCopyFileLock {
  private released = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** The one descriptor through which the file is read and written while the lock is held. */
    readonly handle: FileHandle,
    /** The file's verified layout as of acquiring. */
    readonly layout: FileLayout,
  ) {}

  /**
   * Takes the lock. A missing file is MissingWorkingCopyError, a file DuckDB refuses (or whose
   * header fails our checks) is DamagedWorkingCopyError, and a file another process holds is
   * LeaseHeldError naming it. `discardWal` drops a WAL first: for callers about to replace the
   * file's content, so its changes are never replayed onto the new content.
   */
  static async acquire(target: FileLockTarget, options: { discardWal?: boolean } = {}): Promise<WorkingCopyFileLock> {
    const { database, path, branch } = target;
    if (!(await stat(path).catch(() => null))) throw new MissingWorkingCopyError(database, path, branch);
    if (options.discardWal) await rm(`${path}.wal`, { force: true });
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    let connection: DuckDBConnection | null = null;
    let handle: FileHandle | null = null;
    try {
      connection = await instance.connect();
      try {
        await connection.run(`ATTACH ${quoteLiteral(path)} AS working_copy`);
        await connection.run('CHECKPOINT working_copy');
      } catch (err) {
        const message = errorMessage(err);
        if (/Could not set lock on file/i.test(message)) {
          const pid = /PID (\d+)/.exec(message)?.[1];
          throw new LeaseHeldError(`working copy of ${database}`, pid ? `pid ${pid}, which has it open` : 'another process');
        }
        throw new DamagedWorkingCopyError(database, path, await diagnose(path, message), branch);
      }
      handle = await open(path, 'r+');
      let layout: FileLayout;
      try {
        layout = await readDuckDBLayout(handle, path);
      } catch (err) {
        if (err instanceof DamagedFileError) throw new DamagedWorkingCopyError(database, path, err.detail, branch);
        throw err;
      }
      return new WorkingCopyFileLock(instance, connection, handle, layout);
    } catch (err) {
      connection?.closeSync();
      instance.closeSync();
      await handle?.close();
      throw err;
    }
  }

  /** Flushes what was written through `handle`, then gives the lock up. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.handle.sync();
    } finally {
      this.connection.closeSync();
      this.instance.closeSync();
      await this.handle.close();
    }
  }
}

/**
 * Our own reading of why DuckDB refused a file, naming the header or block at fault; DuckDB's
 * words when our checks find nothing (a damaged WAL, say). Reads the whole file: an error path.
 */
async function diagnose(path: string, duckdbMessage: string): Promise<string> {
  const firstLine = duckdbMessage.split('\n')[0]!.replace(/^[A-Za-z ]*Error: /, '');
  let handle: FileHandle | null = null;
  try {
    handle = await open(path, 'r');
    const layout = await readDuckDBLayout(handle, path);
    const block = Buffer.alloc(layout.blockSize);
    for (let chunk = 1; chunk < layout.chunkCount; chunk++) {
      const { offset, length } = chunkExtent(layout, chunk);
      const data = block.subarray(0, length);
      await readFully(handle, data, offset, path);
      const problem = checkDuckDBChunk(chunk, data);
      if (problem) return `${problem} (byte ${offset})`;
    }
  } catch (err) {
    if (err instanceof DamagedFileError) return err.detail;
  } finally {
    await handle?.close();
  }
  return firstLine;
}
