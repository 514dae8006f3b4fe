/** Branch create writes one metadata row, so it should cost milliseconds whatever the file size. */
import { createBranch, deleteBranch } from '../../index.js';
import { below } from '../checks.js';
import { median, sampleSeconds } from '../timing.js';
import type { Scenario } from '../types.js';

const NAME = 'branch create';
const MAX_MILLISECONDS = 50;

export const branchCreate: Scenario = {
  name: NAME,
  async run({ fixture, copy, repeats, progress }) {
    const { repo, db } = fixture;
    const where = { scenario: NAME, database: fixture.size.label, case: '' };
    progress(`${where.database}: ${where.scenario} ×${repeats}`);
    const names = Array.from({ length: repeats }, (_, run) => `bench-branch-${run}`);
    const samples = await sampleSeconds(repeats, (run) => createBranch(repo, db, names[run]!));
    for (const name of names) await deleteBranch(repo, db, name);
    const seconds = median(samples);
    return {
      measurements: [
        {
          ...where,
          values: [
            { name: 'time (median)', value: seconds * 1000, unit: 'ms' },
            { name: 'time / cp', value: seconds / copy.medianSeconds, unit: 'ratio' },
            { name: 'cp', value: copy.medianSeconds, unit: 's' },
          ],
          samplesSeconds: { 'branch create': samples, cp: copy.samplesSeconds },
        },
      ],
      checks: [below(where, `branch create < ${MAX_MILLISECONDS} ms`, seconds * 1000, MAX_MILLISECONDS, 'ms')],
    };
  },
};
