import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createBranch } from '../../../core/verbs/branch.js';
import { branchCreated } from '../../render/reports.js';
import { dbAndRef, REF_HELP } from '../../ref-args.js';

export default class BranchCreate extends OpenDuckCommand {
  static override summary = 'Create a branch (copies nothing)';
  static override description = `The start is --from REF, or DB@REF in the first argument, or HEAD. Names may hold "/" (feature/x). ${REF_HELP}`;
  static override examples = [
    '<%= config.bin %> branch create shop experiment --from main',
    '<%= config.bin %> branch create shop hotfix --from v1',
    '<%= config.bin %> branch create shop@main~2 feature/replay',
  ];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'DB, or DB@REF to start from' }),
    name: Args.string({ required: true, description: 'new branch name' }),
  };
  static override flags = { from: Flags.string({ description: 'where it starts: a ref within DB (default: HEAD, the working copy’s branch)' }) };

  async run() {
    const { args, flags } = await this.parse(BranchCreate);
    const { db, ref } = dbAndRef(args.db, flags.from);
    const b = await createBranch(await this.openRepository(flags), db, args.name, ref);
    this.log(branchCreated(b));
    return b;
  }
}
