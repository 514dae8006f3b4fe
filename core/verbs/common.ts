import { mustGetDatabase } from '../refs.js';
import type { Repository } from '../repository.js';

export async function mustHaveDatabase(repo: Repository, db: string): Promise<void> {
  await mustGetDatabase(repo, db);
}
