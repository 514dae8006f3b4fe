/**
 * The baseline every speed is compared with: copying the working copy file with the real `cp`,
 * which is what a user would do without OpenDuck. It is measured in the same run, on the same
 * file, so ratios hold across machines even when absolute seconds do not.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median, timed } from './timing.js';
import type { CopyBaseline } from './types.js';

const execFileAsync = promisify(execFile);

export async function measureCopy(source: string, scratchDir: string, repeats: number): Promise<CopyBaseline> {
  const samplesSeconds: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const destination = join(scratchDir, `cp-baseline-${run}.duckdb`);
    try {
      samplesSeconds.push((await timed(() => execFileAsync('cp', [source, destination]))).seconds);
    } finally {
      // Keeps disk use at one extra copy of the file, however many runs.
      await rm(destination, { force: true });
    }
  }
  return { medianSeconds: median(samplesSeconds), samplesSeconds };
}
