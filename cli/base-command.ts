/**
 * What every command shares: finding the repository, one-line errors (a stack only with --debug),
 * and `--json` for machine output (results on stdout, diagnostics on stderr).
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { NotARepositoryError, OpenDuckError } from '../core/errors.js';
import { oneLine, reportError } from './error-line.js';
import { Repository } from '../core/repository.js';

export abstract class OpenDuckCommand extends Command {
  static override baseFlags = {
    repo: Flags.string({
      description: 'repository folder (default: $OPENDUCK_REPO, else .openduck found from the current directory up)',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({ description: 'show stack traces on errors', helpGroup: 'GLOBAL' }),
  };

  /**
   * Read-only commands that finish in moments set this: they open the metadata store once and
   * hold it to the end. Others let it close when idle, so other processes can use it meanwhile.
   */
  static readonly holdsMetadata: boolean = false;

  private repository: Repository | null = null;

  protected async openRepository(flags: { repo?: string }): Promise<Repository> {
    const holdMetadata = (this.constructor as typeof OpenDuckCommand).holdsMetadata;
    this.repository = await Repository.open({ repo: flags.repo, holdMetadata });
    return this.repository;
  }

  /** The repository if there is one here; client commands work without one. */
  protected async tryOpenRepository(flags: { repo?: string }): Promise<Repository | null> {
    try {
      return await this.openRepository(flags);
    } catch (err) {
      if (err instanceof NotARepositoryError) return null;
      throw err;
    }
  }

  /** Writes to stdout honouring backpressure, so large results stream with bounded memory. */
  protected async out(text: string): Promise<void> {
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }

  /** Diagnostics and progress go to stderr so stdout stays parseable. */
  protected note(text: string): void {
    if (!this.jsonEnabled()) process.stderr.write(text + '\n');
  }

  protected override async catch(err: Interfaces.CommandError): Promise<void> {
    if (err instanceof Errors.ExitError) throw err;
    // A failed parse is still a handled command; without this oclif warns about an unparsed command.
    this.parsed = true;
    if (this.jsonEnabled()) {
      const code = err instanceof OpenDuckError ? err.code : 'ERROR';
      process.stdout.write(JSON.stringify({ error: { code, message: oneLine(err) } }) + '\n');
    }
    process.exitCode = reportError(err, this.argv);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    await this.repository?.close().catch(() => undefined);
    await super.finally(err);
  }
}
