/**
 * What each command prints for a person, as pure functions of what its library call returned.
 * The commands and the demo both print through these, so the demo cannot show output that the
 * commands do not print.
 */
import type { CreatedDatabase, DatabaseSummary } from '../../core/verbs/database.js';
import type { BranchInfo, CheckoutResult, DeletedBranch } from '../../core/verbs/branch.js';
import type { LogEntry } from '../../core/verbs/log.js';
import type { RestoreResult, SnapshotCreateResult, SnapshotDetails, SnapshotInfo } from '../../core/verbs/snapshot.js';
import type { BranchRow, TagRow } from '../../core/store/metadata-store.js';
import { columns, decorations, formatBytes, formatTime, printable, shortId } from './format.js';

export function initialized(root: string): string {
  return `Initialized empty OpenDuck repository in ${root}`;
}

export function databaseCreated(d: CreatedDatabase): string {
  return `Created database ${d.name} on branch ${d.branch} (${shortId(d.snapshot)})`;
}

export function databaseList(dbs: DatabaseSummary[]): string {
  if (dbs.length === 0) return 'no databases (create one with openduck db create NAME)';
  return columns(
    dbs.map((d) => [d.name, d.currentBranch, String(d.branches), String(d.snapshots), formatTime(d.createdAt)]),
    ['NAME', 'BRANCH', 'BRANCHES', 'SNAPSHOTS', 'CREATED'],
  );
}

/** `message` is the one recorded (snapshot create fills in a default when none was given). */
export function snapshotCreated(db: string, r: Pick<SnapshotCreateResult, 'created' | 'id' | 'branch' | 'blocksChanged' | 'bytesWritten'>, message: string): string {
  if (!r.created) return `nothing to snapshot: working copy of ${db} matches ${r.branch} (${shortId(r.id)})`;
  return `[${r.branch} ${shortId(r.id)}] ${message} (${r.blocksChanged} blocks changed, ${formatBytes(r.bytesWritten)} written)`;
}

export function snapshotRestored(db: string, r: RestoreResult): string {
  if (!r.created && r.blocksChanged > 0) return `${db}@${r.branch} already holds that content; working copy reset to it (${r.blocksChanged} blocks rewritten)`;
  if (!r.created) return `nothing to restore: ${db}@${r.branch} already holds that content (${shortId(r.id)})`;
  return `[${r.branch} ${shortId(r.id)}] restored content of ${shortId(r.restoredFrom)} (${r.blocksChanged} blocks rewritten)`;
}

export function snapshotList(list: SnapshotInfo[]): string {
  return columns(
    list.map((s) => [
      shortId(s.id),
      s.parents[0] ? shortId(s.parents[0]) : '-',
      formatTime(s.createdAt),
      s.author,
      formatBytes(s.sizeBytes),
      `${decorations(s.branches, s.tags, s.currentBranch)} ${printable(s.message)}`.trim(),
    ]),
    ['ID', 'PARENT', 'TIME', 'AUTHOR', 'SIZE', 'MESSAGE'],
  );
}

export function snapshotDetails(s: SnapshotDetails): string {
  const blocks = Math.max(0, s.blocks - 1);
  return [
    `snapshot ${s.id} ${decorations(s.branches, s.tags, s.currentBranch)}`.trimEnd(),
    `parent:   ${s.parents.join(' ') || '-'}`,
    `author:   ${printable(s.author)}`,
    `time:     ${formatTime(s.createdAt)}`,
    `size:     ${formatBytes(s.sizeBytes)} (header + ${blocks} block${blocks === 1 ? '' : 's'} of ${formatBytes(s.blockSize)}, in ${s.layers} layer${s.layers === 1 ? '' : 's'})`,
    `changed:  ${s.blocksChanged} blocks, ${formatBytes(s.bytesWritten)} written`,
    '',
    `    ${printable(s.message) || '(no message)'}`,
  ].join('\n');
}

/** `git log --oneline`-like lines; with --graph, the lanes before each id. */
export function logLines(entries: LogEntry[]): string[] {
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(...(e.graph?.before ?? []));
    const prefix = e.graph ? `${e.graph.prefix} ` : '';
    const deco = decorations(e.branches, e.tags, e.currentBranch);
    lines.push(`${prefix}${shortId(e.id)} ${formatTime(e.createdAt)} ${printable(e.author)} ${deco ? deco + ' ' : ''}${printable(e.message)}`.trimEnd());
    lines.push(...(e.graph?.after ?? []));
  }
  return lines;
}

export function branchCreated(b: BranchRow): string {
  return `Created branch ${b.db}@${b.name} at ${shortId(b.head)}`;
}

export function branchDeleted(r: DeletedBranch): string {
  const lost = r.unreachable ? `; ${r.unreachable} snapshot${r.unreachable === 1 ? '' : 's'} no longer reachable` : '';
  return `Deleted branch ${r.db}@${r.name} (was ${shortId(r.head)}${lost})`;
}

export function branchList(list: BranchInfo[]): string {
  return columns(list.map((b) => [b.current ? '*' : ' ', b.name, shortId(b.head)]));
}

export function checkedOut(r: CheckoutResult): string {
  if (r.previousBranch === r.branch && r.blocksRewritten === 0) return `Already on ${r.db}@${r.branch}`;
  if (r.previousBranch === r.branch) return `Reset ${r.db} to ${r.db}@${r.branch} at ${shortId(r.snapshot)} (${r.blocksRewritten} blocks, ${formatBytes(r.bytesWritten)} rewritten)`;
  return `Switched ${r.db} to branch ${r.branch} at ${shortId(r.snapshot)} (${r.blocksRewritten} blocks, ${formatBytes(r.bytesWritten)} rewritten)`;
}

export function tagCreated(t: TagRow): string {
  return `Tagged ${shortId(t.snapshot)} as ${t.db}@${t.name}`;
}

export function tagList(tags: TagRow[]): string {
  return columns(tags.map((t) => [t.name, shortId(t.snapshot), formatTime(t.createdAt)]));
}

