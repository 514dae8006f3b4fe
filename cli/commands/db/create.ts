import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createDatabase } from '../../../core/verbs/database.js';
import { shortId } from '../../../core/hash.js';

export default class DbCreate extends OpenDuckCommand {
  static override summary = 'Create a database';
  static override description = 'A new database starts with branch main and an empty working copy.';
  static override examples = ['<%= config.bin %> db create shop'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name ([A-Za-z0-9_-], 1-64 characters)' }) };

  async run() {
    const { args, flags } = await this.parse(DbCreate);
    const created = await createDatabase(await this.openRepository(flags), args.db);
    this.log(`Created database ${created.name} on branch ${created.branch} (${shortId(created.snapshot)})`);
    return created;
  }
}
