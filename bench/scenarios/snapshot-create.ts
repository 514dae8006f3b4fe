/**
 * Snapshot create after clustered updates of growing size. What a snapshot writes should be
 * proportional to what changed, so bytes written are compared with the bytes of the blocks that
 * changed; the block map (64 B per chunk of the whole file) is the part that is not.
 */
import { createSnapshot, query } from '../../index.js';
import { DUCKDB_DEFAULT_BLOCK_SIZE } from '../../core/format/duckdb-file.js';
import { atMost } from '../checks.js';
import { clusteredUpdateSql } from '../fixture.js';
import { timed } from '../timing.js';
import type { Measurement, Scenario, TargetCheck } from '../types.js';

const NAME = 'snapshot create';
const CHANGE_FRACTIONS = [0.001, 0.01, 0.1];
const MAX_WRITTEN_TO_CHANGED_RATIO = 1.1;
/** Every block is hashed (sound change detection), so a seal costs about one read of the file. */
const MAX_TIME_TO_CP = 1.5;
const TIME_TARGET = { fraction: 0.01, fromBytes: 1 << 30 };

export function changeLabel(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))} % change`;
}

export const snapshotCreate: Scenario = {
  name: NAME,
  async run({ fixture, copy, progress }) {
    const { repo, db, rows } = fixture;
    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    for (const fraction of CHANGE_FRACTIONS) {
      const where = { scenario: NAME, database: fixture.size.label, case: changeLabel(fraction) };
      progress(`${where.database}: ${where.scenario} after ${where.case}`);
      await query(repo, db, clusteredUpdateSql(rows, fraction));
      const { result, seconds } = await timed(() => createSnapshot(repo, db, { message: `bench: ${where.case}` }));
      if (!result.created) throw new Error(`${where.case} produced no snapshot: the update changed nothing on disk`);
      const changedBytes = result.blocksChanged * DUCKDB_DEFAULT_BLOCK_SIZE;
      const writtenToChanged = result.bytesWritten / changedBytes;
      measurements.push({
        ...where,
        values: [
          { name: 'time', value: seconds, unit: 's' },
          { name: 'time / cp', value: seconds / copy.medianSeconds, unit: 'ratio' },
          { name: 'blocks changed', value: result.blocksChanged, unit: 'count' },
          { name: 'written', value: result.bytesWritten, unit: 'bytes' },
          { name: 'written / changed blocks', value: writtenToChanged, unit: 'ratio' },
        ],
      });
      checks.push(atMost(where, `bytes written ≤ ${MAX_WRITTEN_TO_CHANGED_RATIO} × changed blocks' bytes`, writtenToChanged, MAX_WRITTEN_TO_CHANGED_RATIO, 'ratio'));
      if (fraction === TIME_TARGET.fraction && fixture.size.targetBytes >= TIME_TARGET.fromBytes) {
        checks.push(atMost(where, `time ≤ ${MAX_TIME_TO_CP} × cp`, seconds / copy.medianSeconds, MAX_TIME_TO_CP, 'ratio'));
      }
    }
    return { measurements, checks };
  },
};
