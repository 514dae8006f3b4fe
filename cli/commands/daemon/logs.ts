import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { streamDaemonLog } from '../../../server/daemon.js';

export default class DaemonLogs extends OpenDuckCommand {
  static override summary = "Print this repository's daemon log";
  static override examples = ['<%= config.bin %> daemon logs', '<%= config.bin %> daemon logs -f'];
  static override flags = { follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until interrupted' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(DaemonLogs);
    const repo = await this.openRepository(flags);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    await streamDaemonLog(repo, (t) => this.out(t), flags.follow, stop.signal);
  }
}
