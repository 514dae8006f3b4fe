import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { listSnapshots } from '../../../core/verbs/snapshot.js';
import { snapshotList } from '../../render/reports.js';
import { REF_HELP } from '../../ref-args.js';

export default class SnapshotList extends OpenDuckCommand {
  static override summary = 'List the first-parent history of a ref, newest first';
  static override description = `The ref is DB@REF, or DB with --branch, or DB alone for HEAD (the working copy's branch). ${REF_HELP}`;
  static override examples = ['<%= config.bin %> snapshot list shop', '<%= config.bin %> snapshot list shop@experiment --json', '<%= config.bin %> snapshot list shop --branch experiment -n 3'];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;
  static override args = { ref: Args.string({ required: true, description: 'DB, or DB@REF' }) };
  static override flags = {
    branch: Flags.string({ char: 'b', description: "where to start within DB: a branch or any ref (default: the working copy's branch)" }),
    limit: Flags.integer({ char: 'n', min: 1, description: 'show at most this many' }),
  };

  async run() {
    const { args, flags } = await this.parse(SnapshotList);
    const list = await listSnapshots(await this.openRepository(flags), args.ref, { branch: flags.branch, limit: flags.limit });
    this.log(snapshotList(list));
    return list;
  }
}
