/**
 * Where a shared repository's stores live: `postgres://user@host:port/db` and
 * `s3://bucket/prefix`, parsed, validated and printed without secrets. Kept apart from the store
 * implementations so reading a config does not load `pg` or the AWS SDK.
 */
import { InvalidArgumentError } from '../errors.js';

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface PostgresLocation {
  host: string;
  port: number;
  database: string;
  /** null: the login name, as libpq does (PGUSER, else the OS user). */
  user: string | null;
  /** null: no TLS, unless PGSSLMODE says otherwise. */
  sslmode: SslMode | null;
}

export interface S3Location {
  bucket: string;
  /** Folders inside the bucket, no leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

const SSL_MODES = new Set<SslMode>(['disable', 'require', 'verify-ca', 'verify-full']);

/** Parses a PostgreSQL URL; a password in it is returned apart, so it can be kept out of config. */
export function parsePostgresUrl(text: string): { location: PostgresLocation; password: string | null } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidArgumentError('invalid metadata store URL: expected postgres://user@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidArgumentError(`invalid metadata store URL: expected postgres://user@host:port/database, not ${url.protocol}//…`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!host || !database || database.includes('/')) {
    throw new InvalidArgumentError(`invalid metadata store URL ${redactUrl(text)}: it needs a host and a database (postgres://user@host:port/database)`);
  }
  const port = url.port ? Number(url.port) : 5432;
  let sslmode: SslMode | null = null;
  for (const [name, value] of url.searchParams) {
    if (name !== 'sslmode') throw new InvalidArgumentError(`unsupported parameter ${name} in metadata store URL ${redactUrl(text)} (only sslmode is read)`);
    if (value === 'prefer' || value === 'allow') continue;
    if (!SSL_MODES.has(value as SslMode)) throw new InvalidArgumentError(`invalid sslmode ${JSON.stringify(value)}: use disable, require, verify-ca or verify-full`);
    sslmode = value as SslMode;
  }
  return {
    location: { host, port, database, user: url.username ? decodeURIComponent(url.username) : null, sslmode },
    password: url.password ? decodeURIComponent(url.password) : null,
  };
}

/** The URL as config records it: never a password. */
export function formatPostgresUrl(l: PostgresLocation): string {
  const user = l.user ? `${encodeURIComponent(l.user)}@` : '';
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `postgres://${user}${host}:${l.port}/${encodeURIComponent(l.database)}${l.sslmode ? `?sslmode=${l.sslmode}` : ''}`;
}

export function describePostgres(l: PostgresLocation): string {
  return `PostgreSQL at ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}/${l.database}`;
}

/** Same server, database and user: a password given for one URL applies to the other. */
export function samePostgres(a: PostgresLocation, b: PostgresLocation): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database && (a.user ?? null) === (b.user ?? null);
}

/** Parses `s3://bucket/prefix` (the prefix may be empty). */
export function parseS3Url(text: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*?)\/?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid object store ${JSON.stringify(redactUrl(text))}: expected s3://bucket/prefix`);
  return { bucket: validateBucket(m[1]!), prefix: validateS3Prefix(m[2]!) };
}

export function formatS3Url(l: S3Location): string {
  return `s3://${l.bucket}${l.prefix ? '/' + l.prefix : ''}`;
}

/** How messages name a bucket: location and endpoint, without credentials. */
export function describeS3(options: S3Location & { endpoint?: string }): string {
  return `S3 bucket ${formatS3Url(options)}${options.endpoint ? ` at ${redactUrl(options.endpoint)}` : ''}`;
}

/** An S3-compatible endpoint: http(s)://host[:port][/path]; credentials in it are refused. */
export function validateS3Endpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidArgumentError(`invalid S3 endpoint ${JSON.stringify(redactUrl(text))}: expected http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`invalid S3 endpoint ${redactUrl(text)}: expected http(s)://host:port`);
  if (url.username || url.password) {
    throw new InvalidArgumentError('the S3 endpoint must not carry credentials: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or .openduck/credentials');
  }
  return url.toString().replace(/\/$/, '');
}

/** The URL without user or password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

export function validateBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidArgumentError(`invalid bucket name ${JSON.stringify(bucket)}: 3-63 characters from a-z 0-9 . -`);
  }
  return bucket;
}

export function validateS3Prefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  if (p && (!/^[A-Za-z0-9_.\/-]+$/.test(p) || p.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
    throw new InvalidArgumentError(`invalid bucket prefix ${JSON.stringify(prefix)}: use folders of A-Z a-z 0-9 _ . -`);
  }
  return p;
}
