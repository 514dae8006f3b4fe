/**
 * Garbage collection: expire history outside the retention policy, then delete the objects no
 * snapshot needs any more.
 *
 * 1. **Expire.** Per database, in one metadata transaction: the roots (branch heads, tags, this
 *    folder's working-copy bases) and the retention window decide which snapshots stay; the rest
 *    become expired rows. Nothing can point a ref at a snapshot while it is being expired.
 * 2. **Sweep.** One consistent view of the metadata gives the live snapshots; their records,
 *    block maps and the layers those maps name are kept. So are the objects of snapshots expired
 *    less than the grace period ago (a reader or a restore that started before the expiry
 *    finishes safely). Every other object is deleted once it is older than the grace period,
 *    which also spares uploads in flight and reclaims what interrupted writes left behind.
 *
 * gc stops before deleting anything if it cannot read a live snapshot's block map: it would not
 * know what that snapshot needs.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptObjectError, InvalidArgumentError, NotFoundError, StoreUnavailableError, errorMessage } from '../errors.js';
import { shortId } from '../hash.js';
import { decodeBlockMap, layersOf } from '../format/block-map.js';
import type { ProgressSink } from '../progress.js';
import type { Repository } from '../repository.js';
import type { DatabaseHistory, SnapshotRow } from '../store/metadata-store.js';
import { protectedRoots } from '../store/metadata-rows.js';
import { objectKeys, parseObjectKey, type ObjectInfo } from '../store/object-store.js';
import { WorkingCopy } from '../working-copy.js';
import { mustHaveDatabase } from './common.js';

export const DEFAULT_GRACE_MS = 3_600_000;

export interface RetentionPolicy {
  /** Keep the newest N snapshots of each branch's first-parent history (the head counts). */
  keepLast?: number;
  /** Keep every snapshot made within this many ms before `now`, reachable or not. */
  keepWithinMs?: number;
  now: number;
}

export interface GcOptions {
  /** Expire only this database's history (unreferenced objects are reclaimed repository-wide). */
  db?: string;
  keepLast?: number;
  keepWithinMs?: number;
  /** How long an object must have been unreferenced (and exist) before it is deleted. */
  graceMs?: number;
  dryRun?: boolean;
  now?: number;
  onProgress?: ProgressSink;
}

export interface ObjectTally {
  objects: number;
  bytes: number;
}

export interface GcDatabaseReport {
  /** The database the objects belonged to (it may have been dropped since). */
  name: string;
  /** Snapshots expired from its history (or that would be, in a dry run), newest first. */
  expired: Pick<SnapshotRow, 'id' | 'createdAt' | 'message'>[];
  /** Objects deleted (or that would be). */
  reclaimed: ObjectTally;
  /** Unreferenced objects kept until the grace period has passed. */
  waiting: ObjectTally;
}

export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  databases: GcDatabaseReport[];
  /** Objects no metadata names at all: leftovers of interrupted writes. */
  unattributed: { reclaimed: ObjectTally; waiting: ObjectTally };
  reclaimed: ObjectTally;
  waiting: ObjectTally;
  /** Objects kept because a live snapshot needs them. */
  live: ObjectTally;
  /** Materialized snapshots removed from this folder's cache because they were expired. */
  cacheFilesRemoved: number;
}

interface Root {
  snapshot: string;
  /** Whether the retention policy keeps history behind it (branches), or just the snapshot (tags). */
  history: boolean;
}

/**
 * What keeps a snapshot alive. Remote-tracking refs, once sync brings them, are one more source
 * here (as history roots).
 */
const ROOT_SOURCES: ((h: DatabaseHistory) => Root[])[] = [
  (h) => h.branches.map((b) => ({ snapshot: b.head, history: true })),
  (h) => h.tags.map((t) => ({ snapshot: t.snapshot, history: false })),
];

