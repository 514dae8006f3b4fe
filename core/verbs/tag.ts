import { validateName } from '../names.js';
import type { Repository } from '../repository.js';
import type { TagRow } from '../store/metadata-store.js';
import { mustHaveDatabase, resolveWithin } from './common.js';

/** Tags are immutable names for snapshots: creating an existing tag fails rather than moving it. */
export async function createTag(repo: Repository, db: string, name: string, ref?: string): Promise<TagRow> {
  await mustHaveDatabase(repo, db);
  validateName('tag', name);
  const snapshot = await resolveWithin(repo, db, ref);
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
