import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { startDaemon } from '../../../server/daemon.js';
import { DEFAULT_LISTEN } from '../../../server/serve.js';
import { engineFlags } from '../../serve-loop.js';

export default class DaemonStart extends OpenDuckCommand {
  static override summary = 'Start openduck serve in the background for this repository';
  static override description = 'The repository records the daemon’s pid, endpoint, token file and log path, so status, stop, logs and local clients find it.';
  static override examples = ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --listen 127.0.0.1:9000 --memory-limit 1GB'];
  static override enableJsonFlag = true;
  static override flags = {
    listen: Flags.string({ default: DEFAULT_LISTEN, description: 'HOST:PORT to listen on' }),
    token: Flags.string({ description: 'access token (default: $OPENDUCK_TOKEN, else a generated one kept in the repository)' }),
    'insecure-no-auth': Flags.boolean({ description: 'accept calls without a token (loopback addresses only)' }),
    'max-queue': Flags.integer({ min: 0, description: 'requests that may wait for a free worker' }),
    'max-concurrency': Flags.integer({ min: 0, description: 'executions the worker runs at once (default 8; 0: unlimited)' }),
    ...engineFlags,
  };

  async run() {
    const { flags } = await this.parse(DaemonStart);
    const repo = await this.openRepository(flags);
    const record = await startDaemon(repo, {
      listen: flags.listen,
      token: flags.token || process.env.OPENDUCK_TOKEN,
      insecureNoAuth: flags['insecure-no-auth'],
      maxQueue: flags['max-queue'],
      maxConcurrency: flags['max-concurrency'],
      memoryLimit: flags['memory-limit'],
    });
    this.log(`daemon started: pid ${record.pid}, listening on ${record.endpoint}, log ${record.logFile}`);
    return record;
  }
}
