import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { listTags } from '../../../core/verbs/tag.js';
import { tagList } from '../../render/reports.js';

export default class TagList extends OpenDuckCommand {
  static override summary = 'List tags';
  static override examples = ['<%= config.bin %> tag list shop'];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };

  async run() {
    const { args, flags } = await this.parse(TagList);
    const tags = await listTags(await this.openRepository(flags), args.db);
    if (tags.length) this.log(tagList(tags));
    return tags;
  }
}
