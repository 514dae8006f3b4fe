/**
 * A database's working copy: one DuckDB file that SQL writes to, plus a small state file saying
 * which branch it is on and which snapshot it was made from (its base).
 *
 * Operations that move the working copy (checkout, restore, and the commit step of a seal) first
 * record their intent in the state file. If the process dies halfway, the next writer finds the
 * intent and finishes it: when the target snapshot exists, the file is brought to exactly that
 * snapshot (only differing blocks are rewritten); when it does not, the commit never happened and
 * the intent is dropped. Either way no committed data is lost and the file is never left torn.
 *
 * Nothing here creates a working copy implicitly: a missing file or state is an error that says
 * how to rebuild it (`openduck checkout DB BRANCH --force`), because silently recreating it
 * would hide the loss of whatever it held.
 */
import { mkdir, readFile, rename, rm, stat, utimes, open } from 'node:fs/promises';
import { join } from 'node:path';
import { readSync } from 'node:fs';
import { applyBlockMap, BlockReader, type ApplyResult } from './blocks.js';
import { scanChangedChunks } from './chunk-scan.js';
import type { BlockMap } from './format/block-map.js';
import { BLOCK_CHECKSUM_SIZE, chunkExtent } from './format/duckdb-file.js';
import { ConflictError, DamagedFileError, DamagedWorkingCopyError, MissingWorkingCopyError, NotFoundError, OpenDuckError } from './errors.js';
import { fsyncDir, removeStaleStagingFiles, stagingPath, writeFileAtomic } from './fs-util.js';
import { isFullId, shortId } from './hash.js';
import { acquireLeases, releaseAll, type WriteLease } from './lease.js';
import { isValidRev } from './names.js';
import type { Repository } from './repository.js';
import type { SnapshotRow } from './store/metadata-store.js';
import type { ProgressSink } from './progress.js';
import { WorkingCopyFileLock } from './working-copy-lock.js';

export interface WorkingCopyState {
  branch: string;
  base: string;
  /** An interrupted move to `target` on `branch`, finished or dropped by recovery. */
  move?: { branch: string; target: string };
  /** The file's stat when it was last proven to equal `base`; see `stampClean`. */
  stamp?: FileStamp;
}

/**
 * What git's index keeps to skip re-reading a file: enough of its stat to prove it was not
 * written since. Nanosecond times and inode numbers exceed JS's safe integers, so they are kept
 * as decimal strings.
 */
export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
}

/**
 * How far back a clean file's mtime is set. Any later write sets mtime to the current time, and
 * the ctime (which nothing can set back) moves with every write and every utimes, so a file
 * whose stat still equals the stamp has not been written since: no scan is needed to know it is
 * clean. That closes git's "racy clean" case too: the stamp is taken after our own utimes, while
 * the file lock keeps every other writer out.
 */
const STAMP_AGE_MS = 3_600_000;

export class WorkingCopy {
  constructor(
    readonly repo: Repository,
    readonly db: string,
  ) {}

  get dir(): string {
    return this.repo.workdir(this.db);
  }

  get path(): string {
    return join(this.dir, `${this.db}.duckdb`);
  }

  get walPath(): string {
    return `${this.path}.wal`;
  }

  get statePath(): string {
    return join(this.dir, 'state.json');
  }

