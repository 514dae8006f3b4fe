import { Args } from '@oclif/core';
import { OpenDuckCommand } from '../../base-command.js';
import { showSnapshot } from '../../../core/verbs/snapshot.js';
import { decorations, formatBytes, formatTime, printable } from '../../render/format.js';

export default class SnapshotShow extends OpenDuckCommand {
  static override summary = 'Show one snapshot';
  static override examples = ['<%= config.bin %> snapshot show shop@main', '<%= config.bin %> snapshot show shop@3f2a9c1 --json'];
  static override enableJsonFlag = true;
  static override args = { ref: Args.string({ required: true, description: 'DB, DB@BRANCH, DB@TAG, DB@ID or DB@BRANCH~N' }) };

  async run() {
    const { args, flags } = await this.parse(SnapshotShow);
    const s = await showSnapshot(await this.openRepository(flags), args.ref);
    this.log(`snapshot ${s.id} ${decorations(s.branches, s.tags)}`.trimEnd());
    this.log(`parent:   ${s.parents.join(' ') || '-'}`);
    this.log(`author:   ${printable(s.author)}`);
    this.log(`time:     ${formatTime(s.createdAt)}`);
    const blocks = Math.max(0, s.blocks - 1);
    this.log(
      `size:     ${formatBytes(s.sizeBytes)} (header + ${blocks} block${blocks === 1 ? '' : 's'} of ${formatBytes(s.blockSize)}, in ${s.layers} layer${s.layers === 1 ? '' : 's'})`,
    );
    this.log(`changed:  ${s.blocksChanged} blocks, ${formatBytes(s.bytesWritten)} written`);
    this.log('');
    this.log(`    ${printable(s.message) || '(no message)'}`);
    return s;
  }
}
