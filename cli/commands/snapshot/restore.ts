import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { restoreSnapshot } from '../../../core/verbs/snapshot.js';
import { shortId } from '../../../core/hash.js';
import { withProgress } from '../../render/progress.js';

export default class SnapshotRestore extends OpenDuckCommand {
  static override summary = 'Make the current branch hold an older snapshot again';
  static override description =
    "Adds a new snapshot on the current branch whose content equals REF's and moves the working copy there. No history is lost: the old head stays the new snapshot's parent.";
  static override examples = ['<%= config.bin %> snapshot restore shop main~2', '<%= config.bin %> snapshot restore shop shop@v1'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    ref: Args.string({ required: true, description: 'snapshot to restore: BRANCH, TAG, ID, BRANCH~N (or DB@…)' }),
  };
  static override flags = {
    force: Flags.boolean({ description: 'discard unsnapshotted changes in the working copy' }),
    message: Flags.string({ char: 'm', description: 'message for the new snapshot' }),
  };

  async run() {
    const { args, flags } = await this.parse(SnapshotRestore);
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) =>
      restoreSnapshot(repo, args.db, args.ref, { force: flags.force, message: flags.message, onProgress }),
    );
    if (!r.created && r.blocksChanged > 0) this.log(`${args.db}@${r.branch} already holds that content; working copy reset to it (${r.blocksChanged} blocks rewritten)`);
    else if (!r.created) this.log(`nothing to restore: ${args.db}@${r.branch} already holds that content (${shortId(r.id)})`);
    else this.log(`[${r.branch} ${shortId(r.id)}] restored content of ${shortId(r.restoredFrom)} (${r.blocksChanged} blocks rewritten)`);
    return r;
  }
}
