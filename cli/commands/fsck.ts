import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { fsck } from '../../core/verbs/fsck.js';
import { formatBytes } from '../render/format.js';
import { withProgress } from '../render/progress.js';

export default class Fsck extends OpenDuckCommand {
  static override summary = 'Verify every reachable object';
  static override description =
    'Checks each snapshot record, block map and layer against its checksums, reads every metadata table, checks that every branch and tag points at a snapshot that exists, and that every cached snapshot holds exactly its block map. Exits non-zero naming each corrupt or missing object. --repair drops damaged cache entries, which are rebuilt from the layers when next read.';
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck shop --json', '<%= config.bin %> fsck --repair'];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ description: 'check only this database' }) };
  static override flags = { repair: Flags.boolean({ description: 'drop damaged cache entries (they are rebuilt from the layers)' }) };

  async run() {
    const { args, flags } = await this.parse(Fsck);
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => fsck(repo, args.db, { onProgress, repair: flags.repair }));
    for (const p of r.problems) process.stderr.write(`${p.object}: ${p.problem}\n`);
    for (const fixed of r.repaired) process.stderr.write(`repaired ${fixed}\n`);
    this.log(
      `${r.ok ? 'ok' : 'FAILED'}: ${r.snapshots} snapshots, ${r.blockMaps} block maps, ${r.layers} layers, ${formatBytes(r.bytesVerified)} verified` +
        (r.problems.length ? `; ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}` : '') +
        (r.unreferenced.length ? `; ${r.unreferenced.length} unreferenced objects (reclaimable)` : ''),
    );
    if (!r.ok) process.exitCode = 1;
    return r;
  }
}
