/**
 * Checkout between two adjacent snapshots a 1 % change apart. Only the differing blocks should be
 * rewritten, so a checkout should cost a small fraction of copying the whole file.
 */
import { checkout, createBranch, createSnapshot, deleteBranch, query } from '../../index.js';
import { atMost } from '../checks.js';
import { clusteredUpdateSql } from '../fixture.js';
import { mean, median, timed } from '../timing.js';
import type { Scenario } from '../types.js';
import { changeLabel } from './snapshot-create.js';

const NAME = 'checkout';
const CHANGE_FRACTION = 0.01;
const MAX_RATIO_TO_COPY = 0.2;
const HOME_BRANCH = 'main';
const OTHER_BRANCH = 'bench-before';

export const checkoutAdjacent: Scenario = {
  name: NAME,
  async run({ fixture, copy, repeats, progress }) {
    const { repo, db, rows } = fixture;
    const where = { scenario: NAME, database: fixture.size.label, case: `adjacent snapshots, ${changeLabel(CHANGE_FRACTION)}` };
    progress(`${where.database}: ${where.scenario} between ${where.case} ×${repeats}`);
    await query(repo, db, clusteredUpdateSql(rows, CHANGE_FRACTION));
    const snapshot = await createSnapshot(repo, db, { message: `bench: checkout ${where.case}` });
    if (!snapshot.created) throw new Error(`${where.case} produced no snapshot: the update changed nothing on disk`);
    await createBranch(repo, db, OTHER_BRANCH, `${HOME_BRANCH}~1`);

    const awaySeconds: number[] = [];
    const backSeconds: number[] = [];
    const blocksRewritten: number[] = [];
    const bytesRewritten: number[] = [];
    for (let run = 0; run < repeats; run++) {
      const away = await timed(() => checkout(repo, db, OTHER_BRANCH));
      const back = await timed(() => checkout(repo, db, HOME_BRANCH));
      awaySeconds.push(away.seconds);
      backSeconds.push(back.seconds);
      blocksRewritten.push(away.result.blocksRewritten, back.result.blocksRewritten);
      bytesRewritten.push(away.result.bytesWritten, back.result.bytesWritten);
    }
    await deleteBranch(repo, db, OTHER_BRANCH);
    // A checkout that rewrote nothing would be fast for the wrong reason.
    if (blocksRewritten.some((n) => n === 0)) throw new Error(`a checkout between ${where.case} rewrote no blocks`);

    const seconds = mean([median(awaySeconds), median(backSeconds)]);
    const ratioToCopy = seconds / copy.medianSeconds;
    return {
      measurements: [
        {
          ...where,
          values: [
            { name: `to ${OTHER_BRANCH} (median)`, value: median(awaySeconds), unit: 's' },
            { name: `back to ${HOME_BRANCH} (median)`, value: median(backSeconds), unit: 's' },
            { name: 'mean / cp', value: ratioToCopy, unit: 'ratio' },
            { name: 'cp', value: copy.medianSeconds, unit: 's' },
            { name: 'blocks changed', value: snapshot.blocksChanged, unit: 'count' },
            { name: 'blocks rewritten', value: median(blocksRewritten), unit: 'count' },
            { name: 'bytes rewritten', value: median(bytesRewritten), unit: 'bytes' },
          ],
          samplesSeconds: { [`checkout ${OTHER_BRANCH}`]: awaySeconds, [`checkout ${HOME_BRANCH}`]: backSeconds, cp: copy.samplesSeconds },
        },
      ],
      checks: [atMost(where, `checkout ≤ ${MAX_RATIO_TO_COPY} × cp`, ratioToCopy, MAX_RATIO_TO_COPY, 'ratio')],
    };
  },
};
