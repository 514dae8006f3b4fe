import { performance } from 'node:perf_hooks';

export interface Timed<T> {
  result: T;
  seconds: number;
}

export async function timed<T>(operation: () => Promise<T>): Promise<Timed<T>> {
  const start = performance.now();
  const result = await operation();
  return { result, seconds: (performance.now() - start) / 1000 };
}

/** The median, so that one slow outlier (a GC pause, a page-cache flush) does not move the result. */
export function median(samples: number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(samples: number[]): number {
  if (samples.length === 0) throw new Error('mean of no samples');
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** Runs `operation` `times` times in sequence and returns each run's seconds. */
export async function sampleSeconds(times: number, operation: (run: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let run = 0; run < times; run++) samples.push((await timed(() => operation(run))).seconds);
  return samples;
}
