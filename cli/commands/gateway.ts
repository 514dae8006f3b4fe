import { OpenDuckCommand } from '../base-command.js';
import { startGateway } from '../../server/gateway/gateway-server.js';
import { resolveGatewayAuth } from '../../server/serve.js';
import { authOptions, clientTokenFlag, gatewayFlags, heartbeatFlag, runUntilSignalled, serverFlags, serverLog, workerCredentialFlags } from '../serve-loop.js';

export default class Gateway extends OpenDuckCommand {
  static override summary = 'Run a gateway that routes executions to registered workers';
  static override description =
    'Clients and workers connect to the gateway. Clients present the client token, workers the separate worker credential. It authenticates every call, routes by database affinity, then compute context, then any worker, honours each worker\'s max_concurrency, queues at most --max-queue requests and evicts workers whose heartbeats stop for three intervals.';
  static override examples = ['OPENDUCK_TOKEN=secret <%= config.bin %> gateway --listen 0.0.0.0:7878', '<%= config.bin %> gateway --listen 127.0.0.1:7878 --token secret --max-queue 32'];
  static override flags = {
    ...serverFlags,
    ...clientTokenFlag,
    ...workerCredentialFlags,
    ...gatewayFlags,
    'heartbeat-interval': heartbeatFlag(false),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Gateway);
    const log = serverLog;
    const repo = await this.tryOpenRepository(flags);
    const auth = await resolveGatewayAuth({ ...authOptions(flags), repo, warn: log });
    const gateway = await startGateway({
      listen: auth.listen,
      policy: auth.policy,
      workerToken: auth.workerToken,
      maxQueue: flags['max-queue'],
      heartbeatIntervalMs: flags['heartbeat-interval'],
      stallTimeoutMs: flags['stall-timeout'],
      log,
      version: this.config.version,
    });
    process.stdout.write(`listening on ${gateway.endpoint}\n`);
    if (auth.workerTokenFile) log(`worker token file: ${auth.workerTokenFile}`);
    await runUntilSignalled((ms) => gateway.stop(ms), log);
  }
}
