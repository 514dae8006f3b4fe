import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { listSnapshots } from '../../../core/verbs/snapshot.js';
import { columns, decorations, formatBytes, formatTime, shortId } from '../../render/format.js';

export default class SnapshotList extends OpenDuckCommand {
  static override summary = "List a branch's snapshots, newest first";
  static override examples = ['<%= config.bin %> snapshot list shop', '<%= config.bin %> snapshot list shop --branch experiment --json'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = {
    branch: Flags.string({ char: 'b', description: "branch (default: the working copy's)" }),
    limit: Flags.integer({ char: 'n', min: 1, description: 'show at most this many' }),
  };

  async run() {
    const { args, flags } = await this.parse(SnapshotList);
    const list = await listSnapshots(await this.openRepository(flags), args.db, { branch: flags.branch, limit: flags.limit });
    this.log(
      columns(
        list.map((s) => [
          shortId(s.id),
          s.parents[0] ? shortId(s.parents[0]) : '-',
          formatTime(s.createdAt),
          s.author,
          formatBytes(s.sizeBytes),
          `${decorations(s.branches, s.tags)} ${s.message}`.trim(),
        ]),
        ['ID', 'PARENT', 'TIME', 'AUTHOR', 'SIZE', 'MESSAGE'],
      ),
    );
    return list;
  }
}
