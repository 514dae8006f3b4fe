import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createBranch } from '../../../core/verbs/branch.js';
import { shortId } from '../../../core/hash.js';

export default class BranchCreate extends OpenDuckCommand {
  static override summary = 'Create a branch (copies nothing)';
  static override examples = ['<%= config.bin %> branch create shop experiment --from main', '<%= config.bin %> branch create shop hotfix --from v1'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    name: Args.string({ required: true, description: 'new branch name' }),
  };
  static override flags = { from: Flags.string({ description: "where it starts: BRANCH, TAG, ID or BRANCH~N (default: the working copy's branch)" }) };

  async run() {
    const { args, flags } = await this.parse(BranchCreate);
    const b = await createBranch(await this.openRepository(flags), args.db, args.name, flags.from);
    this.log(`Created branch ${b.db}@${b.name} at ${shortId(b.head)}`);
    return b;
  }
}
