import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { log } from '../../core/verbs/log.js';
import { logLines } from '../render/reports.js';
import { REF_HELP } from '../ref-args.js';

export default class Log extends OpenDuckCommand {
  static override summary = 'Show history, newest first';
  static override description = `Without --graph, the first-parent history from a ref (default HEAD: the working copy's branch). With --graph on a bare DB, every branch and tag, drawn as git log --graph does. ${REF_HELP}`;
  static override examples = [
    '<%= config.bin %> log shop',
    '<%= config.bin %> log shop@v1 -n 5',
    '<%= config.bin %> log shop --graph',
    '<%= config.bin %> log shop --branch experiment -n 5 --json',
  ];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;
  static override args = { ref: Args.string({ required: true, description: 'DB, or DB@REF to start from another ref' }) };
  static override flags = {
    branch: Flags.string({ char: 'b', description: "where to start within DB: a branch or any ref (default: the working copy's branch)" }),
    graph: Flags.boolean({ description: 'draw branches and forks' }),
    limit: Flags.integer({ char: 'n', min: 1, description: 'show at most this many' }),
  };

  async run() {
    const { args, flags } = await this.parse(Log);
    const entries = await log(await this.openRepository(flags), args.ref, { branch: flags.branch, graph: flags.graph, limit: flags.limit });
    for (const line of logLines(entries)) this.log(line);
    return entries.map(({ graph: _graph, ...rest }) => rest);
  }
}
