import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { dropDatabase } from '../../../core/verbs/database.js';

export default class DbDrop extends OpenDuckCommand {
  static override summary = 'Drop a database and its history';
  static override description = 'Removes the database, its branches, tags and working copy. Its stored objects are reclaimed later by gc.';
  static override examples = ['<%= config.bin %> db drop shop --force'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ required: true, description: 'database name' }) };
  static override flags = { force: Flags.boolean({ description: 'required: confirms that the history goes too' }) };

  async run() {
    const { args, flags } = await this.parse(DbDrop);
    await dropDatabase(await this.openRepository(flags), args.db, { force: flags.force });
    this.log(`Dropped database ${args.db}`);
    return { dropped: args.db };
  }
}
