/**
 * History walks and the `log --graph` layout. The layout is pure: given snapshots in display
 * order (children before parents), it returns the text columns to print before each line, in the
 * manner of `git log --graph`: one lane per line of descent, `*` for the snapshot, `|/` where a
 * fork rejoins its parent, `|\` where a snapshot has a second parent.
 */
export interface GraphNode {
  id: string;
  parents: string[];
  createdAt: number;
}

export interface GraphLine {
  /** Connector lines to print before the node's own line. */
  before: string[];
  /** The lanes on the node's own line, with `*` at the node. */
  prefix: string;
  /** Connector lines to print after it (merges). */
  after: string[];
}

/**
 * The ids reachable from `starts` through parents, in the order they are first met. A start
 * missing from `byId` is passed to `onMissing` (or skipped); a missing parent is history gc
 * expired, where the walk ends.
 */
export function reachable<T extends GraphNode>(byId: Map<string, T>, starts: Iterable<string>, onMissing?: (id: string) => void): Map<string, T> {
  const seen = new Map<string, T>();
  const stack = [...starts];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    const node = byId.get(id);
    if (!node) {
      onMissing?.(id);
      continue;
    }
    seen.set(id, node);
    // gc may have expired older history: the walk ends where it was cut.
    stack.push(...node.parents.filter((p) => byId.has(p)));
  }
  return seen;
}

/**
 * Orders nodes newest first while keeping every child above its parents (Kahn's algorithm over
 * the child→parent edges, picking the newest ready node each time).
 */
export function topoOrder<T extends GraphNode>(nodes: T[]): T[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const pendingChildren = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (const n of nodes) for (const p of n.parents) if (byId.has(p)) pendingChildren.set(p, pendingChildren.get(p)! + 1);
  const ready = nodes.filter((n) => pendingChildren.get(n.id) === 0);
  const out: T[] = [];
  const newestFirst = (a: T, b: T) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1);
  while (ready.length) {
    ready.sort(newestFirst);
    const n = ready.shift()!;
    out.push(n);
    for (const p of n.parents) {
      if (!byId.has(p)) continue;
      const left = pendingChildren.get(p)! - 1;
      pendingChildren.set(p, left);
      if (left === 0) ready.push(byId.get(p)!);
    }
  }
  return out;
}

export function layoutGraph(nodes: GraphNode[]): GraphLine[] {
  const known = new Set(nodes.map((n) => n.id));
  const lanes: (string | null)[] = [];
  const lines: GraphLine[] = [];
  const draw = (mark: (k: number) => string) => lanes.map((_, k) => mark(k)).join(' ').trimEnd();

  for (const node of nodes) {
    const before: string[] = [];
    let col = lanes.indexOf(node.id);
    if (col === -1) {
      col = lanes.indexOf(null);
      if (col === -1) col = lanes.push(null) - 1;
      lanes[col] = node.id;
    }
    // Other lanes waiting for this node are forks rejoining it: fold them in, rightmost first.
    for (let j = lanes.length - 1; j > col; j--) {
      if (lanes[j] !== node.id) continue;
      const chars: string[] = Array(2 * lanes.length).fill(' ');
      for (let k = 0; k < j; k++) chars[2 * k] = lanes[k] ? '|' : ' ';
      // A run of '_' carries a lane that rejoins from further right than its neighbour.
      for (let k = col; k < j - 1; k++) chars[2 * k + 1] = '_';
      chars[2 * j - 1] = '/';
      for (let k = j + 1; k < lanes.length; k++) chars[2 * k - 1] = '/';
      before.push(chars.join('').trimEnd());
      lanes.splice(j, 1);
    }
    const prefix = draw((k) => (k === col ? '*' : lanes[k] ? '|' : ' '));
    const after: string[] = [];
    const parents = node.parents.filter((p) => known.has(p));
    lanes[col] = parents[0] ?? null;
    for (const extra of parents.slice(1)) {
      if (lanes.includes(extra)) continue;
      lanes.splice(col + 1, 0, extra);
      const chars: string[] = Array(2 * lanes.length).fill(' ');
      for (let k = 0; k < lanes.length; k++) {
        if (k <= col) chars[2 * k] = lanes[k] ? '|' : ' ';
        else chars[2 * k - 1] = '\\'; // the new lane opens here, and lanes right of it step aside
      }
      after.push(chars.join('').trimEnd());
    }
    while (lanes.length && lanes[lanes.length - 1] === null) lanes.pop();
    lines.push({ before, prefix, after });
  }
  return lines;
}
