import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { deleteBranch } from '../../../core/verbs/branch.js';

export default class BranchDelete extends OpenDuckCommand {
  static override summary = 'Delete a branch (not the current one)';
  static override examples = ['<%= config.bin %> branch delete shop experiment'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    name: Args.string({ required: true, description: 'branch to delete' }),
  };

  async run() {
    const { args, flags } = await this.parse(BranchDelete);
    await deleteBranch(await this.openRepository(flags), args.db, args.name);
    this.log(`Deleted branch ${args.db}@${args.name}`);
    return { deleted: `${args.db}@${args.name}` };
  }
}
