import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { listTags } from '../../../core/verbs/tag.js';
import { columns, formatTime, shortId } from '../../render/format.js';

export default class TagList extends OpenDuckCommand {
  static override summary = 'List tags';
  static override examples = ['<%= config.bin %> tag list shop'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };

  async run() {
    const { args, flags } = await this.parse(TagList);
    const tags = await listTags(await this.openRepository(flags), args.db);
    if (tags.length) this.log(columns(tags.map((t) => [t.name, shortId(t.snapshot), formatTime(t.createdAt)])));
    return tags;
  }
}
