/**
 * Refs: the one grammar every command uses to name a snapshot.
 *
 *   DB                the working copy's current branch (HEAD)
 *   DB@REV            REV is HEAD, a branch, a tag, or a snapshot id prefix (7+ lowercase hex)
 *   DB@REV~N          the N-th first-parent ancestor of REV (`~` alone means `~1`)
 *
 * Within one database, `resolveRefIn(repo, db, text)` also takes REV and REV~N without the `DB@`.
 *
 * REV is looked up as HEAD, then as a branch, then as a tag, then as an id prefix, so a branch
 * shadows a tag of the same name. New branch and tag names that could be read as an id prefix
 * are refused (names.ts), so neither can hide a snapshot id. Every failure is a RefError that
 * names the ref as it was given.
 */
import { AmbiguousRefError, InvalidArgumentError, NotFoundError, RefError } from './errors.js';
import { MIN_PREFIX_LENGTH, isIdPrefix, shortId } from './hash.js';
import { HEAD, isValidRev, validateName } from './names.js';
import type { Repository } from './repository.js';
import type { DatabaseRow, SnapshotRow } from './store/metadata-store.js';
import { WorkingCopy } from './working-copy.js';

export interface ParsedRef {
  db: string;
  /** HEAD, a branch, a tag or an id prefix; null for a bare database name (which means HEAD). */
  rev: string | null;
  /** How many first-parent steps back from rev. */
  ancestry: number;
  /** The ref as it was given. */
  text: string;
}

export type RefKind = 'branch' | 'tag' | 'id';

export interface ResolvedRef {
  db: string;
  snapshot: SnapshotRow;
  /** What REV named: a branch (HEAD names one too), a tag, or an id prefix. */
  kind: RefKind;
  /** The branch or tag name, or the full id REV matched (before any `~N`). */
  name: string;
  /** First-parent steps taken back from `name`. */
  ancestry: number;
  /** The ref as it was given. */
  text: string;
  /** The ref for messages: as given, with a long id shortened (`shop@main~3`, `shop@3f2a9c1e07aa`). */
  label: string;
}

const GRAMMAR = 'expected DB, DB@BRANCH, DB@TAG, DB@ID, DB@HEAD or DB@REV~N';

export function parseRef(text: string): ParsedRef {
  const m = /^([^@~]*)(?:@([^@~]*)(?:~(\d*))?)?$/.exec(text);
  if (!m) throw new RefError('INVALID_ARGUMENT', text, `malformed ref ${JSON.stringify(text)}: ${GRAMMAR}`);
  try {
    validateName('database', m[1]!);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new RefError('INVALID_ARGUMENT', text, err.message);
    throw err;
  }
  const rev = m[2] ?? null;
  if (rev !== null && !isValidRev(rev)) {
    throw new RefError('INVALID_ARGUMENT', text, `malformed ref ${JSON.stringify(text)}: ${JSON.stringify(rev)} is not a branch, tag or snapshot id`);
  }
  let ancestry = 0;
  if (m[3] !== undefined) {
    ancestry = m[3] === '' ? 1 : Number(m[3]);
    if (!Number.isSafeInteger(ancestry) || ancestry > 1_000_000) throw new RefError('INVALID_ARGUMENT', text, `malformed ref ${JSON.stringify(text)}: ~N is too large`);
  }
  return { db: m[1]!, rev, ancestry, text };
}

/**
 * A ref within `db`: REV, REV~N, or DB@REV… naming the same database. No text, or an empty one,
 * means HEAD.
 */
export function parseRefIn(db: string, text: string | undefined): ParsedRef {
  validateName('database', db);
  if (text === undefined || text === '') return { db, rev: null, ancestry: 0, text: db };
  if (!text.includes('@')) return { ...parseRef(`${db}@${text}`), text: `${db}@${text}` };
  const parsed = parseRef(text);
  if (parsed.db !== db) throw new RefError('INVALID_ARGUMENT', text, `ref ${text} names database ${parsed.db}, not ${db}`);
  return parsed;
}

