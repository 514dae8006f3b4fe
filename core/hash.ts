import { createHash } from 'node:crypto';

export const HASH_HEX_LENGTH = 64;
export const SHORT_ID_LENGTH = 12;
export const MIN_PREFIX_LENGTH = 7;

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isFullId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

export function isIdPrefix(s: string): boolean {
  return /^[0-9a-f]{1,64}$/.test(s);
}

export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH);
}
