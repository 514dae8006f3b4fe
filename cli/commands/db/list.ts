import { OpenDuckCommand } from '../../base-command.js';
import { listDatabases } from '../../../core/verbs/database.js';
import { databaseList } from '../../render/reports.js';

export default class DbList extends OpenDuckCommand {
  static override summary = 'List databases';
  static override examples = ['<%= config.bin %> db list', '<%= config.bin %> db list --json'];
  static override enableJsonFlag = true;
  static override readonly holdsMetadata = true;

  async run() {
    const { flags } = await this.parse(DbList);
    const dbs = await listDatabases(await this.openRepository(flags));
    this.log(databaseList(dbs));
    return dbs;
  }
}
