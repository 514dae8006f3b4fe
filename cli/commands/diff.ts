import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { diff } from '../../core/verbs/diff.js';
import { diffLines } from '../render/reports.js';

export default class Diff extends OpenDuckCommand {
  static override summary = 'Show what changed between two snapshots, table by table and row by row';
  static override description = 'FROM and TO are refs within DB: BRANCH, TAG, ID or BRANCH~N. Identical snapshots are detected from their block maps alone.';
  static override examples = ['<%= config.bin %> diff shop main experiment --stat', '<%= config.bin %> diff shop main~1 main --rows 3', '<%= config.bin %> diff shop v1 main --json'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    from: Args.string({ required: true, description: 'older side' }),
    to: Args.string({ required: true, description: 'newer side' }),
  };
  static override flags = {
    stat: Flags.boolean({ description: 'counts only, no rows' }),
    rows: Flags.integer({ min: 0, default: 5, description: 'changed rows to show per table and side' }),
  };

  async run() {
    const { args, flags } = await this.parse(Diff);
    const r = await diff(await this.openRepository(flags), args.db, args.from, args.to, { sampleRows: flags.stat ? 0 : flags.rows });
    for (const line of diffLines(r)) this.log(line);
    return r;
  }
}
