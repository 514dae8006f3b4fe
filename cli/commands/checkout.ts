import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { checkout } from '../../core/verbs/branch.js';
import { formatBytes, shortId } from '../render/format.js';
import { withProgress } from '../render/progress.js';

export default class Checkout extends OpenDuckCommand {
  static override summary = 'Switch the working copy to another branch';
  static override description =
    'Rewrites only the blocks that differ. Refuses when the working copy has unsnapshotted changes, unless --force. On the current branch, --force resets the working copy to the branch head, and rebuilds it when it is missing or damaged.';
  static override examples = ['<%= config.bin %> checkout shop experiment', '<%= config.bin %> checkout shop main --force'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    branch: Args.string({ required: true, description: 'branch to switch to' }),
  };
  static override flags = { force: Flags.boolean({ description: 'discard unsnapshotted changes' }) };

  async run() {
    const { args, flags } = await this.parse(Checkout);
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => checkout(repo, args.db, args.branch, { force: flags.force, onProgress }));
    if (r.previousBranch === r.branch && r.blocksRewritten === 0) this.log(`Already on ${r.db}@${r.branch}`);
    else if (r.previousBranch === r.branch) this.log(`Reset ${r.db} to ${r.db}@${r.branch} at ${shortId(r.snapshot)} (${r.blocksRewritten} blocks, ${formatBytes(r.bytesWritten)} rewritten)`);
    else this.log(`Switched ${r.db} to branch ${r.branch} at ${shortId(r.snapshot)} (${r.blocksRewritten} blocks, ${formatBytes(r.bytesWritten)} rewritten)`);
    return r;
  }
}
