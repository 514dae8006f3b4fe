import { OpenDuckCommand } from '../base-command.js';
import { Repository } from '../../core/repository.js';
import { initialized } from '../render/reports.js';

export default class Init extends OpenDuckCommand {
  static override summary = 'Create an empty repository';
  static override description = 'Creates ./.openduck (or the folder given by --repo or $OPENDUCK_REPO). Refuses to re-initialise an existing repository, and to make a new one in a folder that holds one in .openduck.';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --repo /data/warehouse'];
  static override enableJsonFlag = true;

  async run(): Promise<{ repository: string }> {
    const { flags } = await this.parse(Init);
    const repo = await Repository.init(flags.repo || process.env.OPENDUCK_REPO || undefined);
    await repo.close();
    this.log(initialized(repo.root));
    return { repository: repo.root };
  }
}
