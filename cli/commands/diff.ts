import { Args, Errors, Flags, type Interfaces } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { openDiff } from '../../core/verbs/diff.js';
import { renderDiff, type DiffFormat } from '../render/diff.js';

/** Rows listed per table in the human view unless --limit says otherwise. */
const DEFAULT_TABLE_LIMIT = 20;

export default class Diff extends OpenDuckCommand {
  static override summary = 'Show what changed: schemas and rows, between snapshots or against the working copy';
  static override description = `Refs are DB@REF (REF: branch, tag, snapshot id prefix, BRANCH~N); a bare DB is its working copy.
  diff DB              the working copy's unsnapshotted changes (against the snapshot it was made from)
  diff DB@REF          REF against the working copy (also: diff DB REF)
  diff DB@A DB@B       A against B (also: diff DB A B)
Tables whose blocks are all shared by the two sides are reported unchanged without reading their rows. Tables with a primary key (or a NOT NULL unique key) are matched on it: rows are added (+), removed (-) or modified (< old, > new); tables without one compare as multisets, with counts.
Exit status, like git diff --exit-code:
  0  no differences
  1  differences
  2  a bad ref, or another error`;
  static override examples = [
    '<%= config.bin %> diff shop',
    '<%= config.bin %> diff shop@v1 shop@v2 --stat',
    '<%= config.bin %> diff shop@main~1 shop@main --table orders --where "amount > 100" --limit 5',
    '<%= config.bin %> diff shop@v1 shop@v2 --format sql > v1-to-v2.sql',
    '<%= config.bin %> diff shop main experiment --format json',
  ];
  static override enableJsonFlag = true;
  static override args = {
    first: Args.string({ description: 'DB (its working copy), DB@REF, or the DB of DB FROM TO' }),
    second: Args.string({ description: 'DB@REF or DB to compare against; or FROM/REF within the first DB' }),
    third: Args.string({ description: 'TO, in the form DB FROM TO' }),
  };
  static override flags = {
    stat: Flags.boolean({ description: 'per table: rows added, removed and modified, and schema changes; no rows listed' }),
    'schema-only': Flags.boolean({ description: 'compare schemas only; read no rows' }),
    table: Flags.string({ char: 't', multiple: true, description: 'only this table (NAME or SCHEMA.NAME); repeat for more' }),
    format: Flags.string({ char: 'f', options: ['table', 'json', 'sql'], default: 'table', description: 'table: for people; json: for scripts (see docs/guides/diff.md); sql: statements that turn the first side into the second' }),
    skinny: Flags.boolean({ description: 'modified rows show only the key and the columns that changed' }),
    where: Flags.string({ description: "compare only rows matching this SQL expression (on both sides), e.g. \"region = 'eu'\"" }),
    limit: Flags.integer({ min: 0, description: `changed rows listed per table (table format: ${DEFAULT_TABLE_LIMIT}; json: all); counts always cover all` }),
    rows: Flags.integer({ min: 0, hidden: true, description: 'old name of --limit' }),
    color: Flags.boolean({ allowNo: true, description: 'highlight changes (default: when stdout is a terminal and NO_COLOR is unset)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Diff);
    const format = (this.jsonEnabled() ? 'json' : flags.format) as 'table' | 'json' | 'sql';
    if (format === 'sql' && (flags.stat || flags.skinny)) throw new InvalidArgumentError('--format sql prints the whole change; it cannot take --stat or --skinny');
    const limit = flags.limit ?? flags.rows ?? (format === 'table' ? DEFAULT_TABLE_LIMIT : null);
    // --format sql with a limit is refused by openDiff: a partial script would not reproduce the second side.
    const repo = await this.openRepository(flags);
    const refs = [args.first, args.second, args.third].filter((a): a is string => a !== undefined);
    const opened = await openDiff(repo, refs, {
      tables: flags.table,
      schemaOnly: flags['schema-only'],
      countsOnly: flags.stat,
      where: flags.where,
      limit,
      replay: format === 'sql',
    });
    try {
      const shown: DiffFormat = flags.stat && format === 'table' ? 'stat' : format;
      const color = flags.color ?? (!!process.stdout.isTTY && !process.env.NO_COLOR);
      const differs = await renderDiff(opened, { format: shown, skinny: flags.skinny, color, limit }, (t) => this.out(t));
      process.exitCode = differs ? 1 : 0;
    } finally {
      await opened.close();
    }
  }

  /** Errors exit 2, so that 1 means "differences" and nothing else. */
  protected override async catch(err: Interfaces.CommandError): Promise<void> {
    if (err instanceof Errors.ExitError) throw err;
    await super.catch(err);
    process.exitCode = 2;
  }
}
