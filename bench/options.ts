import type { DatabaseSize } from './types.js';

const MiB = 1 << 20;

export interface BenchOptions {
  quick: boolean;
  sizes: DatabaseSize[];
  repeats: number;
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

export const USAGE = `usage: node dist/bench/run.js [--quick]

  --quick   ~20 MiB and ~100 MiB databases instead of ~100 MiB and ~1 GiB (also BENCH_QUICK=1)

Run \`npm run build\` first. Prints a table to stdout and writes bench/results.json.`;

/** A mistake on the command line: reported as its message alone, without a stack trace. */
export class UsageError extends Error {}

export function parseOptions(args: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const unknown = args.filter((a) => a !== '--quick');
  if (unknown.length > 0) throw new UsageError(`unknown argument ${unknown[0]}\n\n${USAGE}`);
  const quick = args.includes('--quick') || isTruthy(env.BENCH_QUICK);
  return { quick, sizes: quick ? QUICK_SIZES : FULL_SIZES, repeats: quick ? 3 : 5 };
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.toLowerCase());
}
