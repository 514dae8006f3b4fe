import { NotFoundError } from '../errors.js';
import { layoutGraph, topoOrder, type GraphLine } from '../history.js';
import type { Repository } from '../repository.js';
import { listSnapshots, type SnapshotInfo } from './snapshot.js';
import { mustHaveDatabase } from './common.js';

export interface LogEntry extends SnapshotInfo {
  graph?: GraphLine;
}

export interface LogOptions {
  branch?: string;
  graph?: boolean;
  limit?: number;
}

/**
 * History, newest first. Without --graph: the first-parent history of one branch. With --graph
 * and no branch: every snapshot reachable from any branch or tag, laid out as lanes.
 */
export async function log(repo: Repository, db: string, options: LogOptions = {}): Promise<LogEntry[]> {
  await mustHaveDatabase(repo, db);
  if (!options.graph || options.branch) {
    const entries: LogEntry[] = await listSnapshots(repo, db, { ...options });
    if (options.graph) {
      const lines = layoutGraph(entries);
      entries.forEach((e, i) => (e.graph = lines[i]));
    }
    return entries;
  }
  const all = new Map((await repo.metadata.listSnapshots(db)).map((s) => [s.id, s]));
  const branches = await repo.metadata.listBranches(db);
  const tags = await repo.metadata.listTags(db);
  const reachable = new Map<string, SnapshotInfo>();
  const stack = [...branches.map((b) => b.head), ...tags.map((t) => t.snapshot)];
  while (stack.length) {
    const id = stack.pop()!;
    if (reachable.has(id)) continue;
    const s = all.get(id);
    if (!s) throw new NotFoundError('snapshot', `${db}@${id}`);
    reachable.set(id, {
      ...s,
      branches: branches.filter((b) => b.head === id).map((b) => b.name),
      tags: tags.filter((t) => t.snapshot === id).map((t) => t.name),
    });
    // gc may have expired older history: the walk ends where it was cut.
    stack.push(...s.parents.filter((p) => all.has(p)));
  }
  let ordered: LogEntry[] = topoOrder([...reachable.values()]);
  if (options.limit !== undefined) ordered = ordered.slice(0, options.limit);
  const lines = layoutGraph(ordered);
  return ordered.map((e, i) => ({ ...e, graph: lines[i] }));
}
