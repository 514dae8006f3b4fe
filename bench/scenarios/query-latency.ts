/**
 * Small-query latency: `SELECT 1` in the scratch database ('' ) through the gateway and the worker,
 * from one client and from many concurrent ones, each issuing queries back to back. The baseline,
 * measured the same way in the same run, is `connection.run('SELECT 1')` on an in-process
 * in-memory DuckDB (one connection per client).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { OpenDuckClient } from '../../server/client.js';
import { atMost } from '../checks.js';
import type { Measurement, RemoteScenario, TargetCheck } from '../types.js';

const NAME = 'SELECT 1 latency';
const MAX_P50_MS = 2;

/** Per-query milliseconds of `clients` loops, each running `warmup` untimed then `count` timed queries back to back. */
async function measureLoops(clients: number, warmup: number, count: number, runOnce: (client: number) => Promise<void>): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  let timedStart = Infinity;
  let timedEnd = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < warmup; i++) await runOnce(c);
      timedStart = Math.min(timedStart, performance.now());
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await runOnce(c);
        samples.push(performance.now() - started);
      }
      timedEnd = Math.max(timedEnd, performance.now());
    }),
  );
  return { samples, seconds: (timedEnd - timedStart) / 1000 };
}

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const queryLatency: RemoteScenario = {
  name: NAME,
  async run({ fixture, options, server, progress }) {
    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    const cases = [
      { clients: 1, count: options.latencySingle },
      { clients: options.latencyClients, count: options.latencyPerClient },
    ];
    const instance = await DuckDBInstance.create(':memory:');
    const remoteClients: OpenDuckClient[] = [];
    const connections: DuckDBConnection[] = [];
    try {
      for (const { clients, count } of cases) {
        while (remoteClients.length < clients) {
          const client = new OpenDuckClient(server.endpoint, server.token);
          await client.waitForReady(10_000);
          remoteClients.push(client);
          connections.push(await instance.connect());
        }
        const label = clients === 1 ? '1 client' : `${clients} concurrent clients`;
        progress(`${fixture.label}: ${NAME}, ${label} × ${count} queries (+${options.latencyWarmup} warm-up each)`);
        const remote = await measureLoops(clients, options.latencyWarmup, count, async (c) => {
          const result = await remoteClients[c]!.execute('SELECT 1', { database: '' });
          for await (const _batch of result.batches);
        });
        const direct = await measureLoops(clients, options.latencyWarmup, count, async (c) => {
          await connections[c]!.run('SELECT 1');
        });
        const p50 = percentile(remote.samples, 0.5);
        const p99 = percentile(remote.samples, 0.99);
        const directP50 = percentile(direct.samples, 0.5);
        const directP99 = percentile(direct.samples, 0.99);
        const where = { scenario: NAME, database: 'scratch', case: label };
        measurements.push({
          ...where,
          values: [
            { name: 'p50', value: p50, unit: 'ms' },
            { name: 'p99', value: p99, unit: 'ms' },
            { name: 'queries/s', value: remote.samples.length / remote.seconds, unit: 'count' },
            { name: 'direct p50', value: directP50, unit: 'ms' },
            { name: 'direct p99', value: directP99, unit: 'ms' },
            { name: 'p50 / direct', value: p50 / directP50, unit: 'ratio' },
            { name: 'p99 / direct', value: p99 / directP99, unit: 'ratio' },
          ],
        });
        if (clients === 1) checks.push(atMost(where, `SELECT 1 p50 ≤ ${MAX_P50_MS} ms`, p50, MAX_P50_MS, 'ms'));
      }
      return { measurements, checks };
    } finally {
      for (const c of remoteClients) c.close();
      for (const c of connections) c.closeSync();
      instance.closeSync();
    }
  },
};
