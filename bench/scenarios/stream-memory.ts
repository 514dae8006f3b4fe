/**
 * Memory while a large result streams. Peak RSS (VmHWM) of fresh server processes, both as
 * `openduck serve` (the gateway and its worker share one process) and as `openduck gateway` and
 * `openduck worker` apart (the gateway's own memory), and of a client process that decodes every
 * batch into DuckDB chunks and keeps nothing, so no destination table is counted. Run for the
 * table and for a result several times larger (UNION ALL of several scans) to show whether memory
 * grows with the result.
 */
import { quoteIdentifier } from '../../core/sql.js';
import { below } from '../checks.js';
import type { ChildReport } from '../remote-child.js';
import { runChild } from '../server-process.js';
import { rowsLabel } from '../table.js';
import type { Measurement, RemoteContext, RemoteScenario, TargetCheck } from '../types.js';

const NAME = 'stream memory';
const MAX_PEAK_RSS_BYTES = 300e6;

interface Run {
  client: ChildReport;
  gatewayPeak: number;
  gatewayAtStart: number;
  workerPeak: number | null;
}

async function streamOnce(context: RemoteContext, kind: 'serve' | 'split', sql: string, rows: number): Promise<Run> {
  const server = await context.startServer(kind);
  try {
    const gatewayAtStart = server.peakRssBytes();
    const client = await runChild({ kind: 'discard', endpoint: server.endpoint, token: server.token, database: `${context.fixture.db}@main`, sql });
    if (client.rows !== rows) throw new Error(`${NAME}: ${client.rows} rows arrived instead of ${rows}`);
    return { client, gatewayPeak: server.peakRssBytes(), gatewayAtStart, workerPeak: server.worker?.peakRssBytes() ?? null };
  } finally {
    await server.stop();
  }
}

export const streamMemory: RemoteScenario = {
  name: NAME,
  async run(context) {
    const { fixture, options, progress } = context;
    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    const scan = `SELECT * FROM ${quoteIdentifier(fixture.table)}`;
    for (const multiple of options.memoryMultiples) {
      const rows = fixture.rows * multiple;
      const label = `${rowsLabel(rows)} result`;
      const sql = Array.from({ length: multiple }, () => scan).join(' UNION ALL ');
      progress(`${fixture.label}: ${NAME}, ${label}, openduck serve and a client in fresh processes`);
      const serve = await streamOnce(context, 'serve', sql, rows);
      progress(`${fixture.label}: ${NAME}, ${label}, openduck gateway and worker apart`);
      const split = await streamOnce(context, 'split', sql, rows);
      const clientPeak = Math.max(serve.client.peakRssBytes, split.client.peakRssBytes);
      const where = { scenario: NAME, database: fixture.label, case: label };
      measurements.push({
        ...where,
        values: [
          { name: 'serve (gateway + worker) peak RSS', value: serve.gatewayPeak, unit: 'bytes' },
          { name: 'gateway apart peak RSS', value: split.gatewayPeak, unit: 'bytes' },
          { name: 'worker apart peak RSS', value: split.workerPeak ?? 0, unit: 'bytes' },
          { name: 'serve RSS after start', value: serve.gatewayAtStart, unit: 'bytes' },
          { name: 'client peak RSS', value: clientPeak, unit: 'bytes' },
          { name: 'payload', value: serve.client.bytes, unit: 'bytes' },
          { name: 'time (serve)', value: serve.client.seconds, unit: 's' },
        ],
      });
      checks.push(below(where, 'gateway peak RSS (run apart) < 300 MB', split.gatewayPeak, MAX_PEAK_RSS_BYTES, 'bytes'));
      checks.push(below(where, 'serve (gateway + worker) peak RSS < 300 MB', serve.gatewayPeak, MAX_PEAK_RSS_BYTES, 'bytes'));
      checks.push(below(where, 'client peak RSS (no destination table) < 300 MB', clientPeak, MAX_PEAK_RSS_BYTES, 'bytes'));
    }
    return { measurements, checks };
  },
};
