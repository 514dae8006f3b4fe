import { Args, Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { gc, parseDuration, type GcReport, type ObjectTally } from '../../core/verbs/gc.js';
import { formatBytes, formatTime, shortId } from '../render/format.js';
import { withProgress } from '../render/progress.js';

export default class Gc extends OpenDuckCommand {
  static override summary = 'Expire old snapshots and delete objects nothing needs';
  static override description = `Snapshots reachable from a branch head or a tag stay, and so does this folder's working copy's base. With --keep-last or --keep-within, only that much history behind each branch head stays (tagged snapshots always do); without them, all history reachable from a ref stays. Other snapshots are expired from history.

Then every object (layer, block map, snapshot record) that no remaining snapshot needs is deleted once it has been unreferenced for the grace period, which also reclaims what interrupted writes left behind. The grace period protects uploads in flight and reads of just-expired snapshots; use --grace 0 only when nothing else uses the repository.`;
  static override examples = [
    '<%= config.bin %> gc --dry-run',
    '<%= config.bin %> gc shop --keep-last 10',
    '<%= config.bin %> gc --keep-within 30d --grace 2h --json',
  ];
  static override enableJsonFlag = true;
  static override args = { db: Args.string({ description: 'expire history of this database only (unreferenced objects are reclaimed repository-wide)' }) };
  static override flags = {
    'keep-last': Flags.integer({ description: 'keep the newest N snapshots of each branch', min: 1 }),
    'keep-within': Flags.string({ description: 'keep every snapshot made within this long (30m, 12h, 7d, 2w)' }),
    grace: Flags.string({ description: 'delete an object only once it has been unreferenced this long', default: '1h' }),
    'dry-run': Flags.boolean({ description: 'report what would go, delete nothing' }),
  };

  async run(): Promise<GcReport> {
    const { args, flags } = await this.parse(Gc);
    const options = {
      db: args.db,
      keepLast: flags['keep-last'],
      keepWithinMs: flags['keep-within'] === undefined ? undefined : parseDuration(flags['keep-within'], '--keep-within'),
      graceMs: parseDuration(flags.grace, '--grace'),
      dryRun: flags['dry-run'],
    };
    const repo = await this.openRepository(flags);
    const r = await withProgress(!this.jsonEnabled(), (onProgress) => gc(repo, { ...options, onProgress }));
    const size = (t: ObjectTally) => `${t.objects} object${t.objects === 1 ? '' : 's'}, ${formatBytes(t.bytes)}`;
    for (const d of r.databases) {
      const parts = [];
      if (d.expired.length) parts.push(`${r.dryRun ? 'would expire' : 'expired'} ${d.expired.length} snapshot${d.expired.length === 1 ? '' : 's'}`);
      parts.push(`${r.dryRun ? 'would reclaim' : 'reclaimed'} ${size(d.reclaimed)}`);
      if (d.waiting.objects) parts.push(`${size(d.waiting)} after the grace period`);
      this.log(`${d.name}: ${parts.join('; ')}`);
      if (r.dryRun) for (const s of d.expired) this.log(`  ${shortId(s.id)} ${formatTime(s.createdAt)} ${s.message}`.trimEnd());
    }
    const u = r.unattributed;
    if (u.reclaimed.objects || u.waiting.objects) {
      this.log(`unreferenced leftovers: ${r.dryRun ? 'would reclaim' : 'reclaimed'} ${size(u.reclaimed)}${u.waiting.objects ? `; ${size(u.waiting)} after the grace period` : ''}`);
    }
    this.log(
      `${r.dryRun ? 'dry run: would reclaim' : 'reclaimed'} ${formatBytes(r.reclaimed.bytes)} in ${r.reclaimed.objects} object${r.reclaimed.objects === 1 ? '' : 's'}; ` +
        `${formatBytes(r.live.bytes)} in use` +
        (r.waiting.objects ? `; ${size(r.waiting)} kept for the ${flags.grace} grace period` : ''),
    );
    return r;
  }
}
