import { OpenDuckCommand } from '../../base-command.js';
import { remoteFlags } from '../../remote.js';
import { checkServer, healthLine } from '../../server-health.js';

export default class ServerStatus extends OpenDuckCommand {
  static override summary = 'Check that a server answers: connect and run SELECT 1';
  static override description =
    'Prints "OK endpoint connect=…ms query=…ms", or "UNREACHABLE endpoint: reason" (or "UNAUTHENTICATED endpoint: …" when it answers but refuses the token, "UNAVAILABLE endpoint: …" when it answers but cannot run a query, e.g. with no workers) and exits 1. Without --endpoint, checks the repository’s daemon. `openduck status --endpoint URL` is the older spelling of the same check.';
  static override examples = ['<%= config.bin %> server status', '<%= config.bin %> server status --endpoint 127.0.0.1:7878 --json'];
  static override enableJsonFlag = true;
  static override flags = { ...remoteFlags };

  async run() {
    const { flags } = await this.parse(ServerStatus);
    const health = await checkServer(flags, await this.tryOpenRepository(flags));
    if (!health.ok) process.exitCode = 1;
    this.log(healthLine(health));
    return health;
  }
}
