/**
 * Credentials and roles. Two secrets guard a cluster:
 *
 * - the **client token**, which clients present to the gateway to run SQL and read status;
 * - the **worker credential**, which workers present to the gateway to register, heartbeat and
 *   deregister, and which the gateway presents to workers when it forwards work to them.
 *
 * Clients never hold the worker credential, so a client cannot pose as a worker (and so receive
 * other clients' queries) nor remove one. Every RPC names the role it needs; a valid token of the
 * other role gets PERMISSION_DENIED, an unknown one UNAUTHENTICATED. Tokens are compared in
 * constant time and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { statusError, type StatusError } from './status.js';

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

/** Who may make a call: clients (SQL, catalog, status) or workers (and the gateway talking to them). */
export type Role = 'client' | 'worker';

/**
 * The tokens a server accepts, per role; a role without a token is refused. null means the
 * operator chose --insecure-no-auth, and every call is accepted.
 */
export type AccessPolicy = Partial<Record<Role, string>> | null;

const ROLE_REFUSAL: Record<Role, string> = {
  client: 'this call is for clients; the worker credential cannot make it',
  worker: 'this call is for workers: it needs the worker credential, not a client token',
};

/** null when the call may go ahead, else the status error to answer with. */
export function authorize(policy: AccessPolicy, role: Role, metadata: grpc.Metadata, field?: string): StatusError | null {
  if (policy === null) return null;
  const presented = presentedToken(metadata, field);
  // Every role's token is compared, so the time taken does not tell which one matched.
  const matches = (Object.keys(policy) as Role[]).filter((r) => tokensEqual(presented, policy[r]!));
  if (matches.includes(role)) return null;
  if (matches.length > 0) return statusError(grpc.status.PERMISSION_DENIED, ROLE_REFUSAL[role]);
  return statusError(grpc.status.UNAUTHENTICATED, 'missing or wrong access token');
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