/** Resolves `text` within `db` (see parseRefIn) to a snapshot. */
export async function resolveRefIn(repo: Repository, db: string, text?: string): Promise<ResolvedRef> {
  return resolveRef(repo, parseRefIn(db, text));
}

/** Resolves a full ref (`DB`, `DB@REV`, `DB@REV~N`) to a snapshot. */
export async function resolveRef(repo: Repository, ref: ParsedRef | string): Promise<ResolvedRef> {
  const p = typeof ref === 'string' ? parseRef(ref) : ref;
  await mustGetDatabase(repo, p.db);
  const given = p.rev ?? HEAD;
  const notFound = (hint: string) => new RefError('NOT_FOUND', p.text, `ref not found: ${p.text} (${hint})`);

  let kind: RefKind;
  let name: string;
  let id: string;
  if (given === HEAD) {
    name = await new WorkingCopy(repo, p.db).currentBranch();
    const branch = await repo.metadata.getBranch(p.db, name);
    if (!branch) throw notFound(`HEAD is branch ${name}, which no longer exists`);
    [kind, id] = ['branch', branch.head];
  } else {
    const branch = await repo.metadata.getBranch(p.db, given);
    const tag = branch ? null : await repo.metadata.getTag(p.db, given);
    if (branch) {
      [kind, name, id] = ['branch', given, branch.head];
    } else if (tag) {
      [kind, name, id] = ['tag', given, tag.snapshot];
    } else if (isIdPrefix(given)) {
      if (given.length < MIN_PREFIX_LENGTH) throw notFound(`no such branch or tag, and snapshot id prefixes need at least ${MIN_PREFIX_LENGTH} characters`);
      const matches = await repo.metadata.findSnapshotIds(p.db, given, 10);
      if (matches.length === 0) throw notFound('no branch, tag or snapshot by that name');
      if (matches.length > 1) throw new AmbiguousRefError(p.text, matches.map(shortId));
      [kind, name, id] = ['id', matches[0]!, matches[0]!];
    } else {
      throw notFound('no branch, tag or snapshot by that name');
    }
  }

  let snapshot = await mustGetSnapshot(repo, p.db, id);
  for (let step = 0; step < p.ancestry; step++) {
    const parent = snapshot.parents[0];
    if (!parent) throw notFound(`history of ${p.db}@${given} has only ${step + 1} snapshot${step ? 's' : ''}`);
    snapshot = await mustGetSnapshot(repo, p.db, parent);
  }
  const label = `${p.db}@${kind === 'id' ? shortId(given) : given}${p.ancestry ? `~${p.ancestry}` : ''}`;
  return { db: p.db, snapshot, kind, name, ancestry: p.ancestry, text: p.text, label };
}

/** The database's row; NotFoundError otherwise, naming an existing database that differs only in case. */
export async function mustGetDatabase(repo: Repository, name: string): Promise<DatabaseRow> {
  validateName('database', name);
  const row = await repo.metadata.getDatabase(name);
  if (row) return row;
  const other = await sameNameOtherCase(repo, name);
  throw new NotFoundError('database', name, other ? `did you mean ${other}?` : undefined);
}

/** An existing database whose name equals `name` but for case: DuckDB catalog names ignore case. */
export async function sameNameOtherCase(repo: Repository, name: string): Promise<string | null> {
  const lower = name.toLowerCase();
  return (await repo.metadata.listDatabases()).find((d) => d.name !== name && d.name.toLowerCase() === lower)?.name ?? null;
}

export async function mustGetSnapshot(repo: Repository, db: string, id: string): Promise<SnapshotRow> {
  const s = await repo.metadata.getSnapshot(db, id);
  if (!s) throw new NotFoundError('snapshot', `${db}@${shortId(id)}`);
  return s;
}
