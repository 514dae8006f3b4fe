/**
 * The `openduck` process: runs oclif, prints any error that escapes a command in the house style,
 * and ends quietly when stdout is closed early (`openduck log | head -1`), as git does.
 */
import { Errors, flush, run } from '@oclif/core';
import { reportError } from './error-line.js';

export async function main(argv: string[], root: string): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // The reader went away: nothing more can be said, and nothing went wrong.
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await run(argv, root);
    await flush();
  } catch (err) {
    if (err instanceof Errors.ExitError) {
      process.exitCode = err.oclif.exit;
      return;
    }
    process.exitCode = reportError(err as Error, argv);
  }
}
