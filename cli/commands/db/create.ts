import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { createDatabase } from '../../../core/verbs/database.js';
import { databaseCreated } from '../../render/reports.js';

export default class DbCreate extends OpenDuckCommand {
  static override summary = 'Create a database';
  static override description = 'A new database starts with branch main and an empty working copy. Names ignore case, as DuckDB catalog names do: a name that differs from an existing one only in case is refused.';
  static override examples = ['<%= config.bin %> db create shop'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name ([A-Za-z0-9_-], 1-64 characters)' }) };

  async run() {
    const { args, flags } = await this.parse(DbCreate);
    const created = await createDatabase(await this.openRepository(flags), args.db);
    this.log(databaseCreated(created));
    return created;
  }
}
