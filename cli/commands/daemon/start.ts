import { OpenDuckCommand } from '../../base-command.js';
import { startDaemon } from '../../../server/daemon.js';
import { clientTokenFlag, engineFlags, gatewayFlags, serverFlags, workerCredentialFlags } from '../../serve-loop.js';

export default class DaemonStart extends OpenDuckCommand {
  static override summary = 'Start openduck serve in the background for this repository';
  static override description = 'The repository records the daemon’s pid, endpoint, token file and log path, so status, stop, logs and local clients find it.';
  static override examples = ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --listen 127.0.0.1:9000 --memory-limit 1GB'];
  static override enableJsonFlag = true;
  static override flags = {
    ...serverFlags,
    ...clientTokenFlag,
    ...workerCredentialFlags,
    ...engineFlags,
    ...gatewayFlags,
  };

  async run() {
    const { flags } = await this.parse(DaemonStart);
    const repo = await this.openRepository(flags);
    const record = await startDaemon(repo, {
      listen: flags.listen,
      token: flags.token || process.env.OPENDUCK_TOKEN,
      workerToken: flags['worker-token'] || process.env.OPENDUCK_WORKER_TOKEN,
      workerTokenFile: flags['worker-token-file'],
      insecureNoAuth: flags['insecure-no-auth'],
      maxQueue: flags['max-queue'],
      maxConcurrency: flags['max-concurrency'],
      memoryLimit: flags['memory-limit'],
      maxMemory: flags['max-memory'],
      stallTimeoutMs: flags['stall-timeout'],
    });
    this.log(`daemon started: pid ${record.pid}, listening on ${record.endpoint}, log ${record.logFile}`);
    return record;
  }
}
