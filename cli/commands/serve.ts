import { OpenDuckCommand } from '../base-command.js';
import { startServe } from '../../server/serve.js';
import { authOptions, clientTokenFlag, engineFlags, gatewayFlags, heartbeatFlag, runUntilSignalled, serverFlags, serverLog, workerCredentialFlags } from '../serve-loop.js';

export default class Serve extends OpenDuckCommand {
  static override summary = 'Run a gateway and one worker over this repository';
  static override description =
    'Serves the repository over gRPC (the open protocol in proto/openduck/v1). Prints "listening on HOST:PORT" when ready. With no token configured it generates one and stores it in the repository (mode 0600), where local clients find it, and likewise a separate worker credential for workers that join it. SIGTERM or SIGINT drains running work for up to 10 s.';
  static override examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --listen 127.0.0.1:9000 --max-queue 16', 'OPENDUCK_TOKEN=secret <%= config.bin %> serve --listen 0.0.0.0:7878'];
  static override flags = {
    ...serverFlags,
    ...clientTokenFlag,
    ...workerCredentialFlags,
    ...engineFlags,
    ...gatewayFlags,
    // serve's own worker sends no heartbeats; the flag is for tests of workers that join it.
    'heartbeat-interval': heartbeatFlag(true),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const repo = await this.openRepository(flags);
    const log = serverLog;
    const server = await startServe({
      repo,
      ...authOptions(flags),
      maxQueue: flags['max-queue'],
      maxConcurrency: flags['max-concurrency'],
      heartbeatIntervalMs: flags['heartbeat-interval'],
      memoryLimit: flags['memory-limit'],
      maxMemory: flags['max-memory'],
      stallTimeoutMs: flags['stall-timeout'],
      log,
      warn: log,
      version: this.config.version,
    });
    process.stdout.write(`listening on ${server.endpoint}\n`);
    if (server.tokenFile) log(`token file: ${server.tokenFile}`);
    if (server.workerTokenFile) log(`worker token file: ${server.workerTokenFile}`);
    await runUntilSignalled((ms) => server.stop(ms), log);
  }
}
