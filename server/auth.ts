/**
 * The cluster token. Every RPC carries it (metadata `authorization: Bearer …`, or the message's
 * access_token field) and it is compared in constant time. It is never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Hashing first makes the comparison constant-time whatever the lengths. */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

export function bearerMetadata(token: string | null): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** The token a call presents: the metadata header first, else the message field. */
export function presentedToken(metadata: grpc.Metadata, field?: string): string {
  const header = metadata.get('authorization')[0];
  if (typeof header === 'string' && /^Bearer /i.test(header)) return header.slice(7).trim();
  return field ?? '';
}

/** null means the operator chose --insecure-no-auth. */
export type TokenPolicy = { token: string } | null;

export function isAuthorized(policy: TokenPolicy, metadata: grpc.Metadata, field?: string): boolean {
  return policy === null || tokensEqual(presentedToken(metadata, field), policy.token);
}

/** Reads a token file, or creates it (mode 0600) with a fresh token. */
export async function loadOrCreateTokenFile(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const token = generateToken();
  await writeFile(path, token + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}

export async function readTokenFile(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim() || null;
  } catch {
    return null;
  }
}
