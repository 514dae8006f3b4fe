import { Repository, type InitOptions } from '../repository.js';
import { checkout } from './branch.js';
import { formatPostgresUrl, formatS3Url } from '../store/locations.js';

export interface InitResult {
  repository: string;
  /** Where a shared repository's stores are (no secrets); null for an embedded repository. */
  shared: { metadata: string; objects: string; s3Endpoint: string | null } | null;
  /** True when this folder joined a shared repository that existed already. */
  joined: boolean;
  /** The databases the repository holds (a joined one may have some already). */
  databases: string[];
}

/** Creates a repository in `dir`, or joins the shared one its stores already hold. */
export async function initRepository(dir: string | undefined, options: InitOptions = {}): Promise<InitResult> {
  const repo = await Repository.init(dir, options);
  try {
    // A joined folder gets each database's working copy on its default branch, as a clone would.
    if (repo.joined) for (const d of await repo.metadata.listDatabases()) await checkout(repo, d.name, d.defaultBranch);
    const stores = repo.config.stores;
    return {
      repository: repo.root,
      shared: stores ? { metadata: formatPostgresUrl(stores.metadata), objects: formatS3Url(stores.objects), s3Endpoint: stores.s3Endpoint } : null,
      joined: repo.joined,
      databases: (await repo.metadata.listDatabases()).map((d) => d.name),
    };
  } finally {
    await repo.close();
  }
}
