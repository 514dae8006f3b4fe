/**
 * One measured run of the remote benchmarks, in a process of its own so that its time and peak
 * memory are its own: `node dist/bench/remote-child.js '<json Job>'`. Prints one JSON line (a
 * ChildReport) on stdout when done. Started by bench/remote.ts; not meant to be run by hand.
 *
 * Jobs:
 *   load     stream a query from a gateway and load it into a table of a fresh local DuckDB
 *            (a file, or :memory:) with loadRemoteResult
 *   discard  stream a query and decode every batch into DuckDB chunks, keeping nothing: the
 *            client's own memory, without a destination table
 *   copy     the local baseline: ATTACH a database file read-only and CREATE TABLE AS SELECT from it
 *            into a fresh local DuckDB (a file, or :memory:)
 */
import { rm } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { OpenDuckClient } from '../server/client.js';
import { emptyTimings, loadRemoteResult } from '../server/client-load.js';
import { ArrowChunkFiller } from '../server/wire/duckdb-chunks.js';
import { quoteLiteral } from '../core/sql.js';
import { peakRssBytes } from './proc.js';

export type Job =
  | { kind: 'load'; endpoint: string; token: string; database: string; sql: string; destination: string }
  | { kind: 'discard'; endpoint: string; token: string; database: string; sql: string }
  | { kind: 'copy'; source: string; table: string; destination: string };

export interface ChildReport {
  rows: number;
  seconds: number;
  /** Payload bytes received (remote jobs). */
  bytes: number;
  /** VmHWM of this process at the end. */
  peakRssBytes: number;
  /** Where a remote job's time went, in seconds (remote jobs). */
  breakdown?: Record<string, number>;
}

async function freshDestination(path: string): Promise<DuckDBInstance> {
  if (path !== ':memory:') {
    await rm(path, { force: true });
    await rm(`${path}.wal`, { force: true });
  }
  return DuckDBInstance.create(path);
}

async function run(job: Job): Promise<ChildReport> {
  if (job.kind === 'copy') {
    const started = performance.now();
    const instance = await freshDestination(job.destination);
    const connection = await instance.connect();
    await connection.run(`ATTACH ${quoteLiteral(job.source)} AS src (READ_ONLY)`);
    await connection.run(`CREATE TABLE dst AS SELECT * FROM src.${job.table}`);
    const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM dst')).getRows()[0]![0]);
    connection.closeSync();
    instance.closeSync();
    return { rows, seconds: (performance.now() - started) / 1000, bytes: 0, peakRssBytes: peakRssBytes() };
  }

  const client = new OpenDuckClient(job.endpoint, job.token);
  try {
    await client.waitForReady(10_000);
    const started = performance.now();
    if (job.kind === 'discard') {
      const result = await client.executeArrow(job.sql, { database: job.database });
      const filler = new ArrowChunkFiller(result.types);
      let rows = 0;
      for await (const batch of result.batches) {
        for (const chunk of filler.chunks(batch)) rows += chunk.rowCount;
      }
      const stats = result.stats();
      return { rows, seconds: (performance.now() - started) / 1000, bytes: stats.bytes, peakRssBytes: peakRssBytes() };
    }
    const instance = await freshDestination(job.destination);
    const connection = await instance.connect();
    const timings = emptyTimings();
    const result = await client.executeArrow(job.sql, { database: job.database });
    const firstBatchSeconds = (performance.now() - started) / 1000;
    const rows = await loadRemoteResult(result, connection, 'dst', { timings });
    const loaded = performance.now();
    connection.closeSync();
    instance.closeSync();
    const seconds = (performance.now() - started) / 1000;
    const stats = result.stats();
    return {
      rows,
      seconds,
      bytes: stats.bytes,
      peakRssBytes: peakRssBytes(),
      breakdown: {
        'until schema': firstBatchSeconds,
        'waiting for the network': (timings.sourceMs - stats.decodeMs) / 1000,
        'decode (verify + Arrow)': stats.decodeMs / 1000,
        'fill chunks': timings.fillMs / 1000,
        'append': timings.appendMs / 1000,
        'CREATE/BEGIN/COMMIT': timings.sqlMs / 1000,
        'close local DuckDB': (performance.now() - loaded) / 1000,
      },
    };
  } finally {
    client.close();
  }
}

run(JSON.parse(process.argv[2] ?? '{}') as Job).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    // gRPC keeps timers alive for a moment; the report is all the parent waits for.
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`remote-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
