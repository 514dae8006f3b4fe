import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { stopDaemon } from '../../../server/daemon.js';

export default class DaemonStop extends OpenDuckCommand {
  static override summary = "Stop this repository's daemon gracefully";
  static override description = 'Sends SIGTERM: the daemon stops taking work and lets running executions finish (up to 10 s). A daemon still alive after --wait seconds is killed.';
  static override examples = ['<%= config.bin %> daemon stop'];
  static override enableJsonFlag = true;
  static override flags = { wait: Flags.integer({ min: 1, default: 15, description: 'seconds to wait before killing it' }) };

  async run() {
    const { flags } = await this.parse(DaemonStop);
    const record = await stopDaemon(await this.openRepository(flags), flags.wait * 1000);
    this.log(`daemon stopped (pid ${record.pid})`);
    return { stopped: record.pid };
  }
}
