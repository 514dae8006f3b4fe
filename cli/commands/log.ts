import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { log } from '../../core/verbs/log.js';
import { WorkingCopy } from '../../core/working-copy.js';
import { decorations, formatTime, printable, shortId } from '../render/format.js';

export default class Log extends OpenDuckCommand {
  static override summary = 'Show history, newest first';
  static override description = "Without --graph, the first-parent history of one branch. With --graph (and no --branch), every branch and tag, drawn as git log --graph does.";
  static override examples = ['<%= config.bin %> log shop', '<%= config.bin %> log shop --graph', '<%= config.bin %> log shop --branch experiment -n 5 --json'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = {
    branch: Flags.string({ char: 'b', description: "branch (default: the working copy's)" }),
    graph: Flags.boolean({ description: 'draw branches and forks' }),
    limit: Flags.integer({ char: 'n', min: 1, description: 'show at most this many' }),
  };

  async run() {
    const { args, flags } = await this.parse(Log);
    const repo = await this.openRepository(flags);
    const entries = await log(repo, args.db, { branch: flags.branch, graph: flags.graph, limit: flags.limit });
    const current = await new WorkingCopy(repo, args.db).currentBranch();
    for (const e of entries) {
      for (const line of e.graph?.before ?? []) this.log(line);
      const prefix = e.graph ? `${e.graph.prefix} ` : '';
      const deco = decorations(e.branches, e.tags, current);
      this.log(`${prefix}${shortId(e.id)} ${formatTime(e.createdAt)} ${printable(e.author)} ${deco ? deco + ' ' : ''}${printable(e.message)}`.trimEnd());
      for (const line of e.graph?.after ?? []) this.log(line);
    }
    return entries.map(({ graph: _graph, ...rest }) => rest);
  }
}
