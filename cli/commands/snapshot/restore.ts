import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { restoreSnapshot } from '../../../core/verbs/snapshot.js';
import { InvalidArgumentError } from '../../../core/errors.js';
import { withProgress } from '../../render/progress.js';
import { snapshotRestored } from '../../render/reports.js';
import { dbAndRef, REF_HELP } from '../../ref-args.js';

export default class SnapshotRestore extends OpenDuckCommand {
  static override summary = 'Make the current branch hold an older snapshot again';
  static override description = `Adds a new snapshot on the current branch whose content equals REF's and moves the working copy there. No history is lost: the old head stays the new snapshot's parent. ${REF_HELP}`;
  static override examples = ['<%= config.bin %> snapshot restore shop main~2', '<%= config.bin %> snapshot restore shop@v1'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'DB, or DB@REF' }),
    ref: Args.string({ description: 'snapshot to restore, a ref within DB (unless given as DB@REF)' }),
  };
  static override flags = {
    force: Flags.boolean({ description: 'discard unsnapshotted changes in the working copy' }),
    message: Flags.string({ char: 'm', description: 'message for the new snapshot' }),
  };

  async run() {
    const { args, flags } = await this.parse(SnapshotRestore);
    const { db, ref } = dbAndRef(args.db, args.ref);
    if (ref === undefined) throw new InvalidArgumentError('snapshot restore needs the snapshot to restore: openduck snapshot restore DB REF, or DB@REF');
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => restoreSnapshot(repo, db, ref, { force: flags.force, message: flags.message, onProgress }));
    this.log(snapshotRestored(db, r));
    return r;
  }
}
