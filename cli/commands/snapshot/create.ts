import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createSnapshot, defaultSnapshotMessage, type SnapshotCreateResult } from '../../../core/verbs/snapshot.js';
import { withProgress } from '../../render/progress.js';
import { snapshotCreated } from '../../render/reports.js';
import { explicitEndpoint, remoteFlags } from '../../remote-flags.js';

export default class SnapshotCreate extends OpenDuckCommand {
  static override summary = 'Seal the working copy into a snapshot';
  static override description =
    'Checkpoints the working copy and stores only the blocks that changed since its base snapshot, then moves the branch head. Prints the new snapshot id. Without -m the snapshot records "snapshot of DB@BRANCH (no message given)".';
  static override examples = ['<%= config.bin %> snapshot create shop -m "load Q3"', 'ID=$(<%= config.bin %> snapshot create shop -m nightly --json | jq -r .id)'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = { message: Flags.string({ char: 'm', description: 'what changed' }), ...remoteFlags };

  async run() {
    const { args, flags } = await this.parse(SnapshotCreate);
    const r = explicitEndpoint(flags) ? await this.createRemotely(args.db, flags) : await this.createLocally(args.db, flags);
    this.log(snapshotCreated(args.db, r, flags.message || defaultSnapshotMessage(args.db, r.branch)));
    return r;
  }

  private async createLocally(db: string, flags: { message?: string; repo?: string }): Promise<SnapshotCreateResult> {
    const repo = await this.openRepository(flags);
    return withProgress(!this.jsonEnabled(), (onProgress) => createSnapshot(repo, db, { message: flags.message, onProgress }));
  }

  /** Seals through the server: the worker that is the branch's writer does it. */
  private async createRemotely(db: string, flags: { message?: string; endpoint?: string; token?: string; repo?: string }): Promise<SnapshotCreateResult> {
    const { connectClient } = await import('../../remote.js');
    const client = await connectClient(flags, await this.tryOpenRepository(flags), false);
    try {
      return await client.createSnapshot(db, flags.message ?? '');
    } finally {
      client.close();
    }
  }
}
