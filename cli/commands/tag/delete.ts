import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { deleteTag } from '../../../core/verbs/tag.js';

export default class TagDelete extends OpenDuckCommand {
  static override summary = 'Delete a tag';
  static override examples = ['<%= config.bin %> tag delete shop v1'];
  static override enableJsonFlag = true;
  static override args = {
    db: Args.string({ required: true, description: 'database name' }),
    tag: Args.string({ required: true, description: 'tag to delete' }),
  };

  async run() {
    const { args, flags } = await this.parse(TagDelete);
    await deleteTag(await this.openRepository(flags), args.db, args.tag);
    this.log(`Deleted tag ${args.db}@${args.tag}`);
    return { deleted: `${args.db}@${args.tag}` };
  }
}
