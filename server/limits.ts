/**
 * The bounds a server keeps, whatever the SQL it is sent:
 *
 * - DuckDB's `memory_limit` on every instance (engine.ts): operators and caches stay within it
 *   and spill beyond it.
 * - A single value and a single result message have a maximum size. A row is measured before its
 *   bytes are copied out of DuckDB, so a huge value fails the query instead of being copied.
 * - The process's data memory is capped (RLIMIT_DATA). DuckDB builds a single value (a string, a
 *   list) outside its buffer pool, so `memory_limit` alone does not bound `repeat('x', 2e9)`:
 *   the cap makes such an allocation fail, and DuckDB reports it as an out-of-memory error for
 *   that query instead of the process growing to gigabytes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgumentError, errorMessage } from '../core/errors.js';

/** The largest single value (one column of one row) a result may carry. */
export const MAX_VALUE_BYTES = 16 << 20;
/** The largest result message; rows above it cannot be sent. Below gRPC's own 64 MiB limit. */
export const MAX_MESSAGE_BYTES = 32 << 20;
/** A result stream whose client reads nothing for this long is cancelled and its slot freed. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** The default cap on a serving process's data memory (RLIMIT_DATA). */
export const DEFAULT_MAX_MEMORY = '2GB';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Sizes written as DuckDB writes them: `512MB`, `2GB` (powers of 1000), `1.5GiB` (powers of 1024). */
export function parseByteSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(text)}: use a size such as 512MB or 2GB`);
  return Math.floor(Number(m[1]) * unit);
}

/** Bytes as the caps are named in messages: `16 MiB`, `2 GB`. */
export function formatCap(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6]] as const) if (bytes >= size) return `${+(bytes / size).toFixed(2)} ${unit}`;
  return `${bytes} bytes`;
}

/**
 * Caps this process's data memory at `bytes` (the soft RLIMIT_DATA, set with util-linux's
 * prlimit, since Node has no setrlimit). Returns null when the cap holds, else why not, for the
 * caller to warn about: the platform may have no RLIMIT_DATA that covers mmap (only Linux's does)
 * or no prlimit.
 */
export async function capProcessMemory(bytes: number): Promise<string | null> {
  if (process.platform !== 'linux') return `process memory caps need Linux (this is ${process.platform})`;
  try {
    await promisify(execFile)('prlimit', ['--pid', String(process.pid), `--data=${bytes}:`]);
    return null;
  } catch (err) {
    return `prlimit failed: ${errorMessage(err).split('\n')[0]}`;
  }
}
