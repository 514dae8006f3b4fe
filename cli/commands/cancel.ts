import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { connectClient, remoteFlags } from '../remote.js';
import { NotFoundError } from '../../core/errors.js';

export default class Cancel extends OpenDuckCommand {
  static override summary = 'Cancel a running execution';
  static override description = 'The query stops within a couple of seconds (DuckDB is interrupted) and its client exits non-zero with "cancelled". Without --endpoint, the repository’s daemon is asked.';
  static override examples = ['<%= config.bin %> cancel nightly-load-42', '<%= config.bin %> cancel 5f0c… --endpoint 127.0.0.1:7878'];
  static override enableJsonFlag = true;
  static override args = { id: Args.string({ required: true, description: 'execution id (see openduck daemon status, or query --execution-id)' }) };
  static override flags = { ...remoteFlags };

  async run() {
    const { args, flags } = await this.parse(Cancel);
    const client = await connectClient(flags, await this.tryOpenRepository(flags), true);
    try {
      if (!(await client.cancel(args.id))) throw new NotFoundError('execution', args.id, 'it is not running');
      this.log(`cancelled ${args.id}`);
      return { cancelled: args.id };
    } finally {
      client.close();
    }
  }
}