/** The snapshots of `history` the policy keeps. `extraRoots` are kept too (working copies' bases). */
export function retainedSnapshots(history: DatabaseHistory, policy: RetentionPolicy, extraRoots: Iterable<string> = []): Set<string> {
  const byId = new Map(history.snapshots.map((s) => [s.id, s]));
  const keep = new Set<string>();
  const limited = policy.keepLast !== undefined || policy.keepWithinMs !== undefined;
  const roots = [...ROOT_SOURCES.flatMap((source) => source(history)), ...[...extraRoots].map((snapshot) => ({ snapshot, history: false }))];
  for (const root of roots) {
    if (!byId.has(root.snapshot)) continue;
    if (!limited) {
      // No policy: everything reachable from a ref stays.
      const stack = [root.snapshot];
      while (stack.length) {
        const id = stack.pop()!;
        if (keep.has(id) || !byId.has(id)) continue;
        keep.add(id);
        stack.push(...byId.get(id)!.parents);
      }
      continue;
    }
    keep.add(root.snapshot);
    if (!root.history) continue;
    let at: string | undefined = root.snapshot;
    for (let n = 0; at && n < (policy.keepLast ?? 1); n++, at = byId.get(at)?.parents[0]) if (byId.has(at)) keep.add(at);
  }
  if (policy.keepWithinMs !== undefined) {
    for (const s of history.snapshots) if (s.createdAt >= policy.now - policy.keepWithinMs) keep.add(s.id);
  }
  return keep;
}

