import type { Repository } from '../core/repository.js';
import { QuerySession } from '../core/verbs/query.js';
import { withProgress } from './render/progress.js';
import { localRows, renderResult, type ResultFormat } from './render/result.js';

/**
 * `query --db REF SQL` without a server: opens the working copy or the snapshot, runs the SQL and
 * streams the last result to `write`. Ctrl-C interrupts DuckDB. The demo runs its queries here too.
 */
export async function runLocalQuery(repo: Repository, ref: string, sql: string, format: ResultFormat, write: (text: string) => Promise<void>): Promise<number> {
  const session = await withProgress(true, (onProgress) => QuerySession.open(repo, ref, { onProgress }));
  const onSigint = () => session.interrupt();
  process.once('SIGINT', onSigint);
  try {
    const result = await session.run(sql);
    return await renderResult(localRows(result, (e) => session.translate(e)), format, write);
  } finally {
    process.off('SIGINT', onSigint);
    await session.close();
  }
}
