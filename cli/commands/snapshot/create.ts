import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createSnapshot } from '../../../core/verbs/snapshot.js';
import { shortId } from '../../../core/hash.js';
import { formatBytes } from '../../render/format.js';
import { withProgress } from '../../render/progress.js';
import { connectClient, explicitEndpoint, remoteFlags } from '../../remote.js';

export default class SnapshotCreate extends OpenDuckCommand {
  static override summary = 'Seal the working copy into a snapshot';
  static override description =
    'Checkpoints the working copy and stores only the blocks that changed since its base snapshot, then moves the branch head. Prints the new snapshot id.';
  static override examples = ['<%= config.bin %> snapshot create shop -m "load Q3"', 'ID=$(<%= config.bin %> snapshot create shop -m nightly --json | jq -r .id)'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = { message: Flags.string({ char: 'm', description: 'what changed' }), ...remoteFlags };

  async run() {
    const { args, flags } = await this.parse(SnapshotCreate);
    if (explicitEndpoint(flags)) return this.runRemote(args.db, flags);
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => createSnapshot(repo, args.db, { message: flags.message, onProgress }));
    this.report(args.db, r, flags.message);
    return r;
  }

  /** Seals through the server: the worker that is the branch's writer does it. */
  private async runRemote(db: string, flags: { message?: string; endpoint?: string; token?: string; repo?: string }) {
    const client = await connectClient(flags, await this.tryOpenRepository(flags), false);
    try {
      const result = await client.createSnapshot(db, flags.message ?? '');
      this.report(db, result, flags.message);
      return result;
    } finally {
      client.close();
    }
  }

  private report(db: string, r: { created: boolean; id: string; branch: string; blocksChanged: number; bytesWritten: number }, message?: string): void {
    if (!r.created) this.log(`nothing to snapshot: working copy of ${db} matches ${r.branch} (${shortId(r.id)})`);
    else this.log(`[${r.branch} ${shortId(r.id)}] ${message ?? ''}`.trimEnd() + ` (${r.blocksChanged} blocks changed, ${formatBytes(r.bytesWritten)} written)`);
  }
}
