import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createTag } from '../../../core/verbs/tag.js';
import { shortId } from '../../../core/hash.js';

export default class TagCreate extends OpenDuckCommand {
  static override summary = 'Name a snapshot with an immutable tag';
  static override examples = ['<%= config.bin %> tag create shop v1', '<%= config.bin %> tag create shop q3-close main~1'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    tag: Args.string({ required: true, description: 'tag name' }),
    ref: Args.string({ description: "snapshot: BRANCH, TAG, ID or BRANCH~N (default: the working copy's branch head)" }),
  };

  async run() {
    const { args, flags } = await this.parse(TagCreate);
    const t = await createTag(await this.openRepository(flags), args.db, args.tag, args.ref);
    this.log(`Tagged ${shortId(t.snapshot)} as ${t.db}@${t.name}`);
    return t;
  }
}
