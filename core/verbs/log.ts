import { NotFoundError } from '../errors.js';
import { layoutGraph, reachable, topoOrder, type GraphLine } from '../history.js';
import { parseRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { decorate, listSnapshots, type HistoryOptions, type SnapshotInfo } from './snapshot.js';
import { mustHaveDatabase } from './common.js';

export interface LogEntry extends SnapshotInfo {
  graph?: GraphLine;
}

export interface LogOptions extends HistoryOptions {
  graph?: boolean;
}

/**
 * History, newest first. `ref` is DB or DB@REF. Without `graph`, or with a ref or a branch: the
 * first-parent history from there (HEAD for a bare DB). With `graph` on a bare DB: every snapshot
 * reachable from any branch or tag, laid out as lanes.
 */
export async function log(repo: Repository, ref: string, options: LogOptions = {}): Promise<LogEntry[]> {
  const parsed = parseRef(ref);
  if (!options.graph || options.branch !== undefined || parsed.rev !== null) {
    const entries: LogEntry[] = await listSnapshots(repo, ref, options);
    if (options.graph) {
      const lines = layoutGraph(entries);
      entries.forEach((e, i) => (e.graph = lines[i]));
    }
    return entries;
  }
  const db = parsed.db;
  await mustHaveDatabase(repo, db);
  const all = new Map((await repo.metadata.listSnapshots(db)).map((s) => [s.id, s]));
  const branches = await repo.metadata.listBranches(db);
  const tags = await repo.metadata.listTags(db);
  const starts = [...branches.map((b) => b.head), ...tags.map((t) => t.snapshot)];
  const found = reachable(all, starts, (id) => {
    throw new NotFoundError('snapshot', `${db}@${id}`);
  });
  let ordered: LogEntry[] = topoOrder(await decorate(repo, db, [...found.values()]));
  if (options.limit !== undefined) ordered = ordered.slice(0, options.limit);
  const lines = layoutGraph(ordered);
  return ordered.map((e, i) => ({ ...e, graph: lines[i] }));
}
