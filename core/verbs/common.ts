import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { validateName } from '../names.js';
import { parseRef, resolveRef } from '../refs.js';
import type { Repository } from '../repository.js';
import { WorkingCopy } from '../working-copy.js';

export async function mustHaveDatabase(repo: Repository, db: string): Promise<void> {
  validateName('database', db);
  if (!(await repo.metadata.getDatabase(db))) throw new NotFoundError('database', db);
}

/** Resolves `from` (a full ref, or a rev within db) to a snapshot id; default: the current branch head. */
export async function resolveWithin(repo: Repository, db: string, from: string | undefined): Promise<string> {
  const current = await new WorkingCopy(repo, db).currentBranch();
  if (!from) return (await resolveRef(repo, { db, rev: current, ancestry: 0, text: `${db}@${current}` })).snapshot.id;
  const parsed = parseRef(from.includes('@') ? from : `${db}@${from}`);
  if (parsed.db !== db) throw new InvalidArgumentError(`ref ${from} names database ${parsed.db}, not ${db}`);
  return (await resolveRef(repo, parsed, current)).snapshot.id;
}