  /** The state, or null when there is none; a state file that does not parse is DamagedFileError. */
  async readState(): Promise<WorkingCopyState | null> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return parseState(text, this.statePath, this.db);
  }

  async writeState(state: WorkingCopyState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.statePath, JSON.stringify(state, null, 2) + '\n');
  }

  /** The branch the working copy is on; the default branch when there is no working copy yet. */
  async currentBranch(): Promise<string> {
    const state = await this.readState();
    if (state) return state.move?.branch ?? state.branch;
    const database = await this.repo.metadata.getDatabase(this.db);
    if (!database) throw new NotFoundError('database', this.db);
    return database.defaultBranch;
  }

  async exists(): Promise<boolean> {
    return !!(await stat(this.path).catch(() => null));
  }

  /** Whether this folder has a working copy of the database at all (its file or its state). */
  async present(): Promise<boolean> {
    return (await this.exists()) || !!(await stat(this.statePath).catch(() => null));
  }

  /** Takes the file lock (see working-copy-lock.ts), folding any WAL into the file. */
  lockFile(branch: string, options: { discardWal?: boolean } = {}): Promise<WorkingCopyFileLock> {
    return WorkingCopyFileLock.acquire({ database: this.db, path: this.path, branch }, options);
  }

  /**
   * Marks the file as proven equal to the state's base: moves its mtime an hour back and returns
   * its stat for the state file. Call only while the file is known to hold the base.
   */
  async stampClean(): Promise<FileStamp> {
    const past = new Date(Date.now() - STAMP_AGE_MS);
    await utimes(this.path, past, past);
    const s = await stat(this.path, { bigint: true });
    return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), ino: String(s.ino), dev: String(s.dev) };
  }

  /** True when the file is untouched since `stamp` was taken, so it still equals the base. */
  async matchesStamp(stamp: FileStamp | undefined): Promise<boolean> {
    if (!stamp || (await stat(this.walPath).catch(() => null))) return false;
    const s = await stat(this.path, { bigint: true }).catch(() => null);
    return (
      !!s &&
      Number(s.size) === stamp.size &&
      String(s.mtimeNs) === stamp.mtimeNs &&
      String(s.ctimeNs) === stamp.ctimeNs &&
      String(s.ino) === stamp.ino &&
      String(s.dev) === stamp.dev
    );
  }

  /**
   * Whether the locked file differs from `base`. A matching stamp proves it clean without a read;
   * a differing DuckDB checksum proves it dirty after an 8-byte read per block; otherwise every
   * chunk is hashed, since equal checksums prove nothing.
   */
  async isDirty(base: SnapshotRow, stamp: FileStamp | undefined, lock: WorkingCopyFileLock): Promise<boolean> {
    if (await this.matchesStamp(stamp)) return false;
    const map = await this.repo.blockMap(base.blockMap);
    const { layout, handle } = lock;
    if (layout.fileSize !== map.fileSize || layout.blockSize !== map.blockSize || layout.headerSize !== map.headerSize) return true;
    const probe = Buffer.alloc(BLOCK_CHECKSUM_SIZE);
    for (let chunk = 1; chunk < layout.chunkCount; chunk++) {
      const { offset, length } = chunkExtent(layout, chunk);
      if (length < BLOCK_CHECKSUM_SIZE) continue;
      if (readSync(handle.fd, probe, 0, BLOCK_CHECKSUM_SIZE, offset) === BLOCK_CHECKSUM_SIZE && !probe.equals(map.chunks[chunk]!.duckdbChecksum)) return true;
    }
    for await (const _ of scanChangedChunks(handle, layout, { base: map, collect: 'none', file: this.path })) return true;
    return false;
  }

  /**
   * Rewrites the locked file in place to hold `target`; only differing chunks are written.
   * `holds` is a snapshot the file is proven to equal (clean, just checked), which spares reading
   * the file; without it every chunk is hashed.
   */
  async apply(target: SnapshotRow, lock: WorkingCopyFileLock, holds?: SnapshotRow, progress?: ProgressSink): Promise<ApplyResult & { stamp: FileStamp }> {
    const map = await this.repo.blockMap(target.blockMap);
    const from: 'scan' | BlockMap = holds ? await this.repo.blockMap(holds.blockMap) : 'scan';
    const applied = await applyBlockMap(lock.handle, this.path, map, new BlockReader(this.repo.objects), from, progress);
    return { ...applied, stamp: await this.stampClean() };
  }

  /**
   * Builds the file afresh from `target` beside the old one and renames it into place: for a
   * working copy that is missing or too damaged for DuckDB to open. A process still holding the
   * old file keeps writing to the old, unlinked inode, never to the new file.
   */
  async rebuild(target: SnapshotRow, progress?: ProgressSink): Promise<ApplyResult & { stamp: FileStamp }> {
    const map = await this.repo.blockMap(target.blockMap);
    await removeStaleStagingFiles(this.dir);
    const staging = stagingPath(this.dir, '.rebuild');
    try {
      const handle = await open(staging, 'wx', 0o644);
      let applied: ApplyResult;
      try {
        applied = await applyBlockMap(handle, staging, map, new BlockReader(this.repo.objects), 'fresh', progress);
      } finally {
        await handle.close();
      }
      await rm(this.walPath, { force: true });
      await rename(staging, this.path);
      await fsyncDir(this.dir);
      return { ...applied, stamp: await this.stampClean() };
    } finally {
      await rm(staging, { force: true });
    }
  }
}

/**
 * How `lockWorkingCopy` treats the working copy:
 * - `write`: finish interrupted moves, follow a moved branch head, and hold the file lock.
 * - `query`: the same, but leave the file unlocked for a DuckDB session to open.
 * - `repair`: like `write`, but a missing or damaged file or state is reported in `fileProblem`
 *   (and an absent working copy is set up from the branch) instead of failing: for `--force`.
 * - `drop`: only the leases, and the file lock when it can be had.
 */
