import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { showSnapshot } from '../../../core/verbs/snapshot.js';
import { parseRefIn } from '../../../core/refs.js';
import { snapshotDetails } from '../../render/reports.js';
import { dbAndRef, REF_HELP } from '../../ref-args.js';

export default class SnapshotShow extends OpenDuckCommand {
  static override summary = 'Show one snapshot';
  static override description = `The snapshot is DB@REF, or DB REF, or DB alone for HEAD (the working copy's branch head). ${REF_HELP}`;
  static override examples = ['<%= config.bin %> snapshot show shop@main', '<%= config.bin %> snapshot show shop main~1', '<%= config.bin %> snapshot show shop@3f2a9c1 --json'];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;
  static override args = {
    db: Args.string({ required: true, description: 'DB, or DB@REF' }),
    ref: Args.string({ description: 'a ref within DB (unless given as DB@REF)' }),
  };

  async run() {
    const { args, flags } = await this.parse(SnapshotShow);
    const { db, ref } = dbAndRef(args.db, args.ref);
    const s = await showSnapshot(await this.openRepository(flags), parseRefIn(db, ref).text);
    this.log(snapshotDetails(s));
    return s;
  }
}
