import { validateName, validateNewName } from '../names.js';
import { resolveRefIn } from '../refs.js';
import type { Repository } from '../repository.js';
import type { TagRow } from '../store/metadata-store.js';
import { mustHaveDatabase } from './common.js';

/**
 * Tags are immutable names for snapshots: creating an existing tag fails rather than moving it.
 * `ref` is any ref within db (default HEAD).
 */
export async function createTag(repo: Repository, db: string, name: string, ref?: string): Promise<TagRow> {
  await mustHaveDatabase(repo, db);
  validateNewName('tag', name);
  const snapshot = (await resolveRefIn(repo, db, ref)).snapshot.id;
  const row: TagRow = { db, name, snapshot, createdAt: Date.now() };
  await repo.metadata.createTag(row);
  return row;
}

export async function listTags(repo: Repository, db: string): Promise<TagRow[]> {
  await mustHaveDatabase(repo, db);
  return repo.metadata.listTags(db);
}

export async function deleteTag(repo: Repository, db: string, name: string): Promise<void> {
  await mustHaveDatabase(repo, db);
  validateName('tag', name);
  await repo.metadata.deleteTag(db, name);
}
