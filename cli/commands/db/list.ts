import { OpenDuckCommand } from '../../base-command.js';
import { listDatabases } from '../../../core/verbs/database.js';
import { columns, formatTime } from '../../render/format.js';

export default class DbList extends OpenDuckCommand {
  static override summary = 'List databases';
  static override examples = ['<%= config.bin %> db list', '<%= config.bin %> db list --json'];
  static override enableJsonFlag = true;

  async run() {
    const { flags } = await this.parse(DbList);
    const dbs = await listDatabases(await this.openRepository(flags));
    if (dbs.length === 0) this.log('no databases (create one with openduck db create NAME)');
    else
      this.log(
        columns(
          dbs.map((d) => [d.name, d.currentBranch, String(d.branches), String(d.snapshots), formatTime(d.createdAt)]),
          ['NAME', 'BRANCH', 'BRANCHES', 'SNAPSHOTS', 'CREATED'],
        ),
      );
    return dbs;
  }
}
