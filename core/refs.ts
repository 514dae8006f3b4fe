/**
 * Refs: `DB`, `DB@BRANCH`, `DB@TAG`, `DB@ID-PREFIX`, each optionally followed by `~N` (the N-th
 * first-parent ancestor). A name is looked up as a branch, then a tag, then as an id prefix of at
 * least 7 hex characters; an ambiguous prefix is an error listing the candidates.
 */
import { AmbiguousRefError, InvalidArgumentError, NotFoundError } from './errors.js';
import { MIN_PREFIX_LENGTH, isIdPrefix, shortId } from './hash.js';
import { isValidName, validateName } from './names.js';
import type { Repository } from './repository.js';
import type { SnapshotRow } from './store/metadata-store.js';

export interface ParsedRef {
  db: string;
  /** Branch, tag or id prefix; null for a bare database name. */
  rev: string | null;
  /** How many first-parent steps back from rev. */
  ancestry: number;
  text: string;
}

export type RefKind = 'branch' | 'tag' | 'id';

export interface ResolvedRef {
  db: string;
  snapshot: SnapshotRow;
  kind: RefKind;
  /** The branch or tag name, or the full id. */
  name: string;
  text: string;
}

export function parseRef(text: string): ParsedRef {
  const m = /^([^@]*)(?:@([^~]*)(?:~(\d*))?)?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`malformed ref ${JSON.stringify(text)}: expected DB, DB@BRANCH, DB@TAG, DB@ID or DB@BRANCH~N`);
  const db = validateName('database', m[1]!);
  const rev = m[2] ?? null;
  if (rev !== null && !isValidName(rev)) {
    throw new InvalidArgumentError(`malformed ref ${JSON.stringify(text)}: ${JSON.stringify(rev)} is not a branch, tag or snapshot id`);
  }
  let ancestry = 0;
  if (m[3] !== undefined) {
    ancestry = m[3] === '' ? 1 : Number(m[3]);
    if (!Number.isSafeInteger(ancestry) || ancestry > 1_000_000) throw new InvalidArgumentError(`malformed ref ${JSON.stringify(text)}: ~N is too large`);
  }
  return { db, rev, ancestry, text };
}

/** The current branch is decided by the working copy; callers pass it for bare refs. */
export async function resolveRef(repo: Repository, ref: ParsedRef | string, currentBranch?: string): Promise<ResolvedRef> {
  const p = typeof ref === 'string' ? parseRef(ref) : ref;
  const database = await repo.metadata.getDatabase(p.db);
  if (!database) throw new NotFoundError('database', p.db);
  const rev = p.rev ?? currentBranch ?? database.defaultBranch;

  let kind: RefKind;
  let name: string;
  let id: string;
  const branch = await repo.metadata.getBranch(p.db, rev);
  const tag = branch ? null : await repo.metadata.getTag(p.db, rev);
  if (branch) {
    [kind, name, id] = ['branch', rev, branch.head];
  } else if (tag) {
    [kind, name, id] = ['tag', rev, tag.snapshot];
  } else if (isIdPrefix(rev)) {
    if (rev.length < MIN_PREFIX_LENGTH) {
      throw new NotFoundError('ref', `${p.db}@${rev}`, `no such branch or tag, and snapshot id prefixes need at least ${MIN_PREFIX_LENGTH} characters`);
    }
    const matches = await repo.metadata.findSnapshotIds(p.db, rev, 10);
    if (matches.length === 0) throw new NotFoundError('ref', `${p.db}@${rev}`, 'no branch, tag or snapshot by that name');
    if (matches.length > 1) throw new AmbiguousRefError(`${p.db}@${rev}`, matches.map(shortId));
    [kind, name, id] = ['id', matches[0]!, matches[0]!];
  } else {
    throw new NotFoundError('ref', `${p.db}@${rev}`, 'no branch, tag or snapshot by that name');
  }

  let snapshot = await mustGetSnapshot(repo, p.db, id);
  for (let step = 0; step < p.ancestry; step++) {
    const parent = snapshot.parents[0];
    if (!parent) throw new NotFoundError('ref', p.text, `history of ${p.db}@${rev} has only ${step + 1} snapshot${step ? 's' : ''}`);
    snapshot = await mustGetSnapshot(repo, p.db, parent);
  }
  return { db: p.db, snapshot, kind, name, text: p.text };
}

export async function mustGetSnapshot(repo: Repository, db: string, id: string): Promise<SnapshotRow> {
  const s = await repo.metadata.getSnapshot(db, id);
  if (!s) throw new NotFoundError('snapshot', `${db}@${shortId(id)}`);
  return s;
}