export type LockMode = 'write' | 'query' | 'repair' | 'drop';

/** A working copy held for writing: the lease on its branch (and any others asked for) is taken. */
export interface LockedWorkingCopy {
  wc: WorkingCopy;
  state: WorkingCopyState;
  leases: WriteLease[];
  /** The lease on the working copy's own branch. */
  lease: WriteLease;
  /** The file lock, in `write` mode, and in `repair` mode when the file is sound. */
  file: WorkingCopyFileLock | null;
  /** In `repair` mode: why the file could not be locked (missing or damaged). */
  fileProblem: OpenDuckError | null;
  /** Gives up the file lock early, keeping the leases. */
  releaseFile(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes the write lease on the working copy's branch (plus `alsoLock` branches), recovers any
 * interrupted operation, and checks that the working copy still sits on its branch head. A branch
 * head that moved elsewhere is followed when the working copy is clean.
 */
export async function lockWorkingCopy(
  repo: Repository,
  db: string,
  purpose: string,
  options: { alsoLock?: string[]; mode?: LockMode } = {},
): Promise<LockedWorkingCopy> {
  const mode = options.mode ?? 'write';
  const tolerant = mode === 'repair' || mode === 'drop';
  const wc = new WorkingCopy(repo, db);
  for (let attempt = 0; ; attempt++) {
    const branch = await branchOrDefault(wc, tolerant);
    const leases = await acquireLeases(repo.metadata, db, [branch, ...(options.alsoLock ?? [])], { purpose });
    let file: WorkingCopyFileLock | null = null;
    try {
      // A checkout may have switched branches while we waited for the lease.
      if ((await branchOrDefault(wc, tolerant)) !== branch) {
        if (attempt < 3) {
          await releaseAll(leases);
          continue;
        }
        throw new ConflictError(`${db}`, `working copy of ${db} keeps switching branches; try again`);
      }
      const settled = mode === 'drop' ? await lockForDrop(wc, branch) : await settle(repo, wc, mode);
      file = settled.file;
      const state = settled.state;
      if (mode === 'query' && file) {
        await file.release();
        file = null;
      }
      const lease = leases.find((l) => l.branch === state.branch) ?? leases.find((l) => l.branch === branch)!;
      const held = file;
      return {
        wc,
        state,
        leases,
        lease,
        file: held,
        fileProblem: settled.problem,
        releaseFile: async () => {
          await held?.release();
        },
        release: async () => {
          await held?.release().catch(() => undefined);
          await releaseAll(leases);
        },
      };
    } catch (err) {
      await file?.release().catch(() => undefined);
      await releaseAll(leases);
      throw err;
    }
  }
}

async function branchOrDefault(wc: WorkingCopy, tolerant: boolean): Promise<string> {
  try {
    return await wc.currentBranch();
  } catch (err) {
    if (!tolerant || !(err instanceof DamagedFileError)) throw err;
    const database = await wc.repo.metadata.getDatabase(wc.db);
    if (!database) throw new NotFoundError('database', wc.db);
    return database.defaultBranch;
  }
}

interface Settled {
  state: WorkingCopyState;
  file: WorkingCopyFileLock | null;
  problem: OpenDuckError | null;
}

/** Finishes or drops an interrupted move, follows a moved head, and takes the file lock. */
async function settle(repo: Repository, wc: WorkingCopy, mode: LockMode): Promise<Settled> {
  const repair = mode === 'repair';
  let state: WorkingCopyState | null;
  try {
    state = await wc.readState();
  } catch (err) {
    if (!repair || !(err instanceof DamagedFileError)) throw err;
    state = null;
  }
  if (!state) {
    const database = await repo.metadata.getDatabase(wc.db);
    if (!database) throw new NotFoundError('database', wc.db);
    if (!repair) throw new MissingWorkingCopyError(wc.db, wc.statePath, database.defaultBranch);
    const head = await repo.metadata.getBranch(wc.db, database.defaultBranch);
    if (!head) throw new NotFoundError('branch', `${wc.db}@${database.defaultBranch}`);
    state = { branch: head.name, base: head.head, move: { branch: head.name, target: head.head } };
  }
  let file: WorkingCopyFileLock | null = null;
  try {
    if (state.move) ({ state, file } = await finishMove(repo, wc, state));
    else file = await wc.lockFile(state.branch);

    const head = await repo.metadata.getBranch(wc.db, state.branch);
    if (!head) throw new NotFoundError('branch', `${wc.db}@${state.branch}`, 'the working copy is on a branch that no longer exists');
    if (head.head !== state.base) {
      // gc may have expired the base since (another folder moved the branch on and trimmed
      // history); a file whose clean stamp still matches holds it and can follow.
      const base = await repo.metadata.getSnapshot(wc.db, state.base);
      if (base ? await wc.isDirty(base, state.stamp, file) : !(await wc.matchesStamp(state.stamp))) {
        throw new ConflictError(
          `${wc.db}@${state.branch}`,
          `${wc.db}@${state.branch} moved to ${shortId(head.head)} but the working copy, made from ${shortId(state.base)}, has unsnapshotted changes`,
        );
      }
      await file.release();
      file = null;
      ({ state, file } = await finishMove(repo, wc, { branch: state.branch, base: head.head, move: { branch: state.branch, target: head.head } }));
    }
    return { state, file, problem: null };
  } catch (err) {
    await file?.release().catch(() => undefined);
    if (repair && (err instanceof MissingWorkingCopyError || err instanceof DamagedWorkingCopyError)) return { state, file: null, problem: err };
    throw err;
  }
}

/**
 * Brings the file to the intent's target (recording the intent first when the caller has not),
 * or drops an intent whose target was never committed. Returns the settled state and the lock.
 */
async function finishMove(repo: Repository, wc: WorkingCopy, state: WorkingCopyState): Promise<{ state: WorkingCopyState; file: WorkingCopyFileLock }> {
  const move = state.move!;
  const target = await repo.metadata.getSnapshot(wc.db, move.target);
  if (!target) {
    const dropped = { branch: state.branch, base: state.base };
    await wc.writeState(dropped);
    return { state: dropped, file: await wc.lockFile(dropped.branch) };
  }
  await wc.writeState(state);
  let file: WorkingCopyFileLock | null = null;
  try {
    // The file is being replaced by the target, so a WAL of what it held is never replayed.
    file = await wc.lockFile(move.branch, { discardWal: true });
  } catch (err) {
    if (!(err instanceof MissingWorkingCopyError || err instanceof DamagedWorkingCopyError)) throw err;
  }
  let stamp: FileStamp;
  if (file) stamp = (await wc.apply(target, file)).stamp;
  else {
    stamp = (await wc.rebuild(target)).stamp;
    file = await wc.lockFile(move.branch);
  }
  const settled = { branch: move.branch, base: target.id, stamp };
  await wc.writeState(settled);
  return { state: settled, file };
}

/** Dropping needs nobody else writing the file, but not a sound file. */
async function lockForDrop(wc: WorkingCopy, branch: string): Promise<Settled> {
  const state = (await wc.readState().catch(() => null)) ?? { branch, base: '' };
  try {
    return { state, file: await wc.lockFile(branch, { discardWal: true }), problem: null };
  } catch (err) {
    if (err instanceof MissingWorkingCopyError || err instanceof DamagedWorkingCopyError) return { state, file: null, problem: err };
    throw err;
  }
}

/** Parses and checks a state file; anything unexpected names the file and what is wrong. */
function parseState(text: string, path: string, db: string): WorkingCopyState {
  const hint = `fix or remove it, then run openduck checkout ${db} BRANCH --force`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DamagedFileError(path, `not valid JSON (${(err as Error).message})`, hint);
  }
  const bad = (what: string): never => {
    throw new DamagedFileError(path, what, hint);
  };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('expected an object with "branch" and "base"');
  const r = parsed as Record<string, unknown>;
  if (typeof r.branch !== 'string' || !isValidRev(r.branch)) bad('"branch" is not a branch name');
  if (typeof r.base !== 'string' || !isFullId(r.base)) bad('"base" is not a snapshot id');
  const state: WorkingCopyState = { branch: r.branch as string, base: r.base as string };
  if (r.move !== undefined) {
    const m = r.move as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || typeof m.branch !== 'string' || !isValidRev(m.branch) || typeof m.target !== 'string' || !isFullId(m.target)) {
      bad('"move" is not {branch, target}');
    }
    state.move = { branch: m.branch as string, target: m.target as string };
  }
  // An older or unreadable stamp is dropped: the next check scans the file instead.
  const s = r.stamp as Record<string, unknown> | undefined;
  if (s && typeof s.size === 'number' && ['mtimeNs', 'ctimeNs', 'ino', 'dev'].every((k) => typeof s[k] === 'string')) {
    state.stamp = { size: s.size, mtimeNs: s.mtimeNs as string, ctimeNs: s.ctimeNs as string, ino: s.ino as string, dev: s.dev as string };
  }
  return state;
}

