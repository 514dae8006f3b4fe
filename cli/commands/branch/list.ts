import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { listBranches } from '../../../core/verbs/branch.js';
import { branchList } from '../../render/reports.js';

export default class BranchList extends OpenDuckCommand {
  static override summary = 'List branches; * marks the working copy’s';
  static override examples = ['<%= config.bin %> branch list shop'];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };

  async run() {
    const { args, flags } = await this.parse(BranchList);
    const list = await listBranches(await this.openRepository(flags), args.db);
    this.log(branchList(list));
    return list;
  }
}
