import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { status, type DatabaseStatus } from '../../core/verbs/status.js';
import { remoteFlags } from '../remote.js';
import { checkServer, healthLine } from '../server-health.js';
import { columns, shortId } from '../render/format.js';

export default class Status extends OpenDuckCommand {
  static override summary = "Show each database's branch and head, and whether its working copy has unsnapshotted changes";
  static override description = `For each database (or DB): the branch the working copy is on and its head snapshot, and whether the working copy is clean or has unsnapshotted changes, naming the tables and views that changed. Changes are found from the file's blocks, as snapshot create finds them; openduck diff DB shows the rows. A working copy being written by another command shows as busy.
With --endpoint, this is the older spelling of openduck server status (a server health check).`;
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status shop --json', '<%= config.bin %> server status --endpoint 127.0.0.1:7878'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ description: 'database (default: all)' }) };
  static override flags = {
    endpoint: Flags.string({ description: 'check this server instead (the older spelling of openduck server status --endpoint)', helpGroup: 'REMOTE' }),
    token: remoteFlags.token,
  };

  async run() {
    const { args, flags } = await this.parse(Status);
    if (flags.endpoint) {
      const health = await checkServer(flags, await this.tryOpenRepository(flags));
      if (!health.ok) process.exitCode = 1;
      this.log(healthLine(health));
      return health;
    }
    const databases = await status(await this.openRepository(flags), args.db);
    if (databases.length === 0) this.log('no databases (create one with openduck db create NAME)');
    databases.forEach((d, i) => this.log((i ? '\n' : '') + describe(d)));
    return { databases };
  }
}

function describe(d: DatabaseStatus): string {
  const lines = [`${d.db}: on branch ${d.branch}, head ${shortId(d.head)}`];
  if (d.base !== d.head) lines.push(`  the working copy was made from ${shortId(d.base)}; it follows the head on its next write`);
  switch (d.workingCopy) {
    case 'clean':
      lines.push('  working copy clean');
      break;
    case 'busy':
      lines.push(`  working copy being written by ${d.writer}; run status again when it finishes`);
      break;
    case 'interrupted':
      lines.push(`  an interrupted checkout or snapshot; any write (e.g. openduck snapshot create ${d.db}) finishes it`);
      break;
    case 'dirty':
      lines.push(`  unsnapshotted changes (${d.blocksChanged} block${d.blocksChanged === 1 ? '' : 's'}${d.walPending ? ', and a WAL left by an interrupted write' : ''}):`);
      if (d.changes.length) lines.push(columns(d.changes.map((c) => [`    ${c.change}:`, `${c.kind === 'view' ? 'view ' : ''}${c.schema === 'main' ? c.name : `${c.schema}.${c.name}`}`])));
      else lines.push('    (no table or view changed; the file was rewritten)');
      lines.push(`  (openduck diff ${d.db} shows them; openduck snapshot create ${d.db} records them)`);
      break;
  }
  return lines.join('\n');
}
