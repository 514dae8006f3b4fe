import type { DatabaseSize } from './types.js';

const MiB = 1 << 20;

/** Sizes and iteration counts of the remote (gateway → worker → client) scenarios. */
export interface RemoteOptions {
  /** Rows of the remote scan's table (id BIGINT, v DOUBLE, k INTEGER, s VARCHAR of 11 bytes). */
  rows: number;
  /** Timed runs of the remote scan and of its local baseline; the median is reported. */
  scanRepeats: number;
  /** Queries one client issues back to back, after `warmup` untimed ones. */
  latencySingle: number;
  /** Concurrent clients, and the queries each issues back to back after `warmup` untimed ones. */
  latencyClients: number;
  latencyPerClient: number;
  latencyWarmup: number;
  /** Result sizes of the memory scenario, as multiples of the table (UNION ALL of that many scans). */
  memoryMultiples: number[];
}

export interface BenchOptions {
  quick: boolean;
  sizes: DatabaseSize[];
  repeats: number;
  remote: RemoteOptions;
  /** Which groups of scenarios run. */
  storage: boolean;
  remoteScenarios: boolean;
  cliStartup: boolean;
  /** Timed rounds of the CLI startup group (each runs every command once, and node -e 0). */
  cliRounds: number;
}

const FULL_SIZES: DatabaseSize[] = [
  { label: '100 MiB', targetBytes: 100 * MiB },
  { label: '1 GiB', targetBytes: 1024 * MiB },
];
/** Small enough for a smoke run in well under a minute. */
const QUICK_SIZES: DatabaseSize[] = [
  { label: '20 MiB', targetBytes: 20 * MiB },
  { label: '100 MiB', targetBytes: 100 * MiB },
];

const FULL_REMOTE: RemoteOptions = {
  rows: 10_000_000,
  scanRepeats: 3,
  latencySingle: 2000,
  latencyClients: 32,
  latencyPerClient: 300,
  latencyWarmup: 100,
  memoryMultiples: [1, 3],
};
const QUICK_REMOTE: RemoteOptions = {
  rows: 1_000_000,
  scanRepeats: 3,
  latencySingle: 300,
  latencyClients: 32,
  latencyPerClient: 40,
  latencyWarmup: 20,
  memoryMultiples: [1, 3],
};

export const USAGE = `usage: node dist/bench/run.js [--quick] [--storage-only | --remote-only | --cli-only]

  --quick         ~20 MiB and ~100 MiB databases instead of ~100 MiB and ~1 GiB, and a 1M-row instead
                  of a 10M-row remote scan, with fewer latency iterations (also BENCH_QUICK=1)
  --storage-only  only the snapshot (embedded, and on PostgreSQL + S3), branch, checkout and diff scenarios
  --remote-only   only the gateway → worker → client scenarios (remote scan, latency, memory)
  --cli-only      only the CLI startup scenario (everyday commands as whole processes vs node -e 0)

Run \`npm run build\` first. Prints a table to stdout and writes bench/results.json.`;

/** A mistake on the command line: reported as its message alone, without a stack trace. */
export class UsageError extends Error {}

const ONLY = ['--storage-only', '--remote-only', '--cli-only'];
const FLAGS = ['--quick', ...ONLY];

export function parseOptions(args: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const unknown = args.filter((a) => !FLAGS.includes(a));
  if (unknown.length > 0) throw new UsageError(`unknown argument ${unknown[0]}\n\n${USAGE}`);
  const only = ONLY.filter((flag) => args.includes(flag));
  if (only.length > 1) throw new UsageError(`${only.join(' and ')} exclude each other\n\n${USAGE}`);
  const quick = args.includes('--quick') || isTruthy(env.BENCH_QUICK);
  const runs = (flag: string) => only.length === 0 || only[0] === flag;
  return {
    quick,
    sizes: quick ? QUICK_SIZES : FULL_SIZES,
    repeats: quick ? 3 : 5,
    remote: quick ? QUICK_REMOTE : FULL_REMOTE,
    storage: runs('--storage-only'),
    remoteScenarios: runs('--remote-only'),
    cliStartup: runs('--cli-only'),
    cliRounds: quick ? 5 : 11,
  };
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.toLowerCase());
}
