import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createTag } from '../../../core/verbs/tag.js';
import { tagCreated } from '../../render/reports.js';
import { dbAndRef, REF_HELP } from '../../ref-args.js';

export default class TagCreate extends OpenDuckCommand {
  static override summary = 'Name a snapshot with an immutable tag';
  static override description = `The snapshot is REF, or DB@REF in the first argument, or HEAD. Names may hold "/" and "." (v1.2.0). ${REF_HELP}`;
  static override examples = ['<%= config.bin %> tag create shop v1', '<%= config.bin %> tag create shop q3-close main~1', '<%= config.bin %> tag create shop@main~1 q3-close'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'DB, or DB@REF to tag' }),
    tag: Args.string({ required: true, description: 'tag name' }),
    ref: Args.string({ description: 'snapshot to tag, a ref within DB (default: HEAD, the working copy’s branch head)' }),
  };

  async run() {
    const { args, flags } = await this.parse(TagCreate);
    const { db, ref } = dbAndRef(args.db, args.ref);
    const t = await createTag(await this.openRepository(flags), db, args.tag, ref);
    this.log(tagCreated(t));
    return t;
  }
}
