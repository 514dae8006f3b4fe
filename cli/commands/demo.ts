import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { runDemo } from '../demo/run-demo.js';

export default class Demo extends OpenDuckCommand {
  static override summary = 'Walk through OpenDuck on a throwaway repository';
  static override description =
    'Creates a repository in a temporary folder, loads sample data from fixtures/, snapshots, changes data, snapshots again, branches, diffs, queries a pinned snapshot and shows the log. It prints where the repository is so you can keep exploring.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --dir ./playground'];
  static override enableJsonFlag = true;
  static override flags = { dir: Flags.string({ description: 'create the repository under this folder instead of a temporary one' }) };

  async run() {
    const { flags } = await this.parse(Demo);
    return runDemo((line) => this.log(line), flags.dir);
  }
}