export async function gc(repo: Repository, options: GcOptions = {}): Promise<GcReport> {
  const now = options.now ?? Date.now();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const dryRun = !!options.dryRun;
  if (options.keepLast !== undefined && (!Number.isSafeInteger(options.keepLast) || options.keepLast < 1)) {
    throw new InvalidArgumentError(`--keep-last must be a whole number of at least 1, not ${options.keepLast}`);
  }
  for (const [name, value] of [['--keep-within', options.keepWithinMs], ['--grace', graceMs]] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) throw new InvalidArgumentError(`${name} must be a duration of 0 or more`);
  }
  if (options.db !== undefined) await mustHaveDatabase(repo, options.db);
  const policy: RetentionPolicy = { keepLast: options.keepLast, keepWithinMs: options.keepWithinMs, now };
  const progress = options.onProgress ?? (() => undefined);

  // 1. Expire.
  const names = options.db !== undefined ? [options.db] : (await repo.metadata.listDatabases()).map((d) => d.name);
  const expired = new Map<string, SnapshotRow[]>();
  for (const name of names) {
    const workingCopy = await workingCopyRoots(repo, name);
    const choose = (h: DatabaseHistory) => {
      const keep = retainedSnapshots(h, policy, workingCopy);
      return h.snapshots.filter((s) => !keep.has(s.id)).map((s) => s.id);
    };
    if (dryRun) {
      const history = (await repo.metadata.readView(name)).databases[0];
      if (!history) continue;
      const roots = protectedRoots(history);
      const ids = new Set(choose(history).filter((id) => !roots.has(id)));
      expired.set(name, history.snapshots.filter((s) => ids.has(s.id)));
    } else {
      try {
        expired.set(name, await repo.metadata.expireSnapshots(name, choose, now));
      } catch (err) {
        // Dropped since it was listed: its snapshots are expired rows already.
        if (!(err instanceof NotFoundError && options.db === undefined)) throw err;
      }
    }
  }

  // 2. What must stay: live snapshots, and snapshots expired within the grace period.
  const view = await repo.metadata.readView();
  const justExpired = new Set([...expired.values()].flat().map((s) => s.id));
  const live = view.databases.flatMap((h) => h.snapshots).filter((s) => !(dryRun && justExpired.has(s.id)));
  const recent = [
    ...view.expired.filter((e) => now - e.expiredAt < graceMs),
    ...(dryRun && graceMs > 0 ? [...expired.values()].flat() : []),
  ];
  const owner = new Map<string, string>();
  for (const l of view.layers) owner.set(objectKeys.layer(l.id), l.db);
  for (const s of [...view.expired, ...live, ...[...expired.values()].flat()]) {
    owner.set(objectKeys.snapshot(s.id), s.db);
    owner.set(objectKeys.blockMap(s.blockMap), s.db);
  }
  // Objects live snapshots need, and (kept for the grace period) those only just-expired ones need.
  const liveKeys = new Set<string>();
  const graceKeys = new Set<string>();
  const mapLayers = new Map<string, string[]>();
  const needed = [...live.map((s) => ({ s, required: true })), ...recent.map((s) => ({ s, required: false }))];
  for (const [i, { s, required }] of needed.entries()) {
    if (i % 16 === 0) progress({ task: 'finding live objects', done: i, total: needed.length });
    const keep = required ? liveKeys : graceKeys;
    keep.add(objectKeys.snapshot(s.id));
    keep.add(objectKeys.blockMap(s.blockMap));
    let layers = mapLayers.get(s.blockMap);
    if (!layers) {
      const key = objectKeys.blockMap(s.blockMap);
      try {
        layers = layersOf(decodeBlockMap(await repo.objects.get(key), key, s.blockMap));
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        // A live snapshot whose map cannot be read: what it needs is unknown, so delete nothing.
        if (required) {
          throw new CorruptObjectError(key, `gc stopped before deleting anything: the block map of ${s.db}@${shortId(s.id)} cannot be read (${errorMessage(err)}); run openduck fsck`);
        }
        layers = [];
      }
      mapLayers.set(s.blockMap, layers);
    }
    for (const l of layers) keep.add(objectKeys.layer(l));
  }

  // 3. Sweep.
  const report = new Map<string, GcDatabaseReport>();
  const forDb = (name: string) => {
    let r = report.get(name);
    if (!r) report.set(name, (r = { name, expired: [], reclaimed: tally(), waiting: tally() }));
    return r;
  };
  for (const [name, rows] of expired) if (rows.length) forDb(name).expired = rows.map((s) => ({ id: s.id, createdAt: s.createdAt, message: s.message }));
  const unattributed = { reclaimed: tally(), waiting: tally() };
  const totals = { reclaimed: tally(), waiting: tally(), live: tally() };
  const doomed: ObjectInfo[] = [];
  for (const prefix of ['snapshots/', 'blockmaps/', 'layers/']) {
    for await (const o of repo.objects.list(prefix)) {
      // Names that are not ours are left alone (fsck reports them).
      if (!parseObjectKey(o.key)) continue;
      if (liveKeys.has(o.key)) {
        add(totals.live, o);
        continue;
      }
      const name = owner.get(o.key);
      const bucket = name === undefined ? unattributed : forDb(name);
      if (graceKeys.has(o.key) || now - o.modifiedAt < graceMs) {
        add(bucket.waiting, o);
        add(totals.waiting, o);
      } else {
        add(bucket.reclaimed, o);
        add(totals.reclaimed, o);
        doomed.push(o);
      }
    }
  }
  let cacheFilesRemoved = 0;
  if (!dryRun) {
    for (const [i, o] of doomed.entries()) {
      if (i % 16 === 0) progress({ task: 'deleting unreferenced objects', done: i, total: doomed.length });
      await repo.objects.delete(o.key);
    }
    const layerIds = doomed.map((o) => parseObjectKey(o.key)!).filter((p) => p.kind === 'layer').map((p) => p.id);
    await repo.metadata.forgetLayers(layerIds);
    cacheFilesRemoved = await trimCache(repo, new Set(live.map((s) => s.id)));
  }
  return {
    dryRun,
    graceMs,
    databases: [...report.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    unattributed,
    ...totals,
    cacheFilesRemoved,
  };
}

/** The snapshots this folder's working copies are made from (or moving to): never expired. */
async function workingCopyRoots(repo: Repository, db: string): Promise<string[]> {
  const state = await new WorkingCopy(repo, db).readState();
  return state ? [state.base, ...(state.move ? [state.move.target] : [])] : [];
}

/** Removes cached snapshot files whose snapshots are no longer live. */
async function trimCache(repo: Repository, live: Set<string>): Promise<number> {
  let names: string[];
  try {
    names = await readdir(repo.cacheDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const id = /^([0-9a-f]{64})\.duckdb$/.exec(name)?.[1];
    if (!id || live.has(id)) continue;
    await rm(join(repo.cacheDir, name), { force: true });
    removed++;
  }
  return removed;
}

function tally(): ObjectTally {
  return { objects: 0, bytes: 0 };
}

function add(t: ObjectTally, o: ObjectInfo): void {
  t.objects++;
  t.bytes += o.size;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses durations such as `90m`, `1h30m`, `7d`, `2w` or `0` into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim();
  if (t === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(t)) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(text)}: use a number with a unit (ms, s, m, h, d, w), such as 30m, 12h or 7d`);
  }
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return ms;
}
