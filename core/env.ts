/**
 * Settings read from the environment. A malformed value is refused as a malformed flag is,
 * naming the variable: `OPENDUCK_LEASE_WAIT_MS=abc` used to become NaN and wait forever.
 */
import { InvalidArgumentError } from './errors.js';

/** A whole number from `name`, or `fallback` when unset or empty; anything else is refused. */
export function envInteger(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InvalidArgumentError(`environment variable ${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}
