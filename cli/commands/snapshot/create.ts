import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createSnapshot } from '../../../core/verbs/snapshot.js';
import { shortId } from '../../../core/hash.js';
import { formatBytes } from '../../render/format.js';
import { withProgress } from '../../render/progress.js';

export default class SnapshotCreate extends OpenDuckCommand {
  static override summary = 'Seal the working copy into a snapshot';
  static override description =
    'Checkpoints the working copy and stores only the blocks that changed since its base snapshot, then moves the branch head. Prints the new snapshot id.';
  static override examples = ['<%= config.bin %> snapshot create shop -m "load Q3"', 'ID=$(<%= config.bin %> snapshot create shop -m nightly --json | jq -r .id)'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = { message: Flags.string({ char: 'm', description: 'what changed' }) };

  async run() {
    const { args, flags } = await this.parse(SnapshotCreate);
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => createSnapshot(repo, args.db, { message: flags.message, onProgress }));
    if (!r.created) this.log(`nothing to snapshot: working copy of ${args.db} matches ${r.branch} (${shortId(r.id)})`);
    else this.log(`[${r.branch} ${shortId(r.id)}] ${flags.message ?? ''}`.trimEnd() + ` (${r.blocksChanged} blocks changed, ${formatBytes(r.bytesWritten)} written)`);
    return r;
  }
}
