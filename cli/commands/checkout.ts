import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { checkout } from '../../core/verbs/branch.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { withProgress } from '../render/progress.js';
import { checkedOut } from '../render/reports.js';
import { dbAndRef } from '../ref-args.js';

export default class Checkout extends OpenDuckCommand {
  static override summary = 'Switch the working copy to another branch';
  static override description =
    'Rewrites only the blocks that differ. Refuses when the working copy has unsnapshotted changes, unless --force; checking out the branch it is already on changes nothing and keeps them, and with --force resets the working copy to the branch head (rebuilding it when it is missing or damaged). The branch can be given apart (shop main) or as DB@BRANCH.';
  static override examples = ['<%= config.bin %> checkout shop experiment', '<%= config.bin %> checkout shop@experiment', '<%= config.bin %> checkout shop main --force'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'DB, or DB@BRANCH' }),
    branch: Args.string({ description: 'branch to switch to (unless given as DB@BRANCH)' }),
  };
  static override flags = { force: Flags.boolean({ description: 'discard unsnapshotted changes' }) };

  async run() {
    const { args, flags } = await this.parse(Checkout);
    const { db, ref } = dbAndRef(args.db, args.branch);
    if (ref === undefined) throw new InvalidArgumentError('checkout needs a branch: openduck checkout DB BRANCH, or DB@BRANCH');
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => checkout(repo, db, ref, { force: flags.force, onProgress }));
    this.log(checkedOut(r));
    return r;
  }
}
