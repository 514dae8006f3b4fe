import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { deleteBranch } from '../../../core/verbs/branch.js';
import { branchDeleted } from '../../render/reports.js';

export default class BranchDelete extends OpenDuckCommand {
  static override summary = 'Delete a branch (not the current one)';
  static override description =
    'Like git branch -d, refuses when that would leave snapshots that no other branch or tag reaches, and says how many; --force deletes it anyway.';
  static override examples = ['<%= config.bin %> branch delete shop experiment', '<%= config.bin %> branch delete shop experiment --force'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    name: Args.string({ required: true, description: 'branch to delete' }),
  };
  static override flags = { force: Flags.boolean({ description: 'delete it even if its snapshots become unreachable' }) };

  async run() {
    const { args, flags } = await this.parse(BranchDelete);
    const r = await deleteBranch(await this.openRepository(flags), args.db, args.name, { force: flags.force });
    this.log(branchDeleted(r));
    return r;
  }
}
